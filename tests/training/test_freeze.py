"""Spatial/temporal parameter selection in the SVD UNet."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from training.freeze import freeze, is_temporal, set_trainable
from training.model import build_pipeline, load_model_config


@pytest.mark.parametrize(
    ("name", "temporal"),
    [
        ("down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn1.to_q.weight", True),
        ("down_blocks.0.attentions.0.time_pos_embed.linear_1.weight", True),
        ("down_blocks.0.attentions.0.time_mixer.mix_factor", True),
        ("up_blocks.0.resnets.1.temporal_res_block.conv1.weight", True),
        ("up_blocks.0.resnets.1.spatial_res_block.conv1.weight", False),
        ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight", False),
        ("time_embedding.linear_1.weight", False),
        ("add_embedding.linear_1.weight", False),
        ("conv_in.weight", False),
    ],
)
def test_is_temporal(name: str, temporal: bool) -> None:
    assert is_temporal(name) is temporal


def test_set_trainable_partitions_the_unet(tiny_pipe: Any) -> None:
    unet = build_pipeline(load_model_config("tiny"), seed=0).unet
    names = [n for n, _ in unet.named_parameters()]
    n_temporal = sum(is_temporal(n) for n in names)
    assert 0 < n_temporal < len(names)
    spatial = set_trainable(unet, train_spatial=True, train_temporal=False)
    assert len(spatial) == len(names) - n_temporal
    assert all(p.requires_grad != is_temporal(n) for n, p in unet.named_parameters())
    temporal = set_trainable(unet, train_spatial=False, train_temporal=True)
    assert len(temporal) == n_temporal
    with pytest.raises(ValueError, match="no UNet parameter"):
        set_trainable(unet, train_spatial=False, train_temporal=False)


def test_freeze() -> None:
    m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    freeze(m)
    assert not m.training and not any(p.requires_grad for p in m.parameters())
