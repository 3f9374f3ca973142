"""Great Expectations suite on the manifest: the last gate before a version is published.

:func:`validate_manifest` runs the suite (GX 1.x, ephemeral context, no data docs,
no analytics) on the manifest DataFrame (columns = ``vidforge.dataset.CLIP_SCHEMA``)
and returns a :class:`ValidationReport`; ``publish`` stores it as
``datasets/<name>/<version>/validation.json`` and, when it failed, raises
:class:`ManifestValidationError` before ``dataset.json`` is written.

The suite:

- the columns are exactly ``CLIP_FIELDS``; ``clip_id`` is unique;
- ``clip_id, source_id, source_uri, start_frame, end_frame, fps, status`` are non-null,
  and kept clips have a non-empty ``uri``;
- ``fps > 0``, ``0 ≤ start_frame < end_frame``, ``status`` ∈ {kept, filtered, quarantined},
  ``motion_bucket`` ∈ 0..255 and ``text_area`` ∈ [0, 1] when present, and filtered or
  quarantined clips carry a non-empty ``reason`` (quarantined ones also a non-empty ``error``);
- durations agree with frame counts: ``|(end_s − start_s)·fps − (end_frame − start_frame)|``
  ≤ ``duration_tolerance_frames`` (checked on a derived column, ``frame_count_error``,
  since GX has no pandas expectation over an expression);
- every kept clip's written span ``[start_frame, end_frame)`` lies inside its shot
  ``[shot_start_frame, shot_end_frame)`` (derived column ``outside_shot_frames``: frames written
  outside the shot), and kept clips of one source never overlap (derived column ``overlap_frames``:
  frames a kept clip shares with the kept clips of its source that start before it).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from curation.config import ValidationConfig
from vidforge.dataset import CLIP_FIELDS, Status

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuite

#: Fields every manifest row must have.
REQUIRED_FIELDS: tuple[str, ...] = (
    "clip_id", "source_id", "source_uri", "start_frame", "end_frame", "fps", "status",
)
#: The derived column the duration expectation checks (frames).
FRAME_COUNT_ERROR = "frame_count_error"
#: Derived columns of the span expectations (frames; 0 on rows that are not kept).
OUTSIDE_SHOT = "outside_shot_frames"
OVERLAP = "overlap_frames"
DERIVED: tuple[str, ...] = (FRAME_COUNT_ERROR, OUTSIDE_SHOT, OVERLAP)
_DURATION_COLUMNS = ("start_frame", "end_frame", "start_s", "end_s", "fps")
_SPAN_COLUMNS = ("source_id", "status", "start_frame", "end_frame", "shot_start_frame", "shot_end_frame")


@dataclass
class ExpectationOutcome:
    """One expectation's result, in plain JSON-able values."""

    description: str
    expectation: str
    success: bool
    unexpected_count: int = 0
    #: Up to ``max_examples`` offending rows: ``{"row": index, "clip_id": ..., <checked columns>}``.
    examples: list[dict[str, Any]] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class ValidationReport:
    """``validation.json``: the suite's overall success and every expectation's outcome."""

    success: bool
    suite: str
    gx_version: str
    rows: int
    evaluated: int
    successful: int
    results: list[ExpectationOutcome]

    @property
    def failed(self) -> list[ExpectationOutcome]:
        """The expectations that did not hold."""
        return [r for r in self.results if not r.success]

    def to_json(self) -> bytes:
        """The report as indented JSON bytes."""
        return json.dumps(asdict(self), indent=2).encode()

    def summary(self) -> str:
        """A readable account of the failures (or a one-line success)."""
        head = f"{self.successful}/{self.evaluated} expectations passed on {self.rows} manifest rows"
        lines = [head]
        for r in self.failed:
            what = r.error or f"{r.unexpected_count} unexpected row(s)"
            lines.append(f"- FAILED {r.description} ({r.expectation}): {what}")
            lines.extend(f"    e.g. {ex}" for ex in r.examples)
        return "\n".join(lines)


class ManifestValidationError(ValueError):
    """The manifest failed its expectations; the dataset version was not published."""

    def __init__(self, dataset: str, report: ValidationReport) -> None:
        failed = ", ".join(r.description for r in report.failed)
        super().__init__(f"manifest of {dataset} failed validation ({failed}); not published\n{report.summary()}")
        self.report = report


def build_suite(config: ValidationConfig) -> ExpectationSuite:
    """The manifest suite; each expectation's ``meta["columns"]`` names the columns its examples show."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    e = gx.expectations
    statuses = [s.value for s in Status]
    removed = Column("status").is_in([Status.FILTERED.value, Status.QUARANTINED.value])
    kept = Column("status") == Status.KEPT.value
    quarantined = Column("status") == Status.QUARANTINED.value
    expectations: list[tuple[str, tuple[str, ...], Any]] = [
        ("columns are CLIP_FIELDS", (),
         e.ExpectTableColumnsToMatchOrderedList(column_list=[*CLIP_FIELDS, *DERIVED])),
        ("clip_id is unique", ("clip_id",), e.ExpectColumnValuesToBeUnique(column="clip_id")),
        *[(f"{c} is not null", (c,), e.ExpectColumnValuesToNotBeNull(column=c)) for c in REQUIRED_FIELDS],
        ("kept clips have a uri", ("status", "uri"), e.ExpectColumnValuesToNotBeNull(column="uri", row_condition=kept)),
        ("kept clips' uri is not empty", ("status", "uri"),
         e.ExpectColumnValueLengthsToBeBetween(column="uri", min_value=1, row_condition=kept)),
        ("fps > 0", ("fps",), e.ExpectColumnValuesToBeBetween(column="fps", min_value=0, strict_min=True)),
        ("start_frame >= 0", ("start_frame",), e.ExpectColumnValuesToBeBetween(column="start_frame", min_value=0)),
        ("start_frame < end_frame", ("start_frame", "end_frame"),
         e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end_frame", column_B="start_frame", or_equal=False)),
        ("motion_bucket in 0..255", ("motion_bucket",),
         e.ExpectColumnValuesToBeBetween(column="motion_bucket", min_value=0, max_value=255)),
        ("text_area in [0, 1]", ("text_area",),
         e.ExpectColumnValuesToBeBetween(column="text_area", min_value=0, max_value=1)),
        ("status is kept|filtered|quarantined", ("status",),
         e.ExpectColumnValuesToBeInSet(column="status", value_set=statuses)),
        ("filtered/quarantined clips have a reason", ("status", "reason"),
         e.ExpectColumnValuesToNotBeNull(column="reason", row_condition=removed)),
        ("filtered/quarantined clips' reason is not empty", ("status", "reason"),
         e.ExpectColumnValueLengthsToBeBetween(column="reason", min_value=1, row_condition=removed)),
        ("quarantined clips have an error", ("status", "reason", "error"),
         e.ExpectColumnValuesToNotBeNull(column="error", row_condition=quarantined)),
        ("quarantined clips' error is not empty", ("status", "reason", "error"),
         e.ExpectColumnValueLengthsToBeBetween(column="error", min_value=1, row_condition=quarantined)),
        ("duration matches frame count", (*_DURATION_COLUMNS, FRAME_COUNT_ERROR),
         e.ExpectColumnValuesToBeBetween(column=FRAME_COUNT_ERROR, max_value=config.duration_tolerance_frames)),
        *[(f"{c} covers at least {config.min_caption_coverage:.0%} of kept clips", ("status", c),
           e.ExpectColumnValueLengthsToBeBetween(column=c, min_value=1, mostly=config.min_caption_coverage,
                                                 row_condition=kept))
          for c in ("caption_image", "caption_video", "caption_summary") if config.min_caption_coverage > 0],
        ("kept clips' written span lies inside their shot", (*_SPAN_COLUMNS, OUTSIDE_SHOT),
         e.ExpectColumnValuesToBeBetween(column=OUTSIDE_SHOT, max_value=0)),
        ("kept clips of one source never overlap", (*_SPAN_COLUMNS, OVERLAP),
         e.ExpectColumnValuesToBeBetween(column=OVERLAP, max_value=0)),
    ]
    suite = gx.ExpectationSuite(name="vidforge_manifest")
    for description, columns, expectation in expectations:
        expectation.description = description
        expectation.meta = {"columns": list(columns)}
        suite.add_expectation(expectation)
    return suite


def with_derived_columns(manifest: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``manifest`` plus :data:`DERIVED` (NaN where a field they need is missing)."""
    import numpy as np

    df = manifest.copy()
    if all(c in df.columns for c in _DURATION_COLUMNS):
        num = {c: df[c].astype("float64") for c in _DURATION_COLUMNS}
        df[FRAME_COUNT_ERROR] = ((num["end_s"] - num["start_s"]) * num["fps"]
                                 - (num["end_frame"] - num["start_frame"])).abs()
    else:
        df[FRAME_COUNT_ERROR] = np.nan
    if all(c in df.columns for c in _SPAN_COLUMNS):
        df[OUTSIDE_SHOT], df[OVERLAP] = _span_errors(df)
    else:
        df[OUTSIDE_SHOT] = df[OVERLAP] = np.nan
    return df


def _span_errors(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per row: frames written outside the shot, and frames shared with earlier-starting kept clips of the
    same source (both 0 for rows that are not kept)."""
    import pandas as pd

    kept = df["status"] == Status.KEPT.value
    start, end = df["start_frame"].astype("float64"), df["end_frame"].astype("float64")
    outside = ((df["shot_start_frame"].astype("float64") - start).clip(lower=0)
               + (end - df["shot_end_frame"].astype("float64")).clip(lower=0))
    order = df[kept].sort_values(["source_id", "start_frame", "end_frame"])
    reach = order.groupby("source_id")["end_frame"].transform(lambda s: s.cummax().shift()).astype("float64")
    overlap = (reach - order["start_frame"].astype("float64")).clip(lower=0).fillna(0.0)
    overlap = (overlap.clip(upper=order["end_frame"] - order["start_frame"])
               .reindex(df.index, fill_value=0.0))
    return outside.where(kept, 0.0), pd.Series(overlap, index=df.index, dtype="float64")


def quiet_gx() -> None:
    """Keep Great Expectations' loggers at WARNING (it logs ~200 INFO lines per run) unless the run is
    verbose (the root logger at DEBUG)."""
    verbose = logging.getLogger().getEffectiveLevel() <= logging.DEBUG
    logging.getLogger("great_expectations").setLevel(logging.NOTSET if verbose else logging.WARNING)


def validate_manifest(manifest: pd.DataFrame, config: ValidationConfig | None = None) -> ValidationReport:
    """Run the manifest suite.

    Args:
        manifest: one row per clip, columns ``CLIP_FIELDS`` (any status).
        config: tolerance and example count (default: :class:`ValidationConfig` defaults).

    Returns:
        The report; ``report.success`` is False when any expectation failed (never raises for bad data).
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # before the import: GX reads it at import time
    quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = config or ValidationConfig()
    df = with_derived_columns(manifest.reset_index(drop=True))
    project = DataContextConfig(  # in memory: no data docs site, no analytics, no progress bars
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=project)
    asset = context.data_sources.add_pandas("manifest").add_dataframe_asset("manifest")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})
    suite = build_suite(config)
    result = batch.validate(suite, result_format={"result_format": "SUMMARY",
                                                  "partial_unexpected_count": config.max_examples})
    order = {x.description: i for i, x in enumerate(suite.expectations)}
    outcomes = sorted((_outcome(r, df, config.max_examples) for r in result.results),
                      key=lambda o: order.get(o.description, len(order)))
    ok = sum(o.success for o in outcomes)
    return ValidationReport(
        success=bool(result.success) and ok == len(outcomes),
        suite=suite.name, gx_version=gx.__version__, rows=len(df),
        evaluated=len(outcomes), successful=ok, results=outcomes,
    )


def _outcome(result: Any, df: pd.DataFrame, max_examples: int) -> ExpectationOutcome:
    cfg = result.expectation_config
    info = result.exception_info or {}
    error = str(info.get("exception_message") or "") if info.get("raised_exception") else ""
    res = result.result or {}
    columns = ["clip_id", *(c for c in (cfg.meta or {}).get("columns", []) if c != "clip_id")]
    rows = list(res.get("partial_unexpected_index_list") or [])[:max_examples]
    examples = [{"row": _plain(i), **{c: _plain(df.at[i, c]) for c in columns if c in df.columns}} for i in rows]
    if cfg.type == "expect_table_columns_to_match_ordered_list" and not result.success:
        observed = [c for c in res.get("observed_value") or [] if c not in DERIVED]
        examples = [{"missing": sorted(set(CLIP_FIELDS) - set(observed)),
                     "unexpected": sorted(set(observed) - set(CLIP_FIELDS))}]
    kwargs = {k: _plain(v) for k, v in cfg.kwargs.items() if k not in ("batch_id", "row_condition", "column_list")}
    if cfg.kwargs.get("row_condition") is not None:
        kwargs["row_condition"] = str(cfg.kwargs["row_condition"])
    return ExpectationOutcome(
        description=cfg.description or cfg.type, expectation=cfg.type, success=bool(result.success) and not error,
        unexpected_count=int(res.get("unexpected_count") or 0), examples=examples, kwargs=kwargs, error=error,
    )


def _plain(value: Any) -> Any:
    """A JSON-able version of a pandas/numpy scalar or container (NaN/NA → None)."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
