"""接续码 at the gateway: "接续 38527164" said or typed on one channel continues the
conversation where the code was given (actions/continuation.py gives it), once
the person confirms it there with "确认接续 4821".

`TurnHandler.handle` asks `answer_code` about every message before Rasa and the
relay: a code is redeemed here (store/links.py) and never reaches Rasa, nor
does a confirmation. Redeeming links nothing yet: the new channel (B) is told
a four-digit number to send on the original channel (A), named by its Chinese
name; someone who only overheard or saw the code cannot do that. When A sends
"确认接续 4821", A is told the conversation goes on at B, and B's next turn is
answered with where the conversation stands (`greeting`: connected, and the
question it waits on), as a redeemed code was answered before; from then on B's
turns are A's conversation's. A code given on the hotline links at once: the
caller cannot come back to the same call (store/links.py says why).

For every other turn, `conversation_of` names the conversation the sender
continues (its own unless it brought a code), and Rasa and the handoff relay
get that id: the answers, the case and a lawyer's conversation follow.

Links found in the store are remembered for a minute (each time also noting
that the sender spoke, so a lawyer's pushed messages go to the channel used
last); a sender without a link is asked each turn, so a link confirmed through
another gateway instance counts at once. Nothing is logged but pseudonyms.

Attempts to redeem or confirm are limited per client address
(`AddressLimiter`, the web entry points pass it): a new web identity costs one
request, so the store's per-sender limit alone would not stop a guesser.
Channels whose senders are verified (Telegram, WeChat, the hotline) are limited
per sender by the store. The limiter counts in the gateways' shared state
(bot/shared_state.py), so several gateways behind a load balancer allow an
address its attempts once, not once each.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from bot.handoff_relay import HandoffRelay
from bot.messages import (
    CODE_DOWN_REPLY,
    CODE_SAME_REPLY,
    CODE_STORE_DOWN_REPLY,
    CODE_TOO_MANY_REPLY,
    CODE_WRONG_REPLY,
    CONFIRM_ASK_REPLY,
    CONFIRM_SOMEWHERE,
    CONFIRM_WAITING_REPLY,
    CONFIRM_WHERE,
    CONFIRM_WRONG_REPLY,
    CONFIRMED_ELSEWHERE,
    CONFIRMED_REPLY,
    HANDOFF_CODE_REPLY,
    LINKED_GO_ON,
    LINKED_HANDOFF,
    LINKED_QUESTION,
    LINKED_REPLY,
)
from bot.privacy import pseudonym
from bot.rasa_client import RasaClient
from bot.recent import Recent
from bot.shared_state import LocalState, SharedState, hashed
from bot.web_identity import SENDER_PREFIX as WEB_SENDER_PREFIX
from legal_aid.channels import CHANNELS, SPOKEN, WEB
from store.links import (
    CODE_DIGITS,
    CONFIRMATION_DIGITS,
    CONFIRMATION_LIFETIME,
    LINKED,
    PENDING,
    SAME,
    TOO_MANY,
    ConversationLinks,
)

log = logging.getLogger("bot.continuation")

LINK_MEMORY_SECONDS = 60.0
# A person who mistypes a code tries again a few times; a guesser needs millions.
ATTEMPTS_PER_ADDRESS = 5
ATTEMPT_WINDOW_SECONDS = 60.0

# The digits of a code or a confirmation number, typed or as the recogniser
# writes speech ("三 八 五", "幺" for one, full-width digits, spaces and commas).
DIGITS = (
    r"([0-9０-９零〇一二两三四五六七八九幺][0-9０-９零〇一二两三四五六七八九幺\s,，、-]*)"
    r"\s*[。.!！]?\s*$"
)
# "接续 385271", "接续码：385 271", "接续三八五二七一" (speech), "我的接续码是385271";
# the recogniser writes "接 续 三 八 …", or hears 继续 for 接续 (eight digits only, then).
CODE_MESSAGE = re.compile(
    r"^\s*(?:我的)?(接\s*续|继\s*续)\s*(?:码)?\s*(?:是|为)?[\s:：,，]*" + DIGITS
)
# "确认接续 4821", "确认接续：四八二一", "确 认 继 续 四 八 二 一" (继续 with four digits only).
CONFIRM_MESSAGE = re.compile(r"^\s*确\s*认\s*(接\s*续|继\s*续)\s*(?:码)?[\s:：,，]*" + DIGITS)
DIGIT_OF = {
    **{c: str(i) for i, c in enumerate("零一二三四五六七八九")},
    **{c: str(i) for i, c in enumerate("０１２３４５６７８９")},
    "〇": "0",
    "两": "2",
    "幺": "1",
}
LABELS = {channel.name: channel.label for channel in CHANNELS}

# While a lawyer has the conversation Rasa hears nothing, so the gateway gives the
# code itself when the person asks in these words.
CODE_REQUEST_WORDS = (
    "接续码",
    "换个地方接着",
    "换个地方继续",
    "换到手机",
    "换到微信",
    "在手机上继续",
    "在微信上继续",
    "在微信里继续",
)


def said_code(message: str) -> str | None:
    """The code in "接续 385271" (any length, as digits), or None for any other message."""
    return _said_digits(CODE_MESSAGE, message, CODE_DIGITS)


def said_confirmation(message: str) -> str | None:
    """The number in "确认接续 4821" (any length, as digits), or None for any other message."""
    return _said_digits(CONFIRM_MESSAGE, message, CONFIRMATION_DIGITS)


def _said_digits(pattern: re.Pattern[str], message: str, digits: int) -> str | None:
    found = pattern.match(message)
    if not found:
        return None
    said = "".join(DIGIT_OF.get(c, c) for c in found.group(2) if c.isdigit() or c in DIGIT_OF)
    if not found.group(1).startswith("接") and len(said) != digits:
        return None
    return said


def place_of(conversation: str) -> str | None:
    """The Chinese name of the channel a conversation began on ("Telegram", "微信",
    "网页"), from its sender id; None when the id does not say."""
    for channel in CHANNELS:
        if channel.local_id(conversation) is not None:
            return channel.label
    if conversation.startswith(WEB_SENDER_PREFIX):  # the web chat and the voice page
        return WEB.label
    return None


class AddressLimiter:
    """At most `limit` attempts per address in each `window` seconds, across gateways."""

    def __init__(
        self,
        state: SharedState,
        limit: int = ATTEMPTS_PER_ADDRESS,
        window: float = ATTEMPT_WINDOW_SECONDS,
    ) -> None:
        self._state = state
        self._limit = limit
        self._window = window

    async def allow(self, address: str) -> bool:
        """Counts an attempt from `address`; False when it is one too many."""
        attempts = await self._state.count(f"continuation:attempts:{hashed(address)}", self._window)
        return attempts <= self._limit


class Continuations:
    def __init__(
        self,
        store: ConversationLinks,
        rasa: RasaClient,
        relay: HandoffRelay | None = None,
        state: SharedState | None = None,
    ) -> None:
        self._store = store
        self._rasa = rasa
        # The handoff relay, if on: a code is given while a lawyer has the
        # conversation, and redeeming one says when a lawyer's conversation follows.
        self._relay = relay
        self._links: Recent[tuple[str, float]] = Recent(10_000)
        self._addresses = AddressLimiter(state or LocalState())
        # Senders whose link was confirmed and who are yet to be told (their next turn).
        self._to_greet: Recent[bool] = Recent(10_000)
        # Senders told to confirm on the original channel, reminded once if they
        # speak again before that: (where, number as said, until when).
        self._waiting: Recent[tuple[str, str, float]] = Recent(10_000)

    async def conversation_of(self, sender: str) -> str:
        """The conversation this sender's turns belong to: its own, or the one it continues."""
        remembered = self._links.get(sender)
        if remembered and time.monotonic() - remembered[1] < LINK_MEMORY_SECONDS:
            return remembered[0]
        try:
            conversation = await asyncio.to_thread(self._linked, sender)
        except Exception:
            # The store is down: a link remembered, however old, else the sender's own.
            log.exception("continuation store unavailable sender=%s", pseudonym(sender))
            return remembered[0] if remembered else sender
        if conversation is None:
            self._links.pop(sender)
            return sender
        self._links.put(sender, (conversation, time.monotonic()))
        return conversation

    def _linked(self, sender: str) -> str | None:
        conversation = self._store.conversation_of(sender)
        if conversation is not None:
            self._store.note_turn(sender)
            if self._store.take_confirmed(sender):
                self._to_greet.put(sender, True)
        return conversation

    async def greeting(self, sender: str, conversation: str) -> list[dict[str, Any]] | None:
        """What a sender that redeemed a code is told on its next turn, instead of
        the dialogue's answer: connected, and where the conversation stands, once
        the original channel confirmed; else, once, that it has not yet. None for
        every other turn."""
        if self._to_greet.pop(sender):
            self._waiting.pop(sender)
            return await self._linked_replies(sender, conversation)
        if conversation != sender:
            return None
        waiting = self._waiting.pop(sender)
        if waiting is None or time.monotonic() >= waiting[2]:
            return None
        where, number, _ = waiting
        return [_reply(sender, CONFIRM_WAITING_REPLY.format(where=where, number=number))]

    async def code_during_handoff(
        self, sender: str, conversation: str, message: str, spoken: bool
    ) -> list[dict[str, Any]] | None:
        """A code when the person asks for one while a lawyer has the conversation;
        None for any other message, or when no lawyer has it (Rasa answers then)."""
        if self._relay is None or not any(word in message for word in CODE_REQUEST_WORDS):
            return None
        try:
            if not await self._relay.has_open_ticket(conversation):
                return None
            code = await asyncio.to_thread(self._store.issue_code, conversation)
        except Exception:
            log.exception("continuation code not issued sender=%s", pseudonym(sender))
            return [_reply(sender, CODE_DOWN_REPLY)]
        said = " ".join(code) if spoken else code  # read digit by digit
        return [_reply(sender, HANDOFF_CODE_REPLY.format(code=said))]

    async def answer_code(
        self, sender: str, message: str, channel: str, client: str | None = None
    ) -> list[dict[str, Any]] | None:
        """The answer when the message is "接续 <code>" or "确认接续 <number>"; None
        for any other message. `client` is the web caller's address, whose
        attempts are limited."""
        code = said_code(message)
        number = said_confirmation(message) if code is None else None
        if code is None and number is None:
            return None
        if client is not None and not await self._addresses.allow(client):
            log.info("continuation too_many sender=%s channel=%s", pseudonym(sender), channel)
            return [_reply(sender, CODE_TOO_MANY_REPLY)]
        if code is not None:
            return await self.redeem(sender, code, channel)
        return await self.confirm(sender, number or "", channel)

    async def redeem(self, sender: str, code: str, channel: str) -> list[dict[str, Any]]:
        """The answer to "接续 <code>": when the code is good, the number to confirm
        it with on the original channel (a hotline code links at once)."""
        try:
            redeemed = await asyncio.to_thread(self._store.redeem, code, sender, channel)
        except Exception:
            log.exception("continuation store unavailable sender=%s", pseudonym(sender))
            return [_reply(sender, CODE_STORE_DOWN_REPLY)]
        log.info(
            "continuation %s sender=%s channel=%s", redeemed.outcome, pseudonym(sender), channel
        )
        if redeemed.outcome == SAME:
            return [_reply(sender, CODE_SAME_REPLY)]
        if redeemed.outcome == TOO_MANY:
            return [_reply(sender, CODE_TOO_MANY_REPLY)]
        if redeemed.conversation_id is None:
            return [_reply(sender, CODE_WRONG_REPLY)]
        conversation = redeemed.conversation_id
        if redeemed.outcome == PENDING and redeemed.confirmation is not None:
            place = place_of(conversation)
            where = CONFIRM_WHERE.format(place=place) if place else CONFIRM_SOMEWHERE
            number = redeemed.confirmation
            said = " ".join(number) if channel in SPOKEN else number  # digit by digit
            deadline = time.monotonic() + CONFIRMATION_LIFETIME.total_seconds()
            self._waiting.put(sender, (where, said, deadline))
            self._to_greet.pop(sender)
            return [_reply(sender, CONFIRM_ASK_REPLY.format(where=where, number=said))]
        if redeemed.outcome != LINKED:
            return [_reply(sender, CODE_WRONG_REPLY)]
        self._links.put(sender, (conversation, time.monotonic()))
        return await self._linked_replies(sender, conversation)

    async def confirm(self, sender: str, number: str, channel: str) -> list[dict[str, Any]]:
        """The answer to "确认接续 <number>" in the conversation the code was given in:
        links the sender waiting on the other channel when the number is right."""
        try:
            conversation = await self.conversation_of(sender)
            confirmed = await asyncio.to_thread(self._store.confirm, conversation, number, sender)
        except Exception:
            log.exception("continuation store unavailable sender=%s", pseudonym(sender))
            return [_reply(sender, CODE_STORE_DOWN_REPLY)]
        log.info(
            "continuation confirm_%s sender=%s channel=%s",
            confirmed.outcome,
            pseudonym(sender),
            channel,
        )
        if confirmed.outcome == TOO_MANY:
            return [_reply(sender, CODE_TOO_MANY_REPLY)]
        if confirmed.outcome != LINKED:
            return [_reply(sender, CONFIRM_WRONG_REPLY)]
        place = LABELS.get(str(confirmed.channel), CONFIRMED_ELSEWHERE)
        return [_reply(sender, CONFIRMED_REPLY.format(place=place))]

    async def _linked_replies(self, sender: str, conversation: str) -> list[dict[str, Any]]:
        """Connected, and where the conversation stands: with a lawyer, or the
        question it is waiting on (asked again as it was, buttons too)."""
        if self._relay is not None:
            try:
                handed = await self._relay.has_open_ticket(conversation)
            except Exception:
                handed = False
            if handed:
                return [_reply(sender, LINKED_HANDOFF)]
        try:
            last = last_question(await self._rasa.events(conversation))
        except Exception:  # Rasa down: connected all the same
            last = None
        if last is None:
            return [_reply(sender, LINKED_REPLY + LINKED_GO_ON)]
        return [
            _reply(sender, LINKED_REPLY + LINKED_QUESTION),
            {**_reply(sender, last["text"]), "buttons": last["buttons"]},
        ]


def last_question(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The assistant's last message when it asked something (the code's own
    message aside), with its buttons; None when it was no question."""
    for event in reversed(events):
        if event.get("event") != "bot":
            continue
        text = str(event.get("text") or "")
        utter = str((event.get("metadata") or {}).get("utter_action") or "")
        if not text or utter.startswith("utter_continuation") or "接续" in text:
            continue
        data = event.get("data") or {}
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in data.get("buttons") or []
            if isinstance(b, dict)
        ]
        if utter.startswith("utter_ask_") or buttons or "？" in text or "?" in text:
            return {"text": text, "buttons": buttons}
        return None
    return None


def _reply(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text, "buttons": []}
