"""Cut events and the rule that merges events found by several detectors.

An :class:`Event` is one detected shot change: the frame reported as the cut
(the first frame of the new shot; for a gradual transition the middle of the
transition) and the span of frames the change covers (``start == end == frame``
for a hard cut).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Event:
    """One detected shot change.

    Attributes:
        frame: the cut: first frame of the new shot (middle frame for a gradual transition).
        start: first frame of the transition (inclusive).
        end: last frame of the transition (inclusive); ``start <= frame <= end + 1``.
        priority: rank of the detector that found it (lower wins when events merge).
    """

    frame: int
    start: int
    end: int
    priority: int = 0


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(lo, hi)`` index ranges of the runs of True in a 1-D boolean ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(lo), int(hi) - 1) for lo, hi in zip(edges[::2], edges[1::2], strict=True)]


def enforce_min_scene_len(events: list[Event], min_len: int) -> list[Event]:
    """Events of one detector, dropping any whose cut is < ``min_len`` frames after the last kept one."""
    kept: list[Event] = []
    for ev in sorted(events, key=lambda e: e.frame):
        if kept and ev.frame - kept[-1].frame < min_len:
            continue
        kept.append(ev)
    return kept


def merge_events(events: list[Event], within: int) -> list[int]:
    """Merge events from several detectors into one sorted list of cuts.

    The merge rule: events whose spans ``[start, end]`` overlap or are at most
    ``within`` frames apart belong to the same shot change (clusters are built
    transitively in span order). Each cluster yields one cut: the ``frame`` of
    its event with the lowest ``priority`` (the first-listed detector; ties go
    to the earliest frame). Cuts at frame ≤ 0 are dropped.

    Returns:
        Ascending, unique cut frames.
    """
    cuts: list[int] = []
    cluster: list[Event] = []
    reach = -(10**12)
    for ev in sorted(events, key=lambda e: (e.start, e.end)):
        if cluster and ev.start - reach > within:
            cuts.append(_winner(cluster))
            cluster = []
        cluster.append(ev)
        reach = max(reach, ev.end) if len(cluster) > 1 else ev.end
    if cluster:
        cuts.append(_winner(cluster))
    return sorted({c for c in cuts if c > 0})


def _winner(cluster: list[Event]) -> int:
    return min(cluster, key=lambda e: (e.priority, e.frame)).frame


def merge_cuts(cuts: list[int], within: int) -> list[int]:
    """Sorted unique cuts, hard-cut events merged by :func:`merge_events` (earliest wins)."""
    return merge_events([Event(c, c, c) for c in cuts], within)
