"""Load a frozen feature network (I3D, Inception, LPIPS) from a configured file — never from a hub.

A network is one file at a local path, ``file://`` or ``s3://`` URI
(:class:`~evaluation.config.FeatureNetConfig`), in one of two formats:

* ``torchscript`` — a ``torch.jit`` archive (e.g. the Kinetics-400 I3D and the
  Inception-2015-12-05 archives the public FVD/FID implementations use);
* ``state_dict`` — weights (``torch.save`` dict or ``.safetensors``) loaded into
  the module that ``arch`` (``"package.module:callable"``, called with
  ``arch_kwargs``) builds; loading is strict, so a mismatch fails.

The network is called as ``net(x, **call_kwargs)`` (``net(a, b, **call_kwargs)``
for LPIPS) in eval mode under ``torch.inference_mode``. The file's sha256 is
recorded with every result it produces; when ``sha256`` is configured a
different file is refused.
"""

from __future__ import annotations

import importlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidforge.digest import sha256_file
from vidforge.store import fetch_file

if TYPE_CHECKING:
    import torch

    from evaluation.config import FeatureNetConfig
    from vidforge.settings import StoreSettings


class FeatureNetError(RuntimeError):
    """A configured feature network cannot be loaded (digest, format, architecture)."""


@dataclass
class FeatureNet:
    """A loaded network, where it came from, and how to call it."""

    module: torch.nn.Module
    uri: str
    sha256: str
    call_kwargs: dict[str, Any]
    batch_size: int
    device: str

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        """``module(*inputs, **call_kwargs)`` on the net's device; float32 output on the CPU."""
        import torch

        with torch.inference_mode():
            out = self.module(*(x.to(self.device) for x in inputs), **self.call_kwargs)
        return out.float().cpu()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``self(x)`` over ``batch_size`` chunks of the first axis, concatenated → ``(N, D)`` float32."""
        import torch

        parts = [self(x[i : i + self.batch_size]).reshape(len(x[i : i + self.batch_size]), -1)
                 for i in range(0, len(x), self.batch_size)]
        return torch.cat(parts) if parts else torch.empty(0, 0)

    def describe(self) -> dict[str, Any]:
        """Provenance recorded with a metric: ``uri`` and ``sha256``."""
        return {"uri": self.uri, "sha256": self.sha256}


def build_arch(arch: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """The module ``"package.module:callable"`` builds with ``kwargs``.

    Raises:
        FeatureNetError: ``arch`` is malformed or does not name an importable callable.
    """
    module_name, _, attr = arch.partition(":")
    if not module_name or not attr:
        raise FeatureNetError(f"arch must be 'package.module:callable', got {arch!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise FeatureNetError(f"arch {arch!r} cannot be imported: {exc}") from exc
    return factory(**kwargs)


def _read_state_dict(path: Path) -> dict[str, Any]:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise FeatureNetError(f"{path} does not hold a state dict")
    return dict(state)


def load_feature_net(config: FeatureNetConfig, device: str = "cpu",
                     settings: StoreSettings | None = None) -> FeatureNet | None:
    """Load the configured network; None when ``config.uri`` is empty (the metric is then not computed).

    Raises:
        FileNotFoundError: nothing at ``config.uri``.
        FeatureNetError: the digest differs from ``config.sha256``, ``arch`` is missing for a state
            dict, or the weights do not fit the architecture.
    """
    import torch

    if not config.uri:
        return None
    with tempfile.TemporaryDirectory(prefix="vf-featnet-") as tmp:
        path = fetch_file(config.uri, Path(tmp) / Path(config.uri).name, settings)
        digest = sha256_file(path)
        if config.sha256 and digest != config.sha256:
            raise FeatureNetError(f"{config.uri}: sha256 {digest} does not match the configured {config.sha256}")
        if config.format == "torchscript":
            module: torch.nn.Module = torch.jit.load(str(path), map_location="cpu")
        else:
            if not config.arch:
                raise FeatureNetError(f"{config.uri}: a state dict needs 'arch' (package.module:callable)")
            module = build_arch(config.arch, dict(config.arch_kwargs))
            try:
                module.load_state_dict(_read_state_dict(path), strict=True)
            except RuntimeError as exc:
                raise FeatureNetError(f"{config.uri} does not fit {config.arch}: {exc}") from exc
    return FeatureNet(module.eval().to(device), config.uri, digest, dict(config.call_kwargs),
                      config.batch_size, device)
