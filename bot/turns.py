"""One user turn: pass the message to Rasa, or keep it and answer politely.

Every channel calls `TurnHandler.handle`, so the length limit, 接续码, the
handoff relay, the busy answer, the retry and the per-turn log line are the
same everywhere. The relay and the continuations are given to it when the
gateway starts (bot/app.py), after the stores they need are open.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.continuation import Continuations
from bot.handoff_relay import HandoffRelay, handoff_opened
from bot.messages import BUSY_REPLY, EMPTY_REPLY, NOTHING_DONE_REPLY, SLOW_REPLY, TOO_LONG_REPLY
from bot.privacy import pseudonym
from bot.rasa_client import RasaClient, RasaTimeout, RasaUnavailable
from bot.shared_state import QUEUE_NEWS, LocalState, SharedState, hashed
from legal_aid.channels import NAMED_IN_METADATA, SPOKEN, WEB, rasa_input_of
from store.crypto import KeyRing

log = logging.getLogger("bot.turns")

# What the held messages are encrypted for (store/crypto.py's associated data).
HELD_COLUMN = "gateway.held_messages"


@dataclass
class HeldMessage:
    message: str
    metadata: dict[str, Any] | None
    held_at: float = field(default_factory=time.time)


class HeldMessages:
    """Messages Rasa never received, replayed in order on the sender's next turn.

    Kept briefly: they exist to bridge a restart of the Rasa server, not to
    store anything. With the store's key they are kept encrypted in the
    gateways' shared state, so the next turn may reach another gateway, and a
    restart of this one loses nothing; without a key, in this gateway's memory
    only, since they may hold personal data.
    """

    def __init__(
        self,
        state: SharedState | None = None,
        keys: KeyRing | None = None,
        per_sender: int = 10,
        max_age: float = 3600,
    ) -> None:
        self._state = state if state is not None and keys is not None else LocalState()
        self._keys = keys
        self._per_sender = per_sender
        self._max_age = max_age

    async def hold(self, sender: str, held: list[HeldMessage]) -> None:
        kept = json.dumps([asdict(m) for m in held[-self._per_sender :]], ensure_ascii=False)
        sealed = self._keys.encrypt(kept, HELD_COLUMN) if self._keys else kept
        await self._state.put(_held_key(sender), sealed, self._max_age)

    async def take(self, sender: str) -> list[HeldMessage]:
        sealed = await self._state.pop(_held_key(sender))
        if sealed is None:
            return []
        kept = self._keys.decrypt(sealed, HELD_COLUMN) if self._keys else sealed
        fresh_after = time.time() - self._max_age
        held = [HeldMessage(**m) for m in json.loads(kept)]
        return [m for m in held if m.held_at >= fresh_after]


def _held_key(sender: str) -> str:
    return f"turns:held:{hashed(sender)}"


class TurnHandler:
    """The one entry point of every channel's turns (web, voice, kiosk, Telegram,
    WeChat, the hotline): what no channel may do differently is done here."""

    def __init__(
        self,
        rasa: RasaClient,
        max_message_chars: int,
        relay: HandoffRelay | None = None,
        continuations: Continuations | None = None,
        state: SharedState | None = None,
        keys: KeyRing | None = None,
    ) -> None:
        self._rasa = rasa
        self._max_message_chars = max_message_chars
        # While a lawyer has the conversation, messages go to the lawyer instead
        # (None: the gateway has no store key, nobody can be handed over).
        self._relay = relay
        # 接续码: a sender that brought a code from another channel continues
        # that conversation (None: no store key, no codes).
        self._continuations = continuations
        # Where a ticket opened here is announced to every gateway's consoles.
        self._state = state or LocalState()
        self._held = HeldMessages(self._state, keys)

    async def handle(
        self,
        sender: str,
        message: str,
        metadata: dict[str, Any] | None = None,
        channel: str = WEB.name,
        client: str | None = None,
    ) -> list[dict[str, Any]]:
        """The replies to one user message, in the REST channel's shape.

        `client` is a web caller's address (bot/limits.py client_address):
        its attempts at 接续码 are limited, since its sender ids cost nothing.

        A message too long or empty never goes further; "接续 <code>" is
        redeemed and "确认接续 <number>" confirmed here; while a lawyer has the conversation the relay answers;
        otherwise Rasa does (or the busy answer, the message kept for later).
        """
        refusal = self._refusal(message)
        if refusal is not None:
            return [_to(sender, {"text": refusal})]
        if self._continuations is not None:
            linked = await self._continuations.answer_code(sender, message, channel, client)
            if linked is not None:  # "接续 385271", "确认接续 4821": here, never sent to Rasa
                return [_to(sender, reply) for reply in linked]
        if channel in NAMED_IN_METADATA:  # so the actions know where the person is
            metadata = {**(metadata or {}), "channel": channel}
        conversation = await self.conversation_of(sender)
        if self._continuations is not None:
            # The first turn after a confirmation: where the conversation stands,
            # since this channel has not seen it (the message would answer a
            # question never seen here); or a reminder to confirm.
            greeting = await self._continuations.greeting(sender, conversation)
            if greeting is not None:
                return [_to(sender, reply) for reply in greeting]
        return await self._turn(sender, conversation, message, metadata, channel)

    async def conversation_of(self, sender: str) -> str:
        """The conversation a sender's turns belong to: its own, or the one it continues."""
        if self._continuations is None:
            return sender
        return await self._continuations.conversation_of(sender)

    def _refusal(self, message: str) -> str | None:
        """The answer to a message that must not reach the dialogue, else None."""
        if len(message) > self._max_message_chars:
            return TOO_LONG_REPLY.format(limit=self._max_message_chars)
        if not message.strip():
            return EMPTY_REPLY
        return None

    async def _turn(
        self,
        sender: str,
        conversation: str,
        message: str,
        metadata: dict[str, Any] | None,
        channel: str,
    ) -> list[dict[str, Any]]:
        started = time.perf_counter()
        if self._continuations is not None:
            asked = await self._continuations.code_during_handoff(
                sender, conversation, message, channel in SPOKEN
            )
            if asked is not None:
                return [_to(sender, reply) for reply in asked]
        replies: list[dict[str, Any]] = []
        if self._relay is not None:
            relayed = await self._relay.intercept(conversation, message, channel)
            if relayed.handled:
                return [_to(sender, reply) for reply in relayed.replies]
            replies = relayed.replies  # "back with the assistant", before its answer
        queue = await self._held.take(conversation) + [HeldMessage(message, metadata)]
        status = await self._ask_rasa(sender, conversation, queue, channel, replies)
        if handoff_opened(replies):
            await self._state.announce(QUEUE_NEWS)
        log.info(
            "turn sender=%s channel=%s status=%s replayed=%d replies=%d ms=%.0f",
            pseudonym(sender),
            channel,
            status,
            len(queue) - 1,
            len(replies),
            (time.perf_counter() - started) * 1000,
        )
        return [_to(sender, reply) for reply in replies]

    async def _ask_rasa(
        self,
        sender: str,
        conversation: str,
        queue: list[HeldMessage],
        channel: str,
        replies: list[dict[str, Any]],
    ) -> str:
        """Sends the messages Rasa missed and this one, adding its replies (or the
        polite answer) to `replies`; the turn's status, for the log."""
        for position, item in enumerate(queue):
            try:
                replies += await self._rasa.send(
                    conversation, item.message, item.metadata, rasa_input_of(channel)
                )
            except RasaUnavailable as error:
                await self._held.hold(conversation, queue[position:])
                replies.append(_bot_message(sender, BUSY_REPLY))
                return f"rasa_unavailable:{error}"
            except RasaTimeout:
                replies.append(_bot_message(sender, SLOW_REPLY))
                return "rasa_timeout"
        if not replies:
            replies.append(_bot_message(sender, NOTHING_DONE_REPLY))
            return "no_reply"
        return "ok"


def normalise(reply: dict[str, Any], sender: str) -> dict[str, Any]:
    """Every reply carries recipient_id, text and buttons, as DESIGN.md promises."""
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in reply.get("buttons") or []
    ]
    return {
        **reply,
        "recipient_id": reply.get("recipient_id", sender),
        "text": reply.get("text", ""),
        "buttons": buttons,
    }


def _to(sender: str, reply: dict[str, Any]) -> dict[str, Any]:
    """A reply for the sender who spoke, whichever conversation it continues."""
    return normalise({**reply, "recipient_id": sender}, sender)


def _bot_message(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text}
