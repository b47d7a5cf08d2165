"""A record of each hotline call the assistant answered: times, turns, outcome.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10

No audio, text, caller number or call id: only what the overflow figures count.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CALL_OUTCOME_CHECK = "outcome IN ('resolved', 'callback', 'transferred', 'abandoned')"


def upgrade() -> None:
    op.create_table(
        "hotline_calls",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("turns", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_calls"),
        sa.CheckConstraint(CALL_OUTCOME_CHECK, name="ck_hotline_calls_outcome"),
    )
    op.create_index("ix_hotline_calls_started_at", "hotline_calls", ["started_at"])


def downgrade() -> None:
    op.drop_table("hotline_calls")
