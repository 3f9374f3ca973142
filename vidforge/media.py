"""Small facts about decoded video frames shared by curation, training and evaluation."""

from __future__ import annotations

import numpy as np


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """``image`` (``H×W[×C]``) turned by the display ``rotation`` as a player shows it.

    Args:
        rotation: counter-clockwise degrees, a multiple of 90 (PyAV's ``VideoFrame.rotation``,
            read from the stream's display matrix; phones write ±90 for portrait video).
    """
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image
