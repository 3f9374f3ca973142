"""Bad and unusual inputs: the writers write what they claim, and the real pipeline ends every one
kept, filtered (with a reason) or quarantined (with an error) — in one mixed batch that still publishes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from curation.badinputs import (
    ODD_SIZE,
    ROTATION_DEG,
    VFR_SEGMENTS,
    VFR_TICKS,
    BadInput,
    bad_input_names,
    upright_frames,
    vfr_pts,
    write_bad_inputs,
)
from curation.config import load_config
from curation.media.frames import KEY, decode_clip_frames
from curation.synthetic import ShotSpec, VideoSpec, write_video
from vidforge.dataset import DatasetInfo, load_dataset
from vidforge.store import LocalStore

#: name → (status of the source's outcome, reason, a phrase of the error). A quarantined source is in
#: the quarantine table; "filtered"/"kept"/clip-level "quarantined" describe every clip of the source.
EXPECTED: dict[str, tuple[str, str, str]] = {
    "zero_byte": ("quarantined", "probe:empty_file", "zero-byte file"),
    "truncated_mdat": ("quarantined", "probe:truncated", "index lists 48 frames"),
    "no_moov": ("quarantined", "probe:unreadable", "moov atom not found"),
    "mkv_as_mp4": ("kept", "", ""),
    "webm_as_mp4": ("kept", "", ""),
    "vp8_webm_as_mp4": ("kept", "", ""),  # an mp4 cannot hold VP8: re-encoded (clip.reencode_unsupported)
    "avi_as_mp4": ("kept", "", ""),
    "ts_as_mp4": ("kept", "", ""),
    "png_as_mp4": ("quarantined", "probe:not_a_video", "still image (png_pipe)"),
    "text_as_mp4": ("quarantined", "probe:unreadable", "cannot open"),
    "audio_only": ("quarantined", "probe:no_video_stream", "no video stream"),
    "audio_cover_art": ("quarantined", "probe:no_video_stream", "only cover art"),
    "vfr": ("kept", "", ""),
    "rotated": ("kept", "", ""),
    "odd_size": ("kept", "", ""),
    "one_frame": ("filtered", "split:too_short", ""),
    "three_frames": ("filtered", "split:too_short", ""),
    "half_second": ("filtered", "split:too_short", ""),
}
#: Two good videos (fast pans: every clip kept) and a static one (its clips are the motion filters' victims).
GOOD: dict[str, VideoSpec] = {
    "good_a": VideoSpec(seed=70, shots=(ShotSpec(36, speed=5.0), ShotSpec(36, speed=6.0, direction_deg=90))),
    "good_b": VideoSpec(seed=71, shots=(ShotSpec(40, speed=4.0, direction_deg=200), ShotSpec(40, speed=5.0))),
    "static": VideoSpec(seed=72, shots=tuple(ShotSpec(30) for _ in range(6))),
}


@dataclass
class Run:
    store: LocalStore
    info: DatasetInfo
    manifest: pd.DataFrame  # + column "name": the source's file stem
    quarantine: pd.DataFrame  # + column "name"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BadInput]:
    return {b.name: b for b in write_bad_inputs(tmp_path_factory.mktemp("bad"))}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, inputs: dict[str, BadInput]) -> Run:
    """Every bad input plus the good videos, curated together once with the default profile.

    Only the text percentile is off: on ~10 clips that are nearly all text-free it would remove
    whichever clips carry the detector's false-positive specks, which is filtering, not robustness.
    """
    from curation.pipeline import curate

    root = tmp_path_factory.mktemp("badrun")
    good = [write_video(spec, root / "inputs" / f"{name}.mp4").path for name, spec in GOOD.items()]
    store = LocalStore(root / "store")
    config = load_config(overrides={"filter": {"text_area": {"drop_highest": None}}})
    info = curate([b.path for b in inputs.values()] + good, store=store, name="bad", version="v1", progress=False,
                  config=config)
    manifest = load_dataset(store, "bad", "v1").manifest
    quarantine = pq.read_table(store.local_path("datasets/bad/v1/quarantine.parquet")).to_pandas()
    for table in (manifest, quarantine):
        table["name"] = [Path(uri).stem for uri in table["source_uri"]]
    return Run(store, info, manifest, quarantine)


def _packets(path: Path) -> list[tuple[int, bool]]:
    with av.open(str(path)) as c:
        return [(int(p.pts), bool(p.is_keyframe)) for p in c.demux(video=0) if p.size]


def test_every_kind_is_written(inputs: dict[str, BadInput]) -> None:
    assert list(inputs) == bad_input_names() == list(EXPECTED)
    assert inputs["zero_byte"].path.stat().st_size == 0
    assert all(b.path.stat().st_size > 0 for b in inputs.values() if b.name != "zero_byte")
    assert {b.path.suffix for b in inputs.values()} == {".mp4", ".m4a"}


@pytest.mark.parametrize(("name", "fmt", "codec"), [
    ("mkv_as_mp4", "matroska,webm", "h264"), ("webm_as_mp4", "matroska,webm", "vp9"),
    ("vp8_webm_as_mp4", "matroska,webm", "vp8"), ("avi_as_mp4", "avi", "mpeg4"), ("ts_as_mp4", "mpegts", "h264"),
    ("png_as_mp4", "png_pipe", "png"),
])
def test_wrong_containers_are_what_they_claim(inputs: dict[str, BadInput], name: str, fmt: str, codec: str) -> None:
    with av.open(str(inputs[name].path)) as c:
        assert (c.format.name, c.streams.video[0].codec_context.name) == (fmt, codec)
        assert sum(1 for _ in c.decode(video=0)) == (1 if name == "png_as_mp4" else 72)


def test_broken_and_audio_files_are_what_they_claim(inputs: dict[str, BadInput]) -> None:
    with av.open(str(inputs["truncated_mdat"].path)) as c:
        assert c.streams.video[0].frames == 48 > len(_packets(inputs["truncated_mdat"].path))
    for name in ("no_moov", "text_as_mp4"):
        with pytest.raises(av.InvalidDataError):
            av.open(str(inputs[name].path))
    with av.open(str(inputs["audio_only"].path)) as c:
        assert [s.type for s in c.streams] == ["audio"]
    with av.open(str(inputs["audio_cover_art"].path)) as c:
        assert [s.type for s in c.streams] == ["audio", "video"]
        assert c.streams.video[0].disposition & av.stream.Disposition.attached_pic


def test_unusual_videos_are_what_they_claim(inputs: dict[str, BadInput]) -> None:
    vfr = _packets(inputs["vfr"].path)
    with av.open(str(inputs["vfr"].path)) as c:
        tb = c.streams.video[0].time_base
    assert [round(pts * tb * VFR_TICKS) for pts in sorted(p for p, _ in vfr)] == vfr_pts()
    assert len(vfr) == sum(round(f * s) for f, s in VFR_SEGMENTS)
    with av.open(str(inputs["rotated"].path)) as c:
        frame = next(c.decode(video=0))
        assert (frame.width, frame.height, frame.rotation) == (160, 120, ROTATION_DEG)
    with av.open(str(inputs["odd_size"].path)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == ODD_SIZE
    for name, n in (("one_frame", 1), ("three_frames", 3), ("half_second", 12)):
        assert len(_packets(inputs[name].path)) == n


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_input_ends_in_its_expected_status(run: Run, name: str) -> None:
    status, reason, phrase = EXPECTED[name]
    quarantined = run.quarantine[run.quarantine["name"] == name]
    clips = run.manifest[run.manifest["name"] == name]
    if status == "quarantined" and reason.startswith("probe:"):
        assert len(clips) == 0 and len(quarantined) == 1
        row = quarantined.iloc[0]
        assert (row["stage"], row["reason"]) == ("probe", reason)
        assert phrase in row["error"]
        return
    assert len(quarantined) == 0 and len(clips) >= 1
    assert set(clips["status"]) == {status} and set(clips["reason"]) == {reason}
    if status == "kept":
        assert clips["uri"].str.len().min() > 0 and clips["motion_score"].notna().all()


def test_mixed_batch_publishes_and_accounts_for_every_input(run: Run, inputs: dict[str, BadInput]) -> None:
    info, funnel = run.info, run.info.extra["funnel"]
    assert info.inputs == len(inputs) + len(GOOD)
    sources = funnel["source"]
    assert sources["kept"] + sources["filtered"] + sources["quarantined"] == info.inputs
    assert info.sources_quarantined == sum(s == "quarantined" and r.startswith("probe:")
                                           for s, r, _ in EXPECTED.values())
    assert info.clips_in == len(run.manifest) == info.clips_kept + info.clips_filtered + info.clips_quarantined
    # every input is accounted for exactly once: quarantined as a source, or as the source of its clips
    assert set(run.quarantine["name"]).isdisjoint(run.manifest["name"])
    assert set(run.quarantine["name"]) | set(run.manifest["name"]) == set(EXPECTED) | set(GOOD)
    good = run.manifest[run.manifest["name"].isin(["good_a", "good_b"])]
    assert len(good) == 4 and (good["status"] == "kept").all()
    static = run.manifest[run.manifest["name"] == "static"]
    assert len(static) == 6 and set(static["reason"]) == {"filter:motion_min"}
    assert run.store.exists("datasets/bad/v1/dataset.json")
    kept = run.manifest[run.manifest["status"] == "kept"]
    assert sorted(run.store.list("datasets/bad/v1/clips")) == sorted(run.store.key_of(u) for u in kept["uri"])


def test_kept_clips_of_other_containers_decode_whole(run: Run) -> None:
    names = ["mkv_as_mp4", "webm_as_mp4", "vp8_webm_as_mp4", "avi_as_mp4", "ts_as_mp4"]
    kept = run.manifest[run.manifest["name"].isin(names)]
    assert len(kept) == 10  # two shots each
    for row in kept.itertuples():
        with av.open(str(run.store.local_path(run.store.key_of(row.uri)))) as c:
            assert c.format.name.startswith("mov,mp4")
            assert sum(1 for _ in c.decode(video=0)) == row.end_frame - row.start_frame
        assert row.start_frame in (0, 36) and row.end_frame - row.start_frame >= 34


def test_vfr_clips_carry_their_real_times_and_rates(run: Run) -> None:
    clips = run.manifest[run.manifest["name"] == "vfr"].sort_values("start_frame")
    starts = np.cumsum([0, *(fps * s for fps, s in VFR_SEGMENTS)])
    assert list(clips["start_frame"]) == [int(s) for s in starts[:-1]]
    assert list(clips["end_frame"]) == [int(s) for s in starts[1:]]
    assert list(clips["start_s"]) == pytest.approx([0.0, 2.0, 4.0])
    assert list(clips["end_s"]) == pytest.approx([2.0, 4.0, 6.0])
    assert list(clips["fps"]) == pytest.approx([fps for fps, _ in VFR_SEGMENTS])
    report = run.store.get_bytes("datasets/bad/v1/validation.json")
    assert b'"success": true' in report


def test_rotated_video_is_recorded_and_its_signal_frames_are_upright(run: Run) -> None:
    (row,) = run.manifest[run.manifest["name"] == "rotated"].itertuples()
    assert (row.width, row.height) == (120, 160)  # as displayed: portrait
    clip = run.store.local_path(run.store.key_of(row.uri))
    with av.open(str(clip)) as c:
        assert next(c.decode(video=0)).rotation == ROTATION_DEG  # the stream copy keeps the display matrix
    cfg = load_config()
    frames = decode_clip_frames(clip, row.fps, cfg.frames, frozenset({KEY}))
    truth = upright_frames()
    for name, index in (("first", 0), ("last", len(truth) - 1)):
        got = frames.key[name]
        assert got.shape == truth[index].shape == (160, 120, 3)
        assert np.abs(got.astype(np.int16) - truth[index]).mean() < 6  # only compression error
        assert got[:12].mean() > 240 > got[-40:].mean()  # the white bar is on top


def test_odd_size_clip_keeps_its_geometry(run: Run) -> None:
    (row,) = run.manifest[run.manifest["name"] == "odd_size"].itertuples()
    assert (row.width, row.height) == ODD_SIZE
    with av.open(str(run.store.local_path(run.store.key_of(row.uri)))) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == ODD_SIZE
