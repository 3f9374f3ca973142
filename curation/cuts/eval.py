"""Scoring detected cuts against ground truth (used by the tests and ``bench/cuts.py``).

A found cut matches at most one true cut and vice versa (greedy, nearest
first). Hard cuts match within ``tol`` frames (default ±2). Gradual transitions
(fades, dissolves) have their middle frame as ground truth and match within
``tol_gradual`` frames — by default also ±2, as the acceptance criteria ask; a
looser value (a 12-20-frame transition has no single true frame) can be passed
for detectors that mark a transition's start or end rather than its middle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TOL = 2
TOL_GRADUAL = 2


@dataclass(frozen=True)
class Score:
    """Match counts; they add up across videos."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was found."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (1.0 when both are vacuous)."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_cuts(
    found: Sequence[int], truth: Sequence[int], gradual: Sequence[int] = (),
    tol: int = TOL, tol_gradual: int = TOL_GRADUAL,
) -> Score:
    """Match ``found`` against ``truth``; true cuts listed in ``gradual`` use ``tol_gradual``."""
    unmatched = list(found)
    hits = 0
    for t in truth:
        limit = tol_gradual if t in gradual else tol
        near = [f for f in unmatched if abs(f - t) <= limit]
        if near:
            unmatched.remove(min(near, key=lambda f: abs(f - t)))
            hits += 1
    return Score(hits, len(found) - hits, len(truth) - hits)
