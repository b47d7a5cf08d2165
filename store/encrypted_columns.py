"""Every encrypted column of the store, declared once, and how its values are bound.

A value is encrypted bound to `<table>.<column>` (AES-GCM's associated data,
store/crypto.py): copied into another column it fails to decrypt instead of
showing the wrong data. A message or a note is bound to its ticket as well
(`#<ticket id>`), so that one moved to another conversation fails too.

The stores encrypt and decrypt only through `encrypt_field` and `decrypt_field`,
which refuse a column that is not declared here; key rotation (store/rotation.py)
walks the same declarations, so a column the stores use is a column rotation
re-encrypts. Keyed hashes that can be computed again from an encrypted column
(`REHASHED_LOOKUPS`) are declared here too: rotation renews them under the new
key, so that lookups keep working once the old key is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from store.crypto import CONVERSATION_LOOKUP, PHONE_LOOKUP, KeyRing
from store.models import (
    Base,
    ContinuationCode,
    ConversationLink,
    HandoffMessage,
    HandoffNote,
    HandoffTicket,
    Intake,
    IntakeStatus,
    PendingLink,
    TrainingMessage,
)

# A retried or mistyped (+86, spaces) number must find the same applications.
PHONE_NOISE = re.compile(r"[\s\-()+]")


def normalise_phone(phone: str) -> str:
    """The form phone numbers are hashed in: digits, without China's +86."""
    digits = PHONE_NOISE.sub("", phone)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


@dataclass(frozen=True)
class EncryptedColumn:
    """A column of personal data: `<table>.<column>` binds its values, and with
    `scope` the value of another column of the same row as well (its ticket)."""

    model: type[Base]
    name: str
    scope: str | None = None

    @property
    def table(self) -> str:
        return self.model.__tablename__

    def binding(self, scope_value: object = None) -> str:
        if (self.scope is None) != (scope_value is None):
            raise ValueError(f"{self.table}.{self.name}: scope given wrongly")
        column = f"{self.table}.{self.name}"
        return column if self.scope is None else f"{column}#{scope_value}"

    def scope_of(self, row: Base) -> object:
        return None if self.scope is None else getattr(row, self.scope)

    def encrypt(
        self, keys: KeyRing, plaintext: str | None, scope_value: object = None
    ) -> str | None:
        return None if plaintext is None else keys.encrypt(plaintext, self.binding(scope_value))

    def decrypt(self, keys: KeyRing, token: str | None, scope_value: object = None) -> str | None:
        return None if token is None else keys.decrypt(token, self.binding(scope_value))


@dataclass(frozen=True)
class RehashedLookup:
    """A keyed hash of an encrypted column's plaintext, kept to find rows with."""

    model: type[Base]
    name: str
    source: str  # the encrypted column whose plaintext is hashed
    purpose: str  # the derived key's purpose (store/crypto.py)
    normalise: Callable[[str], str] = str

    def hash(self, keys: KeyRing, plaintext: str) -> str:
        return keys.lookup_hash(self.normalise(plaintext), self.purpose)


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(Intake, "name_encrypted"),
    EncryptedColumn(Intake, "phone_encrypted"),
    EncryptedColumn(Intake, "id_number_encrypted"),
    EncryptedColumn(Intake, "disability_certificate_encrypted"),
    EncryptedColumn(Intake, "description_encrypted"),
    EncryptedColumn(Intake, "details_encrypted"),
    EncryptedColumn(Intake, "conversation_encrypted"),
    EncryptedColumn(IntakeStatus, "note_encrypted"),
    EncryptedColumn(HandoffTicket, "sender_encrypted"),
    EncryptedColumn(HandoffTicket, "priority_reasons_encrypted"),
    EncryptedColumn(HandoffTicket, "summary_encrypted"),
    EncryptedColumn(HandoffTicket, "transcript_encrypted"),
    EncryptedColumn(HandoffTicket, "case_encrypted"),
    EncryptedColumn(HandoffTicket, "requested_lawyer_encrypted"),
    EncryptedColumn(HandoffTicket, "callback_phone_encrypted"),
    EncryptedColumn(HandoffMessage, "text_encrypted", scope="ticket_id"),
    EncryptedColumn(HandoffNote, "text_encrypted", scope="ticket_id"),
    EncryptedColumn(ContinuationCode, "conversation_encrypted"),
    EncryptedColumn(ConversationLink, "conversation_encrypted"),
    EncryptedColumn(ConversationLink, "alias_encrypted"),
    EncryptedColumn(PendingLink, "conversation_encrypted"),
    EncryptedColumn(PendingLink, "alias_encrypted"),
    EncryptedColumn(TrainingMessage, "text_encrypted"),
)

# Not here, because nothing stored computes them again: a continuation code and a
# pending link (ten minutes' life each), the figures' conversation hash (nothing personal: a conversation
# counted under the old hash is counted again under the new one), the conversation
# hash of a message kept for training (no conversation id is kept to compute it
# from; erasure looks under every key, and the row goes with its retention period), the conversation
# of an application stored before revision 0007. Those need the old key until they
# age out (store/retention.py). Rasa's conversations are re-keyed by
# store/tracker_events.py.
REHASHED_LOOKUPS: tuple[RehashedLookup, ...] = (
    RehashedLookup(Intake, "phone_lookup", "phone_encrypted", PHONE_LOOKUP, normalise_phone),
    # NULL source for applications from before revision 0007: left as they are.
    RehashedLookup(Intake, "conversation_lookup", "conversation_encrypted", CONVERSATION_LOOKUP),
    RehashedLookup(HandoffTicket, "sender_lookup", "sender_encrypted", CONVERSATION_LOOKUP),
    # NULL once the ticket has ended (one open ticket per conversation): stays NULL.
    RehashedLookup(HandoffTicket, "open_sender_lookup", "sender_encrypted", CONVERSATION_LOOKUP),
    RehashedLookup(ConversationLink, "alias_lookup", "alias_encrypted", CONVERSATION_LOOKUP),
    RehashedLookup(
        ConversationLink, "conversation_lookup", "conversation_encrypted", CONVERSATION_LOOKUP
    ),
)

_BY_NAME = {(column.model, column.name): column for column in ENCRYPTED_COLUMNS}


def encrypted_column(model: type[Base], name: str) -> EncryptedColumn:
    """The declaration of `model.name`; KeyError for a column not declared."""
    return _BY_NAME[(model, name)]


def encrypted_models() -> list[type[Base]]:
    """The tables with encrypted columns, each once, in declaration order."""
    return list(dict.fromkeys(column.model for column in ENCRYPTED_COLUMNS))


def encrypt_field(
    keys: KeyRing, model: type[Base], name: str, plaintext: str | None, scope: object = None
) -> str | None:
    """`plaintext` encrypted for `model.name` (and its row's scope, a ticket id); None stays None."""
    return encrypted_column(model, name).encrypt(keys, plaintext, scope)


def decrypt_field(keys: KeyRing, row: Base, name: str) -> str | None:
    """The plaintext of `row`'s encrypted column `name`; None stays None."""
    column = encrypted_column(type(row), name)
    return column.decrypt(keys, getattr(row, name), column.scope_of(row))
