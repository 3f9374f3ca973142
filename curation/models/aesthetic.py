"""A LAION-style aesthetic predictor: one linear layer on the L2-normalised CLIP image embedding.

``score = w · (e / ‖e‖) + b`` — the LAION aesthetic predictor v1 (``sa_0_4_vit_l_14_linear.pth``,
an ``nn.Linear(768, 1)`` on ViT-L/14 embeddings, scores roughly 1..10). Its state dict has the
same keys as this head (``weight`` ``(1, D)``, ``bias`` ``(1,)``), so converting it is
``head = AestheticHead(768); head.load_state_dict(torch.load(pth)); head.save_pretrained(dir)``.

On disk a head is a directory: ``config.json`` (``{"embed_dim": D}``) and ``model.safetensors``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class AestheticHead(torch.nn.Linear):
    """``embed_dim`` → 1 linear layer applied to L2-normalised image embeddings.

    Args:
        embed_dim: the CLIP projection dimension (768 for ViT-L/14).
    """

    def __init__(self, embed_dim: int) -> None:
        if embed_dim < 1:
            raise ValueError(f"embed_dim must be positive, got {embed_dim}")
        super().__init__(embed_dim, 1)
        self.embed_dim = embed_dim

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Scores of ``(N, embed_dim)`` image embeddings (normalised here; any scale is fine) → ``(N,)``."""
        return super().forward(torch.nn.functional.normalize(embeddings, dim=-1)).squeeze(-1)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to ``directory`` (created); return it."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_NAME).write_text(json.dumps({"embed_dim": self.embed_dim}, indent=2))
        save_file({k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()},
                  str(directory / WEIGHTS_NAME))
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> AestheticHead:
        """Load a head written by :meth:`save_pretrained`, in eval mode on CPU.

        Raises:
            FileNotFoundError: ``directory`` lacks ``config.json`` or ``model.safetensors``.
            RuntimeError: the weights do not match the configured ``embed_dim``.
        """
        from safetensors.torch import load_file

        directory = Path(directory)
        missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if not (directory / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{directory} is not an aesthetic head: missing {', '.join(missing)}")
        head = cls(int(json.loads((directory / CONFIG_NAME).read_text())["embed_dim"]))
        head.load_state_dict(load_file(str(directory / WEIGHTS_NAME)))
        return head.eval()
