"""vidforge.identity: tokens hashed with SHA-256, ordered roles, and scopes for scoped services."""

from __future__ import annotations

import pytest

from vidforge.identity import Principal, Role, Scope, bearer_token, hash_token, new_token


def test_tokens_are_random_and_stored_as_sha256() -> None:
    plain, digest = new_token()
    assert plain.startswith("vf_") and len(plain) > 40 and digest == hash_token(plain) and len(digest) == 64
    assert new_token()[0] != plain


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


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token(None) is bearer_token("Basic abc") is bearer_token("Bearer ") is None
    assert bearer_token("Bearer " + "x" * 300) is None
