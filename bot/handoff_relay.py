"""The handoff relay: while a person's conversation is with a lawyer, the gateway
carries messages both ways instead of the assistant.

* Person → lawyer: `TurnHandler.handle` asks `intercept` first. While the sender
  has an open ticket (RelayStore.open_ticket_for) the message goes to the
  ticket (add_person_message), not to Rasa, whatever the channel. The person is
  acknowledged while nobody has claimed the ticket, and once after a lawyer has.
  "不等了"/"取消" cancels; "约时间回电" with a time books a callback.
* Lawyer → person: the web chat and REST clients poll
  `GET /api/chat/updates?sender=…&after=…` (a long poll answering in the REST
  reply shape, the lawyer's name as `speaker`). A push channel (Telegram,
  WeChat) registers a `Deliverer` with `HandoffRelay.deliverers`; the console
  calls `push` when a lawyer writes or ends the conversation. Channels that can
  neither poll nor be pushed to (the kiosk, the hotline between turns) get the
  lawyer's new messages with the reply to their next turn.
* The end: when the lawyer hands the conversation back (or closes it), the next
  poll, push or turn resumes Rasa (a `resume` event) and says so in words, once.

What was relayed and whether the end was told are kept with the ticket
(RelayStore.take_lawyer_messages, ended_untold), so a restarted gateway
neither repeats a message nor forgets to say the lawyer has gone.

Nothing here logs message text or ids (bot/privacy.py pseudonyms only).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from bot.appkeys import RELAY, TURNS
from bot.messages import (
    ASK_CALLBACK,
    CALLBACK_BOOKED,
    CALLBACK_REFUSED,
    CLAIMED_ACK,
    HANDOFF_CANCELLED,
    HANDOFF_CLOSED,
    HANDOFF_RETURNED,
    OTHER_LAWYER_ACK,
    OTHER_LAWYER_NOTE,
    RELAY_STORE_DOWN,
    UPDATES_QUERY_RULE,
    UPDATES_UNAVAILABLE,
    WAITING_ACK,
)
from bot.privacy import pseudonym
from bot.responses import json_response
from bot.shared_state import LocalState, SharedState, hashed, is_first
from bot.web_identity import speaker_of
from legal_aid.channels import POLLING
from legal_aid.times import said_time, time_heard
from store.handoff import LawyerMessage, RelayStore

log = logging.getLogger("bot.handoff_relay")

POLL_SECONDS = 20.0  # a long poll answers at the latest after this
# How long the relay remembers an acknowledgement or a question it asked.
RELAY_MEMORY_SECONDS = 24 * 3600.0
POLL_INTERVAL = 1.0

RESTART_PAYLOADS = ("/start_over", "/restart")
CANCEL_WORDS = ("不等了", "取消", "不用等了", "不找人工了", "结束人工", "算了")
CALLBACK_WORDS = ("回电", "打电话给我", "给我打电话", "打给我")
OTHER_LAWYER_WORDS = ("换一位", "换个律师", "换一个律师", "别的律师")

ENDED = {"returned": HANDOFF_RETURNED, "closed": HANDOFF_CLOSED, "cancelled": HANDOFF_CANCELLED}

PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}")


# Words ------------------------------------------------------------------------------


def says_any(message: str, words: tuple[str, ...]) -> bool:
    return any(word in message for word in words)


# The relay ---------------------------------------------------------------------------


# Pauses before each new try of a push the channel did not accept: about an
# hour in all; after that the person's next message or poll still catches up.
PUSH_RETRY_SECONDS = (2.0, 10.0, 30.0, 120.0, 600.0, 1800.0)

# A push channel's delivery: (sender id, replies in the REST shape); raises
# when the channel did not accept them.
Deliverer = Callable[[str, list[dict[str, Any]]], Awaitable[None]]


def _asked_callback_key(sender: str) -> str:
    return f"relay:asked_callback:{hashed(sender)}"


def handoff_opened(replies: list[dict[str, Any]]) -> bool:
    """Whether the dialogue's 转人工 opened a ticket (action_handoff's marker)."""
    return any(
        ((reply.get("custom") or {}).get("handoff") or {}).get("status") == "open"
        for reply in replies
    )


@dataclass
class Outcome:
    """What intercept decided: `handled` replies instead of Rasa's, or replies
    to put before Rasa's (the notice that the person is back with the assistant)."""

    handled: bool
    replies: list[dict[str, Any]] = field(default_factory=list)


class HandoffRelay:
    def __init__(
        self,
        store: RelayStore,
        resume: Callable[[str], Awaitable[None]],
        state: SharedState | None = None,
    ) -> None:
        self._store = store
        self._resume = resume
        # In the gateways' shared state, expiring, and harmless to forget: whose
        # claim was acknowledged, and who was asked for a callback time (the
        # person's next message may reach another gateway).
        self._state = state or LocalState()
        self.deliverers: dict[str, Deliverer] = {}
        # Pushes under way per ticket, and those asked again meanwhile: one
        # push at a time per ticket, so no message is sent twice by this gateway.
        self._pushing: set[str] = set()
        self._push_again: set[str] = set()
        self._retries: dict[str, asyncio.Task[None]] = {}

    async def has_open_ticket(self, conversation: str) -> bool:
        return await asyncio.to_thread(self._store.open_ticket_for, conversation) is not None

    async def intercept(self, sender: str, message: str, channel: str) -> Outcome:
        """Called for every turn before Rasa."""
        try:
            # One query on every turn: an open ticket, or one whose end is untold.
            reference, untold = await asyncio.to_thread(self._store.relay_state, sender)
        except Exception:
            # The assistant answers instead; a paused conversation says it did
            # nothing (bot/turns.py), so the person knows to say it again.
            log.exception("handoff store unavailable sender=%s", pseudonym(sender))
            return Outcome(False)
        if reference is None:
            return Outcome(False, await self._tell_end(sender, untold))
        if message.split("{")[0].strip() in RESTART_PAYLOADS:
            # /restart on Telegram, "重新开始" pressed: the wait ends, and the
            # assistant starts over (it is resumed before it gets the message).
            await asyncio.to_thread(self._store.cancel, reference)
            return Outcome(False, await self.ended(sender))
        try:
            replies = await self._relay(sender, reference, message, channel)
        except Exception:
            log.exception("handoff relay failed sender=%s", pseudonym(sender))
            replies = [_reply(sender, RELAY_STORE_DOWN)]
        log.info("handoff relay sender=%s channel=%s", pseudonym(sender), channel)
        return Outcome(True, replies)

    async def _relay(
        self, sender: str, reference: str, message: str, channel: str
    ) -> list[dict[str, Any]]:
        if says_any(message, CANCEL_WORDS):
            await asyncio.to_thread(self._store.cancel, reference)
            return await self.ended(sender)
        await asyncio.to_thread(self._store.add_person_message, sender, message)
        replies = await self._answer(sender, reference, message)
        if channel not in POLLING:
            replies = await self._unheard(sender, reference) + replies
        return replies

    async def _answer(self, sender: str, reference: str, message: str) -> list[dict[str, Any]]:
        """The short answer to a relayed message (or none, once a lawyer has it)."""
        asked = await self._state.get(_asked_callback_key(sender))
        if asked or says_any(message, CALLBACK_WORDS):
            return [_reply(sender, await self._callback(sender, reference, message))]
        if says_any(message, OTHER_LAWYER_WORDS):
            await asyncio.to_thread(self._store.add_message, reference, "system", OTHER_LAWYER_NOTE)
            return [_reply(sender, OTHER_LAWYER_ACK)]
        waiting = await asyncio.to_thread(self._store.queue_position, reference)
        if waiting is not None:
            return [_reply(sender, WAITING_ACK)]
        if await is_first(self._state, f"relay:acknowledged:{reference}", RELAY_MEMORY_SECONDS):
            return [_reply(sender, CLAIMED_ACK)]
        return []

    async def _callback(self, sender: str, reference: str, message: str) -> str:
        now = datetime.now(timezone.utc)
        at = time_heard(message, now)
        if at is None:
            await self._state.put(_asked_callback_key(sender), "1", RELAY_MEMORY_SECONDS)
            return ASK_CALLBACK
        phone = PHONE.search(message)
        try:
            await asyncio.to_thread(
                self._store.request_callback, reference, at, phone.group(0) if phone else None
            )
        except ValueError:  # HandoffError: outside the next 30 days; a claimed ticket
            await self._state.put(_asked_callback_key(sender), "1", RELAY_MEMORY_SECONDS)
            return CALLBACK_REFUSED
        await self._state.pop(_asked_callback_key(sender))
        return CALLBACK_BOOKED.format(
            time=said_time(at, now), phone=f"（{phone.group(0)}）" if phone else ""
        )

    async def _unheard(self, sender: str, reference: str) -> list[dict[str, Any]]:
        """The lawyer's messages this sender's channel has not had yet."""
        messages = await asyncio.to_thread(self._store.take_lawyer_messages, reference)
        return [_lawyer_reply(sender, m) for m in messages]

    async def ended(self, sender: str) -> list[dict[str, Any]]:
        """Once, after the sender's ticket ended: resume Rasa and say who is talking now."""
        untold = await asyncio.to_thread(self._store.ended_untold, sender)
        return await self._tell_end(sender, untold)

    async def _tell_end(self, sender: str, untold: tuple[str, str] | None) -> list[dict[str, Any]]:
        if untold is None:
            return []
        reference, status = untold
        try:
            await self._resume(sender)
        except Exception:
            # Rasa is down: still untold, so the next turn or poll resumes it.
            log.exception("resume failed sender=%s", pseudonym(sender))
            return []
        if not await asyncio.to_thread(self._store.mark_end_told, reference):
            return []  # a poll or push at the same moment has said it
        log.info("handoff ended status=%s sender=%s", status, pseudonym(sender))
        notice = _reply(sender, ENDED.get(status or "", HANDOFF_RETURNED))
        notice["custom"] = {"handoff": {"status": status or "ended"}}
        return [notice]

    async def updates(
        self, sender: str, after: int, wait: float = POLL_SECONDS
    ) -> list[dict[str, Any]]:
        """The lawyer's messages after `after`, or the end notice; waits up to `wait`."""
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            reference = await asyncio.to_thread(self._store.open_ticket_for, sender)
            if reference is None:
                return await self.ended(sender) or [_closed_marker(sender)]
            messages = await asyncio.to_thread(
                self._store.lawyer_messages_for_person, reference, after
            )
            if messages:
                await asyncio.to_thread(self._store.mark_relayed, reference, messages[-1].id)
            if messages or asyncio.get_running_loop().time() >= deadline:
                return [_lawyer_reply(sender, m) for m in messages]
            await asyncio.sleep(POLL_INTERVAL)

    async def conversation_for_person(self, sender: str) -> list[tuple[str, str]] | None:
        """Both sides of the open handoff, for a page that redraws it (None: none open)."""
        return await asyncio.to_thread(self._store.open_conversation_for_person, sender)

    # The telephone's side (bot/hotline/person.py): a caller on the line waits,
    # is transferred or books a callback by keys, not by the words above.

    async def waiting(self, sender: str) -> tuple[str, int] | None:
        """The sender's open ticket and its place in the queue, while nobody has it."""
        reference = await asyncio.to_thread(self._store.open_ticket_for, sender)
        if reference is None:
            return None
        place = await asyncio.to_thread(self._store.queue_position, reference)
        return None if place is None else (reference, place)

    async def book_callback(self, reference: str, at: datetime, phone: str) -> None:
        """Raises HandoffError (a ValueError) for a time or number the store refuses."""
        await asyncio.to_thread(self._store.request_callback, reference, at, phone)

    async def note(self, reference: str, text: str) -> None:
        """A line for whoever opens the ticket ("来电已转接…")."""
        await asyncio.to_thread(self._store.add_message, reference, "system", text)

    async def leave(self, reference: str, why: str) -> None:
        """The caller left the queue (hung up): the ticket ends, with why."""
        await self.note(reference, why)
        await asyncio.to_thread(self._store.cancel, reference)

    async def push(self, reference: str) -> None:
        """The console's call after a lawyer writes or ends the conversation: a push
        channel gets it now. A message counts as delivered only once the channel
        accepted it; until then the console shows it pending, and a failed push is
        tried again with growing pauses (PUSH_RETRY_SECONDS)."""
        if reference in self._pushing:
            self._push_again.add(reference)  # the push under way goes round again
            return
        self._pushing.add(reference)
        try:
            delivered = await self._push_until_done(reference)
        finally:
            self._pushing.discard(reference)
        if not delivered:
            self._retry_later(reference)

    async def _push_until_done(self, reference: str) -> bool:
        while True:
            self._push_again.discard(reference)
            if not await self._push_once(reference):
                return False
            if reference not in self._push_again:
                return True

    async def _push_once(self, reference: str) -> bool:
        """True when there was nothing to push, or the channel accepted it all."""
        channel = "unknown"
        try:
            # The person may have moved to another channel with a code (接续码):
            # the ticket stays the conversation's, the message goes where they are.
            conversation, channel, sender = await asyncio.to_thread(
                self._store.relay_route, reference
            )
            deliver = self.deliverers.get(channel)
            if deliver is None or not sender:
                return True  # a polling or spoken channel: it fetches for itself
            if await asyncio.to_thread(self._store.open_ticket_for, conversation) == reference:
                return await self._deliver_pending(reference, conversation, sender, deliver)
            replies = await self.ended(conversation)
            if replies:
                await deliver(sender, [{**reply, "recipient_id": sender} for reply in replies])
            return True
        except Exception as error:  # noqa: BLE001 - any failure: kept pending, retried
            # The type only: a channel's error may quote the message.
            log.warning("handoff push failed channel=%s: %s", channel, type(error).__name__)
            return False

    async def _deliver_pending(
        self, reference: str, conversation: str, sender: str, deliver: Deliverer
    ) -> bool:
        messages = await asyncio.to_thread(self._store.pending_lawyer_messages, reference)
        if not messages:
            return True
        replies = [_lawyer_reply(conversation, m) for m in messages]
        await deliver(sender, [{**reply, "recipient_id": sender} for reply in replies])
        # Only now: had the channel refused, the messages would stay pending.
        await asyncio.to_thread(self._store.mark_relayed, reference, messages[-1].id)
        return True

    def _retry_later(self, reference: str) -> None:
        if reference in self._retries:
            return  # already being retried: that one will take the new message too
        task = asyncio.ensure_future(self._retry(reference))
        self._retries[reference] = task
        task.add_done_callback(lambda _: self._retries.pop(reference, None))

    async def _retry(self, reference: str) -> None:
        for pause in PUSH_RETRY_SECONDS:
            await asyncio.sleep(pause)
            if reference in self._pushing:
                continue
            self._pushing.add(reference)
            try:
                if await self._push_until_done(reference):
                    return
            finally:
                self._pushing.discard(reference)
        log.warning("handoff push gave up after %d tries", len(PUSH_RETRY_SECONDS) + 1)

    async def close(self) -> None:
        for task in list(self._retries.values()):
            task.cancel()


def _reply(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text, "buttons": []}


def _lawyer_reply(sender: str, message: LawyerMessage) -> dict[str, Any]:
    return {**_reply(sender, message.text), "speaker": message.speaker, "id": message.id}


def _closed_marker(sender: str) -> dict[str, Any]:
    """No ticket open: the page stops polling."""
    return {
        "recipient_id": sender,
        "text": "",
        "buttons": [],
        "custom": {"handoff": {"status": "none"}},
    }


# The gateway ------------------------------------------------------------------------


async def chat_updates(request: web.Request) -> web.Response:
    answer = await updates_for(request)
    if isinstance(answer, web.Response):
        return answer
    return json_response(answer[1])


async def updates_for(
    request: web.Request,
) -> tuple[str, list[dict[str, Any]]] | web.Response:
    """The long poll's answer for `?after=…` (the sender is the caller's own,
    bot/web_identity.py; `&sender=…` only from a trusted server), or the error
    response. Shared with the voice page's spoken updates (bot/voice_chat.py)."""
    named = request.query.get("sender")
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        after = -1
    if (named is not None and not 0 < len(named) <= 128) or after < 0:
        return web.json_response({"error": UPDATES_QUERY_RULE}, status=400)
    speaker = speaker_of(request, named)
    relay = request.config_dict.get(RELAY)
    if speaker.new or relay is None:
        # Nobody proved who they are (a new id has no lawyer's messages), or
        # the relay is off (no key): nothing can arrive, and nothing is marked.
        return speaker.sender, []
    sender = speaker.sender
    try:
        # A sender that continues another conversation (接续码) polls for that one.
        conversation = await request.config_dict[TURNS].conversation_of(sender)
        replies = await relay.updates(conversation, after)
        return sender, [{**reply, "recipient_id": sender} for reply in replies]
    except Exception:
        log.exception("handoff updates failed sender=%s", pseudonym(sender))
        return web.json_response({"error": UPDATES_UNAVAILABLE}, status=503)


def routes() -> list[web.RouteDef]:
    return [web.get("/api/chat/updates", chat_updates)]
