"""One person's records: found, exported or deleted (个人信息保护法 arts. 45, 47).

Three ways in, one way of finding:

- the person says "删除我的信息" and confirms (actions/forgetting.py):
  `erase_conversation` deletes what their conversation left here — its
  applications not yet handed to the centre, its tickets, continuation links
  and codes, and its messages kept for training (store/training.py). An application the centre has taken up (under review, assigned,
  closed) is kept: it is the centre's case file now, which the centre must
  keep under its own rules (法律援助法, archive rules), and deleting it could
  stop the aid itself; the person is told its reference and to ask the centre.
  Its tickets stay with it. The conversation itself is deleted by the tracker
  store when the action sets `forget_conversation` (rasa_ext/tracker_store.py).
- the person refuses consent (to apply, or to be handed to a lawyer):
  `forget_refused` deletes the links and codes the conversation made, which
  were kept without that consent, and its messages kept for training (the
  person was just told that nothing of the conversation is kept); the tracker store deletes the conversation.
  An earlier application or ticket of the same conversation was made with its
  own consent and stays ("删除我的信息" removes it).
- staff, on a person's written request (`python -m store export-person` /
  `delete-person`, by reference or phone number): everything found, the
  conversations in the tracker database included. Staff decide about case
  files, so nothing is kept back; a reason is required and audited.

Each deletion writes one audit entry: counts per table, never a value.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from store import tracker_events
from store.audit import write_audit
from store.crypto import CONVERSATION_LOOKUP, PHONE_LOOKUP
from store.encrypted_columns import decrypt_field, normalise_phone
from store.encrypted_store import EncryptedStore
from store.handoff.values import ticket_reference
from store.intake import unseal
from store.models import (
    ContinuationCode,
    ConversationLink,
    HandoffMessage,
    HandoffTicket,
    Intake,
    PendingLink,
    TrainingMessage,
)
from store.purge import PurgeReport, delete_applications, delete_rows, delete_tickets

logger = logging.getLogger(__name__)

# Applications the person may delete themselves: the centre has not taken them up.
ERASABLE_BY_PERSON = ("new", "withdrawn")
APPLICANT = "applicant"


class NothingFound(LookupError):
    """No record matches the reference or phone number given."""


@dataclass
class PersonRecords:
    """Row ids of one person's records, and their conversations' keyed hashes."""

    intakes: list[Intake] = field(default_factory=list)
    tickets: list[HandoffTicket] = field(default_factory=list)
    link_ids: list[int] = field(default_factory=list)
    code_ids: list[int] = field(default_factory=list)
    pending_ids: list[int] = field(default_factory=list)
    conversation_lookups: set[str] = field(default_factory=set)
    training_ids: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.intakes
            or self.tickets
            or self.link_ids
            or self.code_ids
            or self.pending_ids
            or self.training_ids
        )


@dataclass
class ErasureReport:
    deleted: PurgeReport
    kept: list[str]  # references of applications kept (the centre has them)

    def summary(self) -> str:
        return f"{self.deleted.summary()}; kept {len(self.kept)}"


class Erasure(EncryptedStore):
    """Synchronous: the action server and the CLI call it (the gateway in a thread)."""

    # The person ------------------------------------------------------------------------

    def erase_conversation(self, conversation_id: str) -> ErasureReport:
        """ "删除我的信息", confirmed: all the conversation left, but applications
        the centre has taken up (and their tickets)."""
        with self._sessions.begin() as session:
            records = self._records(session, self._conversation_hashes(conversation_id), set())
            kept = [i for i in records.intakes if i.status not in ERASABLE_BY_PERSON]
            kept_ids = {intake.id for intake in kept}
            records.intakes = [i for i in records.intakes if i.id not in kept_ids]
            records.tickets = [t for t in records.tickets if t.intake_id not in kept_ids]
            report = ErasureReport(self._delete(session, records), [i.reference for i in kept])
            write_audit(
                session, APPLICANT, "erase_self", None, "本人要求删除个人信息", report.summary()
            )
        logger.info("erased at the person's request: %s", report.summary())
        return report

    def forget_refused(self, conversation_id: str) -> ErasureReport:
        """Consent refused: the conversation's continuation links, codes and pending links."""
        with self._sessions.begin() as session:
            found = self._records(session, self._conversation_hashes(conversation_id), set())
            records = PersonRecords(
                link_ids=found.link_ids,
                code_ids=found.code_ids,
                pending_ids=found.pending_ids,
                training_ids=found.training_ids,
            )
            report = ErasureReport(self._delete(session, records), [])
            write_audit(
                session, APPLICANT, "forget_on_refusal", None, "拒绝同意，不保存", report.summary()
            )
        return report

    # Staff -------------------------------------------------------------------------

    def export_person(
        self,
        reader: str,
        reason: str,
        reference: str | None = None,
        phone: str | None = None,
        tracker_engine: Engine | None = None,
    ) -> dict[str, Any]:
        """Everything kept about the person, decrypted (audited under `reader`)."""
        _require_reason(reason)
        with self._sessions.begin() as session:
            records = self._person(session, reference, phone)
            exported = {
                "applications": [self._application(i) for i in records.intakes],
                "handoff_tickets": [self._ticket(session, t) for t in records.tickets],
                "continuation_links": len(records.link_ids),
                "conversations": self._conversations(tracker_engine, records),
                "messages_kept_for_training": self._training(session, records.training_ids),
            }
            write_audit(
                session, reader, "export_person", reference, reason, _counts(records, exported)
            )
        return exported

    def delete_person(
        self,
        actor: str,
        reason: str,
        reference: str | None = None,
        phone: str | None = None,
        tracker_engine: Engine | None = None,
    ) -> ErasureReport:
        """Every record found, the tracker's conversations included (audited)."""
        _require_reason(reason)
        events = 0
        if tracker_engine is not None:
            # First, and outside the store's transaction: the tracker may be the
            # same database (a SQLite file would then be locked by that transaction).
            with self._sessions() as session:
                lookups = self._person(session, reference, phone).conversation_lookups
            events = tracker_events.erase(tracker_engine, sorted(lookups))
        with self._sessions.begin() as session:
            records = self._person(session, reference, phone)
            report = ErasureReport(self._delete(session, records), [])
            report.deleted.add("events", events)
            write_audit(session, actor, "delete_person", reference, reason, report.summary())
        logger.info("deleted one person's records: %s", report.summary())
        return report

    # Finding -----------------------------------------------------------------------

    def _conversation_hashes(self, conversation_id: str) -> set[str]:
        return set(self.keys.lookup_hashes(conversation_id, CONVERSATION_LOOKUP))

    def _person(self, session: Session, reference: str | None, phone: str | None) -> PersonRecords:
        if (reference is None) == (phone is None):
            raise ValueError("give a reference or a phone number / 请给出申请编号或电话之一")
        if reference is not None:
            condition = Intake.reference == reference
        else:
            hashes = self.keys.lookup_hashes(normalise_phone(phone or ""), PHONE_LOOKUP)
            condition = Intake.phone_lookup.in_(hashes)
        intakes = list(session.execute(sa.select(Intake).where(condition)).scalars())
        if not intakes:
            raise NothingFound("no application matches / 没有找到匹配的申请")
        lookups = {intake.conversation_lookup for intake in intakes}
        return self._records(session, lookups, {intake.id for intake in intakes})

    def _records(self, session: Session, lookups: set[str], intake_ids: set[int]) -> PersonRecords:
        """The applications, tickets, links and codes of these conversations."""
        intakes = list(
            session.execute(
                sa.select(Intake).where(
                    sa.or_(Intake.id.in_(intake_ids), Intake.conversation_lookup.in_(lookups))
                )
            ).scalars()
        )
        ids = {intake.id for intake in intakes}
        tickets = list(
            session.execute(
                sa.select(HandoffTicket).where(
                    sa.or_(
                        HandoffTicket.sender_lookup.in_(lookups), HandoffTicket.intake_id.in_(ids)
                    )
                )
            ).scalars()
        )
        links = _linking(session, ConversationLink, lookups)
        conversations = (
            lookups
            | {intake.conversation_lookup for intake in intakes}
            | {ticket.sender_lookup for ticket in tickets}
        )
        pending = _linking(session, PendingLink, conversations)
        training = list(
            session.execute(
                sa.select(TrainingMessage.id).where(
                    TrainingMessage.conversation_lookup.in_(conversations)
                )
            ).scalars()
        )
        return PersonRecords(
            intakes=intakes,
            tickets=tickets,
            link_ids=links,
            code_ids=self._codes(session, conversations),
            pending_ids=pending,
            conversation_lookups=conversations,
            training_ids=training,
        )

    def _codes(self, session: Session, lookups: set[str]) -> list[int]:
        # Codes keep the conversation only encrypted; they live minutes, so few exist.
        codes = session.execute(sa.select(ContinuationCode)).scalars()
        return [
            code.id
            for code in codes
            if lookups.intersection(
                self.keys.lookup_hashes(
                    decrypt_field(self.keys, code, "conversation_encrypted") or "",
                    CONVERSATION_LOOKUP,
                )
            )
        ]

    # Deleting and exporting -----------------------------------------------------------

    def _delete(self, session: Session, records: PersonRecords) -> PurgeReport:
        report = PurgeReport()
        delete_tickets(session, [ticket.id for ticket in records.tickets], report)
        delete_applications(session, [intake.id for intake in records.intakes], report)
        delete_rows(session, ConversationLink, records.link_ids, report)
        delete_rows(session, ContinuationCode, records.code_ids, report)
        delete_rows(session, PendingLink, records.pending_ids, report)
        delete_rows(session, TrainingMessage, records.training_ids, report)
        return report

    def _application(self, intake: Intake) -> dict[str, Any]:
        details = unseal(self.keys, intake)
        return {
            "reference": intake.reference,
            "status": intake.status,
            "created_at": intake.created_at.isoformat(),
            **{k: v for k, v in vars(details).items() if k != "conversation_id"},
            "consent_given_at": details.consent_given_at.isoformat(),
        }

    def _ticket(self, session: Session, ticket: HandoffTicket) -> dict[str, Any]:
        messages = session.execute(
            sa.select(HandoffMessage)
            .where(HandoffMessage.ticket_id == ticket.id)
            .order_by(HandoffMessage.id)
        ).scalars()
        return {
            "reference": ticket_reference(ticket.id),
            "status": ticket.status,
            "created_at": ticket.created_at.isoformat(),
            "summary": _json(decrypt_field(self.keys, ticket, "summary_encrypted")),
            "transcript": _json(decrypt_field(self.keys, ticket, "transcript_encrypted")),
            "messages": [
                {
                    "from": message.sender_role,
                    "text": decrypt_field(self.keys, message, "text_encrypted"),
                    "sent_at": message.sent_at.isoformat(),
                }
                for message in messages
            ],
        }

    def _training(self, session: Session, ids: list[int]) -> list[dict[str, Any]]:
        rows = session.execute(
            sa.select(TrainingMessage)
            .where(TrainingMessage.id.in_(ids))
            .order_by(TrainingMessage.id)
        ).scalars()
        return [
            {
                "text_masked": decrypt_field(self.keys, row, "text_encrypted"),
                "collected_at": row.collected_at.isoformat(),
                "status": row.status,
            }
            for row in rows
        ]

    def _conversations(
        self, tracker_engine: Engine | None, records: PersonRecords
    ) -> list[dict[str, Any]]:
        if tracker_engine is None:
            return []
        return tracker_events.conversation_lines(
            tracker_engine, self.keys, sorted(records.conversation_lookups)
        )


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _counts(records: PersonRecords, exported: dict[str, Any]) -> str:
    return (
        f"intakes {len(records.intakes)}, handoff_tickets {len(records.tickets)}, "
        f"conversation_lines {len(exported['conversations'])}"
    )


def _require_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise ValueError("a reason is required / 必须说明理由")


def _linking(
    session: Session, model: type[ConversationLink] | type[PendingLink], lookups: set[str]
) -> list[int]:
    """Ids of the links (made or waiting) from or to any of these conversations."""
    return list(
        session.execute(
            sa.select(model.id).where(
                sa.or_(model.conversation_lookup.in_(lookups), model.alias_lookup.in_(lookups))
            )
        ).scalars()
    )
