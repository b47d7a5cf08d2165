"""Figures for the centre: conversations, handoffs, waiting times, matters, drop-off.

Two halves, neither touching personal data:

* `record` folds the dialogue's events, already reduced by the event broker
  (rasa_ext/figures_broker.py) to `FigureEvent`s, into one `conversation_figures`
  row per conversation: channel, first and last turn, number of turns, the
  matter type, the last question asked (a slot name) and whether the person
  applied or was handed to a lawyer. The conversation is known only by a keyed
  hash of its own purpose, so the row cannot be joined to the tracker store,
  the applications or the tickets.
* `compute` reads those rows and the handoff tickets' non-personal columns
  for a date range. Reading them is not reading anyone's record, so it is not
  audited (the audit log is for reads of personal data).

Drop-off is where people give up: a conversation with no application and no
handoff that has been silent for `idle` counts at the question it stopped at,
per channel, split into "went silent" (a question was waiting for an answer)
and "said they would rather stop" (the form's *_left slot was set).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legal_aid.channels import NAMES
from store.models import ConversationFigure, HandoffTicket

# The keyed hash's purpose: deliberately not store.crypto.CONVERSATION_LOOKUP,
# which the tracker store and the applications use.
FIGURES_LOOKUP = "conversation figures"
DEFAULT_IDLE = timedelta(minutes=30)
# Channels as the gateway names them; anything else is counted as "other" so a
# client cannot write arbitrary text into the table through message metadata.
CHANNELS = NAMES
UNKNOWN_CHANNEL = "unknown"
OTHER_CHANNEL = "other"
# Slot and form names, matter-type keys: identifiers, never free text.
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
# Slots the forms set when a person says they would rather stop the questions.
LEFT_SLOTS = frozenset({"intake_left", "eligibility_left"})
APPLIED_SLOT = "intake_reference"

# FigureEvent kinds.
TURN, FORM, QUESTION, LEFT, MATTER, APPLIED, HANDED_OVER = (
    "turn",
    "form",
    "question",
    "left",
    "matter",
    "applied",
    "handed_over",
)


@dataclass(frozen=True)
class FigureEvent:
    """One dialogue event as the figures need it: no text, no sender id."""

    lookups: tuple[str, ...]  # the conversation's keyed hash under every key, current first
    at: datetime
    kind: str
    value: str | None = None


def channel_of(event: dict) -> str:
    """The gateway's channel name from the message metadata, else Rasa's input channel."""
    metadata = event.get("metadata") or {}
    named = metadata.get("channel") if isinstance(metadata, dict) else None
    channel = named or event.get("input_channel") or UNKNOWN_CHANNEL
    if channel == UNKNOWN_CHANNEL or channel in CHANNELS:
        return channel
    return OTHER_CHANNEL


def identifier(value: object) -> str | None:
    return value if isinstance(value, str) and IDENTIFIER.match(value) else None


def reduce_event(event: dict) -> tuple[str, str | None] | None:
    """(kind, value) of a Rasa event that the figures count, else None.

    Only names and flags leave this function: a user event gives its channel,
    a slot event its slot name or a matter-type key, never what was said.
    """
    kind = event.get("event")
    if kind == "user":
        return TURN, channel_of(event)
    if kind == "active_loop":
        return FORM, identifier(event.get("name"))
    if kind == "pause":
        return HANDED_OVER, None
    if kind != "slot":
        return None
    name, value = event.get("name"), event.get("value")
    if name == "requested_slot":
        return QUESTION, identifier(value)
    if name in LEFT_SLOTS and value:
        return LEFT, None
    if name == "matter_type" and identifier(value):
        return MATTER, value
    if name == APPLIED_SLOT and value:
        return APPLIED, None
    return None


def event_time(timestamp: object) -> datetime:
    if isinstance(timestamp, (int, float)):
        return datetime.fromtimestamp(timestamp, timezone.utc)
    return datetime.now(timezone.utc)


# Recording -------------------------------------------------------------------------


def apply(row: ConversationFigure, event: FigureEvent) -> None:
    """Fold one event into a conversation's row."""
    if event.at < row.started_at:
        row.started_at = event.at
    if event.kind == TURN:
        row.turns += 1
        row.last_turn_at = max(row.last_turn_at, event.at)
        # A conversation id lives on one channel: its first turn names it.
        if row.channel == UNKNOWN_CHANNEL and event.value:
            row.channel = event.value
    elif event.kind == FORM:
        row.active_form = event.value
    elif event.kind == QUESTION:
        if event.value:
            row.last_form, row.last_question = row.active_form, event.value
            row.question_state = "asking"
        elif row.question_state == "asking":
            # No question waits any more: the form has finished (a person who
            # asked to stop was marked "left" just before).
            row.question_state = "done"
    elif event.kind == LEFT:
        if row.question_state == "asking":
            row.question_state = "left"
    elif event.kind == MATTER:
        row.matter_type = event.value
    elif event.kind == APPLIED:
        row.applied = True
    elif event.kind == HANDED_OVER:
        row.handed_over = True


def new_row(event: FigureEvent) -> ConversationFigure:
    return ConversationFigure(
        conversation_lookup=event.lookups[0],
        channel=UNKNOWN_CHANNEL,
        started_at=event.at,
        last_turn_at=event.at,
        turns=0,
        applied=False,
        handed_over=False,
    )


def record(engine: Engine, events: Iterable[FigureEvent]) -> None:
    """Fold a batch of events into the rows, in one transaction.

    Two Rasa instances may create the same conversation's row at once: the
    unique hash makes one of them fail, and the retry then finds the row.
    """
    batch = list(events)
    if not batch:
        return
    for attempt in range(2):
        try:
            _record(engine, batch)
            return
        except IntegrityError:
            if attempt:
                raise


def _record(engine: Engine, batch: list[FigureEvent]) -> None:
    lookups = {lookup for event in batch for lookup in event.lookups}
    with Session(engine, future=True) as session, session.begin():
        rows: dict[str, ConversationFigure] = {}
        for row in session.scalars(
            sa.select(ConversationFigure).where(ConversationFigure.conversation_lookup.in_(lookups))
        ):
            rows[row.conversation_lookup] = row
        for event in batch:
            row = next((rows[lookup] for lookup in event.lookups if lookup in rows), None)
            if row is None:
                row = rows[event.lookups[0]] = new_row(event)
                session.add(row)
            apply(row, event)


# Computing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingTimes:
    """Minutes from a ticket's creation to its (latest) claim."""

    count: int
    median: float | None
    p90: float | None
    still_waiting: int


@dataclass(frozen=True)
class DropOff:
    channel: str
    form: str | None
    question: str | None  # None: stopped before any question
    silent: int  # a question was waiting for an answer
    left: int  # said they would rather stop the questions

    @property
    def total(self) -> int:
        return self.silent + self.left


@dataclass(frozen=True)
class Figures:
    start: datetime
    end: datetime
    conversations: int
    per_channel: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)  # applied, handed_over, neither
    tickets: dict[str, int] = field(default_factory=dict)  # by status
    waiting: WaitingTimes = WaitingTimes(0, None, None, 0)
    matter_types: dict[str, int] = field(default_factory=dict)  # "" when not known
    drop_off: list[DropOff] = field(default_factory=list)
    abandoned: int = 0


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile: a waiting time someone actually had."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil
    return ordered[int(rank) - 1]


def compute(
    engine: Engine,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    idle: timedelta = DEFAULT_IDLE,
) -> Figures:
    """The figures of the conversations begun and the tickets opened in [start, end)."""
    now = now or datetime.now(timezone.utc)
    with Session(engine, future=True) as session:
        rows = session.execute(
            sa.select(
                ConversationFigure.channel,
                ConversationFigure.last_turn_at,
                ConversationFigure.matter_type,
                ConversationFigure.last_form,
                ConversationFigure.last_question,
                ConversationFigure.question_state,
                ConversationFigure.applied,
                ConversationFigure.handed_over,
            ).where(ConversationFigure.started_at >= start, ConversationFigure.started_at < end)
        ).all()
        tickets = session.execute(
            sa.select(
                HandoffTicket.status, HandoffTicket.created_at, HandoffTicket.claimed_at
            ).where(HandoffTicket.created_at >= start, HandoffTicket.created_at < end)
        ).all()

    per_channel = Counter(row.channel for row in rows)
    matters = Counter(row.matter_type or "" for row in rows)
    outcomes = Counter(
        "applied" if row.applied else "handed_over" if row.handed_over else "neither"
        for row in rows
    )
    silent: Counter = Counter()
    left: Counter = Counter()
    abandoned = 0
    for row in rows:
        if row.applied or row.handed_over or row.last_turn_at > now - idle:
            continue
        abandoned += 1
        at_question = row.question_state in ("asking", "left")
        key = (
            row.channel,
            row.last_form if at_question else None,
            row.last_question if at_question else None,
        )
        (left if row.question_state == "left" else silent)[key] += 1
    drop_off = sorted(
        (DropOff(*key, silent=silent[key], left=left[key]) for key in set(silent) | set(left)),
        key=lambda d: (-d.total, d.channel, d.form or "", d.question or ""),
    )

    waits = [(t.claimed_at - t.created_at).total_seconds() / 60 for t in tickets if t.claimed_at]
    waiting = WaitingTimes(
        count=len(waits),
        median=statistics.median(waits) if waits else None,
        p90=percentile(waits, 0.9),
        still_waiting=sum(t.status == "waiting" for t in tickets),
    )
    return Figures(
        start=start,
        end=end,
        conversations=len(rows),
        per_channel=dict(per_channel.most_common()),
        outcomes={k: outcomes.get(k, 0) for k in ("applied", "handed_over", "neither")},
        tickets=dict(Counter(t.status for t in tickets).most_common()),
        waiting=waiting,
        matter_types=dict(matters.most_common()),
        drop_off=drop_off,
        abandoned=abandoned,
    )
