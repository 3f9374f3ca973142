from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from curation.badinputs import (
    ROTATION_DEG,
    write_audio_only,
    write_not_a_video,
    write_rotated,
    write_truncated_mdat,
    write_wrong_container,
)
from curation.items import Item, SourceItem
from curation.oddinputs import FPS, SHOT_FRAMES, SHOTS, SIZE, OddInput, missing_encoders, odd_input_names
from curation.runner import run_stage
from curation.stages.probe import ProbeStage
from curation.synthetic import GroundTruth, write_corrupt


def _src(path: Path | str) -> SourceItem:
    return SourceItem(source_id=Path(path).stem, source_uri=f"file://{path}", source_path=str(path))


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, i * 1024, Fraction(1, 16000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_probe_reads_geometry(demo_by_name: dict[str, GroundTruth], bikes: Path) -> None:
    truth = demo_by_name["cuts"]
    src, bike = _src(truth.path), _src(bikes)
    ProbeStage().process([src, bike])
    assert (src.fps, src.width, src.height, src.num_frames) == (truth.fps, truth.width, truth.height,
                                                               truth.num_frames)
    assert src.duration_s == pytest.approx(truth.num_frames / truth.fps)
    assert (bike.fps, bike.width, bike.height, bike.num_frames) == (25.0, 640, 272, 250)


def test_bad_inputs_are_quarantined_with_stable_codes(tmp_path: Path, bikes: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    cases = {
        "probe:not_found": tmp_path / "missing.mp4",
        "probe:empty_file": empty,
        "probe:unreadable": write_corrupt(tmp_path / "trunc.mp4", mode="truncated"),
        "probe:no_frames": write_corrupt(tmp_path / "noframes.mp4", mode="no_frames"),
        "probe:no_video_stream": _audio_only(tmp_path / "audio.m4a"),
        "probe:not_a_video": write_not_a_video(tmp_path / "image.mp4", "png"),
        "probe:truncated": write_truncated_mdat(tmp_path / "half.mp4"),
    }
    items: list[Item] = [_src(p) for p in cases.values()] + [_src(bikes)]
    out = run_stage(ProbeStage(), items)
    assert [it.reason for it in out] == [*cases, ""]
    assert all(it.error for it in out[:-1]) and out[-1].kept


def test_cover_art_is_not_a_video_stream(tmp_path: Path) -> None:
    (out,) = run_stage(ProbeStage(), [_src(write_audio_only(tmp_path / "song.m4a", cover_art=True))])
    assert out.reason == "probe:no_video_stream" and "cover art" in out.error


def test_container_is_probed_by_content_not_name(tmp_path: Path) -> None:
    src = _src(write_wrong_container(tmp_path / "really_avi.mp4", "avi"))
    ProbeStage().process([src])
    assert (src.fps, src.width, src.height, src.num_frames, src.rotation) == (24.0, 160, 120, 72, 0)


def test_rotation_is_recorded_and_size_is_upright(tmp_path: Path) -> None:
    src = _src(write_rotated(tmp_path / "portrait.mp4"))
    ProbeStage().process([src])
    assert (src.rotation, src.width, src.height) == (ROTATION_DEG, 120, 160)


@pytest.mark.parametrize("name", odd_input_names())
def test_files_without_a_seek_index_and_legacy_codecs_probe_whole(odd_inputs: dict[str, OddInput], name: str) -> None:
    # The probe used to seek back to the start after decoding the first frame: EPERM on a Matroska file
    # without Cues (or an FLV starting late), which quarantined it as probe:permission_error.
    if name not in odd_inputs:
        pytest.skip(f"PyAV's FFmpeg has no {', '.join(missing_encoders(name))} encoder to write {name}")
    (src,) = run_stage(ProbeStage(), [_src(odd_inputs[name].path)])
    assert src.kept, src.error
    assert (src.fps, src.width, src.height, src.num_frames, src.rotation) == (FPS, *SIZE, SHOTS * SHOT_FRAMES, 0)
