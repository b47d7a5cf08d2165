"""The handoff store: tickets that pass a conversation to a lawyer on duty (转人工),
the messages relayed through them, the lawyers and their duty roster.

What is personal (the sender id, the summary, the transcript, the facts, the
groups that put someone ahead, the requested lawyer, a callback number, every
message) is encrypted before it reaches SQLAlchemy, as in store.intake. The
sender id is encrypted rather than only hashed because a lawyer's replies are
relayed to it; its keyed hash finds a conversation's open ticket.

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
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legal_aid.eligibility.facts import FactError, check_facts
from legal_aid.handoff import matching
from legal_aid.handoff.matching import Case, LawyerProfile, MatchResult, Shift
from legal_aid.handoff.policy import load_policy
from store.audit import write_audit
from store.crypto import CONVERSATION_LOOKUP
from store.encrypted_columns import decrypt_field, encrypt_field, normalise_phone
from store.encrypted_store import EncryptedStore
from store.intake import (
    ACCESSIBILITY_NEEDS,
    CHANNELS,
    POLICY_KEY,
    UnknownReference,
)
from store.links import ConversationLinks
from store.models import (
    MESSAGE_ROLES,
    OPEN_TICKET_STATUSES,
    TICKET_TRANSITIONS,
    DutyShift,
    HandoffMessage,
    HandoffNote,
    HandoffTicket,
    Intake,
    Lawyer,
    StaffUser,
    utc_now,
)

logger = logging.getLogger(__name__)

ASSISTANT = "assistant"  # the dialogue, acting for the person
PERSON = "person"
MAX_TEXT = 4000
NOTE_LIMIT = 4000
MAX_CONVERSATION_ID = 256
CALLBACK_HORIZON = timedelta(days=30)
TRANSCRIPT_ROLES = frozenset({"person", "assistant"})
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")  # "mn", "yue", "zh-Hant"


class HandoffError(ValueError):
    """A request the handoff store refuses; messages name fields, never values."""


class UnknownTicket(LookupError):
    pass


class NotAllowed(PermissionError):
    """This account may not do this to this ticket."""


class InvalidTicketTransition(HandoffError):
    pass


class _Refused(Exception):
    """Raised inside a transaction after the refusal was audited (see _transaction)."""


# What callers pass and get back -------------------------------------------------


@dataclass(frozen=True)
class HandoffSummary:
    """What a lawyer takes in within ten seconds."""

    matter_type: str  # key of matter_types.yml
    who: str  # e.g. "本人，67岁，视力残疾，持残疾证"
    what_happened: str
    eligibility_result: str  # one line, with its citation
    urgency: str = ""  # e.g. "仲裁时效还剩3天"; "" when not urgent
    accessibility_needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str  # the channel's sender id; replies are relayed to it
    channel: str  # "rest", "voice", "telegram", "wechat", "hotline"
    summary: HandoffSummary
    facts: Mapping[str, Any]  # eligibility facts (shared/spec/eligibility.md), region included
    transcript: tuple[tuple[str, str], ...] = ()  # ("person" | "assistant", text), oldest first
    intake_reference: str | None = None
    requested_lawyer: str | None = None  # 点援制: a name as the person said it
    urgency: bool | None = None  # the assessment's advance_aid; None: from the facts
    language: str | None = None  # a language other than Mandarin, if asked for


@dataclass(frozen=True)
class TicketResult:
    reference: str
    created: bool  # False: this conversation already had an open ticket
    priority: int
    urgent: bool


@dataclass(frozen=True)
class QueueEntry:
    """One waiting ticket as the queue shows it: nothing personal."""

    reference: str
    position: int
    priority: int
    urgent: bool
    matter_type: str
    channel: str
    region: str
    waiting_since: datetime
    callback_at: datetime | None


@dataclass(frozen=True)
class TicketView:
    reference: str
    status: str
    channel: str
    region: str
    matter_type: str
    urgent: bool
    priority: int
    priority_reasons: tuple[dict[str, str], ...]  # {"key", "zh", "citation"}
    summary: HandoffSummary
    transcript: tuple[tuple[str, str], ...]
    requested_lawyer: str | None
    assigned_lawyer_id: int | None
    intake_reference: str | None
    callback_at: datetime | None
    callback_phone: str | None
    created_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class MessageView:
    id: int
    sender_role: str
    author: str
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class LawyerMessage:
    """A lawyer's message as the person's own conversation shows it."""

    id: int
    speaker: str  # "王明律师"
    text: str


@dataclass(frozen=True)
class NoteView:
    author: str
    text: str
    written_at: datetime


@dataclass(frozen=True)
class OwnTicket:
    """A ticket in a lawyer's own list ("我的接待"): nothing personal."""

    reference: str
    status: str
    matter_type: str
    channel: str
    claimed_at: datetime | None
    closed_at: datetime | None
    callback_at: datetime | None


@dataclass(frozen=True)
class LawyerDetails:
    """A roster entry to add (the id comes from the database)."""

    display_name: str
    years_of_practice: int
    criminal_practice_years: int = 0
    specialities: frozenset[str] = frozenset()
    disability_experience: bool = False
    sign_language: bool = False
    languages: frozenset[str] = field(default_factory=lambda: frozenset({"zh"}))
    active: bool = True


def ticket_reference(ticket_id: int) -> str:
    return f"HO-{ticket_id:06d}"


def ticket_id_of(reference: str) -> int:
    """The id in "HO-000042"; UnknownTicket for anything else."""
    prefix, _, digits = (reference or "").partition("-")
    # At most 9 digits: anything longer is no id a 32-bit integer column holds.
    if prefix != "HO" or not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
        raise UnknownTicket(f"no handoff ticket {reference!r}")
    return int(digits)


# Validation ------------------------------------------------------------------------


def validate_request(request: HandoffRequest) -> dict[str, Any]:
    """Raise HandoffError for the first wrong field; the checked facts otherwise."""
    _require(
        isinstance(request.conversation_id, str)
        and 0 < len(request.conversation_id) <= MAX_CONVERSATION_ID,
        "conversation_id",
    )
    _require(request.channel in CHANNELS, "channel")
    summary = request.summary
    _require(isinstance(summary, HandoffSummary), "summary")
    _require(bool(POLICY_KEY.match(summary.matter_type or "")), "summary.matter_type")
    for name in ("who", "what_happened", "eligibility_result"):
        _require(_is_text(getattr(summary, name)), f"summary.{name}")
    _require(isinstance(summary.urgency, str), "summary.urgency")
    _require(set(summary.accessibility_needs) <= ACCESSIBILITY_NEEDS, "accessibility_needs")
    _require(request.language is None or bool(LANGUAGE.match(request.language)), "language")
    _require(all(_is_turn(turn) for turn in request.transcript), "transcript")
    _require(
        request.requested_lawyer is None or _is_text(request.requested_lawyer, 64),
        "requested_lawyer",
    )
    _require(request.urgency in (None, True, False), "urgency")
    try:
        return check_facts(dict(request.facts))
    except FactError:
        raise HandoffError("handoff field 'facts' is invalid") from None


def _require(condition: bool, field_name: str) -> None:
    if not condition:
        raise HandoffError(f"handoff field {field_name!r} is missing or invalid")


def _is_text(value: object, limit: int = MAX_TEXT) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def _is_turn(turn: object) -> bool:
    return (
        isinstance(turn, tuple)
        and len(turn) == 2
        and turn[0] in TRANSCRIPT_ROLES
        and isinstance(turn[1], str)
    )


# Sealing ---------------------------------------------------------------------------


def _case_blob(request: HandoffRequest, facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "facts": facts,
        "matter_type": request.summary.matter_type,
        "accessibility_needs": list(request.summary.accessibility_needs),
        "language": request.language,
    }


def _case_of(blob: dict[str, Any]) -> Case:
    return Case(
        facts=blob["facts"],
        matter_type=blob["matter_type"],
        accessibility_needs=frozenset(blob["accessibility_needs"]),
        language=blob["language"],
    )


def _profile(lawyer: Lawyer) -> LawyerProfile:
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


# The store -------------------------------------------------------------------------


class HandoffStore(EncryptedStore):
    """Tickets, messages, lawyers and roster. Synchronous: callers use a thread."""

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One transaction; a refusal (_Refused) still commits its audit entry,
        since "who tried to read what" matters as much as who read it. Refusals
        are raised before anything else is changed."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except _Refused as refused:
            session.commit()
            raise NotAllowed(str(refused)) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # Roster ------------------------------------------------------------------------

    def add_lawyer(self, details: LawyerDetails, by: str) -> LawyerProfile:
        """A roster entry; coordinators and administrators only."""
        _check_lawyer(details)
        with self._transaction() as session:
            staff = self._staff(session, by)
            _require_role(staff, ("coordinator", "admin"), "add lawyers")
            lawyer = Lawyer(**_lawyer_columns(details), created_at=utc_now())
            session.add(lawyer)
            _flush_lawyer(session)
            write_audit(session, _actor(staff), "lawyer_add", None, "排班", f"lawyer {lawyer.id}")
            return _profile(lawyer)

    def update_lawyer(self, lawyer_id: int, details: LawyerDetails, by: str) -> LawyerProfile:
        """A changed profile (more years, a new speciality, inactive on leave)."""
        _check_lawyer(details)
        with self._transaction() as session:
            staff = self._staff(session, by)
            _require_role(staff, ("coordinator", "admin"), "edit lawyers")
            lawyer = session.get(Lawyer, lawyer_id, with_for_update=True)
            if lawyer is None:
                raise HandoffError(f"no lawyer with id {lawyer_id}")
            for column, value in _lawyer_columns(details).items():
                setattr(lawyer, column, value)
            _flush_lawyer(session)
            write_audit(session, _actor(staff), "lawyer_edit", None, "排班", f"lawyer {lawyer.id}")
            return _profile(lawyer)

    def add_shift(self, lawyer_id: int, starts_at: datetime, ends_at: datetime, by: str) -> None:
        if not (starts_at.tzinfo and ends_at.tzinfo and ends_at > starts_at):
            raise HandoffError("a shift needs aware start and end times, end after start")
        with self._transaction() as session:
            staff = self._staff(session, by)
            _require_role(staff, ("coordinator", "admin"), "edit the roster")
            if session.get(Lawyer, lawyer_id) is None:
                raise HandoffError(f"no lawyer with id {lawyer_id}")
            session.add(DutyShift(lawyer_id=lawyer_id, starts_at=starts_at, ends_at=ends_at))
            write_audit(session, _actor(staff), "shift_add", None, "排班", f"lawyer {lawyer_id}")

    def end_duty(self, lawyer_id: int, by: str, now: datetime | None = None) -> int:
        """A lawyer goes off duty now (ill, called away): the shift under way ends
        and later ones are dropped. Returns how many shifts changed."""
        now = now or utc_now()
        with self._transaction() as session:
            staff = self._staff(session, by)
            _require_role(staff, ("coordinator", "admin"), "edit the roster")
            shifts = session.execute(
                sa.select(DutyShift).where(
                    DutyShift.lawyer_id == lawyer_id, DutyShift.ends_at > now
                )
            ).scalars()
            changed = 0
            for shift in shifts:
                if shift.starts_at >= now:
                    session.delete(shift)
                else:
                    shift.ends_at = now
                changed += 1
            write_audit(session, _actor(staff), "shift_end", None, "排班", f"lawyer {lawyer_id}")
            return changed

    def lawyers(self) -> list[LawyerProfile]:
        with self._sessions() as session:
            rows = session.execute(sa.select(Lawyer).order_by(Lawyer.id)).scalars()
            return [_profile(row) for row in rows]

    def shifts(self, since: datetime, until: datetime) -> list[Shift]:
        """Shifts that overlap [since, until)."""
        with self._sessions() as session:
            return self._shifts(session, since, until)

    # The person's side (through the assistant) --------------------------------------

    def create_ticket(self, request: HandoffRequest, now: datetime | None = None) -> TicketResult:
        """A ticket for this conversation, or its open one (a retry makes no second)."""
        facts = validate_request(request)
        prio = matching.priority(facts, request.urgency)
        existing = self._open_ticket(request.conversation_id)
        if existing is not None:
            return self._existing_result(existing)
        try:
            ticket = self._insert(request, facts, prio, now or utc_now())
        except IntegrityError:
            # Another request from the same conversation committed first.
            existing = self._open_ticket(request.conversation_id)
            if existing is None:
                raise
            return self._existing_result(existing)
        logger.info(
            "handoff %s created (%s, priority %d)", ticket.reference, request.channel, prio.score
        )
        return ticket

    def _insert(
        self, request: HandoffRequest, facts: dict[str, Any], prio: matching.Priority, now: datetime
    ) -> TicketResult:
        lookup = self.keys.lookup_hash(request.conversation_id, CONVERSATION_LOOKUP)
        plain = {
            "sender_encrypted": request.conversation_id,
            "priority_reasons_encrypted": json.dumps(
                [asdict(reason) for reason in prio.reasons], ensure_ascii=False
            ),
            "summary_encrypted": json.dumps(asdict(request.summary), ensure_ascii=False),
            "transcript_encrypted": json.dumps(list(request.transcript), ensure_ascii=False),
            "case_encrypted": json.dumps(_case_blob(request, facts), ensure_ascii=False),
            "requested_lawyer_encrypted": request.requested_lawyer,
        }
        sealed = {
            column: encrypt_field(self.keys, HandoffTicket, column, value)
            for column, value in plain.items()
        }
        with self._transaction() as session:
            intake_id = self._intake_id(session, request.intake_reference)
            ticket = HandoffTicket(
                status="waiting",
                created_at=now,
                channel=request.channel,
                region=facts["region"],
                matter_type=request.summary.matter_type,
                urgent=prio.urgent,
                priority=prio.score,
                intake_id=intake_id,
                sender_lookup=lookup,
                open_sender_lookup=lookup,
                **sealed,
            )
            session.add(ticket)
            session.flush()
            reference = ticket_reference(ticket.id)
            write_audit(
                session, ASSISTANT, "handoff_create", reference, "转人工", f"priority {prio.score}"
            )
        return TicketResult(reference, True, prio.score, prio.urgent)

    def _existing_result(self, ticket: HandoffTicket) -> TicketResult:
        reference = ticket_reference(ticket.id)
        logger.info("handoff %s: asked again, already open", reference)
        return TicketResult(reference, False, ticket.priority, ticket.urgent)

    def open_ticket_for(self, conversation_id: str) -> str | None:
        """The reference of the conversation's open ticket: the relay asks this for
        every incoming message, to send it to the lawyer instead of the assistant."""
        ticket = self._open_ticket(conversation_id)
        return None if ticket is None else ticket_reference(ticket.id)

    def match_ticket(self, reference: str, now: datetime | None = None) -> MatchResult:
        """Who can take a waiting ticket now, or why nobody (for the dialogue to say)."""
        now = now or utc_now()
        with self._sessions() as session:
            ticket = self._ticket(session, reference)
            case = self._case(ticket)
            requested = self._decrypt(ticket, "requested_lawyer_encrypted")
            lawyers = [_profile(row) for row in session.execute(sa.select(Lawyer)).scalars()]
            shifts = self._shifts(session, now - timedelta(days=1), now + timedelta(days=14))
            busy = self._busy_lawyers(session, load_policy(ticket.region).conversations_per_lawyer)
            ahead = self._waiting_ahead(session, ticket)
        return matching.match(case, lawyers, shifts, now, requested, busy=busy, queue_ahead=ahead)

    def queue_position(self, reference: str) -> int | None:
        """1 for the next ticket to be taken; None when the ticket is not waiting."""
        with self._sessions() as session:
            ticket = self._ticket(session, reference)
            if ticket.status != "waiting":
                return None
            return self._waiting_ahead(session, ticket) + 1

    def request_callback(
        self, reference: str, at: datetime, phone: str | None = None, now: datetime | None = None
    ) -> None:
        """The person would rather be called back at `at` (UTC, aware) than wait."""
        now = now or utc_now()
        if at.tzinfo is None or not now < at <= now + CALLBACK_HORIZON:
            raise HandoffError("callback time must be in the next 30 days")
        digits = None if phone is None else normalise_phone(phone)
        if digits is not None and not (
            digits.isascii() and digits.isdigit() and 5 <= len(digits) <= 20
        ):
            raise HandoffError("handoff field 'callback_phone' is missing or invalid")
        with self._transaction() as session:
            ticket = self._ticket(session, reference, for_update=True)
            if ticket.status != "waiting":
                raise InvalidTicketTransition(
                    f"{reference}: only a waiting ticket can ask for a callback"
                )
            ticket.callback_at = at
            if digits is not None:
                ticket.callback_phone_encrypted = encrypt_field(
                    self.keys, HandoffTicket, "callback_phone_encrypted", digits
                )
            write_audit(session, ASSISTANT, "handoff_callback", reference, "约定回电")

    def cancel(self, reference: str, by: str | None = None, now: datetime | None = None) -> None:
        """The person stops waiting (by=None, through the assistant), or a coordinator."""
        with self._transaction() as session:
            ticket = self._ticket(session, reference, for_update=True)
            actor = ASSISTANT
            if by is not None:
                staff = self._staff(session, by)
                _require_role(staff, ("coordinator",), "cancel tickets")
                actor = _actor(staff)
            self._end(session, ticket, "cancelled", actor, now or utc_now())

    # Messages ----------------------------------------------------------------------

    def add_message(
        self,
        reference: str,
        sender_role: str,
        text: str,
        by: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """A relayed message. "person" and "system" come from the assistant (by=None);
        "lawyer" only from the lawyer who claimed the ticket. While the ticket waits,
        the person's messages are kept for whoever takes it (leaving a message)."""
        if sender_role not in MESSAGE_ROLES:
            raise HandoffError(f"sender_role must be one of {', '.join(MESSAGE_ROLES)}")
        if not _is_text(text):
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

    def add_person_message(self, conversation_id: str, text: str) -> str | None:
        """What the relay calls with a person's message: stored on the open ticket,
        whose reference is returned; None when the conversation has none."""
        reference = self.open_ticket_for(conversation_id)
        if reference is not None:
            self.add_message(reference, "person", text)
        return reference

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
            write_audit(session, _actor(staff), "handoff_write_refused", reference, "发消息")
            raise _Refused(f"{reference} is not this lawyer's conversation")
        return staff.username

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
                )
                for row in rows
            ]
            write_audit(
                session,
                _actor(staff),
                "handoff_messages",
                reference,
                purpose,
                f"{len(views)} messages",
            )
        return views

    # The person's side (the gateway's relay, for the person's own conversation) ----

    def ticket_status(self, reference: str) -> str | None:
        with self._sessions() as session:
            return session.execute(
                sa.select(HandoffTicket.status).where(HandoffTicket.id == ticket_id_of(reference))
            ).scalar_one_or_none()

    def lawyer_messages_for_person(self, reference: str, after: int) -> list[LawyerMessage]:
        """The lawyer's messages after message `after`, for the person they were
        written to: not a staff read, so not audited as one."""
        return [
            LawyerMessage(message_id, speaker, text)
            for message_id, _, speaker, text in self._as_the_person_sees(
                ticket_id_of(reference), ("lawyer",), after
            )
        ]

    def open_conversation_for_person(self, conversation_id: str) -> list[tuple[str, str]] | None:
        """The person's own view of their open ticket, as (speaker, text): what they
        said ("person") and what the lawyers answered ("王明律师"). For the page
        without JavaScript, which redraws the conversation on every request; not a
        staff read, so not audited as one. None when no ticket is open."""
        reference = self.open_ticket_for(conversation_id)
        if reference is None:
            return None
        said = self._as_the_person_sees(ticket_id_of(reference), ("person", "lawyer"))
        return [(PERSON if role == "person" else speaker, text) for _, role, speaker, text in said]

    def _as_the_person_sees(
        self, ticket_id: int, roles: tuple[str, ...], after: int = 0
    ) -> list[tuple[int, str, str, str]]:
        """(id, role, speaker, text) of the ticket's messages from `roles`, a lawyer
        named as the person knows them ("王明律师")."""
        query = (
            sa.select(HandoffMessage, Lawyer.display_name)
            .join(StaffUser, StaffUser.username == HandoffMessage.author, isouter=True)
            .join(Lawyer, Lawyer.id == StaffUser.lawyer_id, isouter=True)
            .where(
                HandoffMessage.ticket_id == ticket_id,
                HandoffMessage.sender_role.in_(roles),
                HandoffMessage.id > after,
            )
            .order_by(HandoffMessage.id)
        )
        with self._sessions() as session:
            rows = session.execute(query).all()
        return [
            (
                message.id,
                message.sender_role,
                f"{display_name or '值班'}律师",
                decrypt_field(self.keys, message, "text_encrypted") or "",
            )
            for message, display_name in rows
        ]

    def take_lawyer_messages(self, reference: str) -> list[LawyerMessage]:
        """The lawyer's messages not yet relayed to a channel that cannot poll
        (spoken, Telegram, WeChat), marked relayed in the same transaction: two
        deliveries racing (a push and the person's next turn) never repeat one."""
        with self._transaction() as session:
            ticket = self._ticket(session, reference, for_update=True)
            after = ticket.relayed_message_id or 0
            messages = self.lawyer_messages_for_person(reference, after)
            if messages:
                ticket.relayed_message_id = messages[-1].id
        return messages

    def mark_relayed(self, reference: str, message_id: int) -> None:
        """A page fetched the lawyer's messages up to `message_id` itself: a spoken
        turn on the same conversation does not say them again."""
        with self._transaction() as session:
            session.execute(
                sa.update(HandoffTicket)
                .where(
                    HandoffTicket.id == ticket_id_of(reference),
                    HandoffTicket.relayed_message_id < message_id,
                )
                .values(relayed_message_id=message_id)
            )

    def relay_state(self, conversation_id: str) -> tuple[str | None, tuple[str, str] | None]:
        """What the relay asks on every turn, in one query: the reference of the
        conversation's open ticket, and (reference, status) of an ended one the
        person has not yet been told about."""
        hashes = self.keys.lookup_hashes(conversation_id, CONVERSATION_LOOKUP)
        with self._sessions() as session:
            rows = session.execute(
                sa.select(HandoffTicket.id, HandoffTicket.status, HandoffTicket.closed_at)
                .where(
                    HandoffTicket.sender_lookup.in_(hashes),
                    sa.or_(
                        HandoffTicket.open_sender_lookup.is_not(None),
                        sa.and_(
                            HandoffTicket.closed_at.is_not(None),
                            HandoffTicket.end_told_at.is_(None),
                        ),
                    ),
                )
                .order_by(HandoffTicket.id.desc())
            ).all()
        open_ticket = next((r for r in rows if r.closed_at is None), None)
        untold = next((r for r in rows if r.closed_at is not None), None)
        return (
            None if open_ticket is None else ticket_reference(open_ticket.id),
            None if untold is None else (ticket_reference(untold.id), untold.status),
        )

    def ended_untold(self, conversation_id: str) -> tuple[str, str] | None:
        """(reference, status) of the conversation's ended ticket the person has not
        yet been told about; None when there is none."""
        hashes = self.keys.lookup_hashes(conversation_id, CONVERSATION_LOOKUP)
        with self._sessions() as session:
            row = session.execute(
                sa.select(HandoffTicket.id, HandoffTicket.status)
                .where(
                    HandoffTicket.sender_lookup.in_(hashes),
                    HandoffTicket.closed_at.is_not(None),
                    HandoffTicket.end_told_at.is_(None),
                )
                .order_by(HandoffTicket.id.desc())
                .limit(1)
            ).first()
        return None if row is None else (ticket_reference(row.id), row.status)

    def mark_end_told(self, reference: str, now: datetime | None = None) -> bool:
        """Records that the person was told; False when someone else already told
        them (a poll and a turn at once), so only one says it."""
        with self._transaction() as session:
            done = session.execute(
                sa.update(HandoffTicket)
                .where(
                    HandoffTicket.id == ticket_id_of(reference),
                    HandoffTicket.end_told_at.is_(None),
                )
                .values(end_told_at=now or utc_now())
            )
            return done.rowcount == 1

    def relay_target(self, reference: str) -> tuple[str, str]:
        """(channel, sender id) to deliver a lawyer's message to; for the gateway's
        relay only (it never reaches the console or a log)."""
        with self._sessions() as session:
            ticket = self._ticket(session, reference)
            return ticket.channel, self._decrypt(ticket, "sender_encrypted") or ""

    def relay_route(self, reference: str) -> tuple[str, str, str]:
        """(conversation id, channel, sender id) for a lawyer's pushed message: the
        ticket's own, unless the person has since continued the conversation on
        another channel with a code (store/links.py), where it goes instead."""
        channel, conversation = self.relay_target(reference)
        moved = ConversationLinks(self.engine, self.keys).delivery_target(conversation)
        if moved is not None:
            channel, sender = moved
            return conversation, channel, sender
        return conversation, channel, conversation

    # Staff side --------------------------------------------------------------------

    def queue(self, by: str) -> list[QueueEntry]:
        """Waiting tickets, highest priority first, then longest waiting."""
        with self._sessions() as session:
            staff = self._staff(session, by)
            _require_role(staff, ("lawyer", "coordinator"), "see the queue")
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
            write_audit(session, _actor(staff), "handoff_read", reference, purpose)
        return view

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
                    session, _actor(staff), "handoff_read", reference, "接待", "claimed already"
                )
                return view
            refusal = self._claim_refusal(session, staff, ticket, now)
            if refusal:
                write_audit(
                    session, _actor(staff), "handoff_claim_refused", reference, "接待", refusal
                )
                raise _Refused(f"{reference}: {refusal}")
            self._move(ticket, "claimed")
            ticket.assigned_lawyer_id = staff.lawyer_id
            ticket.claimed_at = now
            view = self._view(session, ticket)
            write_audit(session, _actor(staff), "handoff_claim", reference, "接待", "read")
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
            write_audit(session, _actor(staff), "handoff_release", reference, "退回队列")

    def hand_back(self, reference: str, by: str, now: datetime | None = None) -> None:
        """The lawyer gives the conversation back to the assistant."""
        self._finish(reference, by, "returned", now)

    def close_ticket(self, reference: str, by: str, now: datetime | None = None) -> None:
        """The lawyer who has it, or a coordinator, ends the conversation.
        (Not `close`: that name releases the store's connections, as IntakeStore's does.)"""
        self._finish(reference, by, "closed", now)

    # Notes and the lawyer's own list ----------------------------------------------

    def add_note(self, reference: str, text: str, by: str, now: datetime | None = None) -> None:
        """A note for staff (never relayed): by the lawyer who has or had the
        ticket, or a coordinator. Encrypted: notes are about the person."""
        if not _is_text(text, NOTE_LIMIT):
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
            write_audit(session, _actor(staff), "handoff_note", reference, "写备注")

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
                    _actor(staff),
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
            _require_role(staff, ("lawyer",), "list their own conversations")
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
        if not _is_text(purpose, 200):
            raise ValueError("purpose must say why the data is accessed")
        staff = self._staff(session, by)
        ticket = self._ticket(session, reference)
        refusal = self._read_refusal(session, staff, ticket, utc_now())
        if refusal:
            write_audit(session, _actor(staff), "handoff_read_refused", reference, purpose, refusal)
            raise _Refused(f"{reference}: {refusal}")
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
        qualified, unmet = matching.is_eligible(self._case(ticket), _profile(lawyer))
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
        write_audit(session, _actor(staff), f"handoff_{action}_refused", reference, action)
        raise _Refused(f"{reference}: not this account's conversation")

    def _staff(self, session: Session, username: str) -> StaffUser:
        """The account as the database has it now; a locked account acts on nothing."""
        user = session.execute(
            sa.select(StaffUser).where(StaffUser.username == username)
        ).scalar_one_or_none()
        if user is None:
            raise NotAllowed("unknown staff account")
        if user.locked_until is not None and user.locked_until > utc_now():
            raise NotAllowed("staff account locked")
        return user

    # Transitions -------------------------------------------------------------------

    def _finish(self, reference: str, by: str, status: str, now: datetime | None) -> None:
        with self._transaction() as session:
            staff = self._staff(session, by)
            ticket = self._ticket(session, reference, for_update=True)
            self._require_handler(session, staff, ticket, status)
            self._end(session, ticket, status, _actor(staff), now or utc_now())

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

    # Helpers -----------------------------------------------------------------------

    def _open_ticket(self, conversation_id: str) -> HandoffTicket | None:
        hashes = self.keys.lookup_hashes(conversation_id, CONVERSATION_LOOKUP)
        with self._sessions() as session:
            return (
                session.execute(
                    sa.select(HandoffTicket)
                    .where(HandoffTicket.open_sender_lookup.in_(hashes))
                    .order_by(HandoffTicket.id)
                )
                .scalars()
                .first()
            )

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
    def _intake_id(session: Session, reference: str | None) -> int | None:
        if reference is None:
            return None
        found = session.execute(
            sa.select(Intake.id).where(Intake.reference == reference)
        ).scalar_one_or_none()
        if found is None:
            raise UnknownReference(f"no application {reference!r}")
        return found

    @staticmethod
    def _shifts(session: Session, since: datetime, until: datetime) -> list[Shift]:
        rows = session.execute(
            sa.select(DutyShift)
            .where(DutyShift.starts_at < until, DutyShift.ends_at > since)
            .order_by(DutyShift.starts_at)
        ).scalars()
        return [Shift(row.lawyer_id, row.starts_at, row.ends_at) for row in rows]

    @staticmethod
    def _busy_lawyers(session: Session, capacity: int) -> set[int]:
        counts = session.execute(
            sa.select(HandoffTicket.assigned_lawyer_id, sa.func.count())
            .where(HandoffTicket.status == "claimed")
            .group_by(HandoffTicket.assigned_lawyer_id)
        ).all()
        return {lawyer_id for lawyer_id, count in counts if count >= capacity}

    @staticmethod
    def _waiting_ahead(session: Session, ticket: HandoffTicket) -> int:
        ahead = sa.or_(
            HandoffTicket.priority > ticket.priority,
            sa.and_(
                HandoffTicket.priority == ticket.priority,
                sa.or_(
                    HandoffTicket.created_at < ticket.created_at,
                    sa.and_(
                        HandoffTicket.created_at == ticket.created_at,
                        HandoffTicket.id < ticket.id,
                    ),
                ),
            ),
        )
        query = sa.select(sa.func.count()).select_from(HandoffTicket)
        return session.execute(query.where(HandoffTicket.status == "waiting", ahead)).scalar()

    def _decrypt(self, ticket: HandoffTicket, column: str) -> str | None:
        return decrypt_field(self.keys, ticket, column)

    def _case(self, ticket: HandoffTicket) -> Case:
        return _case_of(json.loads(self._decrypt(ticket, "case_encrypted") or "{}"))

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


def _lawyer_columns(details: LawyerDetails) -> dict[str, Any]:
    """A roster entry's profile as its row stores it (the same for a new and a changed one)."""
    return {
        "display_name": details.display_name.strip(),
        "years_of_practice": details.years_of_practice,
        "criminal_practice_years": details.criminal_practice_years,
        "specialities": json.dumps(sorted(details.specialities)),
        "disability_experience": details.disability_experience,
        "sign_language": details.sign_language,
        "languages": json.dumps(sorted(details.languages)),
        "active": details.active,
    }


def _flush_lawyer(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise HandoffError("a lawyer with this display name exists") from None


def _check_lawyer(details: LawyerDetails) -> None:
    if not _is_text(details.display_name, 64):
        raise HandoffError("lawyer field 'display_name' is missing or invalid")
    years, criminal = details.years_of_practice, details.criminal_practice_years
    if not (isinstance(years, int) and isinstance(criminal, int) and 0 <= criminal <= years <= 70):
        raise HandoffError("lawyer years of practice: 0 ≤ criminal ≤ total ≤ 70")
    if not all(POLICY_KEY.match(key) for key in details.specialities):
        raise HandoffError("lawyer specialities must be matter-type keys")


def _require_role(staff: StaffUser, roles: Iterable[str], what: str) -> None:
    if staff.role not in roles:
        raise NotAllowed(f"a {staff.role} may not {what}")


def _actor(staff: StaffUser) -> str:
    return f"staff:{staff.username}"
