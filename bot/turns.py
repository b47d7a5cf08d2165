"""One user turn: pass the message to Rasa, or keep it and answer politely.

Every channel calls `TurnHandler.handle`, so the busy answer, the retry and the
per-turn log line are the same everywhere.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from bot.privacy import pseudonym
from bot.rasa_client import RasaClient, RasaTimeout, RasaUnavailable
from bot.recent import Recent
from legal_aid.channels import SPOKEN, WEB, rasa_input_of

log = logging.getLogger("bot.turns")

BUSY_REPLY = (
    "系统暂时繁忙，您的话我已经记下了，恢复后会接着处理。"
    "请过一会儿再发一条消息；着急的话，可以拨打12348公共法律服务热线。"
)
# Rasa answered nothing: an action failed (the action server died or erred)
# and Rasa carried on without its events. Said so, rather than silence.
NOTHING_DONE_REPLY = (
    "抱歉，这条消息刚才没有处理完，您之前说的都还在。请再说一次；"
    "着急的话，可以拨打12348公共法律服务热线。"
)
SLOW_REPLY = (
    "系统反应有点慢，这条消息可能没有处理完。请过一会儿再说一次；"
    "着急的话，可以拨打12348公共法律服务热线。"
)


@dataclass
class HeldMessage:
    message: str
    metadata: dict[str, Any] | None
    held_at: float = field(default_factory=time.time)


class HeldMessages:
    """Messages Rasa never received, replayed in order on the sender's next turn.

    Kept in memory only and briefly: they may hold personal data, and they
    exist to bridge a restart of the Rasa server, not to store anything.
    """

    def __init__(self, max_senders: int = 10_000, per_sender: int = 10, max_age: float = 3600):
        self._by_sender: Recent[list[HeldMessage]] = Recent(max_senders)
        self._per_sender = per_sender
        self._max_age = max_age

    def hold(self, sender: str, held: list[HeldMessage]) -> None:
        self._by_sender.put(sender, held[-self._per_sender :])

    def take(self, sender: str) -> list[HeldMessage]:
        fresh_after = time.time() - self._max_age
        return [m for m in self._by_sender.pop(sender) or [] if m.held_at >= fresh_after]


class TurnHandler:
    def __init__(self, rasa: RasaClient) -> None:
        self._rasa = rasa
        self._held = HeldMessages()
        # The handoff relay (bot/handoff_relay.py), set when the gateway starts:
        # while a lawyer has the conversation, messages go to the lawyer instead.
        self.relay: Any = None
        # 接续码 (bot/continuation.py), set when the gateway starts: a sender that
        # brought a code from another channel continues that conversation.
        self.continuations: Any = None

    async def handle(
        self,
        sender: str,
        message: str,
        metadata: dict[str, Any] | None = None,
        channel: str = WEB.name,
    ) -> list[dict[str, Any]]:
        """The replies to one user message, in the REST channel's shape."""
        started = time.perf_counter()
        replies: list[dict[str, Any]] = []
        conversation = sender
        if self.continuations is not None:
            linked = await self.continuations.answer_code(sender, message, channel)
            if linked is not None:  # "接续 385271": redeemed here, never sent to Rasa
                return [normalise(reply, sender) for reply in linked]
            conversation = await self.continuations.conversation_of(sender)
            asked = await self.continuations.code_during_handoff(
                sender, conversation, message, channel in SPOKEN
            )
            if asked is not None:
                return [normalise(reply, sender) for reply in asked]
        if self.relay is not None:
            relayed = await self.relay.intercept(conversation, message, channel)
            if relayed.handled:
                return [_to(sender, reply) for reply in relayed.replies]
            replies = relayed.replies  # "back with the assistant", before its answer
        queue = self._held.take(conversation) + [HeldMessage(message, metadata)]
        status = "ok"
        for position, item in enumerate(queue):
            try:
                replies += await self._rasa.send(
                    conversation, item.message, item.metadata, rasa_input_of(channel)
                )
            except RasaUnavailable as error:
                self._held.hold(conversation, queue[position:])
                replies.append(_bot_message(sender, BUSY_REPLY))
                status = f"rasa_unavailable:{error}"
                break
            except RasaTimeout:
                replies.append(_bot_message(sender, SLOW_REPLY))
                status = "rasa_timeout"
                break
        if status == "ok" and not replies:
            replies.append(_bot_message(sender, NOTHING_DONE_REPLY))
            status = "no_reply"
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
