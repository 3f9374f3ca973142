"""Dataset-wide filters (SVD's LVD-F cut-offs); this slice filters on motion.

Percentiles are computed over every clip that reaches the filter in the whole
dataset (the stage is ``whole_dataset``: a runner gives it all kept clips in one
batch), never per shard. Two rules, first match wins:

- ``filter:motion_min``: ``motion_score < motion_min`` (absolute floor);
- ``filter:motion_percentile``: among the ``floor(motion_drop_fraction * n)``
  most static clips (ranked by score, ties by ``clip_id``).
"""

from __future__ import annotations

import math
from typing import ClassVar

from curation.config import FilterConfig
from curation.items import ClipItem, Item
from curation.stages.base import Resources, Stage


class FilterStage(Stage):
    """Mark clips removed by the motion filters as ``filtered`` with the filter's name."""

    name: ClassVar[str] = "filter"
    requires: ClassVar[frozenset[str]] = frozenset({"motion_score"})
    populates: ClassVar[frozenset[str]] = frozenset({"status", "reason"})
    resources: ClassVar[Resources] = Resources(cpus=0.25)
    consumes: ClassVar[type[Item]] = ClipItem
    whole_dataset: ClassVar[bool] = True

    def __init__(self, config: FilterConfig) -> None:
        self.config = config

    def process(self, batch: list[Item]) -> list[Item]:
        """Apply the filters to the whole dataset's kept clips."""
        clips = [c for c in batch if isinstance(c, ClipItem)]
        ranked = sorted(clips, key=lambda c: (float(c.motion_score or 0.0), c.clip_id))
        n_drop = math.floor(self.config.motion_drop_fraction * len(ranked))
        static = {c.clip_id for c in ranked[:n_drop]}
        for clip in clips:
            if clip.motion_score is None or clip.motion_score < self.config.motion_min:
                clip.filter_out("filter:motion_min")
            elif clip.clip_id in static:
                clip.filter_out("filter:motion_percentile")
        return batch
