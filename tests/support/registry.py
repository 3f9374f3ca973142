"""Registry identities for tests that run the pipeline: an admin, the pipeline, and a human approver."""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.store import RegistryStore
from vidforge.identity import Principal
from vidforge.settings import Settings


@dataclass(frozen=True)
class Identities:
    """Token values by role in the test, and the human approver's principal."""

    admin: str
    pipeline: str
    approver: str
    approver_principal: Principal


def create_identities(settings: Settings) -> Identities:
    """Migrate the settings' registry and create ``admin``, ``pipeline`` (approver role) and ``alice`` (approver)."""
    store = RegistryStore.from_settings(settings, upgrade=True)
    try:
        _, admin = store.create_token("admin", "admin", None)
        root = store.resolve_token(admin)
        assert root is not None
        pipeline = store.create_token("pipeline", "approver", root)[1]
        approver = store.create_token("alice", "approver", root)[1]
        alice = store.resolve_token(approver)
        assert alice is not None
        return Identities(admin, pipeline, approver, alice)
    finally:
        store.dispose()
