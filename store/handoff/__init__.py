"""The handoff: tickets that pass a conversation to a lawyer on duty (转人工),
the messages relayed through them, the lawyers and their duty roster.

One store per caller, each over the same tables:

* `Roster` (roster.py): lawyers and shifts, kept by coordinators in the console.
* `AssistantTickets` (tickets.py): the person's side through the dialogue —
  open a ticket, who can take it, the place in the queue, a callback, cancel.
* `RelayStore` (relay.py): the gateway's relay, which also acts for the person
  (it is an AssistantTickets) and carries the messages both ways.
* `ConsoleTickets` (console.py): staff — the queue, audited reads, claim,
  release, hand back, close, the lawyer's messages, notes, own tickets.

What is personal (the sender id, the summary, the transcript, the facts, the
groups that put someone ahead, the requested lawyer, a callback number, every
message and note) is encrypted before it reaches SQLAlchemy, each column as
store/encrypted_columns.py declares it. The sender id is encrypted rather than
only hashed because a lawyer's replies are relayed to it; its keyed hash finds
a conversation's open ticket. Authorization lives in the stores, not only in
the console (console.py says who may read and move what).

Callers import from here: the stores, and the values they pass and get back.
"""

from store.handoff.console import ConsoleTickets
from store.handoff.relay import RelayStore
from store.handoff.roster import Roster
from store.handoff.tickets import AssistantTickets
from store.handoff.values import (
    HandoffError,
    HandoffRequest,
    HandoffSummary,
    InvalidTicketTransition,
    LawyerDetails,
    LawyerMessage,
    MessageView,
    NotAllowed,
    NoteView,
    OwnTicket,
    QueueEntry,
    TicketResult,
    TicketView,
    UnknownTicket,
    ticket_id_of,
    ticket_reference,
)

__all__ = [
    "AssistantTickets",
    "ConsoleTickets",
    "HandoffError",
    "HandoffRequest",
    "HandoffSummary",
    "InvalidTicketTransition",
    "LawyerDetails",
    "LawyerMessage",
    "MessageView",
    "NotAllowed",
    "NoteView",
    "OwnTicket",
    "QueueEntry",
    "RelayStore",
    "Roster",
    "TicketResult",
    "TicketView",
    "UnknownTicket",
    "ticket_id_of",
    "ticket_reference",
]
