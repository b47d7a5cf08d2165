"""A SQL tracker store whose per-turn cost does not grow with the conversation.

Rasa's SQLTrackerStore already loads only the latest session, but a session
only ends when the user is silent for `session_expiration_time`. A WeChat or
Telegram user may keep one chat open for months and write every day, so the
session — and the time every turn takes to rebuild and featurise it — grows
without bound. This store starts a new session, slots carried over, once the
current one has `max_session_turns` user turns and the dialogue is at rest
(no form running, not handed to a human). The full history stays in the
database for `retrieve_full_tracker` (transcripts, audits).

The events hold everything people said, their phone and ID numbers included,
so they are encrypted at rest with the store's key (store/crypto.py, PII_KEY)
and the conversation id (a Telegram chat or WeChat user id) is kept only as a
keyed hash: the tracker database alone reveals neither who talked nor what
they said. Each conversation's id is also kept once, encrypted
(store/tracker_events.py), so that key rotation can recompute its hash.

Forgetting: an action that must not leave the conversation behind (consent
refused, "删除我的信息" confirmed) sets the slot `forget_conversation`. This
store is the only writer of the tracker database and saves the turn after
every action of it has run, so here, instead of saving that turn, it deletes
every event the conversation had. Deleting anywhere else (the action server,
the gateway) would race with this save, or be undone by it: Rasa saves the
events the database does not have yet, so it would write the whole session
again. The next message starts a new conversation.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Query, Session, sessionmaker

import store
from store import settings, tracker_events
from store.crypto import CONVERSATION_LOOKUP, KeyRing
from store.tracker_events import EVENT_COLUMN

# Set by actions (actions/forgetting.py) when the conversation must be deleted.
FORGET_SLOT = "forget_conversation"

DEFAULT_MAX_SESSION_TURNS = 40
# Conversations whose stored event count is remembered between a turn's load
# and its save (a few bytes each; more than ever run at once).
REMEMBERED_COUNTS = 10_000
LATEST_SESSION_INDEX = "ix_events_sender_type_timestamp"


class RollingSessionTrackerStore(SQLTrackerStore):
    """SQLTrackerStore configured by one URL that rolls long sessions over."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        max_session_turns: int = DEFAULT_MAX_SESSION_TURNS,
        keys: KeyRing | None = None,
        **kwargs: Any,
    ) -> None:
        # Not `self.keys`: SQLTrackerStore.keys() lists the conversations.
        self.pii_keys = keys or KeyRing.from_env(settings.environment())
        # `url` in endpoints.yml arrives here as `host`: one SQLAlchemy URL
        # (sqlite:///var/rasa_tracker.db, postgresql://user:pw@host/db).
        url = make_url(host or "sqlite:///var/rasa_tracker.db")
        super().__init__(
            domain=domain,
            dialect=url.drivername,
            host=url.host,
            port=url.port,
            db=url.database or "",
            username=url.username,
            password=url.password,
            query=dict(url.query) or None,
            **kwargs,
        )
        if url.drivername.startswith("sqlite"):
            # The store's SQLite settings (write-ahead log, a wait for a busy
            # file: the retention job and erasure write here too), with its
            # connections kept open, not one opened per load and save.
            self.engine = store.create_engine(url.render_as_string(hide_password=False))
            self.sessionmaker = sessionmaker(bind=self.engine)
        self.max_session_turns = int(max_session_turns)
        self._stored_counts: OrderedDict[str, int] = OrderedDict()
        # The latest-session query filters on (sender_id, type_name, timestamp);
        # without this index it scans the whole conversation on every turn.
        self._latest_session_index().create(self.engine, checkfirst=True)
        tracker_events.ensure_conversation_ids(self.engine)

    def _latest_session_index(self) -> sa.Index:
        # An Index joins its table's (Rasa's shared) metadata when made: made again
        # by a second store in the process, Rasa's create_all would create it twice
        # (PostgreSQL refuses that, and with it the tables of a new database).
        table = self.SQLEvent.__table__
        existing = next((ix for ix in table.indexes if ix.name == LATEST_SESSION_INDEX), None)
        return existing or sa.Index(
            LATEST_SESSION_INDEX,
            self.SQLEvent.sender_id,
            self.SQLEvent.type_name,
            self.SQLEvent.timestamp,
        )

    # --- encryption at rest: the three places SQLTrackerStore touches event rows ---

    def stored_ids(self, sender_id: str) -> list[str]:
        """The conversation's row id under every key (rows from before a key rotation too)."""
        return self.pii_keys.lookup_hashes(sender_id, CONVERSATION_LOOKUP)

    def _event_query(
        self, session: Session, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Query:
        # Rasa's query, with the hashed id in place of the id it was given.
        ids = self.stored_ids(sender_id)
        session_start = (
            session.query(sa.func.max(self.SQLEvent.timestamp).label("session_start"))
            .filter(
                self.SQLEvent.sender_id.in_(ids),
                self.SQLEvent.type_name == SessionStarted.type_name,
            )
            .subquery()
        )
        query = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id.in_(ids))
        if not fetch_events_from_all_sessions:
            query = query.filter(
                sa.or_(
                    self.SQLEvent.timestamp >= session_start.c.session_start,
                    session_start.c.session_start.is_(None),
                )
            )
        return query.order_by(self.SQLEvent.id)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions).all()
            events = [json.loads(self.pii_keys.decrypt(row.data, EVENT_COLUMN)) for row in rows]
        if not fetch_events_from_all_sessions:
            self._remember_stored_count(sender_id, len(events))
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    # --- the count Rasa's save queries on every turn, known from the load ---

    def _remember_stored_count(self, sender_id: str, count: int) -> None:
        """How many events of the latest session the database held at this load.

        Rasa saves the events of a turn by counting the session's events in the
        database again and saving the tracker's events after that many. A turn
        runs under the conversation's lock from load to save, so nothing else
        adds events in between: the count at the load is the count at the save.
        """
        self._stored_counts[sender_id] = count
        self._stored_counts.move_to_end(sender_id)
        while len(self._stored_counts) > REMEMBERED_COUNTS:
            self._stored_counts.popitem(last=False)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        # Used once: a second save of the turn (the rollover's) counts again, as Rasa does.
        count = self._stored_counts.pop(tracker.sender_id, None)
        if count is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, count, len(tracker.events))

    async def _save_events(self, tracker: DialogueStateTracker) -> None:
        """SQLTrackerStore.save with the id hashed and each event encrypted."""
        stored_id = self.pii_keys.lookup_hash(tracker.sender_id, CONVERSATION_LOOKUP)
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
            if new_events:
                # Once per conversation (a look-up after that); conversations from
                # before ids were kept get theirs on their next turn, here too.
                tracker_events.remember_conversation(session, self.pii_keys, tracker.sender_id)
                # One INSERT for the turn's events: the ORM's unit of work for
                # them cost more than the database's own write (store bench).
                session.execute(
                    self.SQLEvent.__table__.insert(),
                    [self._event_row(stored_id, event) for event in new_events],
                )
            session.commit()
        if self.event_broker is not None:
            # Rasa's stream_events would load and decrypt the whole session again
            # to find the new events; they are known here, and stored by now.
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    def _event_row(self, stored_id: str, event: Event) -> dict[str, Any]:
        data = event.as_dict()
        intent = (data.get("parse_data") or {}).get("intent") or {}
        return {
            "sender_id": stored_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": intent.get("name"),
            "action_name": data.get("name"),
            "data": self.pii_keys.encrypt(json.dumps(data), EVENT_COLUMN),
        }

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events, then start a fresh session if this one is long;
        or delete the whole conversation when an action asked to forget it."""
        if FORGET_SLOT in tracker.slots and tracker.get_slot(FORGET_SLOT):
            self.forget(tracker.sender_id)
            return
        await self._save_events(tracker)
        if self._should_roll_over(tracker):
            rolled = tracker.copy()
            for event in self._rollover_events(tracker):
                rolled.update(event)
            await self._save_events(rolled)

    def forget(self, sender_id: str) -> int:
        """Delete every event of the conversation (under every key); how many."""
        self._stored_counts.pop(sender_id, None)
        with self.session_scope() as session:
            deleted = tracker_events.forget_conversation(session, self.stored_ids(sender_id))
            session.commit()
        return deleted

    def _should_roll_over(self, tracker: DialogueStateTracker) -> bool:
        if tracker.is_paused() or tracker.active_loop_name:
            return False
        if tracker.latest_action_name != ACTION_LISTEN_NAME:
            return False
        user_turns = sum(isinstance(e, UserUttered) for e in tracker.events)
        return user_turns >= self.max_session_turns

    @staticmethod
    def _rollover_events(tracker: DialogueStateTracker) -> list[Event]:
        """The events Rasa's own session start writes, plus the last answer.

        Slots are always carried over: this is the same conversation going on,
        not a user coming back after a long silence. The bot's last answer is
        kept so that "再说一遍" still works right after the rollover.
        """
        now = time.time()
        events: list[Event] = [
            ActionExecuted(ACTION_SESSION_START_NAME, timestamp=now),
            SessionStarted(timestamp=now),
        ]
        initial = {slot.name: slot.initial_value for slot in tracker.slots.values()}
        events += [
            SlotSet(name, slot.value, timestamp=now)
            for name, slot in tracker.slots.items()
            if slot.value != initial[name]
        ]
        events += [
            BotUttered(e.text, e.data, e.metadata, timestamp=now)
            for e in _last_turn_bot_utterances(tracker)
        ]
        events.append(ActionExecuted(ACTION_LISTEN_NAME, timestamp=now))
        return events


def _last_turn_bot_utterances(tracker: DialogueStateTracker) -> list[BotUttered]:
    utterances: list[BotUttered] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            utterances.append(event)
    return list(reversed(utterances))
