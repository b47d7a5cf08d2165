"""The intake store: applications, their status history, the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUS_CHECK = "status IN ('new', 'under_review', 'assigned', 'closed', 'withdrawn')"


def upgrade() -> None:
    op.create_table(
        "intakes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(24)),
        sa.Column("application_key", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("matter_type", sa.String(64), nullable=False),
        sa.Column("advance_aid", sa.Boolean, nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("name_encrypted", sa.Text, nullable=False),
        sa.Column("phone_encrypted", sa.Text, nullable=False),
        sa.Column("id_number_encrypted", sa.Text),
        sa.Column("disability_certificate_encrypted", sa.Text),
        sa.Column("description_encrypted", sa.Text, nullable=False),
        sa.Column("details_encrypted", sa.Text, nullable=False),
        sa.Column("phone_lookup", sa.String(80), nullable=False),
        sa.Column("conversation_lookup", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_intakes"),
        sa.UniqueConstraint("reference", name="uq_intakes_reference"),
        sa.UniqueConstraint("application_key", name="uq_intakes_application_key"),
        sa.CheckConstraint(STATUS_CHECK, name="ck_intakes_status"),
    )
    op.create_index("ix_intakes_phone_lookup", "intakes", ["phone_lookup"])
    op.create_index("ix_intakes_conversation_lookup", "intakes", ["conversation_lookup"])

    op.create_table(
        "intake_statuses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("intake_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("note_encrypted", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_intake_statuses"),
        sa.ForeignKeyConstraint(
            ["intake_id"], ["intakes.id"], name="fk_intake_statuses_intake_id_intakes"
        ),
        sa.CheckConstraint(STATUS_CHECK, name="ck_intake_statuses_status"),
    )
    op.create_index("ix_intake_statuses_intake_id", "intake_statuses", ["intake_id"])

    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(24)),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    op.create_index("ix_audit_entries_reference", "audit_entries", ["reference"])


def downgrade() -> None:
    op.drop_table("audit_entries")
    op.drop_table("intake_statuses")
    op.drop_table("intakes")
