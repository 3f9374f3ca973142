"""Text: the fraction of the frame covered by text, from RapidOCR on the first, middle and last frame.

SVD's recipe drops clips with much text (captions, logos, watermarks, slides): OCR on the
first, middle and last frame, the text area as a fraction of the frame. Each of the three key
frames (RGB, as decoded: longest side ``frames.max_side``) goes through RapidOCR's DB text
detector (PP-OCR ``.onnx`` models shipped inside the ``rapidocr`` wheel, run by onnxruntime);
the boxes with a detection score ≥ ``text.min_score`` are rasterised into one mask, so
overlapping boxes count once, and

    text_area = median over the three frames of (text pixels / frame pixels)   ∈ [0, 1],

the area that text covers on at least two of the three frames.

**Frames chosen by content.** A key frame that is near-uniform (the grey level's standard
deviation below ``text.min_frame_std``: the black first and last frames of a fade-in/fade-out,
a flash) can show no text, so it is left out and the median is over the others; a clip whose
title fades in and out gets the area of its middle frame, not 0. A clip whose key frames are
all uniform has ``text_area = 0``.

**Median, not max or mean.** The text a curation filter must catch (burnt-in captions,
watermarks, overlays) persists through a shot; detector false positives flicker. On bikes.mp4
(real footage without text) the detector drew one box over 83 % of a single frame (a bus roof):
max gives that clip 0.83 and the mean 0.28 — both far above SVD's 7 % cut — the median 0.007.
The median also survives a detection miss on one frame, which max does too but the mean does
not. Its cost: text on only one of the three frames (a title over the first third of a shot)
is ignored.

**Detection only by default.** The area needs boxes, not words (the paper used the CRAFT
*detector*). The recogniser (``text.recognize``) reads every box: ~3x the cost of detection,
and it does not remove the detector's false boxes — it read a filled square as "口" and that bus
roof as "H", both with confidence > 0.85. It stays available (a deployment may find it helps on
its sources); the angle classifier is never run (it only rotates crops for the recogniser).

**Native size.** The detector sees the frame at its decoded size (rounded to multiples of 32),
not RapidOCR's default of upscaling to a 736 px short side: upscaling cost ~10x and, on small
frames (the 160x120 demo suite), produced frame-sized false boxes on most text-free clips.
Areas are those of the detector's boxes, which keep a margin around the glyphs (DB "unclip"):
on cv2-drawn text they are 1.1-1.5x the glyph extent box of
:func:`curation.synthetic.text_area_fraction`.

Models load from local files only: ``text.det_model`` / ``text.rec_model`` (a path, ``file://``
or ``s3://`` URI; ``""`` = the package's model) are resolved to files before RapidOCR is built,
so its download code (used when no model path is given) never runs. Frames come from the frames
stage when it ran (:func:`curation.media.frames.frames_for`). Quarantine codes: ``too_short`` (no frame
decodes), ``decode_failed`` (the clip cannot be opened or decoded).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

import numpy as np

from curation.config import FramesConfig, TextConfig
from curation.items import ClipItem, Item
from curation.media.frames import KEY, decode_errors, frames_for
from curation.stages.base import Resources, Stage

if TYPE_CHECKING:
    from vidforge.settings import StoreSettings

_WANT = frozenset({KEY})


def shipped_model(task: str) -> Path:
    """The ``.onnx`` model of ``task`` (``det`` or ``rec``) inside the installed ``rapidocr`` package.

    Raises:
        FileNotFoundError: the package holds no such model, or several (name one in the config).
    """
    import rapidocr

    root = Path(rapidocr.__file__).resolve().parent / "models"
    found = sorted(root.glob(f"*_{task}_*.onnx"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one {task} model in {root}, found {[p.name for p in found]}; "
                                f"set text.{task}_model")
    return found[0]


def model_file(uri: str, task: str, dest: Path, settings: StoreSettings | None = None) -> Path:
    """A local file holding the model at ``uri`` (``""``: the package's model; a local file is used in place).

    Args:
        uri: a path, ``file://`` or ``s3://`` URI of an ``.onnx`` file, or ``""``.
        task: ``det`` or ``rec`` (picks the shipped model when ``uri`` is empty).
        dest: directory a remote model is downloaded into.
        settings: object-store settings for ``s3://`` URIs (endpoint, region).

    Raises:
        FileNotFoundError: nothing at ``uri``.
    """
    from vidforge.store import fetch_file

    if not uri:
        return shipped_model(task)
    try:
        return fetch_file(uri, dest / f"{task}_{Path(urlparse(uri).path).name}", settings)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"no {task} model at {uri}") from e


def build_engine(config: TextConfig, settings: StoreSettings | None = None) -> Any:
    """A RapidOCR engine with its models loaded from local files, quiet below ERROR.

    Detection uses ``min_score`` as its box threshold; the angle classifier is off; the recogniser
    runs only with ``config.recognize``. A rendered line of text is run once (thresholds at 0) so the
    models load here, not lazily in the first ``process``, and the engine proves it finds text.

    Raises:
        FileNotFoundError: a configured model does not exist.
        RuntimeError: the engine finds no text in the rendered check line.
    """
    import cv2
    from rapidocr import RapidOCR

    with tempfile.TemporaryDirectory(prefix="vidforge-ocr-") as tmp:
        params: dict[str, Any] = {
            "Global.log_level": "error",  # it logs every model path at INFO and "no text" at WARNING
            "Global.use_cls": False,
            "Global.use_rec": config.recognize,
            "Global.text_score": config.min_rec_score,
            "Det.model_path": str(model_file(config.det_model, "det", Path(tmp), settings)),
            # The detector's own box filter; the scores RapidOCR returns next to the boxes are not in
            # box order (3.x sorts the boxes only), so they are not used.
            "Det.box_thresh": config.min_score,
            "Det.limit_type": "min",  # with 0: the frame's own size, never upscaled to 736 px
            "Det.limit_side_len": 0,
            "EngineConfig.onnxruntime.intra_op_num_threads": config.threads or -1,
        }
        if config.recognize:
            params["Rec.model_path"] = str(model_file(config.rec_model, "rec", Path(tmp), settings))
        engine = RapidOCR(params=params)
        check = np.full((64, 320, 3), 255, np.uint8)
        cv2.putText(check, "vidforge OCR 123", (8, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
        # Any box counts for the check (whatever the thresholds); it also loads the models before tmp goes.
        found = getattr(engine(check, box_thresh=0.0, text_score=0.0), "boxes", None)
        engine.update_params(box_thresh=config.min_score, text_score=config.min_rec_score)
        if found is None or not len(found):
            raise RuntimeError("the OCR engine found no text in a rendered line of text; check text.det_model")
    return engine


def text_boxes(engine: Any, frame: np.ndarray) -> list[np.ndarray]:
    """The text quadrilaterals RapidOCR keeps in an RGB ``uint8`` frame: ``(4, 2)`` float arrays, x/y in px."""
    out = engine(np.ascontiguousarray(frame[..., ::-1]))  # the PP-OCR models take BGR
    boxes = getattr(out, "boxes", None)
    return [] if boxes is None else [np.asarray(b, np.float64).reshape(-1, 2) for b in boxes]


def covered_fraction(boxes: list[np.ndarray], height: int, width: int) -> float:
    """Fraction of a ``height`` x ``width`` frame inside the union of ``boxes`` (polygons rasterised, overlaps once)."""
    import cv2

    mask = np.zeros((height, width), np.uint8)
    for box in boxes:  # one fillPoly per polygon: a multi-polygon fill is not a union
        cv2.fillPoly(mask, [np.round(box).astype(np.int32)], 1)
    return float(mask.mean())


def has_content(frame: np.ndarray, min_std: float) -> bool:
    """Whether an RGB ``uint8`` frame is not near-uniform: its grey level's standard deviation is ≥ ``min_std``."""
    return float(frame.mean(axis=2).std()) >= min_std


def frames_text_area(engine: Any, frames: list[np.ndarray], min_std: float = 0.0) -> float:
    """The median text-covered fraction over those of ``frames`` (RGB ``uint8``; the key frames) that have
    content (:func:`has_content` with ``min_std``); 0.0 when none has."""
    frames = [f for f in frames if has_content(f, min_std)]
    if not frames:
        return 0.0
    return float(np.median([covered_fraction(text_boxes(engine, f), f.shape[0], f.shape[1]) for f in frames]))


class TextStage(Stage):
    """Fill ``text_area`` of each clip with RapidOCR, loaded once per worker.

    Args:
        config: OCR settings (``text:`` of the profile).
        frames: frame decoding settings (used when no frames stage ran).
        store: object-store settings for ``s3://`` model URIs (default: the platform settings).
    """

    name: ClassVar[str] = "text"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_path", "fps"})
    populates: ClassVar[frozenset[str]] = frozenset({"text_area"})
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = ClipItem
    uses_frames: ClassVar[bool] = True

    def __init__(self, config: TextConfig, frames: FramesConfig | None = None, *,
                 store: StoreSettings | None = None) -> None:
        self.config = config
        self.frames = frames or FramesConfig()
        self.store = store
        self.engine: Any = None

    def setup(self) -> None:
        """Build the OCR engine (models from ``text.det_model`` / ``rec_model`` or the package)."""
        if self.store is None and (self.config.det_model or self.config.rec_model):
            from vidforge.settings import get_settings

            self.store = get_settings().store
        self.engine = build_engine(self.config, self.store)

    def process(self, batch: list[Item]) -> list[Item]:
        """Measure every clip: first, middle and last frame, three OCR runs."""
        assert self.engine is not None, "setup() was not called"
        for clip in batch:
            assert isinstance(clip, ClipItem)
            with decode_errors(clip.clip_path):
                frames = frames_for(clip, self.frames, _WANT)
            clip.text_area = frames_text_area(self.engine, frames.key_frames(), self.config.min_frame_std)
        return batch
