import numpy as np
import pytest

from evaluation.metrics.motion import mean_flow, motion_faithfulness, rank_correlation
from tests.evaluation.metrics.test_temporal import _blob_video


def test_mean_flow_measures_displacement() -> None:
    assert mean_flow(_blob_video(0.0)) == pytest.approx(0.0, abs=1e-6)
    slow, fast = mean_flow(_blob_video(1.0)), mean_flow(_blob_video(3.0))
    assert 0 < slow < fast
    assert mean_flow(_blob_video(1.0)[:1]) == 0.0


def test_rank_correlation_known_values() -> None:
    assert rank_correlation([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert rank_correlation([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert rank_correlation([1, 2, 3], [5, 5, 5]) == 0.0
    with pytest.raises(ValueError):
        rank_correlation([1], [1])


def test_motion_faithfulness_of_generated_speeds() -> None:
    buckets = [10, 100, 200]
    faithful = [[mean_flow(_blob_video(s)) for s in (0.5, 1.5, 3.0)]]
    assert motion_faithfulness(buckets, faithful) == pytest.approx(1.0)
    assert motion_faithfulness(buckets, [*faithful, [3.0, 2.0, 1.0]]) == pytest.approx(0.0)
    assert np.isfinite(motion_faithfulness(buckets, [[1.0, 1.0, 1.0]]))
