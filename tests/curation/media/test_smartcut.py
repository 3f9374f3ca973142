"""Tests of :mod:`curation.media.smartcut` and of clips that are exactly one shot on long-GOP sources."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from curation.badinputs import write_wrong_container
from curation.config import load_config
from curation.items import ClipItem, Item, SourceItem
from curation.media.remux import index_packets
from curation.media.smartcut import is_idr, join_nals, parse_avcc, smart_cut, split_nals
from curation.runner import run_stage
from curation.stages.clip import ClipStage
from curation.stages.probe import ProbeStage
from curation.stages.split import SplitStage
from curation.synthetic import GroundTruth, ShotSpec, VideoSpec, write_video

#: Three pans, cuts at 50 and 125, keyframes only every 40 frames (none at a cut), 3 B-frames.
SHOTS = (ShotSpec(50, speed=3.0), ShotSpec(75, speed=4.0, direction_deg=90), ShotSpec(45, speed=2.5, direction_deg=200))
LONG_GOP = {
    "closed": VideoSpec(seed=21, gop=40, keyframe_at_cuts=False, shots=SHOTS),
    "open": VideoSpec(seed=22, gop=40, keyframe_at_cuts=False, open_gop=True, shots=SHOTS),
    "no_bframes": VideoSpec(seed=23, gop=40, keyframe_at_cuts=False, bframes=0, shots=SHOTS),
}


def _rgb(path: str | Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


def _shot_clips(truth: GroundTruth, out: Path) -> list[ClipItem]:
    """Probe, split (real cut detection) and clip ``truth`` with the default profile."""
    config = load_config()
    src = SourceItem(source_id="s", source_uri="u", source_path=truth.path)
    ProbeStage().process([src])
    items = SplitStage(config.split, config.cuts).process([src])
    clips = [c for c in items if isinstance(c, ClipItem)]
    done = run_stage(ClipStage(config.clip, out, config.split.min_clip_s), list[Item](clips))
    return [c for c in done if isinstance(c, ClipItem)]


def _assert_frames_match(clip: ClipItem, source: list[np.ndarray]) -> None:
    """Every frame decodes; the first and last are the source's frames at the written span's ends."""
    assert clip.start_frame is not None and clip.end_frame is not None
    frames = _rgb(clip.clip_path)
    assert len(frames) == clip.end_frame - clip.start_frame
    for got, i in ((frames[0], clip.start_frame), (frames[-1], clip.end_frame - 1)):
        own = np.abs(got - source[i]).mean()
        assert own < 4, (clip.write_mode, i, own)  # within codec tolerance
        for j in (i - 1, i + 1):  # ... and closer to that frame than to its neighbours
            if 0 <= j < len(source):
                assert np.abs(got - source[j]).mean() > 2 * own


@pytest.mark.parametrize("kind", list(LONG_GOP))
def test_every_kept_clip_is_exactly_one_shot(kind: str, tmp_path: Path) -> None:
    truth = write_video(LONG_GOP[kind], tmp_path / f"{kind}.mp4")
    assert not set(truth.cuts) & set(truth.keyframes)  # the keyframe before each cut is in the shot before
    source = _rgb(truth.path)
    clips = _shot_clips(truth, tmp_path / "clips")
    kept = [c for c in clips if c.kept]
    assert [(c.shot_start_frame, c.shot_end_frame) for c in kept] == [(0, 50), (50, 125), (125, 170)]
    for clip in kept:
        assert clip.shot_start_frame is not None and clip.shot_end_frame is not None
        assert clip.start_frame == clip.shot_start_frame  # nothing from the shot before, nothing dropped
        assert clip.end_frame is not None and clip.shot_end_frame - 4 <= clip.end_frame <= clip.shot_end_frame
        _assert_frames_match(clip, source)
    for a, b in itertools.pairwise(kept):
        assert a.end_frame is not None and b.start_frame is not None and a.end_frame <= b.start_frame
    modes = [c.write_mode for c in kept]
    # closed GOPs start at IDR pictures: the head is re-encoded, the rest copied; an open GOP's keyframes are
    # recovery points that need the GOP before, so those clips are re-encoded whole.
    expected = "reencode" if kind == "open" else "smart_cut"
    assert modes == ["copy", expected, expected]


def test_smart_cut_writes_the_head_reencoded_and_the_tail_copied(tmp_path: Path) -> None:
    truth = write_video(LONG_GOP["closed"], tmp_path / "v.mp4")
    index = index_packets(truth.path)
    span = smart_cut(truth.path, tmp_path / "c.mp4", index, 50, 120)
    assert span is not None and span[0] == 50 and 116 <= span[1] <= 120
    with av.open(truth.path) as src, av.open(str(tmp_path / "c.mp4")) as clip:
        length, _, _ = parse_avcc(bytes(src.streams.video[0].codec_context.extradata or b""))
        source = {p.pts: bytes(p) for p in src.demux(src.streams.video[0]) if p.size}
        packets = [(p.pts, bytes(p)) for p in clip.demux(clip.streams.video[0]) if p.size]
        tb = clip.streams.video[0].time_base
    assert sorted(p for p, _ in packets)[0] == 0  # timestamps start at 0 ...
    times = sorted(float(p * tb) for p, _ in packets)
    assert np.allclose(np.diff(times), 1 / truth.fps)  # ... and run on without a gap
    offset = index.pts[50]
    copied = [data for pts, data in packets if round(pts * tb / index.time_base) + offset >= index.pts[80]]
    tail = [source[index.pts[f]] for f in range(80, span[1])]
    assert len(copied) == len(tail) and is_idr(copied[0], length)
    first = split_nals(copied[0], length)  # the source's SPS/PPS in-band, then the source's own packet
    assert join_nals(first[2:], length) in tail and sorted(copied[1:]) == sorted(tail[1:])


def test_smart_cut_declines_what_it_cannot_write(tmp_path: Path) -> None:
    open_gop = write_video(LONG_GOP["open"], tmp_path / "open.mp4")  # no IDR after frame 0
    assert smart_cut(open_gop.path, tmp_path / "o.mp4", index_packets(open_gop.path), 50, 120) is None
    vp8 = write_wrong_container(tmp_path / "vp8.webm", "webm_vp8")
    assert smart_cut(vp8, tmp_path / "v.mp4", index_packets(vp8), 5, 30) is None
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "v.mp4").exists()


def test_avcc_round_trip() -> None:
    sps, pps = b"\x67\x64\x00\x1f\xac", b"\x68\xee\x3c\x80"
    record = bytes([1, 0x64, 0, 0x1F, 0xFF, 0xE1]) + len(sps).to_bytes(2, "big") + sps + b"\x01"
    record += len(pps).to_bytes(2, "big") + pps
    assert parse_avcc(record) == (4, [sps], [pps])
    sample = join_nals([sps, pps, b"\x65\x88"], 4)
    assert split_nals(sample, 4) == [sps, pps, b"\x65\x88"] and is_idr(sample, 4)
    assert not is_idr(join_nals([b"\x41\x9a"], 4), 4)
    with pytest.raises(ValueError, match="avcC"):
        parse_avcc(b"\x00\x00\x00\x01\x67")
