from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from curation.badinputs import (
    ODD_SIZE,
    ROTATION_DEG,
    write_odd_size,
    write_rotated,
    write_truncated_mdat,
    write_vfr,
    write_wrong_container,
)
from curation.media import reencode as reencode_module
from curation.media.reencode import BadSpanError, reencode_span
from curation.media.remux import PacketIndex, index_packets
from curation.oddinputs import OddInput
from curation.synthetic import GroundTruth, ShotSpec, VideoSpec, write_video

#: Two fast pans (neighbouring frames differ clearly) whose cut (36) and spans fall inside GOPs of 10.
MISALIGNED = VideoSpec(seed=5, gop=10, keyframe_at_cuts=False, shots=(
    ShotSpec(36, speed=3.0), ShotSpec(36, speed=3.0, direction_deg=90)))


@pytest.fixture(scope="module")
def misaligned(tmp_path_factory: pytest.TempPathFactory) -> GroundTruth:
    return write_video(MISALIGNED, tmp_path_factory.mktemp("reencode") / "misaligned.mp4")


def _rgb(path: str | Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


def _planes(path: str | Path) -> list[np.ndarray]:
    """Frames in their own pixel format (YUV planes, no conversion)."""
    with av.open(str(path)) as c:
        return [f.to_ndarray() for f in c.decode(video=0)]


def _diff(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.abs(x - y).mean())


def assert_frames_are(clip: list[np.ndarray], source: list[np.ndarray], a: int, b: int) -> None:
    """``clip`` is source frames ``[a, b)``: each close to its own frame, far from the frames next to it."""
    assert len(clip) == b - a
    for i, frame in enumerate(clip, start=a):
        own = _diff(frame, source[i])
        assert own < 4  # compression error only
        for j in (i - 1, i + 1):
            if 0 <= j < len(source):
                assert _diff(frame, source[j]) > 2 * own


@pytest.mark.parametrize("span", [(13, 31), (36, 50), (0, 7), (65, 72)])
def test_span_is_frame_exact_whatever_the_gop(misaligned: GroundTruth, tmp_path: Path, span: tuple[int, int]) -> None:
    index = index_packets(misaligned.path)
    assert misaligned.cuts == [36] and index.keyframes == list(range(0, 72, 10))
    a, b = span
    reencode_span(misaligned.path, tmp_path / "c.mp4", index, a, b)
    assert_frames_are(_rgb(tmp_path / "c.mp4"), _rgb(misaligned.path), a, b)
    clip = index_packets(tmp_path / "c.mp4")
    assert clip.keyframes[0] == 0 and clip.seconds(clip.num_frames) == pytest.approx((b - a) / misaligned.fps)


def test_lossless_crf_gives_the_source_frames_bit_for_bit(misaligned: GroundTruth, tmp_path: Path) -> None:
    index = index_packets(misaligned.path)
    reencode_span(misaligned.path, tmp_path / "c.mp4", index, 13, 31, crf=0, preset="ultrafast")
    clip, source = _planes(tmp_path / "c.mp4"), _planes(misaligned.path)
    assert len(clip) == 18
    assert all(np.array_equal(x, y) for x, y in zip(clip, source[13:31], strict=True))


@pytest.mark.parametrize("container", ["mpegts", "matroska", "avi", "webm_vp8"])
def test_other_containers_and_codecs(tmp_path: Path, container: str) -> None:
    # MPEG-TS seeks by decode time; VP8 is what an mp4 stream copy cannot hold.
    src = write_wrong_container(tmp_path / "v.mp4", container)
    index = index_packets(src)
    source = _rgb(src)
    for a, b in ((5, 30), (40, 72)):
        reencode_span(src, tmp_path / f"c{a}.mp4", index, a, b)
        assert_frames_are(_rgb(tmp_path / f"c{a}.mp4"), source, a, b)
        with av.open(str(tmp_path / f"c{a}.mp4")) as c:
            assert c.streams.video[0].codec_context.name == "h264"


def test_variable_frame_rate_keeps_its_timestamps(tmp_path: Path) -> None:
    src = write_vfr(tmp_path / "vfr.mp4")  # 48 frames at 24 fps, 24 at 12, 60 at 30
    index = index_packets(src)
    a, b = 40, 80
    reencode_span(src, tmp_path / "c.mp4", index, a, b)
    clip = index_packets(tmp_path / "c.mp4")
    assert clip.num_frames == b - a
    assert [clip.seconds(i) for i in range(b - a)] == pytest.approx([index.seconds(i) - index.seconds(a)
                                                                     for i in range(a, b)])
    assert clip.rate(0, b - a) == index.rate(a, b)


def test_odd_size_is_kept_as_4_4_4(tmp_path: Path) -> None:
    src = write_odd_size(tmp_path / "odd.mp4", codec="mpeg4")  # 4:2:0 source of odd size
    reencode_span(src, tmp_path / "c.mp4", index_packets(src), 10, 30)
    with av.open(str(tmp_path / "c.mp4")) as c:
        stream = c.streams.video[0]
        assert (stream.width, stream.height, stream.codec_context.pix_fmt) == (*ODD_SIZE, "yuv444p")
    assert_frames_are(_rgb(tmp_path / "c.mp4"), _rgb(src), 10, 30)


def test_rotation_is_kept(tmp_path: Path) -> None:
    src = write_rotated(tmp_path / "rot.mp4")
    reencode_span(src, tmp_path / "c.mp4", index_packets(src), 5, 20)
    with av.open(str(tmp_path / "c.mp4")) as c:
        assert next(c.decode(video=0)).rotation == ROTATION_DEG


@pytest.mark.parametrize("span", [(5, 5), (9, 3), (-1, 4), (60, 73)])
def test_a_span_outside_the_source_is_refused(misaligned: GroundTruth, tmp_path: Path, span: tuple[int, int]) -> None:
    with pytest.raises(BadSpanError, match="not within the source's 72 frames"):
        reencode_span(misaligned.path, tmp_path / "c.mp4", index_packets(misaligned.path), *span)
    assert not (tmp_path / "c.mp4").exists()


def test_a_truncated_source_has_fewer_frames_than_its_span(tmp_path: Path) -> None:
    src = write_truncated_mdat(tmp_path / "t.mp4")  # promises 48 frames, holds about 10
    index = index_packets(src)
    assert index.num_frames < 24
    with pytest.raises(BadSpanError):
        reencode_span(src, tmp_path / "c.mp4", index, 0, 24)


def test_frames_the_decoder_does_not_give_fail_and_leave_no_file(misaligned: GroundTruth, tmp_path: Path) -> None:
    index = index_packets(misaligned.path)
    step = index.pts[1] - index.pts[0]
    fake = PacketIndex([*index.pts, index.pts[-1] + step], [*index.decode_order, 72], index.keyframes,
                       index.time_base)
    with pytest.raises(ValueError, match="decoded 8 of the 9 frames of \\[64, 73\\)"):
        reencode_span(misaligned.path, tmp_path / "c.mp4", fake, 64, 73)
    assert not (tmp_path / "c.mp4").exists()


@pytest.mark.parametrize("name", ["webm_no_cues", "flv", "mkv_no_cues"])
def test_a_file_without_a_seek_index_is_reencoded_exactly(
    odd_inputs: dict[str, OddInput], tmp_path: Path, name: str
) -> None:
    # VP8 and Sorenson Spark (FLV1) are what an mp4 stream copy cannot hold: their clips are re-encoded.
    src = odd_inputs[name].path
    index, source = index_packets(src), _rgb(src)
    for a, b in ((30, 50), (40, 72)):
        reencode_span(src, tmp_path / f"c{a}.mp4", index, a, b)
        assert_frames_are(_rgb(tmp_path / f"c{a}.mp4"), source, a, b)


def test_a_seek_landing_past_the_span_decodes_from_the_start(
    misaligned: GroundTruth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = index_packets(misaligned.path)
    a, b = 33, 60  # decoding starts a keyframe earlier than 30
    seeks: list[int] = []

    def lands_late(container: av.container.InputContainer, stream: av.video.stream.VideoStream, pts: int) -> bool:
        seeks.append(pts)
        container.seek(index.pts[40], stream=stream)  # past frame a, as a demuxer seeking by dts may
        return True

    monkeypatch.setattr(reencode_module, "seek_keyframe", lands_late)
    reencode_span(misaligned.path, tmp_path / "c.mp4", index, a, b)
    assert seeks == [index.pts[20]]  # then once more, from the start without a seek
    assert_frames_are(_rgb(tmp_path / "c.mp4"), _rgb(misaligned.path), a, b)
