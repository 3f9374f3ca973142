from __future__ import annotations

import cv2
import numpy as np
import pytest

from curation.synthetic_motion import SWEEP_BGR, camera_travel, sweep_overlay, whip_canvas


def test_camera_travel_speeds_up_during_a_whip() -> None:
    travel = camera_travel(1.0, [(2, 3)], 50.0, total=8, lead=1)
    assert np.diff(travel).tolist() == [1, 1, 1, 50, 50, 50, 1, 1]
    assert camera_travel(2.0, [], 50.0, total=3).tolist() == [0, 2, 4, 6]


def test_a_sweep_enters_covers_the_frame_and_leaves() -> None:
    frame = np.full((30, 40, 3), 200, np.uint8)
    def covered(progress: float) -> float:
        return float((np.abs(sweep_overlay(frame, progress).astype(int) - frame).max(axis=2) > 20).mean())

    assert covered(0.0) < 0.05 and covered(0.2) > 0.2
    middle = sweep_overlay(frame, 0.5).reshape(-1, 3)
    assert np.abs(middle.astype(int) - SWEEP_BGR).max() <= 2  # the whole frame covered
    assert covered(1.0) < 0.05


def test_whip_canvas_rotates_hue_from_left_to_right() -> None:
    hsv = np.zeros((4, 100, 3), np.uint8)
    hsv[..., 0], hsv[..., 1], hsv[..., 2] = 30, 200, 200
    out = cv2.cvtColor(whip_canvas(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), 90.0), cv2.COLOR_BGR2HSV)
    assert int(out[0, 0, 0]) == pytest.approx(30, abs=1)
    assert int(out[0, -1, 0]) == pytest.approx(75, abs=1)
