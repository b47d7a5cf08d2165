"""Tickets as the person's side opens and follows them, through the assistant:
open one (one per conversation, even under a race), who can take it now, the
place in the queue, a callback instead of waiting, stopping the wait."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legal_aid.eligibility.facts import FactError, check_facts
from legal_aid.handoff import matching
from legal_aid.handoff.matching import MatchResult
from legal_aid.handoff.policy import load_policy
from store.audit import write_audit
from store.crypto import CONVERSATION_LOOKUP
from store.encrypted_columns import encrypt_field, normalise_phone
from store.handoff._shared import (
    ASSISTANT,
    HandoffBase,
    actor_of,
    is_text,
    profile_of,
    require_role,
)
from store.handoff.values import (
    HandoffError,
    HandoffRequest,
    HandoffSummary,
    InvalidTicketTransition,
    TicketResult,
    ticket_reference,
)
from store.intake import ACCESSIBILITY_NEEDS, CHANNELS, POLICY_KEY, UnknownReference
from store.models import HandoffTicket, Intake, Lawyer, utc_now

logger = logging.getLogger(__name__)

MAX_CONVERSATION_ID = 256
CALLBACK_HORIZON = timedelta(days=30)
TRANSCRIPT_ROLES = frozenset({"person", "assistant"})
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")  # "mn", "yue", "zh-Hant"


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
        _require(is_text(getattr(summary, name)), f"summary.{name}")
    _require(isinstance(summary.urgency, str), "summary.urgency")
    _require(set(summary.accessibility_needs) <= ACCESSIBILITY_NEEDS, "accessibility_needs")
    _require(request.language is None or bool(LANGUAGE.match(request.language)), "language")
    _require(all(_is_turn(turn) for turn in request.transcript), "transcript")
    _require(
        request.requested_lawyer is None or is_text(request.requested_lawyer, 64),
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


def _is_turn(turn: object) -> bool:
    return (
        isinstance(turn, tuple)
        and len(turn) == 2
        and turn[0] in TRANSCRIPT_ROLES
        and isinstance(turn[1], str)
    )


def _case_blob(request: HandoffRequest, facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "facts": facts,
        "matter_type": request.summary.matter_type,
        "accessibility_needs": list(request.summary.accessibility_needs),
        "language": request.language,
    }


# The store -------------------------------------------------------------------------


class AssistantTickets(HandoffBase):
    """The person's tickets, as the assistant (the dialogue) opens and follows them."""

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
            lawyers = [profile_of(row) for row in session.execute(sa.select(Lawyer)).scalars()]
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
                require_role(staff, ("coordinator",), "cancel tickets")
                actor = actor_of(staff)
            self._end(session, ticket, "cancelled", actor, now or utc_now())

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
