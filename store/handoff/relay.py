"""Tickets as the gateway's relay (bot/handoff_relay.py) carries a conversation
with a lawyer: the person's messages in, the lawyer's messages out to the
person's own channel, each once, and the end told once.

Nothing here is a staff read: the person sees their own conversation, so it is
not audited as a read. What was relayed and whether the end was told are kept
with the ticket, so a restarted gateway neither repeats nor forgets anything.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from store.crypto import CONVERSATION_LOOKUP
from store.encrypted_columns import decrypt_field
from store.handoff._shared import PERSON
from store.handoff.tickets import AssistantTickets
from store.handoff.values import LawyerMessage, ticket_id_of, ticket_reference
from store.links import ConversationLinks
from store.models import HandoffMessage, HandoffTicket, Lawyer, StaffUser, utc_now


class RelayStore(AssistantTickets):
    """The relay acts for the person as the assistant does (it cancels the wait,
    books a callback, says the place in the queue), and carries the messages."""

    # The person's messages -----------------------------------------------------------

    def add_message(
        self, reference: str, sender_role: str, text: str, now: datetime | None = None
    ) -> None:
        """A "person" or "system" message on the ticket; a lawyer writes through the
        console (ConsoleTickets.send_message)."""
        self._add_message(reference, sender_role, text, None, now)

    def add_person_message(self, conversation_id: str, text: str) -> str | None:
        """What the relay calls with a person's message: stored on the open ticket,
        whose reference is returned; None when the conversation has none."""
        reference = self.open_ticket_for(conversation_id)
        if reference is not None:
            self.add_message(reference, "person", text)
        return reference

    # The lawyer's messages, for the person ------------------------------------------

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

    def pending_lawyer_messages(self, reference: str) -> list[LawyerMessage]:
        """The lawyer's messages no channel has accepted yet, without marking them:
        a push marks them (mark_relayed) only once the channel took them."""
        with self._transaction() as session:
            after = self._ticket(session, reference).relayed_message_id or 0
        return self.lawyer_messages_for_person(reference, after)

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

    # The end, told once ------------------------------------------------------------

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

    # Where the person is -----------------------------------------------------------

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
