"""Serving schema: durable jobs, their input images, scoped API tokens.

Revision ID: s0001
Revises:
Create Date: 2026-12-01

Hand-written; works on SQLite and PostgreSQL. Constraint names follow the
naming convention of ``services.serving.models`` (``op.f`` marks them final).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``serving_jobs``, ``serving_job_inputs`` and ``serving_tokens``."""
    _create_jobs()
    _create_inputs_and_tokens()


def _create_jobs() -> None:
    op.create_table(
        "serving_jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("return_frames", sa.Boolean(), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("total_steps", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("replica_id", sa.String(128), nullable=False),
        sa.Column("claim_token", sa.String(64), nullable=False),
        sa.Column("lease_expires_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("results_deleted_at", _TS, nullable=True),
        sa.Column("video_key", sa.Text(), nullable=False),
        sa.Column("frames_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serving_jobs")),
        sa.UniqueConstraint("owner", "idempotency_key", name=op.f("uq_serving_jobs_owner_idempotency_key")),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_serving_jobs_state_known"),
        ),
    )
    op.create_index("ix_serving_jobs_state_created_at", "serving_jobs", ["state", "created_at"])
    op.create_index("ix_serving_jobs_owner_created_at", "serving_jobs", ["owner", "created_at"])


def _create_inputs_and_tokens() -> None:
    op.create_table(
        "serving_job_inputs",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_serving_job_inputs")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["serving_jobs.id"], ondelete="CASCADE",
            name=op.f("fk_serving_job_inputs_job_id_serving_jobs"),
        ),
    )
    op.create_table(
        "serving_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(128), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serving_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_serving_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_serving_tokens_token_hash")),
    )


def downgrade() -> None:
    """Drop the serving tables (jobs, inputs, tokens)."""
    op.drop_table("serving_tokens")
    op.drop_table("serving_job_inputs")
    op.drop_index("ix_serving_jobs_owner_created_at", table_name="serving_jobs")
    op.drop_index("ix_serving_jobs_state_created_at", table_name="serving_jobs")
    op.drop_table("serving_jobs")
