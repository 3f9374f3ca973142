from __future__ import annotations

import numpy as np
import pytest

from curation.items import SourceItem
from curation.publish import motion_edges, quarantine_table
from vidforge.dataset import QUARANTINE_SCHEMA, motion_bucket


def test_motion_edges_are_quantiles_and_spread_buckets() -> None:
    scores = list(np.random.default_rng(0).gamma(2.0, 5.0, 400))
    edges = motion_edges(scores, 15)
    assert len(edges) == 15 and edges == sorted(edges)
    buckets = np.bincount([motion_bucket(s, edges) // 17 for s in scores], minlength=16)
    assert buckets.min() >= 400 / 16 * 0.7  # roughly uniform occupancy: that's what quantiles buy
    assert motion_edges([], 15) == []
    assert motion_edges([3.0], 4) == [pytest.approx(3.0)] * 4


def test_quarantine_table_lists_only_failed_sources() -> None:
    ok = SourceItem(source_id="a", source_uri="u", source_path="p")
    bad = SourceItem(source_id="b", source_uri="v", source_path="q")
    bad.quarantine("probe:unreadable", "moov atom not found")
    table = quarantine_table([ok, bad])
    assert table.schema.equals(QUARANTINE_SCHEMA)
    assert table.to_pylist() == [{"source_id": "b", "source_uri": "v", "stage": "probe",
                                  "reason": "probe:unreadable", "error": "moov atom not found"}]
