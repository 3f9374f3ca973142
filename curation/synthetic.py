"""Synthetic test videos with known ground truth (real H.264 mp4 via PyAV).

Each shot is a camera pan at a constant speed over a seeded texture of smooth
colour blobs and sharp shapes, so the true optical flow of every pixel (outside
an overlaid caption box) is the shot's ``speed`` in px/frame. Consecutive shots
use hues far apart, so a hard cut is an unambiguous content change. Fades blend
to/from black, dissolves cross-fade two shots (the cut is the dissolve's middle),
flashes whiten single frames; text is drawn with ``cv2.putText`` at a fixed place.
Sweeps and whip pans are hard negatives for cut detection (:mod:`curation.synthetic_motion`).

Frame indices are 0-based; every span ``[start, end)`` has an exclusive end. A
*cut* is the first frame index of a new shot (0 is never a cut). By default the
encoder places a keyframe at every shot start (as real encoders do with scene-cut
detection) and otherwise every ``gop`` frames.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from curation.sidecar import write_sidecar
from curation.synthetic_motion import camera_travel, sweep_overlay, whip_canvas

_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class ShotSpec:
    """One shot.

    Attributes:
        num_frames: length in frames (≥ 1).
        speed: camera pan speed in px/frame at the video's resolution (0 = static).
        direction_deg: pan direction in degrees (0 = content moves right, 90 = down).
        text: text drawn on every frame of the shot ("" for none).
        fade_in: frames at the start fading in from black (first frame fully black).
        fade_out: frames at the end fading out to black (last frame fully black).
        dissolve: frames of a cross-dissolve from the previous shot, centred on
            this shot's start (the cut): ``dissolve // 2`` frames before it and the
            rest from it on. The previous shot keeps panning under the blend.
        flashes: frame offsets within the shot turned almost white (a camera
            flash; consecutive offsets make a longer flash). Not a cut.
        sweeps: ``(offset, frames)``: an object close to the lens crosses the frame in ``frames`` frames.
        whips: ``(offset, frames)``: the camera whips at ``whip_speed`` px/frame, blurred. Not cuts.
    """

    num_frames: int
    speed: float = 0.0
    direction_deg: float = 0.0
    text: str = ""
    fade_in: int = 0
    fade_out: int = 0
    dissolve: int = 0
    flashes: tuple[int, ...] = ()
    sweeps: tuple[tuple[int, int], ...] = ()
    whips: tuple[tuple[int, int], ...] = ()
    whip_speed: float = 60.0


@dataclass(frozen=True)
class VideoSpec:
    """A video: its shots and encoding. ``gop`` is the keyframe interval in frames."""

    shots: tuple[ShotSpec, ...]
    width: int = 160
    height: int = 120
    fps: int = 24
    gop: int = 12
    keyframe_at_cuts: bool = True
    crf: int = 18
    seed: int = 0
    #: B-frames between reference frames (x264 ``bframes``), and open GOPs (x264 ``open-gop``: the
    #: periodic keyframes become non-IDR recovery points whose leading B-frames reference the GOP before).
    bframes: int = 3
    open_gop: bool = False


@dataclass(frozen=True)
class ShotTruth:
    """Ground truth of one written shot ``[start_frame, end_frame)``."""

    start_frame: int
    end_frame: int
    speed: float
    text: str
    text_area: float
    fade_in: int
    fade_out: int
    caption_image: str
    caption_video: str
    caption_summary: str


@dataclass(frozen=True)
class GroundTruth:
    """What :func:`write_video` wrote: geometry, cuts and per-shot truth."""

    path: str
    width: int
    height: int
    fps: int
    num_frames: int
    gop: int
    cuts: list[int]
    hard_cuts: list[int]
    fade_cuts: list[int]
    keyframes: list[int]
    shots: list[ShotTruth] = field(default_factory=list)
    dissolve_cuts: list[int] = field(default_factory=list)
    flash_frames: list[int] = field(default_factory=list)
    sweep_spans: list[list[int]] = field(default_factory=list)
    whip_spans: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the sidecar payload)."""
        return asdict(self)


def _hue_for(seed: int, index: int) -> int:
    """OpenCV hue (0..179) for shot ``index``: consecutive shots differ by ≥ 60°."""
    return int((seed * 37 + index * 67) % 180)


def _texture(rng: np.random.Generator, h: int, w: int, hue: int) -> np.ndarray:
    """A BGR canvas: smooth colour blobs around ``hue`` plus sharp random shapes."""
    small = rng.random((max(2, h // 16), max(2, w // 16), 2)).astype(np.float32)
    blobs = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    hsv = np.empty((h, w, 3), np.uint8)
    hsv[..., 0] = (hue + (blobs[..., 0] * 30).astype(np.int32)) % 180
    hsv[..., 1] = np.clip(120 + blobs[..., 1] * 135, 0, 255).astype(np.uint8)
    hsv[..., 2] = np.clip(90 + blobs[..., 0] * 150, 0, 255).astype(np.uint8)
    canvas = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    for _ in range(max(4, h * w // 3000)):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(4, 14))
        if rng.random() < 0.5:
            cv2.circle(canvas, (x, y), size, colour, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(canvas, (x, y), (x + 2 * size, y + size), colour, -1)
    return canvas


def _text_box(text: str, width: int, height: int) -> tuple[tuple[int, int], float, int]:
    """Text origin, font scale and thickness fitted to ~80 % of the frame width."""
    scale = 1.0
    (tw, _), _ = cv2.getTextSize(text, _FONT, scale, 2)
    scale = min(1.2, 0.8 * width / max(tw, 1))
    (tw, _th), base = cv2.getTextSize(text, _FONT, scale, 2)
    return ((width - tw) // 2, height - base - 4), scale, 2


def text_area_fraction(text: str, width: int, height: int) -> float:
    """Area of the box :func:`write_video` draws ``text`` in, as a fraction of the frame."""
    if not text:
        return 0.0
    _, scale, thick = _text_box(text, width, height)
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    return float(tw * (th + base)) / float(width * height)


def _render_shot(spec: VideoSpec, shot: ShotSpec, index: int, lead: int = 0, tail: int = 0) -> list[np.ndarray]:
    """The BGR frames of one shot, plus ``lead`` frames before and ``tail`` after it (for dissolves)."""
    rng = np.random.default_rng([spec.seed, index])
    theta = math.radians(shot.direction_deg)
    ux, uy = math.cos(theta), math.sin(theta)
    total = lead + shot.num_frames + tail
    travel = camera_travel(shot.speed, shot.whips, shot.whip_speed, total, lead)
    travel_x, travel_y = abs(ux) * travel[-1], abs(uy) * travel[-1]
    ch, cw = int(spec.height + travel_y + 8), int(spec.width + travel_x + 8)
    canvas = _texture(rng, ch, cw, _hue_for(spec.seed, index))
    canvas = whip_canvas(canvas) if shot.whips else canvas
    # The view moves opposite to the content: content moving +x means the window moves -x.
    x0 = 4 + spec.width / 2 + (travel_x if ux > 0 else 0.0)
    y0 = 4 + spec.height / 2 + (travel_y if uy > 0 else 0.0)
    frames = []
    for step in range(total):
        t = step - lead
        blur = max(1, int((travel[step + 1] - travel[step]) // 4)) if shot.whips else 1  # views averaged
        pos = [travel[step] + (travel[step + 1] - travel[step]) * k / blur for k in range(blur)]
        views = [cv2.getRectSubPix(canvas, (spec.width, spec.height), (x0 - ux * d - 0.5, y0 - uy * d - 0.5))
                 for d in pos]
        frame = views[0] if blur == 1 else np.mean(views, axis=0).astype(np.uint8)
        if shot.text:
            org, scale, thick = _text_box(shot.text, spec.width, spec.height)
            cv2.putText(frame, shot.text, org, _FONT, scale, (255, 255, 255), thick, cv2.LINE_AA)
        for offset, n in (sw for sw in shot.sweeps if sw[0] <= t < sw[0] + sw[1]):
            frame = sweep_overlay(frame, (t - offset + 0.5) / n)
        alpha = 1.0
        if shot.fade_in and t < shot.fade_in:
            alpha = t / shot.fade_in
        if shot.fade_out and t >= shot.num_frames - shot.fade_out:
            alpha = min(alpha, (shot.num_frames - 1 - t) / shot.fade_out)
        if alpha < 1.0:
            frame = (frame.astype(np.float32) * alpha).astype(np.uint8)
        if t in shot.flashes:
            frame = (255 - (255 - frame.astype(np.float32)) * 0.15).astype(np.uint8)
        frames.append(frame)
    return frames


def _captions(spec: VideoSpec, shot: ShotSpec, index: int) -> tuple[str, str, str]:
    """Image, video and summary captions describing a shot."""
    names = ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta", "pink"]
    colour = names[int(_hue_for(spec.seed, index) / 180 * len(names)) % len(names)]
    image = f"{colour} blobs and shapes" + (f" with the text '{shot.text}'" if shot.text else "")
    if shot.speed == 0:
        motion = "a static shot"
    else:
        pace = "slow" if shot.speed < 1 else "steady" if shot.speed < 3 else "fast"
        motion = f"a {pace} pan at {shot.speed:g} px/frame"
    fades = " fading in" if shot.fade_in else ""
    fades += " fading out" if shot.fade_out else ""
    return image, f"{motion}{fades}", f"{image}, {motion}{fades}"


def _encode(frames: list[np.ndarray], spec: VideoSpec, path: Path, key_at: set[int]) -> list[int]:
    """Encode BGR frames as H.264 yuv420p; return the keyframe indices written."""
    params = f"keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0:bframes={spec.bframes}"
    if spec.open_gop:
        params += ":open-gop=1"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(spec.fps))
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, spec.fps)
        stream.options = {"crf": str(spec.crf), "preset": "veryfast", "x264-params": params,
                          "forced-idr": "1"}
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            if i in key_at:
                frame.pict_type = av.video.frame.PictureType.I
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with av.open(str(path)) as src:
        packets = [(p.pts, p.is_keyframe) for p in src.demux(src.streams.video[0]) if p.size]
    order = sorted(pts for pts, _ in packets)
    return sorted(order.index(pts) for pts, key in packets if key)


def _blend(frames: list[np.ndarray], before: list[np.ndarray], own: list[np.ndarray],
           prev_tail: list[np.ndarray], dissolve: int) -> None:
    """Append a shot's ``own`` frames to ``frames``, cross-dissolving over ``dissolve`` frames.

    The dissolve covers the last ``len(before)`` frames already written (blended
    with ``before``, this shot's lead-in) and this shot's first frames (blended
    with ``prev_tail``, the previous shot continued). The weight of the new shot
    rises linearly, ``k / (dissolve + 1)`` for the k-th blended frame (k = 1..dissolve).
    """
    h = len(before)
    base = len(frames) - h
    for k, img in enumerate(before, start=1):
        w = k / (dissolve + 1)
        frames[base + k - 1] = cv2.addWeighted(img, w, frames[base + k - 1], 1 - w, 0)
    for j, img in enumerate(own):
        k = h + j + 1
        if j < len(prev_tail) and k <= dissolve:
            w = k / (dissolve + 1)
            img = cv2.addWeighted(img, w, prev_tail[j], 1 - w, 0)
        frames.append(img)


def cut_specs(seed: int = 0) -> dict[str, VideoSpec]:
    """Cut-detection suite beyond the demo: dissolves, flashes, a very fast pan, a static video."""
    return {
        "dissolve": VideoSpec(seed=seed + 10, shots=(
            ShotSpec(50, speed=1.0), ShotSpec(50, speed=0.5, direction_deg=90, dissolve=12),
            ShotSpec(50, speed=2.0, direction_deg=180, dissolve=20))),
        "flashes": VideoSpec(seed=seed + 11, shots=(
            ShotSpec(60, speed=1.0, flashes=(20, 45, 46)), ShotSpec(60, speed=0.5, flashes=(30,)))),
        "fast_pan": VideoSpec(seed=seed + 12, shots=(ShotSpec(96, speed=12.0, direction_deg=10),)),
        "static": VideoSpec(seed=seed + 13, shots=(ShotSpec(72, speed=0.0, text="static"),)),
    }


def hard_negative_specs(seed: int = 0) -> dict[str, VideoSpec]:
    """Hard negatives, none with a cut: objects sweeping past the lens, whip pans, flashes in motion."""
    one = lambda i, **kw: VideoSpec(seed=seed + 20 + i, shots=(ShotSpec(**kw),))  # noqa: E731
    return {
        "sweep": one(0, num_frames=72, speed=0.5, sweeps=((16, 8), (44, 16))),
        "sweep_pan": one(1, num_frames=72, speed=3.0, direction_deg=180, sweeps=((24, 12),)),
        "whip_pan": one(2, num_frames=84, speed=1.0, whips=((24, 5), (56, 8))),
        "whip_pan_vertical": one(3, num_frames=72, speed=0.5, direction_deg=80, whips=((30, 4),), whip_speed=40.0),
        "flash_burst": one(4, num_frames=72, speed=4.0, direction_deg=200, flashes=(18, 19, 40, 42, 44)),
    }


def write_video(spec: VideoSpec, path: str | Path) -> GroundTruth:
    """Render ``spec`` to an mp4 at ``path`` plus its sidecar ``<stem>.json``.

    Returns:
        The ground truth (also written, with per-shot captions, to the sidecar).
    """
    if not spec.shots or any(s.num_frames < 1 for s in spec.shots):
        raise ValueError("a video needs at least one shot of at least one frame")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames: list[np.ndarray] = []
    shots: list[ShotTruth] = []
    tail: list[np.ndarray] = []  # the previous shot continued under a dissolve
    for i, shot in enumerate(spec.shots):
        start = len(frames)
        nxt = spec.shots[i + 1].dissolve if i + 1 < len(spec.shots) else 0
        lead = shot.dissolve // 2 if i else 0
        own = _render_shot(spec, shot, i, lead, nxt - nxt // 2)
        _blend(frames, own[:lead], own[lead : lead + shot.num_frames], tail, shot.dissolve if i else 0)
        tail = own[lead + shot.num_frames :]
        image, video, summary = _captions(spec, shot, i)
        area = text_area_fraction(shot.text, spec.width, spec.height)
        shots.append(ShotTruth(start, len(frames), shot.speed, shot.text, area,
                               shot.fade_in, shot.fade_out, image, video, summary))
    cuts = [s.start_frame for s in shots[1:]]
    fade_cuts = [s.start_frame for prev, s in itertools.pairwise(shots)
                 if prev.fade_out or s.fade_in]
    dissolve_cuts = [t.start_frame for t, s in zip(shots[1:], spec.shots[1:], strict=True) if s.dissolve]
    flash_frames = [t.start_frame + f for t, s in zip(shots, spec.shots, strict=True) for f in s.flashes]
    sweeps, whips = ([[t.start_frame + o, t.start_frame + o + n] for t, s in zip(shots, spec.shots, strict=True)
                      for o, n in getattr(s, kind)] for kind in ("sweeps", "whips"))
    key_at = {0, *cuts} if spec.keyframe_at_cuts else {0}
    keyframes = _encode(frames, spec, path, key_at)
    hard = [c for c in cuts if c not in fade_cuts and c not in dissolve_cuts]
    truth = GroundTruth(str(path), spec.width, spec.height, spec.fps, len(frames), spec.gop, cuts,
                        hard, fade_cuts, keyframes, shots, dissolve_cuts, flash_frames, sweeps, whips)
    write_sidecar(path, truth.to_dict())
    return truth


def demo_specs(seed: int = 0) -> dict[str, VideoSpec]:
    """The demo suite: hard cuts at several speeds, a fade with text, fast motion, a short shot."""
    return {
        "cuts": VideoSpec(seed=seed, shots=(
            ShotSpec(40, speed=0.0), ShotSpec(53, speed=0.5), ShotSpec(47, speed=2.0),
            ShotSpec(52, speed=4.0, direction_deg=30))),
        "fade_text": VideoSpec(seed=seed + 1, shots=(
            ShotSpec(60, speed=1.0, text="SALE 50%", fade_out=8),
            ShotSpec(55, speed=2.0, direction_deg=180, fade_in=8),
            ShotSpec(45, speed=0.0, text="hello"))),
        "fast": VideoSpec(seed=seed + 2, shots=(
            ShotSpec(110, speed=6.0), ShotSpec(50, speed=1.0, direction_deg=90))),
        "short_shot": VideoSpec(seed=seed + 3, keyframe_at_cuts=False, shots=(
            ShotSpec(50, speed=1.5, direction_deg=200), ShotSpec(16, speed=3.0),
            ShotSpec(62, speed=0.25, direction_deg=270))),
    }


def make_demo_suite(out_dir: str | Path, seed: int = 0) -> list[GroundTruth]:
    """Write the demo suite (4 videos, ≤ 7 s each at 24 fps) into ``out_dir``."""
    out = Path(out_dir)
    return [write_video(spec, out / f"{name}.mp4") for name, spec in demo_specs(seed).items()]


def top_level_boxes(data: bytes) -> list[tuple[str, int, int]]:
    """(type, start, end) of the top-level ISO-BMFF boxes in ``data``."""
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8].decode("latin-1")
        if size < 8:
            break
        boxes.append((kind, pos, pos + size))
        pos += size
    return boxes


def write_corrupt(path: str | Path, mode: str = "truncated", seed: int = 0) -> Path:
    """Write a broken mp4 at ``path``, built from a real encoded video.

    Args:
        mode: ``"truncated"`` keeps the first 2 KiB (no ``moov`` index: the file
            does not open); ``"no_frames"`` moves the index first and cuts the
            file right after it (it opens, has a video stream, no frame decodes).
    """
    if mode not in ("truncated", "no_frames"):
        raise ValueError(f"unknown corrupt mode {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    full = path.with_name(f".{path.stem}.full.mp4")
    write_video(VideoSpec(shots=(ShotSpec(24, speed=1.0),), seed=seed), full)
    data = full.read_bytes()
    full.unlink()
    full.with_suffix(".json").unlink(missing_ok=True)
    if mode == "truncated":
        path.write_bytes(data[:2048])
        return path
    boxes = {kind: (start, end) for kind, start, end in top_level_boxes(data)}
    (m0, m1), (d0, _d1) = boxes["moov"], boxes["mdat"]
    header = data[: boxes["ftyp"][1]]
    # Chunk offsets in moov point into mdat; after moving moov first, they'd be wrong,
    # which does not matter: the mdat payload is cut off anyway.
    path.write_bytes(header + data[m0:m1] + data[d0 : d0 + 16])
    return path
