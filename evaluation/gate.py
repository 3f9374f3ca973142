"""The promotion gate: absolute thresholds plus rules against the champion."""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass, field
from typing import Any

from evaluation.config import GateConfig

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


@dataclass(frozen=True)
class Check:
    """One rule's verdict."""

    rule: str
    metric: str
    value: float | None
    limit: float | None
    passed: bool
    champion: float | None = None


@dataclass(frozen=True)
class GateResult:
    """All checks; ``passed`` only when every check passed."""

    passed: bool
    checks: tuple[Check, ...] = field(default_factory=tuple)
    champion_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "champion_version": self.champion_version,
            "checks": [asdict(c) for c in self.checks],
        }


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def apply_gate(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    config: GateConfig,
    champion_version: int | None = None,
) -> GateResult:
    """Judge ``candidate`` metrics.

    A metric that is missing or not finite fails its rule. Champion rules are
    skipped when there is no champion (the first model only has to clear the
    absolute thresholds). For a lower-is-better metric with ``relative=True``
    the limit is ``champion × (1 + max_regression)``; with ``relative=False``
    it is ``champion + max_regression`` (and mirrored for higher-is-better).
    """
    checks: list[Check] = []
    for rule in config.absolute:
        value = candidate.get(rule.metric)
        ok = _finite(value) and _OPS[rule.op](value, rule.threshold)
        checks.append(Check(f"{rule.metric} {rule.op} {rule.threshold:g}", rule.metric, value, rule.threshold, ok))
    for crule in config.versus_champion if champion else ():
        value, base = candidate.get(crule.metric), champion.get(crule.metric)  # type: ignore[union-attr]
        if not _finite(base):
            continue
        assert base is not None
        slack = abs(base) * crule.max_regression if crule.relative else crule.max_regression
        limit = base + slack if crule.lower_is_better else base - slack
        ok = _finite(value) and (value <= limit if crule.lower_is_better else value >= limit)  # type: ignore[operator]
        worse = "higher" if crule.lower_is_better else "lower"
        how = f"{crule.max_regression:.0%}" if crule.relative else f"{crule.max_regression:g}"
        checks.append(
            Check(f"{crule.metric} at most {how} {worse} than champion", crule.metric, value, limit, ok, base)
        )
    return GateResult(all(c.passed for c in checks), tuple(checks), champion_version)
