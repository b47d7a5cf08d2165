"""Rasa's tracker store (TRACKER_STORE_URL) as the store sees it: to delete, purge
and re-key conversations without importing Rasa.

rasa_ext/tracker_store.py writes the `events` table (Rasa's own schema): each
event encrypted with the store's key, bound to `events.data`, and the
conversation id only as its keyed hash (CONVERSATION_LOOKUP, the same hash the
applications, tickets and links keep). A keyed hash cannot be recomputed under
a new key without the id it hashes, so the tracker store also keeps each
conversation's id once, encrypted, in `conversation_ids`: key rotation reads it
to move the conversation's events to the new hash, after which the old key can
be dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from store.crypto import CONVERSATION_LOOKUP, KeyRing, hash_prefix, reencrypt, token_prefix

EVENT_COLUMN = "events.data"  # the associated data binding an event to its column
SENDER_COLUMN = "conversation_ids.sender_encrypted"
ROTATION_BATCH = 500

_metadata = sa.MetaData()

# Rasa's table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent), only the
# columns read here; Rasa creates it.
events = sa.Table(
    "events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("data", sa.Text),
)

conversation_ids = sa.Table(
    "conversation_ids",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_lookup", sa.String(80), nullable=False, unique=True),
    sa.Column("sender_encrypted", sa.Text, nullable=False),
)

Executor = Connection | Session


def ensure_conversation_ids(engine: Engine) -> None:
    """Create `conversation_ids` in the tracker database if it is missing."""
    conversation_ids.create(engine, checkfirst=True)


def has_events(engine: Engine) -> bool:
    """Whether Rasa has created its table here (not before its first start)."""
    return sa.inspect(engine).has_table("events")


def remember_conversation(executor: Executor, keys: KeyRing, sender_id: str) -> None:
    """Keep the conversation's id, encrypted, under its current hash, once."""
    lookup = keys.lookup_hash(sender_id, CONVERSATION_LOOKUP)
    known = executor.execute(
        sa.select(conversation_ids.c.id).where(conversation_ids.c.sender_lookup == lookup)
    ).first()
    if known is None:
        executor.execute(
            conversation_ids.insert().values(
                sender_lookup=lookup, sender_encrypted=keys.encrypt(sender_id, SENDER_COLUMN)
            )
        )


def forget_conversation(executor: Executor, lookups: list[str]) -> int:
    """Delete every event and the kept id of the conversation with any of these
    hashes; the number of events deleted."""
    if not lookups:
        return 0
    deleted = executor.execute(events.delete().where(events.c.sender_id.in_(lookups))).rowcount
    executor.execute(conversation_ids.delete().where(conversation_ids.c.sender_lookup.in_(lookups)))
    return deleted or 0


def erase(engine: Engine, lookups: list[str]) -> int:
    """forget_conversation in its own transaction; 0 when Rasa has no table yet."""
    if not has_events(engine):
        return 0
    ensure_conversation_ids(engine)
    with engine.begin() as connection:
        return forget_conversation(connection, lookups)


def conversation_lines(engine: Engine, keys: KeyRing, lookups: list[str]) -> list[dict]:
    """What the person and the assistant said in these conversations, decrypted,
    oldest first: for a person's copy of their data (store/erasure.py)."""
    if not lookups or not has_events(engine):
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.data).where(events.c.sender_id.in_(lookups)).order_by(events.c.id)
        ).scalars()
        decoded = [json.loads(keys.decrypt(data, EVENT_COLUMN)) for data in rows]
    return [
        {"from": event["event"], "text": event.get("text"), "at": event.get("timestamp")}
        for event in decoded
        if event.get("event") in ("user", "bot")
    ]


@dataclass(frozen=True)
class PurgedConversations:
    conversations: int
    events: int


def purge_idle(engine: Engine, last_message_before: datetime) -> PurgedConversations:
    """Delete the conversations whose latest event is older than the given time."""
    if not has_events(engine):
        return PurgedConversations(0, 0)
    ensure_conversation_ids(engine)
    idle = (
        sa.select(events.c.sender_id)
        .group_by(events.c.sender_id)
        .having(sa.func.max(events.c.timestamp) < last_message_before.timestamp())
    )
    with engine.begin() as connection:
        lookups = list(connection.execute(idle).scalars())
        deleted = sum(
            forget_conversation(connection, lookups[start : start + ROTATION_BATCH])
            for start in range(0, len(lookups), ROTATION_BATCH)
        )
    return PurgedConversations(len(lookups), deleted)


def dry_run_idle(engine: Engine, last_message_before: datetime) -> PurgedConversations:
    """What purge_idle would delete."""
    if not has_events(engine):
        return PurgedConversations(0, 0)
    latest = (
        sa.select(events.c.sender_id, sa.func.count().label("n"))
        .group_by(events.c.sender_id)
        .having(sa.func.max(events.c.timestamp) < last_message_before.timestamp())
        .subquery()
    )
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(latest.c.n), 0))
        ).one()
    return PurgedConversations(int(row[0]), int(row[1]))


# Key rotation ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerRotation:
    conversations: int  # conversations moved to the new hash
    events: int  # events re-encrypted
    unknown_ids: int  # conversations under an old hash whose id was never kept


def rotate(engine: Engine, keys: KeyRing, batch: int = ROTATION_BATCH) -> TrackerRotation:
    """Every conversation under the current key's hash and every event encrypted
    with it, in batches that commit one by one: stopped, it is run again, and
    what is done is not selected twice."""
    if not has_events(engine):
        return TrackerRotation(0, 0, 0)
    ensure_conversation_ids(engine)
    moved = _rehash_conversations(engine, keys, batch)
    reencrypted = _reencrypt_events(engine, keys, batch)
    return TrackerRotation(moved, reencrypted, _unknown_ids(engine, keys))


def _rehash_conversations(engine: Engine, keys: KeyRing, batch: int) -> int:
    stale = ~conversation_ids.c.sender_lookup.startswith(
        hash_prefix(keys.current_id), autoescape=True
    )
    moved, last_id = 0, 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                sa.select(conversation_ids)
                .where(conversation_ids.c.id > last_id, stale)
                .order_by(conversation_ids.c.id)
                .limit(batch)
            ).all()
            if not rows:
                return moved
            for row in rows:
                _move_conversation(connection, keys, row)
            moved += len(rows)
            last_id = rows[-1].id


def _move_conversation(connection: Connection, keys: KeyRing, row: sa.engine.Row) -> None:
    """The conversation's events to its new hash, its kept id under the new key.

    Turns taken during the rotation were saved under the new hash already, with
    their own kept id: then the old one is simply dropped.
    """
    sender_id = keys.decrypt(row.sender_encrypted, SENDER_COLUMN)
    new_lookup = keys.lookup_hash(sender_id, CONVERSATION_LOOKUP)
    connection.execute(
        events.update().where(events.c.sender_id == row.sender_lookup).values(sender_id=new_lookup)
    )
    already = connection.execute(
        sa.select(conversation_ids.c.id).where(conversation_ids.c.sender_lookup == new_lookup)
    ).first()
    if already is not None:
        connection.execute(conversation_ids.delete().where(conversation_ids.c.id == row.id))
        return
    connection.execute(
        conversation_ids.update()
        .where(conversation_ids.c.id == row.id)
        .values(
            sender_lookup=new_lookup,
            sender_encrypted=reencrypt(keys, row.sender_encrypted, SENDER_COLUMN)
            or row.sender_encrypted,
        )
    )


def _reencrypt_events(engine: Engine, keys: KeyRing, batch: int) -> int:
    stale = ~events.c.data.startswith(token_prefix(keys.current_id), autoescape=True)
    changed, last_id = 0, 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                sa.select(events.c.id, events.c.data)
                .where(events.c.id > last_id, stale)
                .order_by(events.c.id)
                .limit(batch)
            ).all()
            if not rows:
                return changed
            for row in rows:
                connection.execute(
                    events.update()
                    .where(events.c.id == row.id)
                    .values(data=reencrypt(keys, row.data, EVENT_COLUMN))
                )
            changed += len(rows)
            last_id = rows[-1].id


def _unknown_ids(engine: Engine, keys: KeyRing) -> int:
    """Conversations still under an old hash: written before ids were kept and
    not seen since. They cannot be found once the old key is gone; the
    conversations' retention (30 days by default) deletes them."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count(sa.distinct(events.c.sender_id))).where(
                    ~events.c.sender_id.startswith(hash_prefix(keys.current_id), autoescape=True)
                )
            ).scalar()
            or 0
        )
