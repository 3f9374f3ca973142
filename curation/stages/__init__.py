"""Curation stages: one module per stage, one class per module (see :mod:`curation.stages.base`)."""
