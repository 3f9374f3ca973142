"""The promotion gate: absolute thresholds plus rules against the champion, every check recorded.

Each rule yields one :class:`Check` with ``status`` ``pass``, ``fail`` or
``skip`` and a human-readable ``reason``; nothing silently disappears:

* a metric missing (not computed) or non-finite on either side follows the
  rule's ``on_missing`` — ``fail`` (fail closed) or ``skip``;
* champion rules without a champion are skipped ("no champion": the first model
  only has to clear the absolute thresholds);
* a champion rule with ``compare`` ``ci_*`` judges the paired bootstrap interval
  of ``candidate − champion`` (see :class:`evaluation.config.ChampionRule`).

The gate passes when no check failed.
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass, field
from typing import Any

from evaluation.config import ChampionRule, GateConfig

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


@dataclass(frozen=True)
class Check:
    """One rule's verdict (``passed`` is ``status != "fail"``)."""

    rule: str
    metric: str
    value: float | None
    limit: float | None
    passed: bool
    champion: float | None = None
    status: str = "pass"
    reason: str = ""
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class GateResult:
    """All checks; ``passed`` only when no check failed."""

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


def _missing(rule: str, metric: str, policy: str, why: str, value: float | None = None,
             base: float | None = None) -> Check:
    status = "skip" if policy == "skip" else "fail"
    return Check(rule, metric, value, None, status != "fail", base, status, f"{why}; rule {status}s (on_missing)")


def _champion_check(crule: ChampionRule, value: float | None, base: float | None,
                    diff: tuple[float, float] | None) -> Check:
    how = f"{crule.max_regression:.0%}" if crule.relative else f"{crule.max_regression:g}"
    worse = "higher" if crule.lower_is_better else "lower"
    name = f"{crule.metric} at most {how} {worse} than champion" + ("" if crule.compare == "point" else
                                                                   f" ({crule.compare})")
    if not _finite(value) or not _finite(base):
        side = "candidate" if not _finite(value) else "champion"
        return _missing(name, crule.metric, crule.on_missing, f"{crule.metric} not computed for the {side}",
                        value, base)
    assert value is not None and base is not None
    slack = abs(base) * crule.max_regression if crule.relative else crule.max_regression
    limit = base + slack if crule.lower_is_better else base - slack
    sign = 1.0 if crule.lower_is_better else -1.0  # regression = sign × (candidate − champion)
    if crule.compare == "point":
        ok = sign * (value - base) <= slack
        reason = f"{value:.4g} vs limit {limit:.4g}"
        return Check(name, crule.metric, value, limit, ok, base, "pass" if ok else "fail", reason)
    if diff is None or not all(map(math.isfinite, diff)):
        return _missing(name, crule.metric, crule.on_missing, f"no paired interval for {crule.metric}", value, base)
    lo, hi = sorted((sign * diff[0], sign * diff[1]))  # interval of the regression
    ok = lo <= slack if crule.compare == "ci_not_worse" else hi <= slack
    reason = f"regression interval [{lo:.4g}, {hi:.4g}] vs allowed {slack:.4g}"
    return Check(name, crule.metric, value, limit, ok, base, "pass" if ok else "fail", reason, diff)


def apply_gate(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    config: GateConfig,
    champion_version: int | None = None,
    paired: dict[str, tuple[float, float]] | None = None,
) -> GateResult:
    """Judge ``candidate`` metrics against the absolute rules and the ``champion``'s metrics.

    For a lower-is-better metric with ``relative=True`` the limit is
    ``champion × (1 + max_regression)``; with ``relative=False`` it is
    ``champion + max_regression`` (mirrored for higher-is-better). ``paired``
    maps a metric to the ``(low, high)`` interval of ``candidate − champion``.
    """
    checks: list[Check] = []
    for rule in config.absolute:
        value = candidate.get(rule.metric)
        name = f"{rule.metric} {rule.op} {rule.threshold:g}"
        if not _finite(value):
            checks.append(_missing(name, rule.metric, rule.on_missing, f"{rule.metric} not computed", value))
            continue
        ok = _OPS[rule.op](value, rule.threshold)
        checks.append(Check(name, rule.metric, value, rule.threshold, ok, None, "pass" if ok else "fail",
                            f"{value:.4g} {rule.op} {rule.threshold:g}" + ("" if ok else " does not hold")))
    for crule in config.versus_champion:
        if champion is None:
            how = f"{crule.max_regression:g}"
            checks.append(Check(f"{crule.metric} versus champion (max regression {how})", crule.metric,
                                candidate.get(crule.metric), None, True, None, "skip", "no champion yet"))
            continue
        checks.append(_champion_check(crule, candidate.get(crule.metric), champion.get(crule.metric),
                                      (paired or {}).get(crule.metric)))
    return GateResult(all(c.passed for c in checks), tuple(checks), champion_version)
