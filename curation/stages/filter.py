"""Dataset-wide filters (SVD's LVD-F cut-offs): motion, aesthetic, CLIP similarity, text area.

Every signal has an absolute threshold and a percentile cut (``FilterConfig``):

========================  ==========================  ==========================================
signal (config key)       absolute (reason)           percentile (reason)
========================  ==========================  ==========================================
``motion_score``          ``value < motion.min``      lowest ``motion.drop_lowest``
(``motion``)              (``filter:motion_min``)     (``filter:motion_percentile``)
``aesthetic``             ``value < aesthetic.min``   lowest ``aesthetic.drop_lowest``
``clip_similarity``       ``value < ….min``           lowest ``clip_similarity.drop_lowest``
``text_area``             ``value > text_area.max``   *highest* ``text_area.drop_highest``
========================  ==========================  ==========================================

Semantics (SVD applies its cut-offs independently on the same dataset):

- The stage is ``whole_dataset``: a runner gives it every clip that reaches it in one
  batch, so percentiles are over the whole dataset, never a shard.
- Each filter judges the same population, independently of the others: every clip
  reaching the filter whose signal is a finite number. A percentile filter flags
  the ``floor(fraction * n)`` worst of those ``n`` clips, ranked by value (ascending;
  descending for ``text_area``), but never splits equal values: clips tied with the
  first clip it keeps are kept too (so when 80 % of clips have no text at all, the
  text filter removes only clips that have text). It flags at most ``floor(fraction * n)``.
- A clip flagged by several filters records the first in :data:`ORDER`: the absolute
  thresholds (a fact about the clip alone), then the percentile cuts (relative to this
  dataset), each group in signal order motion, aesthetic, clip_similarity, text_area.
- A clip whose signal is ``None`` (or NaN) is not judged by that signal's filters. A
  signal that is ``None`` on every clip (its stage or model is not configured) skips
  its filters; a threshold of ``None`` or a fraction of ``None``/``0`` disables one.

:func:`decide` is the pure decision; :func:`run_report` recomputes it over a finished
run's items for ``dataset.json`` / the data card (which filters ran or were skipped and
why, the effective percentile cut values, flagged and removed counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

from curation.config import FilterConfig, HighCutConfig
from curation.items import ClipItem, Item
from curation.stages.base import Resources, Stage

#: Config key → the ClipItem field it filters on, in signal order.
SIGNALS: dict[str, str] = {
    "motion": "motion_score", "aesthetic": "aesthetic", "clip_similarity": "clip_similarity", "text_area": "text_area",
}
#: Filter names in precedence order (a clip removed by several records the first); reason = ``filter:<name>``.
ORDER: tuple[str, ...] = (
    *(f"{key}_{'max' if key == 'text_area' else 'min'}" for key in SIGNALS),
    *(f"{key}_percentile" for key in SIGNALS),
)
#: Guards ``floor(fraction * n)`` against float error (0.29 * 100 = 28.999…).
_EPS = 1e-9


@dataclass(frozen=True)
class FilterRule:
    """One filter.

    Attributes:
        name: ``<config key>_min|_max|_percentile`` (see :data:`ORDER`).
        signal: the ClipItem field judged.
        kind: ``min``/``max`` (absolute threshold) or ``percentile``.
        removes: which end of the signal it removes: ``low`` or ``high``.
        setting: the threshold, or the fraction for a percentile; ``None`` (or fraction 0) = disabled.
    """

    name: str
    signal: str
    kind: Literal["min", "max", "percentile"]
    removes: Literal["low", "high"]
    setting: float | None

    @property
    def reason(self) -> str:
        """The reason a clip removed by this filter records."""
        return f"filter:{self.name}"

    @property
    def config_key(self) -> str:
        """Where the setting lives in the profile: ``filter.motion.drop_lowest``."""
        key, kind = self.name.rsplit("_", 1)
        field = f"drop_{self.removes}est" if kind == "percentile" else kind
        return f"filter.{key}.{field}"

    @property
    def enabled(self) -> bool:
        """Whether the configuration turns this filter on."""
        return self.setting is not None and not (self.kind == "percentile" and self.setting == 0)


def filter_rules(config: FilterConfig) -> list[FilterRule]:
    """Every filter of ``config`` (enabled or not), in :data:`ORDER`."""
    rules: list[FilterRule] = []
    for key, signal in SIGNALS.items():
        cut = getattr(config, key)
        if isinstance(cut, HighCutConfig):
            rules += [FilterRule(f"{key}_max", signal, "max", "high", cut.max),
                      FilterRule(f"{key}_percentile", signal, "percentile", "high", cut.drop_highest)]
        else:
            rules += [FilterRule(f"{key}_min", signal, "min", "low", cut.min),
                      FilterRule(f"{key}_percentile", signal, "percentile", "low", cut.drop_lowest)]
    return sorted(rules, key=lambda r: ORDER.index(r.name))


@dataclass
class FilterOutcome:
    """What one filter did on one dataset.

    Attributes:
        status: ``applied``, ``disabled`` (by configuration) or ``skipped`` (no clip has the signal).
        note: why it was skipped or disabled, or how many clips lacked the signal.
        judged: clips that have the signal (the population ``n`` of a percentile).
        threshold: the absolute threshold, or the effective percentile cut: the value of the last
            clip the percentile flags (None when it flags none).
        flagged: clips this filter alone would remove.
        removed: clips that record this filter as their reason (first match in :data:`ORDER`).
    """

    name: str
    reason: str
    signal: str
    kind: str
    removes: str
    setting: float | None
    status: Literal["applied", "disabled", "skipped"]
    note: str = ""
    judged: int = 0
    threshold: float | None = None
    flagged: int = 0
    removed: int = 0


@dataclass
class FilterDecision:
    """The filters' verdict on one dataset: ``reasons`` (clip_id → reason) of the removed clips."""

    clips: int
    outcomes: list[FilterOutcome]
    reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form recorded in ``dataset.json`` (``extra["filters"]``) and the data card."""
        return {"clips": self.clips, "order": [o.reason for o in self.outcomes],
                "filters": [asdict(o) for o in self.outcomes]}


def _values(clips: Sequence[ClipItem], signal: str) -> list[tuple[float, str]]:
    """``(value, clip_id)`` of the clips whose ``signal`` is a finite number."""
    out = []
    for clip in clips:
        value = getattr(clip, signal)
        if value is not None and math.isfinite(value):
            out.append((float(value), clip.clip_id))
    return out


def _flag(rule: FilterRule, values: list[tuple[float, str]]) -> tuple[set[str], float | None]:
    """The clip ids ``rule`` flags among ``values``, and the threshold it applied."""
    assert rule.setting is not None
    if rule.kind == "min":
        return {cid for v, cid in values if v < rule.setting}, rule.setting
    if rule.kind == "max":
        return {cid for v, cid in values if v > rule.setting}, rule.setting
    ranked = sorted(values, key=(lambda vc: (-vc[0], vc[1])) if rule.removes == "high" else None)
    k = math.floor(rule.setting * len(ranked) + _EPS)
    if 0 < k < len(ranked) and ranked[k][0] == ranked[k - 1][0]:
        # Never split equal values: the clips tied with the first kept one are kept too.
        tie = ranked[k][0]
        k = next(i for i, (v, _) in enumerate(ranked) if v == tie)
    return {cid for _, cid in ranked[:k]}, (ranked[k - 1][0] if k else None)


def decide(config: FilterConfig, clips: Sequence[ClipItem]) -> FilterDecision:
    """Apply every filter of ``config`` to ``clips`` (the whole population reaching the filter).

    Pure: marks nothing. Independent of the order of ``clips``.
    """
    outcomes: list[FilterOutcome] = []
    flagged: list[set[str]] = []
    for rule in filter_rules(config):
        out = FilterOutcome(rule.name, rule.reason, rule.signal, rule.kind, rule.removes, rule.setting, "applied")
        values = _values(clips, rule.signal)
        ids: set[str] = set()
        if not rule.enabled:
            out.status, out.note = "disabled", f"{rule.config_key} is {'0' if rule.setting == 0 else 'null'}"
        elif not values:
            out.status = "skipped"
            out.note = f"{rule.signal} not computed (null on all {len(clips)} clips)" if clips else "no clips"
        else:
            ids, out.threshold = _flag(rule, values)
            out.judged, out.flagged = len(values), len(ids)
            if len(values) < len(clips):
                out.note = f"{len(clips) - len(values)} clip(s) without {rule.signal} not judged"
            elif rule.kind == "percentile" and not ids:
                out.note = f"{rule.setting:g} × {len(values)} clips < 1: nothing to drop"
        outcomes.append(out)
        flagged.append(ids)
    reasons: dict[str, str] = {}
    for clip in clips:
        for out, ids in zip(outcomes, flagged, strict=True):
            if clip.clip_id in ids:
                reasons[clip.clip_id] = out.reason
                out.removed += 1
                break
    return FilterDecision(clips=len(clips), outcomes=outcomes, reasons=reasons)


class FilterStage(Stage):
    """Mark the clips the dataset-wide filters remove as ``filtered`` with the first filter's reason.

    Reads ``motion_score`` (required) and ``aesthetic``, ``clip_similarity``, ``text_area`` when
    an earlier stage computed them (a signal null on every clip skips its filters).
    """

    name: ClassVar[str] = "filter"
    requires: ClassVar[frozenset[str]] = frozenset({"motion_score"})
    populates: ClassVar[frozenset[str]] = frozenset({"status", "reason"})
    resources: ClassVar[Resources] = Resources(cpus=0.25)
    consumes: ClassVar[type[Item]] = ClipItem
    whole_dataset: ClassVar[bool] = True

    def __init__(self, config: FilterConfig) -> None:
        self.config = config

    def process(self, batch: list[Item]) -> list[Item]:
        """Apply the filters to the whole dataset's kept clips (``batch`` must be all of them)."""
        clips = [c for c in batch if isinstance(c, ClipItem)]
        reasons = decide(self.config, clips).reasons
        for clip in clips:
            if clip.clip_id in reasons:
                clip.filter_out(reasons[clip.clip_id])
        return batch

    def describe(self) -> str:
        """The base description plus the enabled filters in precedence order."""
        text = ", ".join(_describe_rule(r) for r in filter_rules(self.config) if r.enabled)
        return f"{super().describe()}; filters: {text or 'none'}"


def _describe_rule(rule: FilterRule) -> str:
    """``motion_min (motion_score < 0.5)`` / ``motion_percentile (lowest 25% of motion_score)``."""
    setting = float(rule.setting or 0.0)
    if rule.kind == "percentile":
        return f"{rule.name} ({rule.removes}est {setting:.0%} of {rule.signal})"
    return f"{rule.name} ({rule.signal} {'<' if rule.kind == 'min' else '>'} {setting:g})"


def run_report(stages: Sequence[Stage], items: Sequence[Item]) -> dict[str, Any] | None:
    """The filter stage's :meth:`FilterDecision.to_dict` for a finished run (None without a filter stage).

    Recomputed from the run's items, so it holds whichever runner (in or out of process) ran the
    stage: the clips that reached the filter are those no earlier stage removed (their reason's
    ``<stage>:`` prefix is not an earlier stage); their signals do not change after it.
    """
    index = next((i for i, s in enumerate(stages) if isinstance(s, FilterStage)), None)
    if index is None:
        return None
    stage = stages[index]
    assert isinstance(stage, FilterStage)
    earlier = {s.name for s in stages[:index]}
    reached = [c for c in items if isinstance(c, ClipItem) and c.reason.split(":", 1)[0] not in earlier]
    return decide(stage.config, reached).to_dict()
