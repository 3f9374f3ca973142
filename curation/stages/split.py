"""Split: detect cuts in a source and fan it out into one clip per shot span.

Shots are ``[cut_k, cut_{k+1})`` (exclusive end) covering the whole source. A shot longer
than ``max_clip_s`` is split into the fewest equal pieces of at most that length (SVD trains
on short windows; a minute-long shot is several clips, not one). Spans shorter than
``min_clip_s`` become filtered clips (``split:too_short``) so every frame of the source is
accounted for in the manifest. A source whose upright shorter side is below
``min_short_side`` is not cut at all: it gives one filtered clip over all its frames
(``split:low_resolution``). Every clip records its shot (``shot_start_frame``, ``shot_end_frame``).
"""

from __future__ import annotations

import itertools
from typing import ClassVar

from curation.config import CutsConfig, SplitConfig
from curation.items import ClipItem, Item, SourceItem
from curation.stages.base import Resources, Stage
from vidforge.ids import content_id


def spans_from_cuts(cuts: list[int], num_frames: int) -> list[tuple[int, int]]:
    """Shot spans ``[start, end)`` covering ``[0, num_frames)`` split at ``cuts``."""
    bounds = [0, *sorted(c for c in set(cuts) if 0 < c < num_frames), num_frames]
    return list(itertools.pairwise(bounds))


def pieces(start: int, end: int, max_frames: int | None) -> list[tuple[int, int]]:
    """``[start, end)`` split into the fewest near-equal pieces of at most ``max_frames`` (None: one piece)."""
    if not max_frames or end - start <= max_frames:
        return [(start, end)]
    n = -(-(end - start) // max_frames)
    bounds = [start + round(i * (end - start) / n) for i in range(n + 1)]
    return list(itertools.pairwise(bounds))


class SplitStage(Stage):
    """Cut detection → clip items (children of the source)."""

    name: ClassVar[str] = "split"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path", "fps", "num_frames", "width", "height"})
    populates: ClassVar[frozenset[str]] = frozenset(
        {"cuts", "clip_id", "source_id", "source_uri", "span_start", "span_end", "shot_start_frame",
         "shot_end_frame"}
    )
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = SourceItem
    fans_out: ClassVar[bool] = True

    def __init__(self, config: SplitConfig, cuts: CutsConfig) -> None:
        self.config = config
        self.cuts_config = cuts

    def process(self, batch: list[Item]) -> list[Item]:
        """Return every source plus its clips."""
        from curation.cuts import detect_cuts_with

        out: list[Item] = []
        for src in batch:
            assert isinstance(src, SourceItem)
            assert src.num_frames is not None and src.fps is not None
            small = min(int(src.width or 0), int(src.height or 0)) < self.config.min_short_side
            src.cuts = [] if small else detect_cuts_with(src.source_path, self.cuts_config)
            out.append(src)
            out.extend(self.clips_of(src))
        return out

    def clips_of(self, src: SourceItem) -> list[ClipItem]:
        """The clip items of a probed, cut source; too-short spans come back filtered."""
        assert src.num_frames is not None and src.fps is not None and src.cuts is not None
        min_frames = round(self.config.min_clip_s * src.fps)
        max_frames = max(1, int(self.config.max_clip_s * src.fps)) if self.config.max_clip_s else None
        small = min(int(src.width or 0), int(src.height or 0)) < self.config.min_short_side
        clips = []
        for shot_start, shot_end in spans_from_cuts(src.cuts, src.num_frames):
            for start, end in pieces(shot_start, shot_end, None if small else max_frames):
                clip = ClipItem(
                    clip_id=content_id(src.source_id, str(start), str(end)),
                    source_id=src.source_id, source_uri=src.source_uri, source_path=src.source_path,
                    span_start=start, span_end=end, shot_start_frame=shot_start, shot_end_frame=shot_end,
                    fps=src.fps, width=int(src.width or 0), height=int(src.height or 0),
                    rotation=int(src.rotation or 0),
                )
                if small:
                    clip.filter_out(f"{self.name}:low_resolution")
                elif end - start < min_frames:
                    clip.filter_out(f"{self.name}:too_short")
                clips.append(clip)
        return clips
