"""An application's conversation id, encrypted, so key rotation can re-hash it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

`conversation_lookup` is a keyed hash: after a key rotation it must be computed
again under the new key, which needs the id it hashes. Nullable: applications
stored before keep the old hash until they are purged (store/retention.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("intakes", sa.Column("conversation_encrypted", sa.Text, nullable=True))


def downgrade() -> None:
    # Not a batch (copy and rename) on SQLite: tickets refer to intakes, and with
    # foreign keys on, dropping the old table is refused. SQLite 3.35+ drops a
    # plain column in place.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE intakes DROP COLUMN conversation_encrypted")
    else:
        op.drop_column("intakes", "conversation_encrypted")
