from __future__ import annotations

import numpy as np

from curation.cuts.cascade import content_scores, to_hsv
from curation.cuts.guards import aligned_content, is_camera_motion, reverts


def _scene(seed: int, w: int = 160, h: int = 27) -> np.ndarray:
    """A smooth random RGB strip wider than a frame (48 px), to pan over."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (h // 3 + 1, w // 3 + 1, 3)).astype(np.uint8)
    return np.repeat(np.repeat(coarse, 3, 0), 3, 1)[:h, :w]


def _pan(scene: np.ndarray, positions: list[int]) -> np.ndarray:
    return np.stack([scene[:, x : x + 48] for x in positions])


def test_aligned_content_undoes_a_global_shift_but_not_a_new_scene() -> None:
    hsv = to_hsv(_pan(_scene(0), [0, 7]))
    other = to_hsv(_pan(_scene(1), [0]))[0]
    assert aligned_content(hsv[0], hsv[1]) < 0.2 * float(np.abs(hsv[0].astype(int) - hsv[1]).mean())
    assert aligned_content(hsv[0], other) > 20


def test_a_flash_during_a_pan_reverts_and_a_cut_does_not() -> None:
    frames = _pan(_scene(0), list(range(0, 60, 2)))
    frames[12] = 250  # one white frame
    hsv = to_hsv(frames)
    assert reverts(hsv, 12, 12, window=8, ratio=0.25)
    cut = np.concatenate([_pan(_scene(0), list(range(0, 24, 2))), _pan(_scene(1), list(range(0, 36, 2)))])
    assert not reverts(to_hsv(cut), 12, 12, window=8, ratio=0.25)
    assert not reverts(hsv, 12, 12, window=0, ratio=0.25)  # 0 turns the guard off


def test_a_burst_of_large_moves_is_camera_motion_and_one_jump_is_not() -> None:
    scene = _scene(0, w=400)
    positions = [0, 1, 2, 3, 4, 5, 6, 40, 80, 120, 160, 200, 201, 202, 203, 204, 205]  # a 5-frame whip
    hsv = to_hsv(_pan(scene, positions))
    fine = content_scores(hsv, 1)
    assert is_camera_motion(hsv, fine, 7, min_burst=3, efficiency=0.5)
    assert not is_camera_motion(hsv, fine, 7, min_burst=0, efficiency=0.5)  # 0 turns the guard off
    cut = to_hsv(np.concatenate([_pan(scene, [0, 1, 2, 3]), _pan(_scene(1), [0, 1, 2, 3])]))
    assert not is_camera_motion(cut, content_scores(cut, 1), 4, min_burst=3, efficiency=0.5)
