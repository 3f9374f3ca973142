"""Odd inputs: the writers write what they claim (no seek index where they say so, legacy codecs), and the
real pipeline keeps every one — each seek-less file exactly as it keeps a seekable copy of it, each legacy
codec as clips an mp4 holds (re-encoded where it cannot hold the codec)."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from curation.config import load_config
from curation.oddinputs import (
    FPS,
    GOP,
    KINDS,
    SHOT_FRAMES,
    SHOTS,
    SIZE,
    MissingEncoderError,
    OddInput,
    has_cues,
    keyframe_flags,
    missing_encoders,
    odd_input_names,
    write_odd_input,
)
from curation.synthetic import top_level_boxes
from vidforge.dataset import load_dataset
from vidforge.store import LocalStore

FRAMES = SHOTS * SHOT_FRAMES
#: name → (demuxer, video codec) PyAV reports.
CLAIMS: dict[str, tuple[str, str]] = {
    "mkv_no_cues": ("matroska,webm", "mpeg4"),
    "webm_no_cues": ("matroska,webm", "vp8"),
    "fragmented_mp4": ("mov,mp4,m4a,3gp,3g2,mj2", "h264"),
    "mpegts": ("mpegts", "h264"),
    "flv": ("flv", "flv"),
    "mp4_moov_at_end": ("mov,mp4,m4a,3gp,3g2,mj2", "h264"),
    "h263_3gp": ("mov,mp4,m4a,3gp,3g2,mj2", "h263"),
    "wmv2_asf": ("asf", "wmv2"),
    "rv20_rm": ("rm", "rv20"),
    "theora_ogg": ("ogg", "theora"),
    "vp8_webm": ("matroska,webm", "vp8"),
}
#: Codecs an mp4 clip holds as they are (stream copy); the clips of every other codec are re-encoded (H.264).
MP4_CODECS = {"h264", "mpeg4"}
#: Mean absolute difference (0..255 RGB) two re-encodes of the same frames stay under (x264 at crf 18).
CODEC_ERROR = 3.0


def _param(name: str) -> object:
    """``name`` as a test parameter, skipped (naming the encoder) when PyAV's FFmpeg cannot write it."""
    missing = missing_encoders(name)
    return pytest.param(name, marks=pytest.mark.skipif(
        bool(missing), reason=f"PyAV's FFmpeg has no {', '.join(missing)} encoder to write {name}"))


ALL = [_param(name) for name in odd_input_names()]
SEEKLESS = [_param(name) for name in odd_input_names(seekless=True)]


def _seek_error(path: Path) -> OSError | None:
    """The error of ``container.seek(0)`` after decoding the first frame (as the probe used to), None if it seeks."""
    with av.open(str(path)) as c:
        next(c.decode(video=0))
        try:
            c.seek(0)
        except OSError as e:
            return e
    return None


def _frames(path: Path | str) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_every_kind_is_listed_and_a_missing_encoder_is_named() -> None:
    assert list(KINDS) == odd_input_names() == list(CLAIMS)
    assert set(odd_input_names(seekless=True)) == {"mkv_no_cues", "webm_no_cues", "fragmented_mp4", "mpegts", "flv",
                                                   "mp4_moov_at_end"}
    missing = missing_encoders("theora_ogg")
    assert missing in ([], ["libtheora"])
    if missing:  # this FFmpeg build cannot write Theora: writing it says so
        with pytest.raises(MissingEncoderError, match="no libtheora encoder"):
            write_odd_input("theora_ogg", "unused.ogv")


@pytest.mark.parametrize("name", ALL)
def test_each_kind_is_what_it_claims(odd_inputs: dict[str, OddInput], name: str) -> None:
    odd = odd_inputs[name]
    assert odd.path.suffix == odd.kind.suffix
    with av.open(str(odd.path)) as c:
        stream = c.streams.video[0]
        assert (c.format.name, stream.codec_context.name) == CLAIMS[name]
        assert (stream.width, stream.height) == SIZE
        assert bool(c.streams.audio) == (odd.kind.audio is not None)
        frames = [f.pts for f in c.decode(stream)]
    assert len(frames) == FRAMES
    with av.open(str(odd.path)) as c:
        keys = [p.is_keyframe for p in c.demux(video=0) if p.size]
    assert [i for i, key in enumerate(keys) if key] == list(range(0, FRAMES, GOP))  # every GOP, every cut


@pytest.mark.parametrize("name", ["mkv_no_cues", "webm_no_cues"])
def test_matroska_without_cues_cannot_seek(odd_inputs: dict[str, OddInput], name: str) -> None:
    path = odd_inputs[name].path
    assert not has_cues(path)
    assert keyframe_flags(path) == [False] * FRAMES  # the keyframes are in the bitstream only
    error = _seek_error(path)
    assert isinstance(error, PermissionError) and error.errno == errno.EPERM  # the "probe:permission_error"
    seekable = odd_inputs["vp8_webm"].path
    assert has_cues(seekable) and any(keyframe_flags(seekable)) and _seek_error(seekable) is None


def test_flv_starting_late_cannot_seek_to_its_start(odd_inputs: dict[str, OddInput]) -> None:
    path = odd_inputs["flv"].path
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        assert stream.start_time * stream.time_base == 1.0
    error = _seek_error(path)
    assert isinstance(error, PermissionError) and error.errno == errno.EPERM


def test_mp4_indexes_are_where_they_claim(odd_inputs: dict[str, OddInput]) -> None:
    fragmented = [kind for kind, *_ in top_level_boxes(odd_inputs["fragmented_mp4"].path.read_bytes())]
    assert fragmented.index("moov") < fragmented.index("moof") and fragmented.count("moof") == FRAMES // GOP
    with av.open(str(odd_inputs["fragmented_mp4"].path)) as c:
        assert c.streams.video[0].frames == 0  # the moov lists no sample
    at_end = [kind for kind, *_ in top_level_boxes(odd_inputs["mp4_moov_at_end"].path.read_bytes())]
    assert at_end.index("mdat") < at_end.index("moov")


@pytest.mark.parametrize("name", SEEKLESS)
def test_seekable_copies_decode_to_the_same_frames_and_seek(
    odd_inputs: dict[str, OddInput], seekable_copies: dict[str, Path], name: str
) -> None:
    copy = seekable_copies[name]
    mine, theirs = _frames(odd_inputs[name].path), _frames(copy)
    assert len(mine) == len(theirs) == FRAMES
    assert all(np.array_equal(x, y) for x, y in zip(mine, theirs, strict=True))
    assert _seek_error(copy) is None


@dataclass
class Run:
    store: LocalStore
    manifest: pd.DataFrame  # + columns "name" (the kind) and "copy" (True: the seekable copy)
    quarantine: pd.DataFrame


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, odd_inputs: dict[str, OddInput],
        seekable_copies: dict[str, Path]) -> Run:
    """Every odd input and every seekable copy, curated together once with the default profile.

    The relative (percentile) filters are off: a clip's fate then depends on the clip alone, so a
    seek-less file and its copy must end alike.
    """
    from curation.pipeline import curate

    store = LocalStore(tmp_path_factory.mktemp("oddrun") / "store")
    config = load_config(overrides={"filter": {"motion": {"drop_lowest": None},
                                               "text_area": {"drop_highest": None}}})
    sources = [odd.path for odd in odd_inputs.values()] + list(seekable_copies.values())
    curate(sources, store=store, name="odd", version="v1", progress=False, config=config)
    manifest = load_dataset(store, "odd", "v1").manifest
    manifest["name"] = [Path(uri).stem for uri in manifest["source_uri"]]
    manifest["copy"] = manifest["source_uri"].isin({p.resolve().as_uri() for p in seekable_copies.values()})
    quarantine = pq.read_table(store.local_path("datasets/odd/v1/quarantine.parquet")).to_pandas()
    return Run(store, manifest.sort_values(["name", "copy", "start_frame"]), quarantine)


def _clip(run: Run, uri: str) -> Path:
    return Path(run.store.local_path(run.store.key_of(uri)))


def test_no_odd_input_is_quarantined(run: Run) -> None:
    assert run.quarantine.empty, run.quarantine[["source_uri", "reason", "error"]].to_string()
    assert (run.manifest["status"] == "kept").all(), run.manifest[["name", "status", "reason"]].to_string()


@pytest.mark.parametrize("name", ALL)
def test_each_input_becomes_one_clip_per_shot(run: Run, odd_inputs: dict[str, OddInput], name: str) -> None:
    clips = run.manifest[(run.manifest["name"] == name) & ~run.manifest["copy"]]
    assert [(r.start_frame, r.end_frame) for r in clips.itertuples()] == [
        (k * SHOT_FRAMES, (k + 1) * SHOT_FRAMES) for k in range(SHOTS)]
    assert list(clips["start_s"]) == pytest.approx([k * SHOT_FRAMES / FPS for k in range(SHOTS)], abs=2e-3)
    assert list(clips["fps"]) == pytest.approx([FPS] * SHOTS)
    with av.open(str(odd_inputs[name].path)) as c:
        codec = c.streams.video[0].codec_context.name
    for row in clips.itertuples():
        with av.open(str(_clip(run, row.uri))) as c:
            assert c.format.name.startswith("mov,mp4")  # an mp4 clip: stream copied, or re-encoded
            assert c.streams.video[0].codec_context.name == (codec if codec in MP4_CODECS else "h264")
        assert len(_frames(_clip(run, row.uri))) == row.end_frame - row.start_frame


@pytest.mark.parametrize("name", SEEKLESS)
def test_a_seekless_input_is_curated_like_its_seekable_copy(run: Run, name: str) -> None:
    rows = run.manifest[run.manifest["name"] == name]
    own, copy = rows[~rows["copy"]], rows[rows["copy"]]
    columns = ["start_frame", "end_frame", "status", "reason", "width", "height"]
    assert own[columns].to_numpy().tolist() == copy[columns].to_numpy().tolist()
    assert list(own["start_s"]) == pytest.approx(list(copy["start_s"]), abs=2e-3)  # Matroska counts in ms
    # A stream-copied clip holds the same packets: the same frames, the same motion. x264 does not encode
    # the same frames to the same bits in every process state (nor with other timestamps): a re-encoded
    # clip is the same within the codec's error.
    with av.open(str(own["source_uri"].iloc[0]).removeprefix("file://")) as c:
        copied = c.streams.video[0].codec_context.name in MP4_CODECS
    assert list(own["motion_score"]) == pytest.approx(list(copy["motion_score"]), rel=0 if copied else 0.02)
    for mine, theirs in zip(own["uri"], copy["uri"], strict=True):
        a, b = _frames(_clip(run, mine)), _frames(_clip(run, theirs))
        assert len(a) == len(b)
        error = max(float(np.abs(x.astype(np.int16) - y).mean()) for x, y in zip(a, b, strict=True))
        assert (error == 0.0) if copied else (error < CODEC_ERROR)
