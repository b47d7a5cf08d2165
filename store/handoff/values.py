"""What the handoff stores' callers pass and get back, the errors they raise, and
the tickets' references ("HO-000042"). Nothing here touches the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class HandoffError(ValueError):
    """A request the handoff store refuses; messages name fields, never values."""


class UnknownTicket(LookupError):
    pass


class NotAllowed(PermissionError):
    """This account may not do this to this ticket."""


class InvalidTicketTransition(HandoffError):
    pass


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
    # A lawyer's message the person's channel has not accepted (or fetched) yet.
    pending: bool = False


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
