"""Step-checkpoint upload order, listing and rotation; final-pipeline metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from training.checkpoint import (
    list_steps,
    load_state,
    rotate,
    save_final,
    training_state,
    upload_step,
    write_marker,
)
from vidforge.store import LocalStore


def _fake_step(root: Path, step: int) -> Path:
    d = root / f"step-{step}"
    (d / "unet").mkdir(parents=True)
    (d / "unet" / "config.json").write_text("{}")
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))])
    torch.save(training_state(step, opt, None, "s", 0), d / "state.pt")
    write_marker(d, step)
    return d


def test_upload_rotates_and_ignores_incomplete(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    prefix = "runs/r/s"
    store.put_bytes(f"{prefix}/step-99/unet/config.json", b"{}")  # no marker: incomplete
    for step in (1, 2, 3, 4):
        upload_step(store, _fake_step(tmp_path / "local", step), prefix, keep_last=2)
    assert list_steps(store, prefix) == [3, 4]
    assert not store.list(f"{prefix}/step-1") and store.exists(f"{prefix}/step-4/unet/config.json")
    assert rotate(store, prefix, keep_last=1) == [3]


def test_state_loads_with_weights_only(tmp_path: Path) -> None:
    d = _fake_step(tmp_path, 7)
    state = load_state(d / "state.pt")
    assert state["step"] == 7 and state["ema_step"] is None and "torch" in state["rng"]
    assert isinstance(state["rng"]["torch"], torch.Tensor)


def test_save_final_requires_metadata(tiny_pipe: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run_id"):
        save_final(tiny_pipe, tmp_path, {"height": 1})
