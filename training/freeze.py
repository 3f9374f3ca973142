"""Which UNet parameters train: spatial vs temporal layers of the SVD UNet.

diffusers' ``UNetSpatioTemporalConditionModel`` adds temporal layers beside
every spatial one. By parameter name the temporal ones are:

- ``temporal_transformer_blocks`` and ``time_pos_embed`` (frame-index embedding)
  inside ``TransformerSpatioTemporalModel``;
- ``temporal_res_block`` inside ``SpatioTemporalResBlock`` (its ``spatial_res_block``
  is spatial);
- ``time_mixer`` (the learned ``AlphaBlender`` mixing spatial and temporal outputs).

Everything else (conv in/out, time and added-time embeddings, spatial
resnets/attention, up/down samplers) is spatial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: Name fragments that mark a UNet parameter as temporal.
TEMPORAL_MARKERS: tuple[str, ...] = (
    "temporal_transformer_blocks",
    "time_pos_embed",
    "temporal_res_block",
    "time_mixer",
)


def is_temporal(param_name: str) -> bool:
    """Whether a UNet parameter name belongs to a temporal layer."""
    return any(part in TEMPORAL_MARKERS for part in param_name.split("."))


def set_trainable(
    unet: torch.nn.Module, train_spatial: bool, train_temporal: bool
) -> list[torch.nn.Parameter]:
    """Set ``requires_grad`` on every UNet parameter by layer kind; return the trainable ones.

    Raises:
        ValueError: nothing would train.
    """
    trainable = []
    for name, param in unet.named_parameters():
        train = train_temporal if is_temporal(name) else train_spatial
        param.requires_grad_(train)
        if train:
            trainable.append(param)
    if not trainable:
        raise ValueError("no UNet parameter is trainable (train_spatial and train_temporal both off?)")
    return trainable


def freeze(module: torch.nn.Module) -> None:
    """Turn off gradients of a whole module and put it in eval mode (VAE, image encoder)."""
    module.requires_grad_(False)
    module.eval()
