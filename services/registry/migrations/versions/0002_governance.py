"""Governance: tokens, gate results and lineage on versions, tags, webhooks, a hash-chained audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Existing rows are kept: models get ``protected_aliases = ["production"]``,
versions an unknown gate (``gate_passed`` NULL) and empty links (a run that was
registered twice keeps its first version; later ones become ``<run>#v<n>``), and the audit
rows already present are chained in id order (renumbered 1..n, so the chain has
no gaps) with the head row naming the last one. Downgrade drops what this
revision added; the audit rows stay, without their hashes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from services.registry.chain import GENESIS, record_hash

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_VERSION_COLUMNS = ("gate_passed", "gate_checks", "report_uri", "dataset_uri", "dag_run_id")


def upgrade() -> None:
    """Add the governance columns and tables, then chain the existing audit rows."""
    with op.batch_alter_table("registered_models") as batch:
        batch.add_column(sa.Column("protected_aliases", sa.JSON(), nullable=False, server_default='["production"]'))
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("gate_passed", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("gate_checks", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("report_uri", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("dataset_uri", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("dag_run_id", sa.String(256), nullable=False, server_default=""))
    _disambiguate_repeated_runs()
    op.create_index(
        "uq_model_versions_model_id_run_id", "model_versions", ["model_id", "run_id"], unique=True,
        sqlite_where=sa.text("run_id != ''"), postgresql_where=sa.text("run_id != ''"),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    _create_tables()
    _chain_existing_audit_rows()


def _disambiguate_repeated_runs() -> None:
    """Before 0002 a run could be registered twice: later copies get ``<run_id>#v<version>``."""
    bind = op.get_bind()
    versions = sa.table("model_versions", sa.column("id", sa.Integer), sa.column("model_id", sa.Integer),
                        sa.column("version", sa.Integer), sa.column("run_id", sa.String))
    seen: set[tuple[int, str]] = set()
    query = sa.select(versions).where(versions.c.run_id != "").order_by(versions.c.model_id, versions.c.version)
    for r in bind.execute(query).mappings().all():
        key = (r["model_id"], r["run_id"])
        if key in seen:
            new = f"{r['run_id']}#v{r['version']}"[:256]
            bind.execute(versions.update().where(versions.c.id == r["id"]).values(run_id=new))
        seen.add(key)


def _create_tables() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
    )
    op.create_table(
        "model_tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_tags")),
        sa.UniqueConstraint("model_id", "version", "key", name=op.f("uq_model_tags_model_id_version_key")),
        sa.ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            name=op.f("fk_model_tags_version"),
        ),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sa.CheckConstraint(
            "role IN ('viewer', 'operator', 'approver', 'admin')", name=op.f("ck_api_tokens_role_valid")
        ),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"], name=op.f("fk_webhooks_model_id")),
    )
    op.create_index(op.f("ix_webhooks_model_id"), "webhooks", ["model_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_webhook_deliveries_webhook_id")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status_valid")
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_status_next_attempt_at"), "webhook_deliveries", ["status", "next_attempt_at"]
    )


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back text through a plain table reflection
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _chain_existing_audit_rows() -> None:
    bind = op.get_bind()
    events = sa.table(
        "audit_events", sa.column("id", sa.Integer), sa.column("at", _TS), sa.column("actor", sa.String),
        sa.column("action", sa.String), sa.column("model_name", sa.String), sa.column("version", sa.Integer),
        sa.column("details", sa.JSON), sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
    )
    rows = bind.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    prev = GENESIS
    offset = max((r["id"] for r in rows), default=0) + 1  # move ids out of the way before renumbering
    for r in rows:
        bind.execute(events.update().where(events.c.id == r["id"]).values(id=r["id"] + offset))
    for new_id, r in enumerate(rows, start=1):
        details = r["details"] if isinstance(r["details"], dict) else json.loads(r["details"])
        fields = {"id": new_id, "at": _aware(r["at"]), "actor": r["actor"], "action": r["action"],
                  "model_name": r["model_name"], "version": r["version"], "details": details, "prev_hash": prev}
        digest = record_hash(**fields)
        bind.execute(
            events.update().where(events.c.id == r["id"] + offset).values(id=new_id, prev_hash=prev, hash=digest)
        )
        prev = digest
    head = sa.table("audit_head", sa.column("id", sa.Integer), sa.column("last_id", sa.Integer),
                    sa.column("last_hash", sa.String))
    bind.execute(head.insert().values(id=1, last_id=len(rows), last_hash=prev))


def downgrade() -> None:
    """Drop the governance tables and columns (audit rows stay, unchained)."""
    op.drop_index(op.f("ix_webhook_deliveries_status_next_attempt_at"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_webhooks_model_id"), table_name="webhooks")
    op.drop_table("webhooks")
    op.drop_table("api_tokens")
    op.drop_table("model_tags")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    op.drop_index("uq_model_versions_model_id_run_id", table_name="model_versions")
    with op.batch_alter_table("model_versions") as batch:
        for column in reversed(_VERSION_COLUMNS):
            batch.drop_column(column)
    with op.batch_alter_table("registered_models") as batch:
        batch.drop_column("protected_aliases")
