"""The registry's governance rules, as pure functions over rows the store has loaded.

The store calls these inside its write transaction, so the HTTP API, the CLI
and the pipeline's tasks all meet the same rules:

- **roles**: each action needs a minimum :class:`~vidforge.identity.Role`;
- **four eyes**: nobody approves or rejects a version they registered;
- **protected aliases** (per model, default ``production``) only point at a
  version whose gate passed and whose latest review decision, by someone other
  than its registrant, is an approval;
- **compare-and-set**: an alias moves only from the version the caller expected.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.registry.errors import AliasConflict, Forbidden, RuleViolation
from services.registry.models import ApprovalRow, ModelVersionRow
from vidforge.identity import Principal, Role


def require_role(who: Principal, role: Role, action: str) -> None:
    """Raise :class:`Forbidden` unless ``who`` holds ``role``; the message names both roles."""
    if not who.can(role):
        raise Forbidden(f"{action} needs the {role.label} role; {who.name!r} has the {who.role.label} role")


def alias_role(alias: str, protected: Sequence[str]) -> Role:
    """The role that may move ``alias``: approver for a protected alias, operator otherwise."""
    return Role.APPROVER if alias in protected else Role.OPERATOR


def check_expected(name: str, alias: str, current: int | None, expected: int | None) -> None:
    """Raise :class:`AliasConflict` when the alias does not point where the caller expected."""
    if current != expected:
        now = "is unset" if current is None else f"points at v{current}"
        wanted = "unset" if expected is None else f"v{expected}"
        raise AliasConflict(f"{name}:{alias} {now}, the request expected {wanted}; nothing was changed")


def check_reviewer(who: Principal, version: ModelVersionRow, name: str) -> None:
    """Four eyes: raise :class:`RuleViolation` when ``who`` registered the version under review."""
    if who.name == version.created_by:
        raise RuleViolation(
            f"four eyes: {who.name!r} registered {name} v{version.version} and cannot review it; "
            "another approver must decide"
        )


def promotion_blockers(version: ModelVersionRow, approvals: Sequence[ApprovalRow]) -> list[str]:
    """What keeps ``version`` from a protected alias; empty when nothing does.

    The latest decision by someone other than the registrant counts (a later
    rejection withdraws an earlier approval).
    """
    missing: list[str] = []
    if version.gate_passed is None:
        missing.append("no gate result is recorded")
    elif not version.gate_passed:
        missing.append("its evaluation gate failed")
    reviews = [a for a in approvals if a.approver != version.created_by]
    if not reviews:
        missing.append(f"no approval by an identity other than its registrant {version.created_by!r}")
    elif reviews[-1].decision != "approved":
        last = reviews[-1]
        missing.append(f"its latest review is a rejection by {last.approver!r} ({last.comment})")
    return missing


def check_promotable(name: str, alias: str, version: ModelVersionRow, approvals: Sequence[ApprovalRow]) -> None:
    """Raise :class:`RuleViolation` naming every missing condition for a protected ``alias``."""
    missing = promotion_blockers(version, approvals)
    if missing:
        raise RuleViolation(
            f"{name} v{version.version} cannot move to protected alias {alias!r}: " + "; ".join(missing)
        )
