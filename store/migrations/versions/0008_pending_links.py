"""A continuation code said on another channel waits to be confirmed where it was given.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12

Security issue 19: someone who overheard a 接续码 could say it first and take the
conversation over. Redeeming a code now makes a pending link, linked only when
the person confirms it on the original channel (确认接续 and a four-digit number).
No personal data in clear: the number and the ids as keyed hashes, the ids
also encrypted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_links",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("conversation_lookup", sa.String(80), nullable=False),
        sa.Column("alias_lookup", sa.String(80), nullable=False),
        sa.Column("conversation_encrypted", sa.Text, nullable=False),
        sa.Column("alias_encrypted", sa.Text, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("confirmation_lookup", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_pending_links"),
        sa.UniqueConstraint("conversation_lookup", name="uq_pending_links_conversation_lookup"),
    )
    op.create_index("ix_pending_links_alias_lookup", "pending_links", ["alias_lookup"])
    op.create_index("ix_pending_links_expires_at", "pending_links", ["expires_at"])


def downgrade() -> None:
    op.drop_table("pending_links")
