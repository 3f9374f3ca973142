from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from curation.badinputs import VFR_SEGMENTS, write_truncated_mdat, write_vfr, write_wrong_container
from curation.config import ClipConfig, load_config
from curation.items import ClipItem, Item, SourceItem
from curation.runner import run_stage
from curation.stages.clip import ClipStage
from curation.stages.probe import ProbeStage
from curation.stages.split import SplitStage
from curation.synthetic import GroundTruth, ShotSpec, VideoSpec, write_video
from vidforge.dataset import load_dataset
from vidforge.digest import sha256_file
from vidforge.store import LocalStore


def _clips(path: str) -> list[ClipItem]:
    src = SourceItem(source_id="s", source_uri="u", source_path=path)
    ProbeStage().process([src])
    config = load_config(overrides={"split": {"min_clip_s": 0.0}})
    return [c for c in SplitStage(config.split, config.cuts).process([src]) if isinstance(c, ClipItem)]


def _count(path: str) -> int:
    with av.open(path) as c:
        return sum(1 for _ in c.decode(video=0))


@pytest.mark.parametrize("snap", ["exact", "after"])
def test_clips_never_start_before_their_span(demo_by_name: dict[str, GroundTruth], tmp_path: Path, snap: str) -> None:
    truth = demo_by_name["short_shot"]  # fixed GOP, no keyframes at cuts
    clips = _clips(truth.path)
    stage = ClipStage(ClipConfig(snap=snap, keyframe_slack=0), tmp_path)
    out = run_stage(stage, list[Item](clips))
    for clip in out:
        assert isinstance(clip, ClipItem)
        if not clip.kept:
            assert snap == "after" and clip.reason == "clip:no_keyframe"
            continue
        assert clip.start_frame is not None and clip.end_frame is not None
        if snap == "exact":
            assert clip.start_frame == clip.span_start
            assert clip.write_mode == ("copy" if clip.span_start % truth.gop == 0 else "smart_cut")
        else:
            assert clip.start_frame % truth.gop == 0 and clip.write_mode == "copy"
            assert clip.span_start <= clip.start_frame < clip.span_start + truth.gop
        assert clip.span_end - 4 <= clip.end_frame <= clip.span_end
        assert _count(clip.clip_path) == clip.end_frame - clip.start_frame
        assert clip.start_s == pytest.approx(clip.start_frame / truth.fps)
        assert clip.end_s == pytest.approx(clip.end_frame / truth.fps)
        assert (clip.codec, clip.size_bytes) == ("h264", Path(clip.clip_path).stat().st_size)
        assert clip.sha256 == sha256_file(clip.clip_path)
    assert sum(c.kept for c in out) >= 2


def test_keyframes_at_cuts_give_exact_shots(demo_by_name: dict[str, GroundTruth], tmp_path: Path) -> None:
    truth = demo_by_name["cuts"]
    out = ClipStage(load_config().clip, tmp_path).process(list[Item](_clips(truth.path)))
    starts = [c.start_frame for c in out if isinstance(c, ClipItem)]
    assert starts == [s.start_frame for s in truth.shots]


def test_vfr_clips_get_their_own_rate(tmp_path: Path) -> None:
    clips = _clips(str(write_vfr(tmp_path / "vfr.mp4")))
    (average,) = {c.fps for c in clips}  # the split gives every clip the source's average rate, ~22 fps
    assert 20 < average < 24
    out = ClipStage(load_config().clip, tmp_path / "clips").process(list[Item](clips))
    got = [(c.start_frame, c.end_frame, c.start_s, c.end_s, c.fps) for c in out if isinstance(c, ClipItem)]
    assert got == [(0, 48, 0.0, 2.0, 24.0), (48, 72, 2.0, 4.0, 12.0), (72, 132, 4.0, 6.0, 30.0)]
    assert [fps for *_, fps in got] == [fps for fps, _ in VFR_SEGMENTS]


def test_a_codec_mp4_cannot_hold_is_quarantined_without_the_fallback(tmp_path: Path) -> None:
    clips = _clips(str(write_wrong_container(tmp_path / "vp8.mp4", "webm_vp8")))
    config = load_config(overrides={"clip": {"reencode_unsupported": False}}).clip
    out = run_stage(ClipStage(config, tmp_path / "clips"), list[Item](clips))
    assert len(out) == 2 and {c.reason for c in out} == {"clip:unsupported_codec"}
    assert all("cannot hold vp8" in c.error for c in out)


def test_a_codec_mp4_cannot_hold_is_reencoded_by_default(tmp_path: Path) -> None:
    clips = _clips(str(write_wrong_container(tmp_path / "vp8.mp4", "webm_vp8")))
    out = run_stage(ClipStage(load_config().clip, tmp_path / "clips"), list[Item](clips))
    assert [(c.kept, c.start_frame, c.end_frame) for c in out if isinstance(c, ClipItem)] == [
        (True, 0, 36), (True, 36, 72)]
    for clip in out:
        assert isinstance(clip, ClipItem)
        with av.open(clip.clip_path) as c:
            assert c.streams.video[0].codec_context.name == "h264"
        assert _count(clip.clip_path) == 36


#: Two fast pans (neighbouring frames differ clearly), the cut (34) inside a GOP of 10.
MISALIGNED = VideoSpec(seed=6, gop=10, keyframe_at_cuts=False, shots=(
    ShotSpec(34, speed=3.0), ShotSpec(38, speed=4.0, direction_deg=90)))


def _rgb(path: str) -> list[np.ndarray]:
    with av.open(path) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


def test_reencode_writes_exactly_the_span_where_copy_snaps(tmp_path: Path) -> None:
    truth = write_video(MISALIGNED, tmp_path / "v.mp4")
    source = _rgb(truth.path)
    written = {}
    for mode in ("copy", "reencode"):
        config = load_config(overrides={"clip": {"mode": mode}}).clip
        out = run_stage(ClipStage(config, tmp_path / mode), list[Item](_clips(truth.path)))
        written[mode] = [c for c in out if isinstance(c, ClipItem) and c.kept]
    assert [(c.span_start, c.span_end) for c in written["reencode"]] == [(0, 34), (34, 72)]
    assert [c.start_frame for c in written["copy"]] == [0, 34]  # the second from a smart cut (GOP of 10)
    assert [c.write_mode for c in written["copy"]] == ["copy", "smart_cut"]
    assert all(c.end_frame <= c.span_end for c in written["copy"])
    for clip in written["reencode"]:
        a, b = clip.span_start, clip.span_end
        assert (clip.start_frame, clip.end_frame) == (a, b)
        assert (clip.start_s, clip.end_s, clip.fps) == pytest.approx((a / 24, b / 24, 24.0))
        frames = _rgb(clip.clip_path)
        assert len(frames) == b - a
        for got, i in ((frames[0], a), (frames[-1], b - 1)):  # the first and last frames are the span's
            own = np.abs(got - source[i]).mean()
            assert own < 4
            assert all(np.abs(got - source[j]).mean() > 2 * own for j in (i - 1, i + 1) if 0 <= j < len(source))


def test_a_broken_span_is_quarantined(tmp_path: Path) -> None:
    truth = write_video(MISALIGNED, tmp_path / "v.mp4")
    good, past_end = _clips(truth.path)
    past_end.span_end = 80  # the source has 72 frames
    truncated = dataclasses.replace(good, clip_id="t", source_path=str(write_truncated_mdat(tmp_path / "t.mp4")))
    config = load_config(overrides={"clip": {"mode": "reencode"}}).clip
    out = run_stage(ClipStage(config, tmp_path / "clips"), [good, past_end, truncated])
    assert [c.reason for c in out] == ["", "clip:bad_span", "clip:bad_span"]
    assert "span [34, 80) is not within the source's 72 frames" in past_end.error
    assert not (tmp_path / "clips" / f"{past_end.clip_id}.mp4").exists()
    assert _count(good.clip_path) == 34


def test_curate_with_reencode_publishes_exact_spans(tmp_path: Path) -> None:
    from curation.pipeline import curate

    truth = write_video(MISALIGNED, tmp_path / "in" / "misaligned.mp4")
    vfr = write_vfr(tmp_path / "in" / "vfr.mp4")
    store = LocalStore(tmp_path / "store")
    config = load_config(overrides={"clip": {"mode": "reencode"}, "filter": {"motion": {"drop_lowest": None}}})
    curate([truth.path, vfr], store=store, name="re", version="v1", config=config, progress=False)
    assert b'"success": true' in store.get_bytes("datasets/re/v1/validation.json")
    manifest = load_dataset(store, "re", "v1").manifest.sort_values(["source_uri", "start_frame"])
    spans = {Path(u).stem: list(zip(g["start_frame"], g["end_frame"], strict=True))
             for u, g in manifest.groupby("source_uri")}
    assert spans == {"misaligned": [(0, 34), (34, 72)], "vfr": [(0, 48), (48, 72), (72, 132)]}
    assert list(manifest["fps"]) == pytest.approx([24.0, 24.0, 24.0, 12.0, 30.0])
    for row in manifest[manifest["status"] == "kept"].itertuples():
        assert _count(str(store.local_path(store.key_of(row.uri)))) == row.end_frame - row.start_frame
    assert (manifest["status"] == "kept").sum() >= 3


def test_a_clip_that_snapping_shortens_below_the_minimum_is_filtered(
    demo_by_name: dict[str, GroundTruth], tmp_path: Path
) -> None:
    truth = demo_by_name["short_shot"]  # fixed GOP, no keyframes at cuts
    config = ClipConfig(snap="after", keyframe_slack=0)
    spans = {c.clip_id: c.span_end - c.span_start for c in _clips(truth.path)}
    lengths = {}
    for clip in run_stage(ClipStage(config, tmp_path / "all"), list[Item](_clips(truth.path))):
        if clip.kept:
            assert isinstance(clip, ClipItem) and clip.end_s is not None and clip.start_s is not None
            lengths[clip.clip_id] = clip.end_s - clip.start_s
    shortened = {cid for cid, secs in lengths.items() if secs * truth.fps < spans[cid] - 0.5}
    assert shortened  # snapping after the span start made some clips shorter than their span
    limit = max(lengths[cid] for cid in shortened) + 1.0 / truth.fps  # one frame above a shortened clip
    out = run_stage(ClipStage(config, tmp_path / "min", min_clip_s=limit), list[Item](_clips(truth.path)))
    reasons = {c.clip_id: c.reason for c in out}
    assert all(reasons[cid] == "clip:too_short" for cid in shortened)
    for cid, secs in lengths.items():  # everything else is judged on its written length too
        assert (reasons[cid] == "clip:too_short") == (secs < limit - 0.5 / truth.fps), (cid, secs, limit)
