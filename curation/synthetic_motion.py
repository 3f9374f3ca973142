"""Hard-negative motion for the synthetic videos (:mod:`curation.synthetic`): whip pans and sweeps.

A *whip pan* is a burst of very fast camera travel inside one shot (motion-blurred by
averaging the views along each frame's travel); a *sweep* is an out-of-focus object close
to the lens crossing the frame. Neither is a cut: cut detectors must stay silent on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

#: BGR colour of the sweeping object (a dark brown coat passing the lens).
SWEEP_BGR = (30, 40, 55)


def camera_travel(
    speed: float, whips: Sequence[tuple[int, int]], whip_speed: float, total: int, lead: int = 0,
) -> np.ndarray:
    """Camera travel in px along the pan direction at every frame boundary, ``(total + 1,)`` float.

    Frame ``k`` is seen from ``travel[k]``; during a whip ``(offset, frames)`` (offsets relative to
    the shot's first frame, which is frame ``lead`` here) the camera moves ``whip_speed`` px/frame.
    """
    per_frame = np.full(total, float(speed))
    for offset, frames in whips:
        per_frame[max(0, lead + offset) : max(0, lead + offset + frames)] = whip_speed
    return np.concatenate(([0.0], np.cumsum(per_frame)))


def whip_canvas(canvas: np.ndarray, degrees: float = 90.0) -> np.ndarray:
    """``canvas`` (BGR uint8) with its hue rotated by up to ``degrees`` from left to right.

    A whip pan lands on another part of the scene, which rarely has the colours of the first.
    """
    hsv = cv2.cvtColor(canvas, cv2.COLOR_BGR2HSV)
    drift = np.linspace(0.0, degrees / 2, canvas.shape[1]).astype(np.int32)  # OpenCV hue is 0..179
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + drift[None, :]) % 180).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def sweep_overlay(frame: np.ndarray, progress: float) -> np.ndarray:
    """``frame`` (BGR uint8) with a dark blurred ellipse wider than it at ``progress`` (0..1) across it.

    It enters from the left, covers the whole frame around ``progress`` 0.5 and leaves on the right.
    """
    h, w = frame.shape[:2]
    mask = np.zeros((h, w), np.float32)
    centre = (int(-0.8 * w + progress * 2.6 * w), h // 2)
    cv2.ellipse(mask, centre, (int(0.8 * w), int(1.3 * h)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), w / 40)[..., None]
    return (frame * (1 - mask) + np.array(SWEEP_BGR, np.float32) * mask).astype(np.uint8)
