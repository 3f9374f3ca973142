"""Scripted clip stages for the fusion tests: decode → score → tally, as the signal stages chain.

``decode`` puts :class:`PinnedFrames` on each clip, which refuse to be pickled: a run
that ships them between processes fails, so a Ray run that succeeds proves the
frames never left the actor that decoded them. How a clip fails is scripted by its
``source_path``: ``…corrupt`` fails to decode, ``…boom`` fails to score, ``…dull`` is
filtered by tally. The Ray runner pickles stages by reference, so they live in an
importable module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from curation.items import ClipItem, Item
from curation.media.frames import ClipFrames
from curation.stages.base import ItemError, Resources, Stage


class PinnedFrames(ClipFrames):
    """Decoded frames that may only live in the process that decoded them."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Refuse to be pickled."""
        raise TypeError("decoded frames left the worker that decoded them")


class _Scripted(Stage, abstract=True):
    """Records every batch; ``log_path`` also gets ``<stage> setup <pid>`` / ``<stage> batch <pid> <ids>`` lines.

    Attributes:
        seen: the clip ids of each batch ``process`` got, in order (in this process).
        setups: how often ``setup`` ran (in this process).
    """

    consumes: ClassVar[type[Item]] = ClipItem

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self.seen: list[list[str]] = []
        self.setups = 0

    def _log(self, line: str) -> None:
        if self.log_path is not None:
            with self.log_path.open("a") as f:
                f.write(f"{self.name} {line}\n")

    def setup(self) -> None:
        """Count and log the set-up."""
        self.setups += 1
        self._log(f"setup {os.getpid()}")

    def process(self, batch: list[Item]) -> list[Item]:
        """Record the batch, then :meth:`apply` to each clip."""
        ids = [item.item_id for item in batch]
        self.seen.append(ids)
        self._log(f"batch {os.getpid()} {','.join(ids)}")
        for clip in batch:
            assert isinstance(clip, ClipItem)
            self.apply(clip)
        return batch

    def apply(self, clip: ClipItem) -> None:
        """Work on one clip (raise to fail it)."""
        raise NotImplementedError


class Decode(_Scripted):
    """Attaches :class:`PinnedFrames` of 8 frames; ``…corrupt`` raises ``ItemError("decode_failed")``."""

    name: ClassVar[str] = "decode"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path"})
    populates: ClassVar[frozenset[str]] = frozenset({"frames"})
    resources: ClassVar[Resources] = Resources(cpus=0.5)

    def apply(self, clip: ClipItem) -> None:
        """Decode (or fail to)."""
        if clip.source_path.endswith("corrupt"):
            raise ItemError("decode_failed", f"cannot decode {clip.source_path}")
        clip.frames = PinnedFrames(num_frames=8, key={"first": np.zeros((2, 2, 3), np.uint8)})


class Score(_Scripted):
    """``motion_score`` = the number of decoded frames; ``…boom`` raises ``KeyError``."""

    name: ClassVar[str] = "score"
    requires: ClassVar[frozenset[str]] = frozenset({"frames"})
    populates: ClassVar[frozenset[str]] = frozenset({"motion_score"})
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    uses_frames: ClassVar[bool] = True

    def apply(self, clip: ClipItem) -> None:
        """Score (or fail to)."""
        if clip.source_path.endswith("boom"):
            raise KeyError("boom")
        assert clip.frames is not None
        clip.motion_score = float(clip.frames.num_frames)


class Tally(_Scripted):
    """Filters ``…dull`` clips (``tally:dull``); ``text_area`` = 1.0 when the frames are still attached, else 0.0.

    It runs after the last stage that reads frames, so a runner should have dropped them.
    """

    name: ClassVar[str] = "tally"
    requires: ClassVar[frozenset[str]] = frozenset({"motion_score"})
    populates: ClassVar[frozenset[str]] = frozenset({"text_area"})
    resources: ClassVar[Resources] = Resources(cpus=0.25)

    def apply(self, clip: ClipItem) -> None:
        """Tally (or filter)."""
        clip.text_area = 0.0 if clip.frames is None else 1.0
        if clip.source_path.endswith("dull"):
            clip.filter_out("tally:dull")


def clips(names: list[str]) -> list[Item]:
    """One clip per name (``c<i>``, with ``source_path`` = the name: it scripts how the clip fails)."""
    return [ClipItem(clip_id=f"c{i}", source_id=f"s{i}", source_uri="", source_path=name, span_start=0,
                     span_end=8, fps=24.0, width=2, height=2) for i, name in enumerate(names)]


def signal_stages(log_path: Path | None = None) -> list[Stage]:
    """``[Decode, Score, Tally]``, logging to ``log_path`` when given."""
    return [Decode(log_path), Score(log_path), Tally(log_path)]


def outcome(items: list[Item]) -> dict[str, tuple[object, ...]]:
    """Per clip id: status, reason, ``motion_score``, ``text_area`` and whether frames are still attached."""
    return {it.item_id: (it.status, it.reason, it.motion_score, it.text_area, it.frames is not None)
            for it in items if isinstance(it, ClipItem)}
