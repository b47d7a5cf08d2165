"""Key rotation: every declared encrypted column of every table under the first key.

    python -m store rotate-key

After a new key is put first in PII_KEY (or the key file), this re-encrypts the
values of every column in store/encrypted_columns.py and renews the keyed hashes
declared there, table by table, then Rasa's conversations in the tracker
database (store/tracker_events.py: each event, and the conversation's hash), in
batches that commit one by one. Stopped half way, it is simply run again: only
rows with a value or a hash under another key are selected, so what is done is
not read twice. Afterwards the old key can be removed from PII_KEY.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from store import tracker_events
from store.audit import write_audit
from store.crypto import KeyRing, hash_prefix, reencrypt, token_prefix
from store.encrypted_columns import (
    ENCRYPTED_COLUMNS,
    REHASHED_LOOKUPS,
    EncryptedColumn,
    RehashedLookup,
    decrypt_field,
    encrypted_models,
)
from store.models import Base

logger = logging.getLogger(__name__)

ROTATION_BATCH = 200


@dataclass(frozen=True)
class RotationReport:
    key_id: str  # the key everything is encrypted with now
    rows: dict[str, int]  # table → rows re-encrypted or re-hashed
    # Tracker conversations under an old hash whose id was never kept (written
    # before ids were, idle since): lost to look-ups once the old key goes.
    unknown_conversations: int = 0

    @property
    def intakes(self) -> int:
        """Applications re-encrypted."""
        return self.rows.get("intakes", 0)

    @property
    def notes(self) -> int:
        """Applications' status notes re-encrypted (a ticket's notes: rows["handoff_notes"])."""
        return self.rows.get("intake_statuses", 0)

    def summary(self) -> str:
        """Table names and counts ("intakes 3, intake_statuses 1, …"), nothing else."""
        return ", ".join(f"{table} {count}" for table, count in self.rows.items())


def rotate_keys(
    engine: Engine,
    keys: KeyRing,
    actor: str = "key-rotation",
    batch: int = ROTATION_BATCH,
    tracker_engine: Engine | None = None,
) -> RotationReport:
    """Re-encrypt every declared column of every table, and the tracker store's
    conversations when its engine is given, with the current (first) key.

    Afterwards the old keys are needed only for the hashes nothing stored can
    recompute (continuation codes, which live minutes; applications from before
    revision 0007) and for download tokens made before. Safe to run again;
    batches commit one by one.
    """
    sessions = sessionmaker(engine, future=True)
    rows = {
        model.__tablename__: _rotate_table(sessions, keys, model, batch)
        for model in encrypted_models()
    }
    unknown = 0
    if tracker_engine is not None:
        tracker = tracker_events.rotate(tracker_engine, keys, batch)
        rows["conversations"] = tracker.conversations
        rows["events"] = tracker.events
        unknown = tracker.unknown_ids
    report = RotationReport(keys.current_id, rows, unknown)
    detail = f"to key {report.key_id}: {report.summary()}"
    with sessions.begin() as session:
        write_audit(session, actor, "rotate_keys", None, "密钥轮换", detail)
    logger.info("key rotation %s", detail)
    return report


def _rotate_table(sessions: sessionmaker, keys: KeyRing, model: type[Base], batch: int) -> int:
    columns = [column for column in ENCRYPTED_COLUMNS if column.model is model]
    lookups = [lookup for lookup in REHASHED_LOOKUPS if lookup.model is model]
    stale = _under_another_key(model, columns, lookups, keys.current_id)
    changed, last_id = 0, 0
    while True:
        with sessions.begin() as session:
            rows = list(
                session.execute(
                    sa.select(model)
                    .where(model.id > last_id, stale)
                    .order_by(model.id)
                    .limit(batch)
                    .with_for_update()
                ).scalars()
            )
            if not rows:
                return changed
            changed += sum(_rotate_row(keys, row, columns, lookups) for row in rows)
            last_id = rows[-1].id


def _under_another_key(
    model: type[Base],
    columns: list[EncryptedColumn],
    lookups: list[RehashedLookup],
    kid: str,
) -> sa.sql.ColumnElement:
    """Rows with a value or a hash not made with key `kid`. (NOT LIKE is unknown
    for NULL, so an empty column selects nothing.)"""
    return sa.or_(
        *(~getattr(model, c.name).startswith(token_prefix(kid), autoescape=True) for c in columns),
        *(~getattr(model, h.name).startswith(hash_prefix(kid), autoescape=True) for h in lookups),
    )


def _rotate_row(
    keys: KeyRing, row: Base, columns: list[EncryptedColumn], lookups: list[RehashedLookup]
) -> bool:
    """Re-encrypt the row's values, then renew its hashes; True when anything changed."""
    changed = False
    for column in columns:
        token = getattr(row, column.name)
        rotated = reencrypt(keys, token, column.binding(column.scope_of(row)))
        if rotated is not None:
            setattr(row, column.name, rotated)
            changed = True
    current = hash_prefix(keys.current_id)
    for lookup in lookups:
        stored = getattr(row, lookup.name)
        if stored is None or stored.startswith(current):
            continue
        plaintext = decrypt_field(keys, row, lookup.source)
        if plaintext is not None:  # NULL only in an application from before 0007
            setattr(row, lookup.name, lookup.hash(keys, plaintext))
            changed = True
    return changed
