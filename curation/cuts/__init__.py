"""Shot-cut detection: the detector cascade, TransNetV2, their merging and scoring.

``detect_cuts(path) -> list[int]`` is the package's entry point (see :mod:`curation.cuts.detect`).
"""

from curation.cuts.detect import cuts_of_frames, detect_cuts, detect_cuts_with, merge_cuts

__all__ = ["cuts_of_frames", "detect_cuts", "detect_cuts_with", "merge_cuts"]
