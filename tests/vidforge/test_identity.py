"""vidforge.identity: tokens hashed with SHA-256, ordered roles, scopes for scoped services, bearer parsing."""

from __future__ import annotations

import pytest

from vidforge.identity import Principal, Role, Scope, bearer_token, hash_token, new_token, same_secret


def test_tokens_are_random_prefixed_and_stored_as_digests() -> None:
    (a, digest_a), (b, _) = new_token(), new_token()
    assert a != b and a.startswith("vf_") and len(a) >= 40
    assert digest_a == hash_token(a) and len(digest_a) == 64 and a not in digest_a


def test_roles_are_ordered_and_parsed() -> None:
    assert Role.parse(" Approver ") is Role.APPROVER and Role.APPROVER.label == "approver"
    assert Principal("x", Role.ADMIN).can(Role.OPERATOR) and not Principal("y", Role.VIEWER).can(Role.OPERATOR)
    with pytest.raises(ValueError, match="choose one of viewer, operator, approver, admin"):
        Role.parse("root")


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer vf_abc", "vf_abc"), ("bearer  vf_abc ", "vf_abc"), (None, None), ("", None), ("Bearer", None),
     ("Basic dXNlcg==", None), ("Bearer " + "x" * 257, None)],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_same_secret() -> None:
    assert same_secret("abc", "abc") and not same_secret("abc", "abd")


def test_scopes_parse_render_and_admin_implies_all() -> None:
    scopes = Scope.parse_many(" jobs:read, JOBS:SUBMIT ,")
    assert scopes == {Scope.JOBS_READ, Scope.JOBS_SUBMIT} and Scope.render(scopes) == "jobs:read,jobs:submit"
    assert Scope.parse_many([Scope.ADMIN]) == {Scope.ADMIN}
    reader = Principal.scoped("app", [Scope.JOBS_READ])
    assert reader.allows(Scope.JOBS_READ) and not reader.allows(Scope.JOBS_SUBMIT)
    assert reader.role == Role.VIEWER  # grants nothing more in role-ordered services
    assert all(Principal.scoped("root", [Scope.ADMIN]).allows(s) for s in Scope)
    assert not Principal("registry-user", Role.ADMIN).allows(Scope.JOBS_READ)  # roles are not scopes


@pytest.mark.parametrize(("value", "match"), [("jobs:write", "unknown scope 'jobs:write'"), ("", "at least one"),
                                              (",,", "at least one")])
def test_bad_scopes_are_named(value: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Scope.parse_many(value)
