"""Tests of curation/stages/text.py on real synthetic clips with text of known area.

Tolerances, from 48 clips (8 seeds x the cases below and "OK", default config): the detector's
boxes keep a margin around the glyphs, so text measured 1.10-1.50x the glyph extent box that
:func:`text_area_fraction` returns; on the text-free clips the texture's sharp shapes gave at most
0.017 (median of the three frames). Hence ``0.9 * truth <= area <= 1.6 * truth + BACKGROUND`` and
a text-free clip below ``BACKGROUND`` = 0.02. Measured here (seed 0, truth → area): 448x256 "OK"
0.014 → 0.035, "SALE 50%" 0.048 → 0.064, "BIG SUMMER SALE" 0.088 → 0.111; 640x360 "Subscribe now
for the best deals" 0.072 → 0.100; no text 0.017.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from curation.config import FramesConfig, MotionConfig, TextConfig
from curation.items import ClipItem, Item
from curation.media.frames import KEY, decode_clip_frames
from curation.runner import run_stage
from curation.stages.frames import FramesStage
from curation.stages.text import TextStage, covered_fraction, frames_text_area, has_content, shipped_model
from curation.synthetic import ShotSpec, VideoSpec, text_area_fraction, write_corrupt, write_video
from vidforge.settings import StoreSettings
from vidforge.store import LocalStore, ObjectStore, S3Store

#: Most of the frame the detector covers on the synthetic texture without any text (see the docstring).
BACKGROUND = 0.02
#: (width, height, text): three sizes of text on 448x256 (the frames' decoded size) and one scaled from 640x360.
CASES = [(448, 256, ""), (448, 256, "OK"), (448, 256, "SALE 50%"), (448, 256, "BIG SUMMER SALE"),
         (640, 360, "Subscribe now for the best deals")]


def _clip(path: str | Path, width: int = 448, height: int = 256) -> ClipItem:
    return ClipItem(clip_id=Path(path).stem, source_id="s", source_uri="", source_path="", span_start=0,
                    span_end=12, fps=24.0, width=width, height=height, clip_path=str(path))


@pytest.fixture(scope="module")
def stage() -> TextStage:
    """The default stage, set up once for the module (the engine takes ~1 s to build)."""
    stage = TextStage(TextConfig())
    stage.setup()
    return stage


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ClipItem, float]]:
    """``text`` → (clip, true text fraction); one 12-frame panning clip per case, all on seed 0's texture."""
    root = tmp_path_factory.mktemp("text")
    out = {}
    for width, height, text in CASES:
        spec = VideoSpec(shots=(ShotSpec(12, speed=1.0, text=text),), width=width, height=height)
        truth = write_video(spec, root / f"{len(out)}.mp4")
        out[text] = (_clip(truth.path, width, height), text_area_fraction(text, width, height))
    return out


def _area(stage: TextStage, clip: ClipItem) -> float:
    out = run_stage(stage, list[Item]([dataclasses.replace(clip, frames=None)]))  # a fresh copy
    assert isinstance(out[0], ClipItem) and out[0].kept, out[0].reason
    assert out[0].text_area is not None
    return out[0].text_area


def test_union_of_overlapping_boxes_counts_once() -> None:
    a = [[10, 10], [50, 10], [50, 30], [10, 30]]  # 41 x 21 px, inclusive
    b = [[30, 20], [70, 20], [70, 40], [30, 40]]  # overlaps a in 21 x 11 px
    boxes = [np.array(a, float), np.array(b, float)]
    assert covered_fraction(boxes[:1], 100, 200) == pytest.approx(41 * 21 / 20000)
    assert covered_fraction(boxes, 100, 200) == pytest.approx((2 * 41 * 21 - 21 * 11) / 20000)
    assert covered_fraction(boxes + boxes, 100, 200) == covered_fraction(boxes, 100, 200)
    assert covered_fraction([], 100, 200) == 0.0


@pytest.mark.parametrize("text", [t for _, _, t in CASES if len(t) > 2])  # "OK" is mostly margin
def test_measured_area_matches_the_drawn_text(stage: TextStage, clips: dict[str, tuple[ClipItem, float]],
                                              text: str) -> None:
    clip, truth = clips[text]
    assert 0.9 * truth <= _area(stage, clip) <= 1.6 * truth + BACKGROUND


def test_a_clip_without_text_is_near_zero_and_bigger_text_covers_more(
        stage: TextStage, clips: dict[str, tuple[ClipItem, float]]) -> None:
    same_frame = ["", "OK", "SALE 50%", "BIG SUMMER SALE"]  # same size and texture, growing text
    truths = [clips[t][1] for t in same_frame]
    assert truths == sorted(truths) and len(set(truths)) == 4
    areas = [_area(stage, clips[t][0]) for t in same_frame]
    assert areas[0] < BACKGROUND
    steps = zip(itertools.pairwise(areas), itertools.pairwise(truths), strict=True)
    assert all(b - a > 0.5 * (tb - ta) for (a, b), (ta, tb) in steps)  # each step grows by half its truth


def test_frames_stage_and_own_decode_give_the_same_area(stage: TextStage,
                                                        clips: dict[str, tuple[ClipItem, float]]) -> None:
    clip, _ = clips["SALE 50%"]
    shared = dataclasses.replace(clip, frames=None)
    FramesStage(FramesConfig(), MotionConfig()).process([shared])
    assert shared.frames is not None and KEY in shared.frames.decoded
    own = _area(stage, clip)
    stage.process([shared])
    assert shared.text_area == own


def test_min_score_drops_low_scoring_boxes(stage: TextStage, clips: dict[str, tuple[ClipItem, float]]) -> None:
    clip, _ = clips["BIG SUMMER SALE"]
    frames = decode_clip_frames(clip.clip_path, clip.fps, FramesConfig(), frozenset({KEY}))
    engines = []
    for min_score in (0.3, 0.99):  # around the default (0.5, the module's stage)
        other = TextStage(TextConfig(min_score=min_score))
        other.setup()
        engines.append(other.engine)
    low, default, high = (frames_text_area(e, frames.key_frames()) for e in (engines[0], stage.engine, engines[1]))
    assert low >= default > 0.05 and high == 0.0  # no box scores 0.99; the 0.3 boxes include the 0.5 ones


def test_recognition_keeps_a_subset_of_the_detected_boxes(stage: TextStage,
                                                          clips: dict[str, tuple[ClipItem, float]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Recognition only removes boxes; nothing (its models and character list included) is fetched."""

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("network access during OCR")

    monkeypatch.setattr(socket.socket, "connect", offline)
    monkeypatch.setattr(socket, "getaddrinfo", offline)
    reader = TextStage(TextConfig(recognize=True))
    reader.setup()
    for text in ("", "SALE 50%"):
        clip, truth = clips[text]
        read, detected = _area(reader, clip), _area(stage, clip)
        assert read <= detected and read >= 0.9 * truth


@pytest.mark.parametrize("mode", ["truncated", "no_frames", "empty"])
def test_an_unreadable_clip_is_quarantined_and_the_batch_goes_on(
        stage: TextStage, clips: dict[str, tuple[ClipItem, float]], tmp_path: Path, mode: str) -> None:
    bad = tmp_path / f"{mode}.mp4"
    if mode == "empty":
        bad.write_bytes(b"")
    else:
        write_corrupt(bad, mode)
    good = dataclasses.replace(clips["SALE 50%"][0], frames=None)
    out = run_stage(stage, list[Item]([_clip(bad), good]))
    assert out[0].reason == "text:decode_failed" and out[0].text_area is None  # type: ignore[attr-defined]
    assert out[1].kept and out[1].text_area is not None  # type: ignore[attr-defined]


@pytest.fixture(params=["path", "file", "s3"])
def det_uri(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, StoreSettings | None]:
    """The shipped detector, copied: a plain path, a ``file://`` URI, an ``s3://`` URI (test S3 server)."""
    if request.param == "path":
        return str(shutil.copy(shipped_model("det"), tmp_path / "det.onnx")), None
    store: ObjectStore
    if request.param == "file":
        store = LocalStore(tmp_path / "store")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        store = S3Store(f"s3://{request.getfixturevalue('s3_bucket')}/models", endpoint_url=endpoint)
    return store.put_file(shipped_model("det"), "ocr/det v1.onnx"), store.settings()


def test_a_pinned_model_loads_from_a_path_or_store_uri(stage: TextStage, det_uri: tuple[str, StoreSettings | None],
                                                       clips: dict[str, tuple[ClipItem, float]]) -> None:
    uri, settings = det_uri
    pinned = TextStage(TextConfig(det_model=uri), store=settings)
    pinned.setup()
    clip, _ = clips["SALE 50%"]
    assert _area(pinned, clip) == _area(stage, clip)


@pytest.mark.parametrize("uri", ["/nonexistent/det.onnx", "file:///nonexistent/det.onnx", "relative/det.onnx"])
def test_a_missing_model_fails_setup(uri: str) -> None:
    with pytest.raises(FileNotFoundError, match="det model"):
        TextStage(TextConfig(det_model=uri)).setup()


def test_a_title_that_fades_in_and_out_is_measured_on_its_middle_frame(stage: TextStage, tmp_path: Path) -> None:
    spec = VideoSpec(shots=(ShotSpec(25, speed=1.0, text="BIG SUMMER SALE", fade_in=12, fade_out=12),),
                     width=448, height=256)
    truth = write_video(spec, tmp_path / "fade.mp4")
    frames = decode_clip_frames(truth.path, 24.0, FramesConfig(), frozenset({KEY})).key_frames()
    assert [has_content(f, TextConfig().min_frame_std) for f in frames] == [False, True, False]  # black, text, black
    area = _area(stage, _clip(truth.path))
    true_area = text_area_fraction("BIG SUMMER SALE", 448, 256)
    assert 0.9 * true_area <= area <= 1.6 * true_area + BACKGROUND
    assert frames_text_area(stage.engine, frames) == 0.0  # the plain median of the three: the old blind spot
