"""Conversations continued on another channel: codes, links and wrong guesses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

A person who asks for it gets a six-digit code (接续码) on one channel and says
it on another; the other channel's sender then continues the same conversation.
No personal data in clear: codes as keyed hashes, ids encrypted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "continuation_codes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("code_lookup", sa.String(80), nullable=False),
        sa.Column("conversation_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_continuation_codes"),
    )
    op.create_index("ix_continuation_codes_code_lookup", "continuation_codes", ["code_lookup"])
    op.create_index("ix_continuation_codes_expires_at", "continuation_codes", ["expires_at"])
    op.create_table(
        "conversation_links",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("alias_lookup", sa.String(80), nullable=False),
        sa.Column("conversation_lookup", sa.String(80), nullable=False),
        sa.Column("conversation_encrypted", sa.Text, nullable=False),
        sa.Column("alias_encrypted", sa.Text, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_turn_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_links"),
        sa.UniqueConstraint("alias_lookup", name="uq_conversation_links_alias_lookup"),
    )
    op.create_index(
        "ix_conversation_links_conversation_lookup", "conversation_links", ["conversation_lookup"]
    )
    op.create_table(
        "continuation_guesses",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("guesser_lookup", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_continuation_guesses"),
    )
    op.create_index(
        "ix_continuation_guesses_guesser_lookup", "continuation_guesses", ["guesser_lookup"]
    )
    op.create_index("ix_continuation_guesses_at", "continuation_guesses", ["at"])


def downgrade() -> None:
    op.drop_table("continuation_guesses")
    op.drop_table("conversation_links")
    op.drop_table("continuation_codes")
