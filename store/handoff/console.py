"""Tickets as staff handle them in the console (bot/console/): the queue, reading
a ticket, taking it, writing to the person, giving it back, ending it, notes,
a lawyer's own list.

Authorization lives here, not only in the console: a lawyer reads and claims
only tickets waiting for someone like them while on duty, and their own; never
another lawyer's. Coordinators read every ticket; administrators manage accounts
and read none. Every staff read (and every refused one) is audited with who,
which ticket and why, never personal data. The queue lists no personal data,
so the console may poll it without filling the audit log.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from legal_aid.handoff import matching
from store.audit import write_audit
from store.encrypted_columns import decrypt_field, encrypt_field
from store.handoff._shared import (
    HandoffBase,
    Refused,
    actor_of,
    is_text,
    profile_of,
    require_role,
)
from store.handoff.values import (
    HandoffError,
    HandoffSummary,
    MessageView,
    NoteView,
    OwnTicket,
    QueueEntry,
    TicketView,
    ticket_reference,
)
from store.models import (
    HandoffMessage,
    HandoffNote,
    HandoffTicket,
    Intake,
    Lawyer,
    StaffUser,
    utc_now,
)

logger = logging.getLogger(__name__)

NOTE_LIMIT = 4000


class ConsoleTickets(HandoffBase):
    """The tickets as lawyers and coordinators see and move them."""

    # The queue ---------------------------------------------------------------------

    def queue(self, by: str) -> list[QueueEntry]:
        """Waiting tickets, highest priority first, then longest waiting."""
        with self._sessions() as session:
            staff = self._staff(session, by)
            require_role(staff, ("lawyer", "coordinator"), "see the queue")
            rows = session.execute(_waiting_in_order()).scalars()
            return [
                QueueEntry(
                    reference=ticket_reference(row.id),
                    position=position,
                    priority=row.priority,
                    urgent=row.urgent,
                    matter_type=row.matter_type,
                    channel=row.channel,
                    region=row.region,
                    waiting_since=row.created_at,
                    callback_at=row.callback_at,
                )
                for position, row in enumerate(rows, start=1)
            ]

    def ticket(self, reference: str, by: str, purpose: str) -> TicketView:
        """One ticket, decrypted; an audited staff read."""
        with self._transaction() as session:
            staff, ticket = self._authorized_read(session, reference, by, purpose)
            view = self._view(session, ticket)
            write_audit(session, actor_of(staff), "handoff_read", reference, purpose)
        return view

    # Taking and moving a ticket ------------------------------------------------------

    def claim(self, reference: str, by: str, now: datetime | None = None) -> TicketView:
        """A lawyer on duty who may take this case takes it; claiming one's own
        ticket again is harmless. The view returned is an audited read."""
        now = now or utc_now()
        with self._transaction() as session:
            staff = self._staff(session, by)
            ticket = self._ticket(session, reference, for_update=True)
            if ticket.status == "claimed" and ticket.assigned_lawyer_id == staff.lawyer_id:
                view = self._view(session, ticket)
                write_audit(
                    session, actor_of(staff), "handoff_read", reference, "接待", "claimed already"
                )
                return view
            refusal = self._claim_refusal(session, staff, ticket, now)
            if refusal:
                write_audit(
                    session, actor_of(staff), "handoff_claim_refused", reference, "接待", refusal
                )
                raise Refused(f"{reference}: {refusal}")
            self._move(ticket, "claimed")
            ticket.assigned_lawyer_id = staff.lawyer_id
            ticket.claimed_at = now
            view = self._view(session, ticket)
            write_audit(session, actor_of(staff), "handoff_claim", reference, "接待", "read")
        logger.info("handoff %s claimed by %s", reference, staff.username)
        return view

    def claim_next(self, by: str, now: datetime | None = None) -> TicketView | None:
        """The first waiting ticket in queue order this lawyer may take, claimed."""
        now = now or utc_now()
        with self._sessions() as session:
            staff = self._staff(session, by)
            waiting = list(session.execute(_waiting_in_order()).scalars())
            chosen = next(
                (t for t in waiting if not self._claim_refusal(session, staff, t, now)), None
            )
        return None if chosen is None else self.claim(ticket_reference(chosen.id), by, now)

    def release(self, reference: str, by: str) -> None:
        """The lawyer puts the conversation back in the queue, keeping its place
        (its waiting time still counts from when the person first asked)."""
        with self._transaction() as session:
            staff = self._staff(session, by)
            ticket = self._ticket(session, reference, for_update=True)
            self._require_handler(session, staff, ticket, "release")
            self._move(ticket, "waiting")
            ticket.assigned_lawyer_id = None
            ticket.claimed_at = None
            write_audit(session, actor_of(staff), "handoff_release", reference, "退回队列")

    def hand_back(self, reference: str, by: str, now: datetime | None = None) -> None:
        """The lawyer gives the conversation back to the assistant."""
        self._finish(reference, by, "returned", now)

    def close_ticket(self, reference: str, by: str, now: datetime | None = None) -> None:
        """The lawyer who has it, or a coordinator, ends the conversation.
        (Not `close`: that name releases the store's connections, as every store's does.)"""
        self._finish(reference, by, "closed", now)

    # Messages ----------------------------------------------------------------------

    def send_message(self, reference: str, text: str, by: str, now: datetime | None = None) -> None:
        """The lawyer who claimed the ticket writes to the person (relayed by the gateway)."""
        self._add_message(reference, "lawyer", text, by, now)

    def messages(self, reference: str, by: str, purpose: str, after: int = 0) -> list[MessageView]:
        """The relayed messages after message `after`, oldest first; an audited
        staff read. A refresh that finds nothing new reads nothing, and is not
        written to the log (the console asks every few seconds)."""
        with self._transaction() as session:
            staff, ticket = self._authorized_read(session, reference, by, purpose)
            rows = list(
                session.execute(
                    sa.select(HandoffMessage)
                    .where(HandoffMessage.ticket_id == ticket.id, HandoffMessage.id > after)
                    .order_by(HandoffMessage.id)
                ).scalars()
            )
            if after and not rows:
                return []
            views = [
                MessageView(
                    row.id,
                    row.sender_role,
                    row.author,
                    decrypt_field(self.keys, row, "text_encrypted") or "",
                    row.sent_at,
                    pending=row.sender_role == "lawyer"
                    and row.id > (ticket.relayed_message_id or 0),
                )
                for row in rows
            ]
            write_audit(
                session,
                actor_of(staff),
                "handoff_messages",
                reference,
                purpose,
                f"{len(views)} messages",
            )
        return views

    # Notes and the lawyer's own list ----------------------------------------------

    def add_note(self, reference: str, text: str, by: str, now: datetime | None = None) -> None:
        """A note for staff (never relayed): by the lawyer who has or had the
        ticket, or a coordinator. Encrypted: notes are about the person."""
        if not is_text(text, NOTE_LIMIT):
            raise HandoffError("handoff field 'note' is missing or invalid")
        with self._transaction() as session:
            staff = self._staff(session, by)
            ticket = self._ticket(session, reference, for_update=True)
            self._require_handler(session, staff, ticket, "note")
            session.add(
                HandoffNote(
                    ticket_id=ticket.id,
                    author=staff.username,
                    text_encrypted=encrypt_field(
                        self.keys, HandoffNote, "text_encrypted", text, ticket.id
                    ),
                    written_at=now or utc_now(),
                )
            )
            write_audit(session, actor_of(staff), "handoff_note", reference, "写备注")

    def notes(self, reference: str, by: str, purpose: str) -> list[NoteView]:
        """The ticket's notes, oldest first; an audited staff read."""
        with self._transaction() as session:
            staff, ticket = self._authorized_read(session, reference, by, purpose)
            rows = session.execute(
                sa.select(HandoffNote)
                .where(HandoffNote.ticket_id == ticket.id)
                .order_by(HandoffNote.id)
            ).scalars()
            views = [
                NoteView(
                    row.author,
                    decrypt_field(self.keys, row, "text_encrypted") or "",
                    row.written_at,
                )
                for row in rows
            ]
            if views:
                write_audit(
                    session,
                    actor_of(staff),
                    "handoff_notes",
                    reference,
                    purpose,
                    f"{len(views)} notes",
                )
        return views

    def own_tickets(self, by: str, ended_within: timedelta = timedelta(days=30)) -> list[OwnTicket]:
        """A lawyer's conversations: those open now, then those ended lately, newest first."""
        with self._sessions() as session:
            staff = self._staff(session, by)
            require_role(staff, ("lawyer",), "list their own conversations")
            since = utc_now() - ended_within
            rows = session.execute(
                sa.select(HandoffTicket)
                .where(
                    HandoffTicket.assigned_lawyer_id == staff.lawyer_id,
                    sa.or_(HandoffTicket.closed_at.is_(None), HandoffTicket.closed_at >= since),
                )
                .order_by(HandoffTicket.closed_at.is_not(None), HandoffTicket.id.desc())
            ).scalars()
            return [
                OwnTicket(
                    ticket_reference(t.id),
                    t.status,
                    t.matter_type,
                    t.channel,
                    t.claimed_at,
                    t.closed_at,
                    t.callback_at,
                )
                for t in rows
            ]

    # Authorization -----------------------------------------------------------------

    def _authorized_read(
        self, session: Session, reference: str, by: str, purpose: str
    ) -> tuple[StaffUser, HandoffTicket]:
        if not is_text(purpose, 200):
            raise ValueError("purpose must say why the data is accessed")
        staff = self._staff(session, by)
        ticket = self._ticket(session, reference)
        refusal = self._read_refusal(session, staff, ticket, utc_now())
        if refusal:
            write_audit(
                session, actor_of(staff), "handoff_read_refused", reference, purpose, refusal
            )
            raise Refused(f"{reference}: {refusal}")
        return staff, ticket

    def _read_refusal(
        self, session: Session, staff: StaffUser, ticket: HandoffTicket, now: datetime
    ) -> str:
        """Why this account may not read this ticket ("" when it may)."""
        if staff.role == "coordinator":
            return ""
        if staff.role != "lawyer":
            return "administrators manage accounts, not conversations"
        if ticket.assigned_lawyer_id == staff.lawyer_id:
            return ""
        if ticket.assigned_lawyer_id is not None:
            return "another lawyer's conversation"
        # A waiting ticket: readable by those who could take it now, to decide.
        return self._claim_refusal(session, staff, ticket, now)

    def _claim_refusal(
        self, session: Session, staff: StaffUser, ticket: HandoffTicket, now: datetime
    ) -> str:
        if staff.role != "lawyer" or staff.lawyer_id is None:
            return "only lawyers take conversations"
        if ticket.status != "waiting":
            return "another lawyer's conversation" if ticket.assigned_lawyer_id else "not waiting"
        lawyer = session.get(Lawyer, staff.lawyer_id)
        if lawyer is None or not lawyer.active:
            return "lawyer not active"
        on_duty = self._shifts(session, now, now + timedelta(microseconds=1))
        if not any(s.lawyer_id == lawyer.id and s.covers(now) for s in on_duty):
            return "not on duty"
        qualified, unmet = matching.is_eligible(self._case(ticket), profile_of(lawyer))
        if not qualified:
            return "requirements not met: " + "; ".join(c.citation for c in unmet)
        return ""

    def _require_handler(
        self, session: Session, staff: StaffUser, ticket: HandoffTicket, action: str
    ) -> None:
        """Only the lawyer who has the ticket (or a coordinator) moves it on."""
        if staff.role == "coordinator":
            return
        if staff.role == "lawyer" and ticket.assigned_lawyer_id == staff.lawyer_id:
            return
        reference = ticket_reference(ticket.id)
        write_audit(session, actor_of(staff), f"handoff_{action}_refused", reference, action)
        raise Refused(f"{reference}: not this account's conversation")

    # Helpers -----------------------------------------------------------------------

    def _finish(self, reference: str, by: str, status: str, now: datetime | None) -> None:
        with self._transaction() as session:
            staff = self._staff(session, by)
            ticket = self._ticket(session, reference, for_update=True)
            self._require_handler(session, staff, ticket, status)
            self._end(session, ticket, status, actor_of(staff), now or utc_now())

    def _view(self, session: Session, ticket: HandoffTicket) -> TicketView:
        summary = json.loads(self._decrypt(ticket, "summary_encrypted") or "{}")
        summary["accessibility_needs"] = tuple(summary["accessibility_needs"])
        intake_reference = None
        if ticket.intake_id is not None:
            intake_reference = session.get(Intake, ticket.intake_id).reference
        return TicketView(
            reference=ticket_reference(ticket.id),
            status=ticket.status,
            channel=ticket.channel,
            region=ticket.region,
            matter_type=ticket.matter_type,
            urgent=ticket.urgent,
            priority=ticket.priority,
            priority_reasons=tuple(
                json.loads(self._decrypt(ticket, "priority_reasons_encrypted") or "[]")
            ),
            summary=HandoffSummary(**summary),
            transcript=tuple(
                tuple(turn)
                for turn in json.loads(self._decrypt(ticket, "transcript_encrypted") or "[]")
            ),
            requested_lawyer=self._decrypt(ticket, "requested_lawyer_encrypted"),
            assigned_lawyer_id=ticket.assigned_lawyer_id,
            intake_reference=intake_reference,
            callback_at=ticket.callback_at,
            callback_phone=self._decrypt(ticket, "callback_phone_encrypted"),
            created_at=ticket.created_at,
            claimed_at=ticket.claimed_at,
            closed_at=ticket.closed_at,
        )


def _waiting_in_order() -> sa.sql.Select:
    return (
        sa.select(HandoffTicket)
        .where(HandoffTicket.status == "waiting")
        .order_by(HandoffTicket.priority.desc(), HandoffTicket.created_at, HandoffTicket.id)
    )
