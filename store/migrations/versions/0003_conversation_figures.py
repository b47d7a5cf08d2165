"""The conversation figures the centre's figures page counts (no personal data).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

QUESTION_STATE_CHECK = "question_state IN ('asking', 'left', 'done')"


def upgrade() -> None:
    op.create_table(
        "conversation_figures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_lookup", sa.String(80), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_turn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("turns", sa.Integer, nullable=False),
        sa.Column("matter_type", sa.String(64)),
        sa.Column("active_form", sa.String(64)),
        sa.Column("last_form", sa.String(64)),
        sa.Column("last_question", sa.String(64)),
        sa.Column("question_state", sa.String(8)),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("handed_over", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_figures"),
        sa.UniqueConstraint(
            "conversation_lookup", name="uq_conversation_figures_conversation_lookup"
        ),
        sa.CheckConstraint(QUESTION_STATE_CHECK, name="ck_conversation_figures_question_state"),
    )
    op.create_index("ix_conversation_figures_started_at", "conversation_figures", ["started_at"])


def downgrade() -> None:
    op.drop_table("conversation_figures")
