from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from curation.models.aesthetic import AestheticHead
from tests.support.tiny_clip import EMBED_DIM, tiny_head


def test_score_is_w_dot_normalised_embedding_plus_b() -> None:
    head = tiny_head(seed=3)
    emb = torch.randn(5, EMBED_DIM, generator=torch.Generator().manual_seed(1)) * 7.0
    e = emb.numpy().astype(np.float64)
    w, b = head.weight.detach().numpy()[0].astype(np.float64), float(head.bias.detach())
    by_hand = (e / np.linalg.norm(e, axis=1, keepdims=True)) @ w + b
    with torch.inference_mode():
        got = head(emb).numpy()
    assert got.shape == (5,)
    np.testing.assert_allclose(got, by_hand, rtol=1e-5, atol=1e-5)
    with torch.inference_mode():  # only the direction of the embedding matters
        np.testing.assert_allclose(head(emb * 0.01).numpy(), got, rtol=1e-5, atol=1e-5)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    head = tiny_head(seed=4)
    head.save_pretrained(tmp_path / "head")
    assert json.loads((tmp_path / "head" / "config.json").read_text()) == {"embed_dim": EMBED_DIM}
    loaded = AestheticHead.from_pretrained(tmp_path / "head")
    assert not loaded.training and loaded.embed_dim == EMBED_DIM
    assert torch.equal(loaded.weight, head.weight) and torch.equal(loaded.bias, head.bias)
    emb = torch.randn(3, EMBED_DIM)
    with torch.inference_mode():
        assert torch.equal(loaded(emb), head(emb))


def test_a_laion_linear_state_dict_loads_as_is(tmp_path: Path) -> None:
    laion = torch.nn.Linear(EMBED_DIM, 1)  # what LAION's sa_0_4_vit_l_14_linear.pth holds (at 768)
    torch.save(laion.state_dict(), tmp_path / "laion.pth")
    head = AestheticHead(EMBED_DIM)
    head.load_state_dict(torch.load(tmp_path / "laion.pth"))
    emb = torch.nn.functional.normalize(torch.randn(4, EMBED_DIM), dim=-1)
    with torch.inference_mode():
        torch.testing.assert_close(head(emb), laion(emb).squeeze(-1))


def test_bad_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors"):
        (tmp_path / "half").mkdir()
        (tmp_path / "half" / "config.json").write_text('{"embed_dim": 4}')
        AestheticHead.from_pretrained(tmp_path / "half")
    tiny_head().save_pretrained(tmp_path / "h")
    (tmp_path / "h" / "config.json").write_text('{"embed_dim": 8}')
    with pytest.raises(RuntimeError, match="size mismatch"):
        AestheticHead.from_pretrained(tmp_path / "h")
    with pytest.raises(ValueError, match="embed_dim"):
        AestheticHead(0)
