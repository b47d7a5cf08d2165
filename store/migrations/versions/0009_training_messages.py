"""Messages the assistant did not understand, masked and encrypted, for coordinators to label.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

No sender id: a keyed hash of the conversation, for erasure (store/erasure.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STATUS_CHECK = "status IN ('new', 'labelled', 'exported')"
REASON_CHECK = "reason IN ('not_understood', 'asked_back')"


def upgrade() -> None:
    op.create_table(
        "training_messages",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("predicted_intent", sa.String(64)),
        sa.Column("intent_confidence", sa.Float),
        sa.Column("predicted_matter", sa.String(64)),
        sa.Column("text_encrypted", sa.Text, nullable=False),
        sa.Column("conversation_lookup", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label_intent", sa.String(64)),
        sa.Column("label_matter", sa.String(64)),
        sa.Column("labelled_by", sa.String(64)),
        sa.Column("labelled_at", sa.DateTime(timezone=True)),
        sa.Column("exported_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_training_messages"),
        sa.CheckConstraint(STATUS_CHECK, name="ck_training_messages_status"),
        sa.CheckConstraint(REASON_CHECK, name="ck_training_messages_reason"),
    )
    for column in ("collected_at", "conversation_lookup", "status"):
        op.create_index(f"ix_training_messages_{column}", "training_messages", [column])


def downgrade() -> None:
    op.drop_table("training_messages")
