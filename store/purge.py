"""Deleting what is past its retention period (store/retention.py).

    python -m store purge [--dry-run]

and once a day inside the gateway (bot/retention.py). Each kind of record is
selected by the time its period counts from, and deleted with what belongs to
it (an application's status history and tickets, a ticket's messages and
notes) in batches; Rasa's conversations in the tracker database go by their
last message. One audit entry says how many of each kind went, nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from store import tracker_events
from store.audit import write_audit
from store.links import GUESS_WINDOW
from store.models import (
    AuditEntry,
    ContinuationCode,
    ContinuationGuess,
    ConversationFigure,
    ConversationLink,
    HandoffMessage,
    HandoffNote,
    HandoffTicket,
    HotlineCall,
    Intake,
    IntakeStatus,
    PendingLink,
    TrainingMessage,
    utc_now,
)
from store.retention import RetentionPeriods

logger = logging.getLogger(__name__)

BATCH = 500
ENDED_APPLICATION = ("closed", "withdrawn")
ENDED_TICKET = ("returned", "closed", "cancelled")
PURGE_ACTOR = "retention"


@dataclass
class PurgeReport:
    """Rows deleted (or, in a dry run, to delete) per table; no values."""

    rows: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def add(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        return ", ".join(f"{table} {count}" for table, count in self.rows.items() if count) or "-"


def purge(
    engine: Engine,
    tracker_engine: Engine | None,
    periods: RetentionPeriods,
    now: datetime | None = None,
    dry_run: bool = False,
    actor: str = PURGE_ACTOR,
) -> PurgeReport:
    """Delete every record past its period; with `dry_run`, only count them."""
    now = now or utc_now()
    report = PurgeReport(dry_run=dry_run)
    sessions = sessionmaker(engine, future=True)
    for kind, select_ids, delete in _KINDS:
        cutoff = now - periods.period(kind) if kind else now
        ids = _ids(sessions, select_ids(cutoff, now))
        if dry_run:
            report.add(_KIND_TABLE[select_ids], len(ids))
            continue
        for start in range(0, len(ids), BATCH):
            with sessions.begin() as session:
                delete(session, ids[start : start + BATCH], report)
    if tracker_engine is not None:
        _purge_conversations(tracker_engine, now - periods.period("conversations"), report)
    if not dry_run:
        _audit(sessions, actor, report, now)
    return report


def _purge_conversations(tracker_engine: Engine, cutoff: datetime, report: PurgeReport) -> None:
    count = tracker_events.dry_run_idle if report.dry_run else tracker_events.purge_idle
    purged = count(tracker_engine, cutoff)
    report.add("conversations", purged.conversations)
    report.add("events", purged.events)


def _audit(sessions: sessionmaker, actor: str, report: PurgeReport, now: datetime) -> None:
    # Written after the audit log's own purge, so this entry is never its victim.
    with sessions.begin() as session:
        write_audit(session, actor, "purge", None, "保存期限届满删除", report.summary())
    logger.info("purge at %s: %s", now.date().isoformat(), report.summary())


def _ids(sessions: sessionmaker, query: sa.sql.Select) -> list[int]:
    with sessions() as session:
        return list(session.execute(query).scalars())


# What each kind selects ------------------------------------------------------------


def _ended_applications(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(Intake.id).where(
        Intake.status.in_(ENDED_APPLICATION), Intake.updated_at < cutoff
    )


def _ended_tickets(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(HandoffTicket.id).where(
        HandoffTicket.status.in_(ENDED_TICKET), HandoffTicket.closed_at < cutoff
    )


def _idle_links(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(ConversationLink.id).where(ConversationLink.last_turn_at < cutoff)


def _expired_codes(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(ContinuationCode.id).where(ContinuationCode.expires_at < now)


def _expired_pending(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(PendingLink.id).where(PendingLink.expires_at < now)


def _old_guesses(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(ContinuationGuess.id).where(ContinuationGuess.at < now - GUESS_WINDOW)


def _old_calls(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(HotlineCall.id).where(HotlineCall.started_at < cutoff)


def _old_figures(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(ConversationFigure.id).where(ConversationFigure.last_turn_at < cutoff)


def _old_training(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(TrainingMessage.id).where(TrainingMessage.collected_at < cutoff)


def _old_audit(cutoff: datetime, now: datetime) -> sa.sql.Select:
    return sa.select(AuditEntry.id).where(AuditEntry.at < cutoff)


# How each kind is deleted, with what belongs to it ---------------------------------


def delete_applications(session: Session, ids: list[int], report: PurgeReport) -> None:
    """Applications with their status history and the tickets opened for them."""
    tickets = list(
        session.execute(
            sa.select(HandoffTicket.id).where(HandoffTicket.intake_id.in_(ids))
        ).scalars()
    )
    delete_tickets(session, tickets, report)
    report.add("intake_statuses", _delete(session, IntakeStatus, IntakeStatus.intake_id, ids))
    report.add("intakes", _delete(session, Intake, Intake.id, ids))


def delete_tickets(session: Session, ids: list[int], report: PurgeReport) -> None:
    """Tickets with their relayed messages and staff notes."""
    if not ids:
        return
    report.add("handoff_messages", _delete(session, HandoffMessage, HandoffMessage.ticket_id, ids))
    report.add("handoff_notes", _delete(session, HandoffNote, HandoffNote.ticket_id, ids))
    report.add("handoff_tickets", _delete(session, HandoffTicket, HandoffTicket.id, ids))


def delete_rows(session: Session, model: type, ids: list[int], report: PurgeReport) -> None:
    """Rows of `model` by id, that nothing else belongs to."""
    report.add(model.__tablename__, _delete(session, model, model.id, ids))


def _deleting(model: type) -> Callable[[Session, list[int], PurgeReport], None]:
    def delete(session: Session, ids: list[int], report: PurgeReport) -> None:
        delete_rows(session, model, ids, report)

    return delete


def _delete(session: Session, model: type, column: sa.Column, ids: list[int]) -> int:
    if not ids:
        return 0
    result = session.execute(
        sa.delete(model).where(column.in_(ids)).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


Selector = Callable[[datetime, datetime], sa.sql.Select]
Deleter = Callable[[Session, list[int], PurgeReport], None]

# (retention kind, or "" when a record expires by itself; selector; deleter).
# Applications before tickets: an application's tickets go with it.
_KINDS: tuple[tuple[str, Selector, Deleter], ...] = (
    ("applications", _ended_applications, delete_applications),
    ("tickets", _ended_tickets, delete_tickets),
    ("links", _idle_links, _deleting(ConversationLink)),
    ("", _expired_codes, _deleting(ContinuationCode)),
    ("", _expired_pending, _deleting(PendingLink)),
    ("", _old_guesses, _deleting(ContinuationGuess)),
    ("calls", _old_calls, _deleting(HotlineCall)),
    ("figures", _old_figures, _deleting(ConversationFigure)),
    ("training", _old_training, _deleting(TrainingMessage)),
    ("audit", _old_audit, _deleting(AuditEntry)),
)
_KIND_TABLE: dict[Selector, str] = {
    _ended_applications: "intakes",
    _ended_tickets: "handoff_tickets",
    _idle_links: "conversation_links",
    _expired_codes: "continuation_codes",
    _expired_pending: "pending_links",
    _old_guesses: "continuation_guesses",
    _old_calls: "hotline_calls",
    _old_figures: "conversation_figures",
    _old_training: "training_messages",
    _old_audit: "audit_entries",
}
