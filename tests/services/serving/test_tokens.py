"""Scoped serving tokens: shown once, stored as SHA-256, revocable, resolved to a scoped principal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from services.serving.errors import InvalidParameterError, TokenExistsError, TokenNotFoundError
from services.serving.store import JobStore
from services.serving.tokens import check_token_name
from vidforge.identity import Scope, hash_token


@pytest.fixture
def store(jobs_db_url: str) -> Iterator[JobStore]:
    opened = JobStore(jobs_db_url)
    yield opened
    opened.dispose()


def test_create_resolve_revoke(store: JobStore, jobs_db_url: str) -> None:
    info, plain = store.create_token("svc-a", "jobs:submit, jobs:read", "cli")
    assert plain.startswith("vf_") and info.scopes == ("jobs:read", "jobs:submit")
    who = store.resolve_token(plain)
    assert who is not None and who.name == "svc-a"
    assert who.allows(Scope.JOBS_SUBMIT) and who.allows(Scope.JOBS_READ) and not who.allows(Scope.ADMIN)
    engine = sa.create_engine(jobs_db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT token_hash FROM serving_tokens")).scalar_one()
    finally:
        engine.dispose()
    assert stored == hash_token(plain) and plain not in stored
    assert store.revoke_token("svc-a").revoked_at is not None
    assert store.resolve_token(plain) is None
    assert [t.name for t in store.list_tokens()] == ["svc-a"]


def test_admin_scope_allows_everything(store: JobStore) -> None:
    _, plain = store.create_token("root", [Scope.ADMIN], "cli")
    who = store.resolve_token(plain)
    assert who is not None and all(who.allows(s) for s in Scope)


@pytest.mark.parametrize("value", ["", "x" * 300, "vf_unknown", 42])
def test_unknown_or_malformed_tokens_resolve_to_none(store: JobStore, value: object) -> None:
    assert store.resolve_token(value) is None  # type: ignore[arg-type]


def test_bad_names_scopes_and_duplicates(store: JobStore) -> None:
    with pytest.raises(InvalidParameterError, match="unknown scope 'jobs:write'"):
        store.create_token("a", "jobs:write", "cli")
    with pytest.raises(InvalidParameterError, match="at least one scope"):
        store.create_token("a", "", "cli")
    store.create_token("a", "jobs:read", "cli")
    store.revoke_token("a")
    with pytest.raises(TokenExistsError, match="revoked names are not reused"):
        store.create_token("a", "jobs:read", "cli")
    with pytest.raises(TokenNotFoundError):
        store.revoke_token("nobody")


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 129, "a/b"])
def test_token_names_are_checked(name: str) -> None:
    with pytest.raises(InvalidParameterError, match="token name"):
        check_token_name(name)
