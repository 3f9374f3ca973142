"""Evaluation sets from a folder of reference videos: decoded, sized, captioned by sidecars, bad files named."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from evaluation.api import build_evalset_task
from evaluation.evalset import EvalSetError, load_evalset
from evaluation.evalset_folder import decode_reference
from vidforge.settings import Settings
from vidforge.store import open_store


def _video(path: Path, frames: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for _ in range(frames):
            img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_decode_reference_sizes_and_counts(tmp_path: Path) -> None:
    data = _video(tmp_path / "a.mp4", 10, 0).read_bytes()
    frames, fps = decode_reference(data, 6, 32, 48)
    assert frames.shape == (6, 32, 48, 3) and frames.dtype == np.uint8 and fps == pytest.approx(12.0)
    with pytest.raises(ValueError, match="2 frames, the set needs 6"):
        decode_reference(_video(tmp_path / "b.mp4", 2, 1).read_bytes(), 6, 32, 48)


def test_a_folder_becomes_a_published_set(settings: Settings, tmp_path: Path) -> None:
    from evaluation.config import load_eval_config
    from training.config import load_stage_config

    cfg = load_stage_config(load_eval_config().final_stage)
    folder = tmp_path / "refs"
    folder.mkdir()
    for i in range(2):
        _video(folder / f"clip{i}.mp4", cfg.num_frames + 2, i)
    (folder / "clip0.json").write_text(json.dumps({"caption": "a red ball", "motion_bucket": 40}))
    _video(folder / "short.mp4", 1, 5)
    (folder / "notes.txt").write_text("not a video")
    built = build_evalset_task("refs/v1", folder=str(folder))
    assert built["samples"] == 2 and built["ref"] == "refs/v1"
    store = open_store(settings.store)
    evalset = load_evalset(store, "refs/v1", built["sha256"])
    assert [s.sample_id for s in evalset.samples] == ["clip0", "clip1"]
    first = evalset.samples[0]
    assert tuple(first.frames.shape) == (cfg.num_frames, 3, cfg.height, cfg.width)
    assert (first.caption, first.motion_bucket, evalset.samples[1].motion_bucket) == ("a red ball", 40.0, 127.0)
    assert evalset.info["source"]["kind"] == "folder"
    assert list(evalset.info["source"]["skipped"]) == ["short.mp4"]
    with pytest.raises(EvalSetError, match="immutable"):
        build_evalset_task("refs/v1", folder=str(folder))
    with pytest.raises(ValueError, match="exactly one"):
        build_evalset_task("refs/v2")
