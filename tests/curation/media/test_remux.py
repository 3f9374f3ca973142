from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from curation.badinputs import VFR_SEGMENTS, write_vfr, write_wrong_container
from curation.media import remux as remux_module
from curation.media.remux import PacketIndex, UnsupportedCodecError, copy_span, index_packets, plan_span
from curation.oddinputs import OddInput
from curation.synthetic import GroundTruth


def _frames(path: str | Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def test_index_matches_decoded_frames(bikes: Path, bikes_cuts: list[int]) -> None:
    index = index_packets(bikes)
    assert index.num_frames == len(_frames(bikes)) == 250
    assert set(bikes_cuts) <= set(index.keyframes) and index.keyframes[0] == 0
    assert sorted(index.decode_order) == list(range(250)) and index.decode_order != list(range(250))
    assert index.seconds(25) == pytest.approx(1.0) and index.seconds(250) == pytest.approx(10.0)


@pytest.mark.parametrize("span", [(30, 76), (40, 76), (100, 120), (242, 250)])
def test_copy_is_bit_exact_and_snapped_before(bikes: Path, tmp_path: Path, span: tuple[int, int]) -> None:
    index = index_packets(bikes)
    plan = plan_span(index, *span)
    assert plan is not None
    a, b = plan
    assert a == max(k for k in index.keyframes if k <= span[0])
    assert a < b <= span[1] and span[1] - b <= 4  # B-frame reordering costs at most a few frames
    copy_span(bikes, tmp_path / "c.mp4", index, a, b)
    clip, full = _frames(tmp_path / "c.mp4"), _frames(bikes)
    assert len(clip) == b - a
    assert all(np.array_equal(x, y) for x, y in zip(clip, full[a:b], strict=True))


def test_snap_after_and_slack(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["short_shot"]  # fixed GOP, no keyframes at cuts
    index = index_packets(truth.path)
    gop = truth.gop
    start = truth.cuts[1]
    assert start % gop != 0
    assert plan_span(index, start, truth.num_frames, "before")[0] == start // gop * gop
    assert plan_span(index, start, truth.num_frames, "after")[0] == (start // gop + 1) * gop
    near = (start // gop + 1) * gop - 1  # one frame before a keyframe
    assert plan_span(index, near, truth.num_frames, "before", slack=2)[0] == near + 1
    assert plan_span(index, 1, 5, "after") is None  # next keyframe is past the end


def test_copy_rejects_a_plan_the_file_cannot_satisfy(bikes: Path, tmp_path: Path) -> None:
    index = index_packets(bikes)
    fake = PacketIndex([*index.pts, index.pts[-1] + 512], [*index.decode_order, 250], index.keyframes,
                       index.time_base)
    with pytest.raises(ValueError, match="copied"):
        copy_span(bikes, tmp_path / "c.mp4", fake, 242, 251)


@pytest.mark.parametrize("container", ["mpegts", "matroska", "avi"])
def test_copy_from_other_containers_is_exact(tmp_path: Path, container: str) -> None:
    # MPEG-TS seeks by dts: seeking to the first keyframe's pts used to land one packet late.
    src = write_wrong_container(tmp_path / "v.mp4", container)
    index = index_packets(src)
    full = _frames(src)
    for a, b in ((0, 36), (36, 72)):
        assert plan_span(index, a, b) == (a, b)
        copy_span(src, tmp_path / f"c{a}.mp4", index, a, b)
        clip = _frames(tmp_path / f"c{a}.mp4")
        assert len(clip) == b - a
        assert all(np.array_equal(x, y) for x, y in zip(clip, full[a:b], strict=True))


def test_copy_refuses_a_codec_mp4_cannot_hold(tmp_path: Path) -> None:
    src = write_wrong_container(tmp_path / "v.mp4", "webm_vp8")
    with pytest.raises(UnsupportedCodecError, match="cannot hold vp8"):
        copy_span(src, tmp_path / "c.mp4", index_packets(src), 0, 36)


def test_rate_of_a_span_follows_its_timestamps(tmp_path: Path, bikes: Path) -> None:
    index = index_packets(write_vfr(tmp_path / "vfr.mp4"))
    bounds = np.cumsum([0, *(fps * s for fps, s in VFR_SEGMENTS)]).astype(int)
    rates = [index.rate(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    assert rates == [fps for fps, _ in VFR_SEGMENTS]
    assert index_packets(bikes).rate(30, 76) == 25


@pytest.mark.parametrize("name", ["mkv_no_cues", "fragmented_mp4", "mpegts", "mp4_moov_at_end"])
def test_copy_from_a_file_without_a_seek_index_is_exact(
    odd_inputs: dict[str, OddInput], tmp_path: Path, name: str
) -> None:
    src = odd_inputs[name].path
    index = index_packets(src)
    full = _frames(src)
    for a, b in ((12, 36), (36, 72), (48, 60)):
        copy_span(src, tmp_path / f"c{a}.mp4", index, a, b)
        clip = _frames(tmp_path / f"c{a}.mp4")
        assert len(clip) == b - a
        assert all(np.array_equal(x, y) for x, y in zip(clip, full[a:b], strict=True))


def test_a_seek_landing_past_the_span_reads_from_the_start(
    bikes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = index_packets(bikes)
    a, b = plan_span(index, 30, 120)  # type: ignore[misc]
    late = index.pts[min(k for k in index.keyframes if k > a)]  # a keyframe inside the span
    assert index.pts[a] < late < index.pts[b - 1]
    seeks: list[int] = []

    def lands_late(container: av.container.InputContainer, stream: av.video.stream.VideoStream, pts: int) -> bool:
        seeks.append(pts)
        container.seek(max(pts, late), stream=stream)  # past frame a, as a demuxer seeking by dts may
        return True

    monkeypatch.setattr(remux_module, "seek_keyframe", lands_late)
    copy_span(bikes, tmp_path / "c.mp4", index, a, b)
    assert len(seeks) == 1  # then once more, from the start without a seek
    clip, full = _frames(tmp_path / "c.mp4"), _frames(bikes)
    assert all(np.array_equal(x, y) for x, y in zip(clip, full[a:b], strict=True))
