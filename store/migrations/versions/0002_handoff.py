"""The handoff to a lawyer on duty: lawyers, duty roster, staff accounts, tickets, messages.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TICKET_STATUS_CHECK = "status IN ('waiting', 'claimed', 'returned', 'closed', 'cancelled')"
STAFF_ROLE_CHECK = "role IN ('lawyer', 'coordinator', 'admin')"
MESSAGE_ROLE_CHECK = "sender_role IN ('person', 'lawyer', 'system')"


def upgrade() -> None:
    op.create_table(
        "lawyers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("years_of_practice", sa.Integer, nullable=False),
        sa.Column("criminal_practice_years", sa.Integer, nullable=False),
        sa.Column("specialities", sa.Text, nullable=False),
        sa.Column("disability_experience", sa.Boolean, nullable=False),
        sa.Column("sign_language", sa.Boolean, nullable=False),
        sa.Column("languages", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lawyers"),
        sa.UniqueConstraint("display_name", name="uq_lawyers_display_name"),
        sa.CheckConstraint("years_of_practice >= 0", name="ck_lawyers_years_of_practice"),
        sa.CheckConstraint(
            "criminal_practice_years >= 0 AND criminal_practice_years <= years_of_practice",
            name="ck_lawyers_criminal_practice_years",
        ),
    )

    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lawyer_id", sa.Integer, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_duty_shifts"),
        sa.ForeignKeyConstraint(
            ["lawyer_id"], ["lawyers.id"], name="fk_duty_shifts_lawyer_id_lawyers"
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ck_duty_shifts_ends_after_start"),
    )
    op.create_index("ix_duty_shifts_lawyer_id", "duty_shifts", ["lawyer_id"])
    op.create_index("ix_duty_shifts_starts_at", "duty_shifts", ["starts_at"])

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("lawyer_id", sa.Integer),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_users"),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
        sa.UniqueConstraint("lawyer_id", name="uq_staff_users_lawyer_id"),
        sa.ForeignKeyConstraint(
            ["lawyer_id"], ["lawyers.id"], name="fk_staff_users_lawyer_id_lawyers"
        ),
        sa.CheckConstraint(STAFF_ROLE_CHECK, name="ck_staff_users_role"),
        sa.CheckConstraint(
            "role <> 'lawyer' OR lawyer_id IS NOT NULL", name="ck_staff_users_lawyer_linked"
        ),
        sa.CheckConstraint("failed_logins >= 0", name="ck_staff_users_failed_logins"),
    )

    op.create_table(
        "handoff_tickets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("matter_type", sa.String(64), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("intake_id", sa.Integer),
        sa.Column("assigned_lawyer_id", sa.Integer),
        sa.Column("callback_at", sa.DateTime(timezone=True)),
        sa.Column("sender_encrypted", sa.Text, nullable=False),
        sa.Column("priority_reasons_encrypted", sa.Text, nullable=False),
        sa.Column("summary_encrypted", sa.Text, nullable=False),
        sa.Column("transcript_encrypted", sa.Text, nullable=False),
        sa.Column("case_encrypted", sa.Text, nullable=False),
        sa.Column("requested_lawyer_encrypted", sa.Text),
        sa.Column("callback_phone_encrypted", sa.Text),
        sa.Column("sender_lookup", sa.String(80), nullable=False),
        sa.Column("open_sender_lookup", sa.String(80)),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_tickets"),
        sa.UniqueConstraint("open_sender_lookup", name="uq_handoff_tickets_open_sender_lookup"),
        sa.ForeignKeyConstraint(
            ["intake_id"], ["intakes.id"], name="fk_handoff_tickets_intake_id_intakes"
        ),
        sa.ForeignKeyConstraint(
            ["assigned_lawyer_id"],
            ["lawyers.id"],
            name="fk_handoff_tickets_assigned_lawyer_id_lawyers",
        ),
        sa.CheckConstraint(TICKET_STATUS_CHECK, name="ck_handoff_tickets_status"),
    )
    op.create_index("ix_handoff_tickets_intake_id", "handoff_tickets", ["intake_id"])
    op.create_index(
        "ix_handoff_tickets_assigned_lawyer_id", "handoff_tickets", ["assigned_lawyer_id"]
    )
    op.create_index("ix_handoff_tickets_sender_lookup", "handoff_tickets", ["sender_lookup"])
    op.create_index(
        "ix_handoff_tickets_queue", "handoff_tickets", ["status", "priority", "created_at"]
    )

    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("sender_role", sa.String(8), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text_encrypted", sa.Text, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_messages"),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
            name="fk_handoff_messages_ticket_id_handoff_tickets",
        ),
        sa.CheckConstraint(MESSAGE_ROLE_CHECK, name="ck_handoff_messages_sender_role"),
    )
    op.create_index("ix_handoff_messages_ticket_id", "handoff_messages", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("handoff_messages")
    op.drop_table("handoff_tickets")
    op.drop_table("staff_users")
    op.drop_table("duty_shifts")
    op.drop_table("lawyers")
