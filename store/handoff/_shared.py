"""What the handoff stores share, private to store.handoff: transactions that keep
a refusal's audit entry, the staff account as the database has it now, a ticket
by its reference, the duty roster, decrypting a ticket, ending one, and writing
a relayed message (the person's side and the lawyer's write the same table)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from legal_aid.handoff.matching import Case, LawyerProfile, Shift
from store.audit import write_audit
from store.encrypted_columns import decrypt_field, encrypt_field
from store.encrypted_store import EncryptedStore
from store.handoff.values import (
    HandoffError,
    InvalidTicketTransition,
    NotAllowed,
    UnknownTicket,
    ticket_id_of,
    ticket_reference,
)
from store.models import (
    MESSAGE_ROLES,
    OPEN_TICKET_STATUSES,
    TICKET_TRANSITIONS,
    DutyShift,
    HandoffMessage,
    HandoffTicket,
    Lawyer,
    StaffUser,
    utc_now,
)

logger = logging.getLogger(__name__)

ASSISTANT = "assistant"  # the dialogue, acting for the person
PERSON = "person"
MAX_TEXT = 4000


class Refused(Exception):
    """Raised inside a transaction after the refusal was audited (see _transaction)."""


class HandoffBase(EncryptedStore):
    """The tickets' tables, as every caller's store reads and writes them.
    Synchronous: callers use a thread."""

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One transaction; a refusal (Refused) still commits its audit entry,
        since "who tried to read what" matters as much as who read it. Refusals
        are raised before anything else is changed."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except Refused as refused:
            session.commit()
            raise NotAllowed(str(refused)) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @staticmethod
    def _staff(session: Session, username: str) -> StaffUser:
        """The account as the database has it now; a locked account acts on nothing."""
        user = session.execute(
            sa.select(StaffUser).where(StaffUser.username == username)
        ).scalar_one_or_none()
        if user is None:
            raise NotAllowed("unknown staff account")
        if user.locked_until is not None and user.locked_until > utc_now():
            raise NotAllowed("staff account locked")
        return user

    @staticmethod
    def _ticket(session: Session, reference: str, for_update: bool = False) -> HandoffTicket:
        query = sa.select(HandoffTicket).where(HandoffTicket.id == ticket_id_of(reference))
        if for_update:
            query = query.with_for_update()
        ticket = session.execute(query).scalar_one_or_none()
        if ticket is None:
            raise UnknownTicket(f"no handoff ticket {reference!r}")
        return ticket

    @staticmethod
    def _shifts(session: Session, since: datetime, until: datetime) -> list[Shift]:
        rows = session.execute(
            sa.select(DutyShift)
            .where(DutyShift.starts_at < until, DutyShift.ends_at > since)
            .order_by(DutyShift.starts_at)
        ).scalars()
        return [Shift(row.lawyer_id, row.starts_at, row.ends_at) for row in rows]

    def _decrypt(self, ticket: HandoffTicket, column: str) -> str | None:
        return decrypt_field(self.keys, ticket, column)

    def _case(self, ticket: HandoffTicket) -> Case:
        return case_of(json.loads(self._decrypt(ticket, "case_encrypted") or "{}"))

    # Ending a ticket -----------------------------------------------------------------

    def _end(
        self, session: Session, ticket: HandoffTicket, status: str, actor: str, now: datetime
    ) -> None:
        previous = ticket.status
        self._move(ticket, status)
        ticket.closed_at = now
        # The conversation may ask for a lawyer again: a new ticket then.
        ticket.open_sender_lookup = None
        reference = ticket_reference(ticket.id)
        write_audit(
            session, actor, f"handoff_{status}", reference, "转人工结束", f"{previous} → {status}"
        )
        logger.info("handoff %s: %s → %s", reference, previous, status)

    @staticmethod
    def _move(ticket: HandoffTicket, status: str) -> None:
        if status not in TICKET_TRANSITIONS[ticket.status]:
            raise InvalidTicketTransition(
                f"{ticket_reference(ticket.id)}: {ticket.status} → {status} is not allowed"
            )
        ticket.status = status

    # Messages ----------------------------------------------------------------------

    def _add_message(
        self, reference: str, sender_role: str, text: str, by: str | None, now: datetime | None
    ) -> None:
        """A relayed message. "person" and "system" come from the assistant (by=None);
        "lawyer" only from the lawyer who claimed the ticket. While the ticket waits,
        the person's messages are kept for whoever takes it (leaving a message)."""
        if sender_role not in MESSAGE_ROLES:
            raise HandoffError(f"sender_role must be one of {', '.join(MESSAGE_ROLES)}")
        if not is_text(text):
            raise HandoffError("handoff field 'text' is missing or invalid")
        with self._transaction() as session:
            ticket = self._ticket(session, reference, for_update=True)
            if ticket.status not in OPEN_TICKET_STATUSES:
                raise InvalidTicketTransition(f"{reference}: the conversation has ended")
            author = self._author(session, ticket, sender_role, by)
            session.add(
                HandoffMessage(
                    ticket_id=ticket.id,
                    sender_role=sender_role,
                    author=author,
                    text_encrypted=encrypt_field(
                        self.keys, HandoffMessage, "text_encrypted", text, ticket.id
                    ),
                    sent_at=now or utc_now(),
                )
            )

    def _author(self, session: Session, ticket: HandoffTicket, role: str, by: str | None) -> str:
        if role != "lawyer":
            if by is not None:
                raise NotAllowed(
                    "staff write as lawyers; person and system messages come from the assistant"
                )
            return PERSON if role == "person" else "system"
        if by is None:
            raise NotAllowed("a lawyer's message needs the lawyer's account")
        staff = self._staff(session, by)
        if not (
            staff.role == "lawyer"
            and ticket.status == "claimed"
            and ticket.assigned_lawyer_id == staff.lawyer_id
        ):
            reference = ticket_reference(ticket.id)
            write_audit(session, actor_of(staff), "handoff_write_refused", reference, "发消息")
            raise Refused(f"{reference} is not this lawyer's conversation")
        return staff.username


def is_text(value: object, limit: int = MAX_TEXT) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def require_role(staff: StaffUser, roles: Iterable[str], what: str) -> None:
    if staff.role not in roles:
        raise NotAllowed(f"a {staff.role} may not {what}")


def actor_of(staff: StaffUser) -> str:
    """The staff account as the audit log names it."""
    return f"staff:{staff.username}"


def case_of(blob: dict[str, Any]) -> Case:
    return Case(
        facts=blob["facts"],
        matter_type=blob["matter_type"],
        accessibility_needs=frozenset(blob["accessibility_needs"]),
        language=blob["language"],
    )


def profile_of(lawyer: Lawyer) -> LawyerProfile:
    return LawyerProfile(
        id=lawyer.id,
        display_name=lawyer.display_name,
        years_of_practice=lawyer.years_of_practice,
        criminal_practice_years=lawyer.criminal_practice_years,
        specialities=frozenset(json.loads(lawyer.specialities)),
        disability_experience=lawyer.disability_experience,
        sign_language=lawyer.sign_language,
        languages=frozenset(json.loads(lawyer.languages)),
        active=lawyer.active,
    )
