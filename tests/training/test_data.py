"""Dataset split, clip decoding, frame sampling and the seeded loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.support.tiny_dataset import CLIP_FPS, CLIP_FRAMES, CLIP_SIZE, DATASET, VERSION, encode_mp4, square_frames
from training.config import load_stage_config
from training.data import (
    ClipDataset,
    FrameSpec,
    decode_clip,
    frame_indices,
    holdout_samples,
    load_stage_data,
    make_loader,
    resize_center_crop,
    select_top,
    split_clips,
)
from vidforge.dataset import load_dataset
from vidforge.store import LocalStore, S3Store


def _ids(df: pd.DataFrame) -> list[str]:
    return df["clip_id"].tolist()


def test_split_is_deterministic_and_order_free() -> None:
    df = pd.DataFrame({"clip_id": [f"c{i:03d}" for i in range(200)], "motion_score": range(200)})
    train, hold = split_clips(df, 0.2)
    train2, hold2 = split_clips(df.sample(frac=1.0, random_state=3), 0.2)
    assert _ids(train) == _ids(train2) and _ids(hold) == _ids(hold2)
    assert set(_ids(train)).isdisjoint(_ids(hold)) and len(train) + len(hold) == 200
    assert 20 <= len(hold) <= 60
    # adding clips never moves an existing clip across the split
    _, hold_more = split_clips(pd.concat([df, pd.DataFrame({"clip_id": ["new1", "new2"]})]), 0.2)
    assert set(_ids(hold)) <= set(_ids(hold_more))


@pytest.mark.parametrize(("n", "frac", "n_hold"), [(2, 0.01, 1), (3, 0.0, 0), (1, 0.5, 0), (2, 0.99, 1)])
def test_split_edge_cases(n: int, frac: float, n_hold: int) -> None:
    train, hold = split_clips(pd.DataFrame({"clip_id": [f"x{i}" for i in range(n)]}), frac)
    assert len(hold) == n_hold and len(train) == n - n_hold


def test_select_top_keeps_highest() -> None:
    df = pd.DataFrame({"clip_id": list("abcde"), "motion_score": [0.1, 5.0, 2.0, 4.0, 0.5]})
    assert _ids(select_top(df, 0.4)) == ["b", "d"]
    assert _ids(select_top(df, 0.01)) == ["b"]
    assert len(select_top(df, 1.0)) == 5


def test_frame_indices() -> None:
    idx, fps = frame_indices(16, 14.0, 7.0, 4, 0.0)
    assert idx == [0, 2, 4, 6] and fps == pytest.approx(7.0)
    idx, _ = frame_indices(16, 14.0, 7.0, 4, 1.0)
    assert idx[-1] == 15 and idx == [9, 11, 13, 15]
    idx, fps = frame_indices(7, 30.0, 7.0, 4, 0.5)  # too short for stride 4.3 → shrinks to 2
    assert idx == [0, 2, 4, 6] and fps == pytest.approx(15.0)
    idx, _ = frame_indices(2, 14.0, 7.0, 4, 0.0)  # shorter than num_frames → last frame repeats
    assert idx == [0, 1, 1, 1]
    assert frame_indices(16, 14.0, 7.0, 1, 0.99) == ([15], 7.0)


def test_decode_and_resize(tiny_store: LocalStore) -> None:
    row = load_dataset(tiny_store, DATASET, VERSION).kept.iloc[0]
    raw = decode_clip(row["uri"])
    assert raw.shape == (CLIP_FRAMES, *CLIP_SIZE, 3) and raw.dtype.name == "uint8"
    out = resize_center_crop(raw, 32, 32)
    assert out.shape == (CLIP_FRAMES, 3, 32, 32) and out.dtype == torch.uint8


def test_decode_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        decode_clip((tmp_path / "nope.mp4").as_uri())


def test_decode_from_s3(s3_endpoint: str, s3_bucket: str) -> None:
    from vidforge.settings import StoreSettings

    store = S3Store(f"s3://{s3_bucket}", s3_endpoint)
    uri = store.put_bytes("clips/a.mp4", encode_mp4(square_frames(1.0, 0)))
    raw = decode_clip(uri, StoreSettings(uri=store.root_uri, s3_endpoint_url=s3_endpoint))
    assert raw.shape == (CLIP_FRAMES, *CLIP_SIZE, 3)


def test_stage_data_split_and_selection(tiny_store: LocalStore) -> None:
    s2 = load_stage_data(tiny_store, load_stage_config("stage2_video"), DATASET, VERSION)
    s3 = load_stage_data(tiny_store, load_stage_config("stage3_finetune"), DATASET, VERSION)
    assert "clip-x" not in _ids(s2.train) + _ids(s2.holdout)  # filtered clips never train
    assert len(s2.holdout) >= 1 and _ids(s2.holdout) == _ids(s3.holdout)
    assert len(s3.train) == -(-len(s2.train) // 2)
    assert s3.train["motion_score"].min() >= s2.train["motion_score"].median()
    assert s2.info.motion_bucket_edges


@pytest.mark.parametrize("stage", ["stage1_image", "stage3_finetune"])
def test_samples_have_contract_shapes(tiny_store: LocalStore, stage: str) -> None:
    cfg = load_stage_config(stage)
    data = load_stage_data(tiny_store, cfg, DATASET, VERSION)
    ds = ClipDataset(data.train, FrameSpec.of(cfg), seed=0, motion_bucket_edges=data.info.motion_bucket_edges)
    item = ds[3]
    assert item["frames"].shape == (cfg.num_frames, 3, cfg.height, cfg.width)
    assert item["frames"].dtype == torch.float32
    assert item["frames"].min() >= -1.0 and item["frames"].max() <= 1.0 and item["frames"].std() > 0.05
    assert item["fps"] == pytest.approx(cfg.target_fps)  # 14-fps clips, stride 2 → 7 fps
    row = data.train.set_index("clip_id").loc[item["clip_id"]]
    assert item["motion_bucket"] == row["motion_bucket"]
    assert CLIP_FPS == 14


def _order(ds: ClipDataset, seed: int, start: int = 0, n: int = 4,
           workers: int = 0) -> list[tuple[list[str], torch.Tensor]]:
    it = iter(make_loader(ds, 2, seed, start_step=start, num_workers=workers))
    return [(b["clip_id"], b["frames"]) for b in (next(it) for _ in range(n))]


def test_loader_is_seeded_and_resumable(tiny_store: LocalStore) -> None:
    cfg = load_stage_config("stage2_video")
    data = load_stage_data(tiny_store, cfg, DATASET, VERSION)
    ds = ClipDataset(data.train, FrameSpec.of(cfg), seed=cfg.seed)
    a, b, c = _order(ds, 0), _order(ds, 0), _order(ds, 1)
    assert [x for x, _ in a] == [x for x, _ in b]
    assert all(torch.equal(fa, fb) for (_, fa), (_, fb) in zip(a, b, strict=True))
    assert [x for x, _ in a] != [x for x, _ in c]
    assert a[0][1].shape == (2, cfg.num_frames, 3, cfg.height, cfg.width)
    # starting at batch 2 replays exactly batches 2, 3 of the full stream
    resumed = _order(ds, 0, start=2, n=2)
    assert [x for x, _ in resumed] == [x for x, _ in a[2:]]
    assert all(torch.equal(fr, fa) for (_, fr), (_, fa) in zip(resumed, a[2:], strict=True))


def test_worker_processes_give_the_same_batches(tiny_store: LocalStore) -> None:
    cfg = load_stage_config("stage2_video")
    data = load_stage_data(tiny_store, cfg, DATASET, VERSION)
    ds = ClipDataset(data.train, FrameSpec.of(cfg), seed=cfg.seed)
    inline, workers = _order(ds, 0, n=5), _order(ds, 0, n=5, workers=2)
    assert [x for x, _ in workers] == [x for x, _ in inline]
    assert all(torch.equal(fw, fi) for (_, fw), (_, fi) in zip(workers, inline, strict=True))
    resumed = _order(ds, 0, start=3, n=2, workers=2)
    assert all(torch.equal(fr, fi) for (_, fr), (_, fi) in zip(resumed, inline[3:], strict=True))


def test_empty_clip_table_raises() -> None:
    with pytest.raises(ValueError, match="no clips"):
        ClipDataset(pd.DataFrame({"clip_id": []}), FrameSpec(32, 32, 1, 7.0))


def test_holdout_samples_are_fixed(tiny_store: LocalStore) -> None:
    cfg = load_stage_config("stage2_video")
    a = holdout_samples(tiny_store, cfg, DATASET, VERSION)
    b = holdout_samples(tiny_store, cfg.model_copy(update={"seed": 9}), DATASET, VERSION)
    held = load_stage_data(tiny_store, cfg, DATASET, VERSION).holdout
    assert [s["clip_id"] for s in a] == _ids(held) and len(a) >= 1
    assert all(torch.equal(x["frames"], y["frames"]) for x, y in zip(a, b, strict=True))
    final = cfg.final()  # the last phase: the resolution the saved model has
    assert a[0]["frames"].shape == (final.num_frames, 3, final.height, final.width)


def test_a_rotated_clip_decodes_upright(tmp_path: Path) -> None:
    from curation.badinputs import upright_frames, write_rotated

    path = write_rotated(tmp_path / "portrait.mp4")
    frames = decode_clip(path.as_uri())
    truth = np.stack(upright_frames())
    assert frames.shape == truth.shape  # (N, 160, 120, 3): portrait, as a player shows it
    assert float(np.abs(frames.astype(np.float32) - truth).mean()) < 8.0  # lossy H.264, same orientation
    sideways = np.stack([np.ascontiguousarray(np.rot90(f, 2)) for f in truth])
    assert float(np.abs(frames.astype(np.float32) - sideways).mean()) > 20.0


def test_decoded_clip_cache_is_bounded_by_bytes(tiny_store: LocalStore) -> None:
    cfg = load_stage_config("stage2_video")
    data = load_stage_data(tiny_store, cfg, DATASET, VERSION)
    one = ClipDataset(data.train, FrameSpec.of(cfg), seed=0).frames_of(str(data.train.iloc[0]["uri"]))
    clip_bytes = one.numel() * one.element_size()
    ds = ClipDataset(data.train, FrameSpec.of(cfg), seed=0, cache_bytes=2 * clip_bytes)
    for i in range(len(ds)):
        ds[i]
        assert ds.cached_bytes() <= 2 * clip_bytes
    assert len(ds._cache) == 2  # the two most recently used clips
    assert list(ds._cache) == [str(u) for u in data.train["uri"].iloc[-2:]]
    none = ClipDataset(data.train, FrameSpec.of(cfg), seed=0, cache_bytes=0)
    torch.testing.assert_close(none[0]["frames"], ds[0]["frames"])
    assert none.cached_bytes() == 0
