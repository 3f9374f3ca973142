"""TransNetV2 wrapper checks that do not load the model (the model itself runs in the slow tests of test_cuts.py)."""

from __future__ import annotations

import numpy as np
import pytest

from curation.config import LearnedConfig
from curation.cuts.learned import transition_probabilities


def test_frames_must_be_transnet_sized() -> None:
    with pytest.raises(ValueError, match="27, 48, 3"):
        transition_probabilities(np.zeros((10, 36, 64, 3), np.uint8), LearnedConfig())


def test_an_empty_video_has_no_probabilities() -> None:
    assert transition_probabilities(np.zeros((0, 27, 48, 3), np.uint8), LearnedConfig()).shape == (0,)
