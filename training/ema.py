"""Exponential moving average of UNet weights (diffusers' ``EMAModel``).

``EMAModel`` warms its decay up as ``min(decay, k / (9 + k))`` at optimizer
step ``k`` (1-based), so short runs average over recent steps whatever the
configured decay (0.9999 binds only after ~90k steps); the saved EMA is a normal UNet folder (``config.json`` +
safetensors) loadable with ``UNetSpatioTemporalConditionModel.from_pretrained``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import UNetSpatioTemporalConditionModel
    from diffusers.training_utils import EMAModel


def make_ema(unet: UNetSpatioTemporalConditionModel, decay: float | None) -> EMAModel | None:
    """An EMA of ``unet``'s parameters with ``decay``; None when ``decay`` is None (EMA off)."""
    if decay is None:
        return None
    from diffusers.training_utils import EMAModel

    return EMAModel(
        unet.parameters(), decay=decay, model_cls=type(unet), model_config=unet.config
    )


def apply_ema(ema: EMAModel | None, unet: UNetSpatioTemporalConditionModel) -> None:
    """Copy the EMA weights into ``unet`` (no-op without EMA)."""
    if ema is not None:
        ema.copy_to(unet.parameters())
