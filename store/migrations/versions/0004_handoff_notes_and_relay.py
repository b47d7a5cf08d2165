"""Ticket notes, and the relay's progress kept with the ticket.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

`relayed_message_id` and `end_told_at` used to live in the gateway's memory:
a restart repeated lawyer messages to spoken channels, or never told a person
that the lawyer had handed them back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_tickets") as table:
        table.add_column(
            sa.Column("relayed_message_id", sa.Integer, nullable=False, server_default="0")
        )
        table.add_column(sa.Column("end_told_at", sa.DateTime(timezone=True)))
    # Tickets that ended before this revision: their people were told (or left long ago).
    op.execute("UPDATE handoff_tickets SET end_told_at = closed_at WHERE closed_at IS NOT NULL")
    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text_encrypted", sa.Text, nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_notes"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["handoff_tickets.id"], name="fk_handoff_notes_ticket_id_handoff_tickets"
        ),
    )
    op.create_index("ix_handoff_notes_ticket_id", "handoff_notes", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("handoff_notes")
    with op.batch_alter_table("handoff_tickets") as table:
        table.drop_column("end_told_at")
        table.drop_column("relayed_message_id")
