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
    with op.batch_alter_table("intakes") as batch:
        batch.add_column(sa.Column("conversation_encrypted", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intakes") as batch:
        batch.drop_column("conversation_encrypted")
