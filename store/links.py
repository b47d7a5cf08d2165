"""Conversations continued on another channel, only when the person says so (接续码),
and only once they confirm it where the conversation was (确认接续).

On channel A the person asks for a code: `issue_code` makes an eight-digit
code (a hundred million codes: guessing one is hopeless within the limits
below, and digits are what a caller can say and a keypad can type), valid
`code_lifetime()` (CONTINUATION_CODE_MINUTES, default ten) and once. On channel
B they say "接续 38527164": `redeem` uses the code up and makes a *pending* link
with a four-digit confirmation number, which B is told. Nothing is linked yet:
someone who overheard or saw the code has it, but not channel A. Back on A the
person says "确认接续 4821": `confirm` links B's sender to A's conversation, so
the gateway sends B's turns to Rasa and the relay as A's: the answers, the case
and an open handoff follow. B's next turn is told so (`take_confirmed`).
Nothing is ever linked without a code the person brought from the other
channel and confirmed back on it.

The exception is a code given on the hotline (the conversation of a
`hotline:` sender): the caller cannot come back to the same call to confirm,
and the code was only read into the caller's ear, not shown where others can
read it. Such a code links at once, as every code did before.

At rest (个人信息保护法): the code and the confirmation number only as keyed
hashes (CONTINUATION_CODE, CONTINUATION_CONFIRMATION), the conversation and
sender ids encrypted (each bound to its column), the lookups by keyed hashes
(CONVERSATION_LOOKUP, as the handoff tickets use). Used and expired codes are
deleted when the next code is issued, expired pending links when the next one
is made; wrong guesses are kept only as long as the guess limit needs them.
Nothing here logs a code, a number or an id.

Guesses: a sender gets `GUESSES_PER_SENDER` wrong or late codes, or wrong
confirmation numbers, per `GUESS_WINDOW`. A new web identity costs one
request, so the gateway also limits attempts per client address before they
reach the store (bot/continuation.py); all senders together get
`GUESSES_IN_ALL`, a last resort against a flood from many addresses, set high
enough that one address within its limit cannot use it up for everybody.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from legal_aid.channels import HOTLINE
from store import settings
from store.crypto import (
    CONTINUATION_CODE,
    CONTINUATION_CONFIRMATION,
    CONTINUATION_GUESSER,
    CONVERSATION_LOOKUP,
)
from store.encrypted_columns import decrypt_field, encrypt_field
from store.encrypted_store import EncryptedStore
from store.models import (
    ContinuationCode,
    ContinuationGuess,
    ConversationLink,
    PendingLink,
    utc_now,
)

CODE_DIGITS = 8
# The dialogue's sentences say "十分钟内有效" (domain.yml): change both together.
DEFAULT_CODE_MINUTES = 10.0
# A code said on B waits this long for "确认接续 <number>" on A: time to switch
# apps or walk to the other screen, not long enough to be useful to someone who
# saw the number later. The gateway's sentences say "十分钟内有效" (bot/messages.py).
CONFIRMATION_LIFETIME = timedelta(minutes=10)
# Four digits are enough: the number is good only for its own pending link, for
# minutes, on the one channel the conversation is on, and wrong tries count as
# guesses (GUESSES_PER_SENDER); it is short to carry across by eye or ear.
CONFIRMATION_DIGITS = 4
GUESS_WINDOW = timedelta(minutes=10)
GUESSES_PER_SENDER = 5
GUESSES_IN_ALL = 2000
MAX_ID = 256

LINKED = "linked"
PENDING = "pending"  # linked once confirmed on the original channel
WRONG = "wrong"  # no such code, used already, or expired: the person is told the same
TOO_MANY = "too_many"
SAME = "same"  # the code was said in the conversation that asked for it


def code_lifetime(environ: Mapping[str, str] | None = None) -> timedelta:
    """CONTINUATION_CODE_MINUTES (the gateway's and the action server's), default ten."""
    value = settings.environment(environ).get("CONTINUATION_CODE_MINUTES", "").strip()
    minutes = float(value) if value else DEFAULT_CODE_MINUTES
    if not 0 < minutes <= 24 * 60:
        raise ValueError("CONTINUATION_CODE_MINUTES must be between 0 and 1440")
    return timedelta(minutes=minutes)


@dataclass(frozen=True)
class Redeemed:
    outcome: str  # LINKED (a hotline code), PENDING, WRONG, TOO_MANY or SAME
    conversation_id: str | None = None  # for LINKED, PENDING and SAME
    confirmation: str | None = None  # for PENDING: the number to say on the original channel


@dataclass(frozen=True)
class Confirmed:
    outcome: str  # LINKED, WRONG (no such pending link, or expired) or TOO_MANY
    channel: str | None = None  # for LINKED: where the conversation goes on


def confirmed_at_once(conversation_id: str) -> bool:
    """Whether a code of this conversation links without confirmation: a hotline
    call's, whose caller cannot come back to the same call (the module's doc)."""
    return HOTLINE.local_id(conversation_id) is not None


class ConversationLinks(EncryptedStore):
    """Codes and links. Synchronous: the action server and the gateway call it in a thread."""

    # Channel A ----------------------------------------------------------------------

    def issue_code(
        self, conversation_id: str, now: datetime | None = None, lifetime: timedelta | None = None
    ) -> str:
        """A new code for this conversation, as digits ("03827164")."""
        if not 0 < len(conversation_id) <= MAX_ID:
            raise ValueError("conversation id missing or too long")
        now = now or utc_now()
        sealed = encrypt_field(
            self.keys, ContinuationCode, "conversation_encrypted", conversation_id
        )
        with self._sessions.begin() as session:
            session.execute(
                sa.delete(ContinuationCode).where(
                    sa.or_(
                        ContinuationCode.expires_at <= now, ContinuationCode.used_at.is_not(None)
                    )
                )
            )
            for _ in range(20):
                code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
                if self._live_code(session, code, now) is None:
                    break
            else:  # a hundred million codes and twenty collisions: the store is flooded
                raise RuntimeError("no free continuation code")
            session.add(
                ContinuationCode(
                    code_lookup=self.keys.lookup_hash(code, CONTINUATION_CODE),
                    conversation_encrypted=sealed,
                    created_at=now,
                    expires_at=now + (lifetime or code_lifetime()),
                )
            )
        return code

    # Channel B ----------------------------------------------------------------------

    def redeem(self, code: str, sender: str, channel: str, now: datetime | None = None) -> Redeemed:
        """Uses the code up for `sender` (on `channel`): a pending link, to be
        confirmed on the code's channel (a hotline code links at once). A wrong
        or late code links nothing and counts against the sender's guesses."""
        guesser = self._guesser(sender)
        now = now or utc_now()
        with self._sessions.begin() as session:
            if self._too_many_guesses(session, guesser, now):
                return Redeemed(TOO_MANY)
            row = self._live_code(session, code, now)
            if not self._claimed(session, row, ContinuationCode.used_at, guesser, now):
                return Redeemed(WRONG)
            conversation = decrypt_field(self.keys, row, "conversation_encrypted")
            if conversation == sender:
                return Redeemed(SAME, conversation)
            if confirmed_at_once(conversation):
                self._link(session, sender, conversation, channel, now)
                return Redeemed(LINKED, conversation)
            number = self._pend(session, sender, conversation, channel, now)
        return Redeemed(PENDING, conversation, number)

    def _pend(
        self, session: Session, sender: str, conversation: str, channel: str, now: datetime
    ) -> str:
        """A pending link of `sender` to `conversation`; its confirmation number."""
        session.execute(
            sa.delete(PendingLink).where(
                sa.or_(
                    PendingLink.expires_at <= now,
                    # A newer code said replaces the older one waiting, for the
                    # conversation and for the sender.
                    PendingLink.conversation_lookup.in_(
                        self.keys.lookup_hashes(conversation, CONVERSATION_LOOKUP)
                    ),
                    PendingLink.alias_lookup.in_(
                        self.keys.lookup_hashes(sender, CONVERSATION_LOOKUP)
                    ),
                )
            )
        )
        number = f"{secrets.randbelow(10**CONFIRMATION_DIGITS):0{CONFIRMATION_DIGITS}d}"
        session.add(
            PendingLink(
                conversation_lookup=self.keys.lookup_hash(conversation, CONVERSATION_LOOKUP),
                alias_lookup=self.keys.lookup_hash(sender, CONVERSATION_LOOKUP),
                conversation_encrypted=encrypt_field(
                    self.keys, PendingLink, "conversation_encrypted", conversation
                ),
                alias_encrypted=encrypt_field(self.keys, PendingLink, "alias_encrypted", sender),
                channel=channel[:16],
                confirmation_lookup=self.keys.lookup_hash(number, CONTINUATION_CONFIRMATION),
                created_at=now,
                expires_at=now + CONFIRMATION_LIFETIME,
            )
        )
        return number

    # Channel A again ----------------------------------------------------------------

    def confirm(
        self, conversation_id: str, number: str, sender: str, now: datetime | None = None
    ) -> Confirmed:
        """ "确认接续 4821" said in `conversation_id` (by `sender`, its own or a linked
        one): links the sender waiting on the other channel. A wrong number, or
        none waiting, links nothing and counts against `sender`'s guesses."""
        guesser = self._guesser(sender)
        now = now or utc_now()
        with self._sessions.begin() as session:
            if self._too_many_guesses(session, guesser, now):
                return Confirmed(TOO_MANY)
            row = self._waiting(session, conversation_id, number, now)
            if not self._claimed(session, row, PendingLink.confirmed_at, guesser, now):
                return Confirmed(WRONG)
            alias = decrypt_field(self.keys, row, "alias_encrypted") or ""
            channel = row.channel
            self._link(session, alias, conversation_id, channel, now)
        return Confirmed(LINKED, channel)

    def _waiting(
        self, session: Session, conversation_id: str, number: str, now: datetime
    ) -> PendingLink | None:
        if not (len(number) == CONFIRMATION_DIGITS and number.isascii() and number.isdigit()):
            return None
        return (
            session.execute(
                sa.select(PendingLink).where(
                    PendingLink.conversation_lookup.in_(
                        self.keys.lookup_hashes(conversation_id, CONVERSATION_LOOKUP)
                    ),
                    PendingLink.confirmation_lookup.in_(
                        self.keys.lookup_hashes(number, CONTINUATION_CONFIRMATION)
                    ),
                    PendingLink.confirmed_at.is_(None),
                    PendingLink.expires_at > now,
                )
            )
            .scalars()
            .first()
        )

    def _link(
        self, session: Session, sender: str, conversation: str, channel: str, now: datetime
    ) -> None:
        # A sender continues one conversation: a newer code replaces an older link.
        session.execute(
            sa.delete(ConversationLink).where(
                ConversationLink.alias_lookup.in_(
                    self.keys.lookup_hashes(sender, CONVERSATION_LOOKUP)
                )
            )
        )
        session.add(
            ConversationLink(
                alias_lookup=self.keys.lookup_hash(sender, CONVERSATION_LOOKUP),
                conversation_lookup=self.keys.lookup_hash(conversation, CONVERSATION_LOOKUP),
                conversation_encrypted=encrypt_field(
                    self.keys, ConversationLink, "conversation_encrypted", conversation
                ),
                alias_encrypted=encrypt_field(
                    self.keys, ConversationLink, "alias_encrypted", sender
                ),
                channel=channel[:16],
                linked_at=now,
                last_turn_at=now,
            )
        )

    # Every turn ---------------------------------------------------------------------

    def conversation_of(self, sender: str) -> str | None:
        """The conversation this sender continues, or None (its own)."""
        with self._sessions() as session:
            row = self._link_of(session, sender)
            if row is None:
                return None
            return decrypt_field(self.keys, row, "conversation_encrypted")

    def note_turn(self, sender: str, now: datetime | None = None) -> None:
        """A linked sender spoke: lawyers' messages go to where the person spoke last."""
        with self._sessions.begin() as session:
            session.execute(
                sa.update(ConversationLink)
                .where(
                    ConversationLink.alias_lookup.in_(
                        self.keys.lookup_hashes(sender, CONVERSATION_LOOKUP)
                    )
                )
                .values(last_turn_at=now or utc_now())
            )

    def take_confirmed(self, sender: str) -> bool:
        """Whether `sender`'s link was confirmed on the original channel since its
        last turn (it is to be told it is connected); True once."""
        with self._sessions.begin() as session:
            return (
                session.execute(
                    sa.delete(PendingLink).where(
                        PendingLink.alias_lookup.in_(
                            self.keys.lookup_hashes(sender, CONVERSATION_LOOKUP)
                        ),
                        PendingLink.confirmed_at.is_not(None),
                    )
                ).rowcount
                > 0
            )

    def delivery_target(self, conversation_id: str) -> tuple[str, str] | None:
        """(channel, sender) of the linked sender of this conversation that spoke
        last, or None when the conversation was never continued elsewhere."""
        hashes = self.keys.lookup_hashes(conversation_id, CONVERSATION_LOOKUP)
        with self._sessions() as session:
            row = (
                session.execute(
                    sa.select(ConversationLink)
                    .where(ConversationLink.conversation_lookup.in_(hashes))
                    .order_by(ConversationLink.last_turn_at.desc(), ConversationLink.id.desc())
                    .limit(1)
                )
                .scalars()
                .first()
            )
            if row is None:
                return None
            return row.channel, decrypt_field(self.keys, row, "alias_encrypted") or ""

    # Helpers ------------------------------------------------------------------------

    def _live_code(self, session: Session, code: str, now: datetime) -> ContinuationCode | None:
        if not (len(code) == CODE_DIGITS and code.isascii() and code.isdigit()):
            return None
        return (
            session.execute(
                sa.select(ContinuationCode).where(
                    ContinuationCode.code_lookup.in_(
                        self.keys.lookup_hashes(code, CONTINUATION_CODE)
                    ),
                    ContinuationCode.used_at.is_(None),
                    ContinuationCode.expires_at > now,
                )
            )
            .scalars()
            .first()
        )

    def _link_of(self, session: Session, sender: str) -> ConversationLink | None:
        hashes = self.keys.lookup_hashes(sender, CONVERSATION_LOOKUP)
        return (
            session.execute(
                sa.select(ConversationLink).where(ConversationLink.alias_lookup.in_(hashes))
            )
            .scalars()
            .first()
        )

    def _guesser(self, sender: str) -> str:
        """Whose guesses a redemption or confirmation counts against."""
        if not 0 < len(sender) <= MAX_ID:
            raise ValueError("sender id missing or too long")
        return self.keys.lookup_hash(sender, CONTINUATION_GUESSER)

    @staticmethod
    def _claimed(
        session: Session,
        row: ContinuationCode | PendingLink | None,
        done: InstrumentedAttribute,
        guesser: str,
        now: datetime,
    ) -> bool:
        """Marks `row` done (its `done` column set to now) unless it is missing or
        another request marked it first, which counts as one of `guesser`'s guesses."""
        claimed = (
            row is not None
            and session.execute(
                sa.update(type(row))
                .where(type(row).id == row.id, done.is_(None))
                .values({done.key: now})
            ).rowcount
            == 1
        )
        if not claimed:
            session.add(ContinuationGuess(guesser_lookup=guesser, at=now))
        return claimed

    @staticmethod
    def _too_many_guesses(session: Session, guesser: str, now: datetime) -> bool:
        since = now - GUESS_WINDOW
        session.execute(sa.delete(ContinuationGuess).where(ContinuationGuess.at <= since))
        count = sa.select(sa.func.count()).select_from(ContinuationGuess)
        mine = session.execute(count.where(ContinuationGuess.guesser_lookup == guesser)).scalar()
        return mine >= GUESSES_PER_SENDER or session.execute(count).scalar() >= GUESSES_IN_ALL
