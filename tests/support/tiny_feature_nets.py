"""Tiny seeded networks with the interfaces of the evaluation feature networks, for tests.

* :class:`TinyI3D` — ``net(videos [N, 3, T, H, W], rescale=False, resize=False, return_features=True)``
  → ``(N, 16)``, like the Kinetics-400 I3D TorchScript archive of the FVD implementations.
* :class:`TinyInception` — ``net(images [N, 3, H, W], return_features=True)`` → ``(N, 8)``, like the
  Inception-2015-12-05 archive of FID.
* :class:`TinyLPIPS` — ``net(a, b)`` on ``[N, 3, H, W]`` in [−1, 1] → ``(N, 1, 1, 1)`` distances, like LPIPS.

:func:`save_net` writes one as TorchScript or as a state dict (``arch`` for the loader is
``tests.support.tiny_feature_nets:<Class>``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class TinyI3D(nn.Module):
    """Conv3d → ReLU → global average pool → linear (16 features)."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.conv = nn.Conv3d(3, 8, kernel_size=3, stride=2, padding=1)
            self.head = nn.Linear(8, 16)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = True) -> torch.Tensor:
        h = torch.relu(self.conv(x)).mean(dim=(2, 3, 4))
        out = self.head(h)
        return out if return_features else torch.softmax(out, dim=1)


class TinyInception(nn.Module):
    """Conv2d → ReLU → global average pool → linear (8 features)."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.conv = nn.Conv2d(3, 8, kernel_size=5, stride=4, padding=2)
            self.head = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor, return_features: bool = True) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x / 255.0)).mean(dim=(2, 3)))


class TinyLPIPS(nn.Module):
    """Mean squared distance of unit-normalised conv features: 0 for identical inputs."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.conv = nn.Conv2d(3, 4, kernel_size=3, padding=1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fa = nn.functional.normalize(self.conv(a), dim=1)
        fb = nn.functional.normalize(self.conv(b), dim=1)
        return ((fa - fb) ** 2).sum(1, keepdim=True).mean(dim=(2, 3), keepdim=True)


def save_net(net: nn.Module, path: str | Path, fmt: str = "torchscript") -> Path:
    """Write ``net`` as a TorchScript archive or a state dict (``torch.save``); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        torch.jit.script(net.eval()).save(str(path))
    else:
        torch.save(net.state_dict(), path)
    return path
