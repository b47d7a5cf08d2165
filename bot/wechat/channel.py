"""The official account's callback: one message in, the answer out, once.

WeChat waits five seconds for the answer and, without one, sends the same
callback again (three tries in all). So each message's turn runs as a task
of its own, keyed by MsgId (or sender and CreateTime for events): a retry
waits for the same task and never starts a second turn. Behind a load
balancer a retry may reach another gateway: the first gateway to see a
message claims it in the shared state (bot/shared_state.py), and any other
answers "success" to its retries, leaving the answer to the one that has it. Whichever request
finds the answer ready first within the budget (`wechat_reply_seconds`)
answers it passively; if none does, the first to give up answers "success"
and the answer goes by the customer-service API when it is ready. Either
way the answer is delivered exactly once (`Delivery.claim`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from wechatpy.messages import BaseMessage

from bot.messages import WECHAT_BAD_MESSAGE
from bot.privacy import pseudonym
from bot.recent import Recent
from bot.shared_state import SharedState, hashed, is_first
from bot.wechat import text as wechat_text
from bot.wechat.api import WeChatApi, WeChatApiError
from bot.wechat.replay import Nonces, fresh
from bot.wechat.wire import MAX_CALLBACK_BYTES, BadCallback, BadSignature, Wire
from legal_aid.channels import WECHAT

log = logging.getLogger("bot.wechat")

# The answer WeChat takes as "received, nothing to show": no retry, no error shown.
SUCCESS = "success"
# WeChat's three tries of a message come within about fifteen seconds.
MESSAGE_CLAIM_SECONDS = 60.0


def sender_of(openid: str) -> str:
    """The gateway's sender id of a WeChat user (Rasa's conversation, the relay's key)."""
    return WECHAT.sender(openid)


def openid_of(sender: str) -> str:
    return sender.removeprefix(WECHAT.sender_prefix)


@dataclass
class Turn:
    """What a message led to: replies in the REST shape, and whether to speak them too."""

    replies: list[dict[str, Any]]
    spoken: bool = False


@dataclass
class Delivery:
    """One message's turn, shared by WeChat's retries of it."""

    task: asyncio.Task[Turn]
    _claimed: bool = field(default=False)

    def claim(self) -> bool:
        """True once only: the caller delivers the answer, nobody else does."""
        if self._claimed:
            return False
        self._claimed = True
        return True


Answerer = Callable[[BaseMessage], Awaitable[Turn]]


class Callback:
    """The /wechat handlers, with what they share across requests."""

    def __init__(
        self,
        wire: Wire,
        api: WeChatApi,
        answer: Answerer,
        speak: Callable[[str, list[dict[str, Any]]], Awaitable[None]],
        budget_seconds: float,
        state: SharedState,
    ) -> None:
        self._wire = wire
        self._api = api
        self._answer = answer
        self._speak = speak
        self._budget = budget_seconds
        # Retries come within fifteen seconds; a few thousand recent messages is plenty.
        self._deliveries: Recent[Delivery] = Recent(5_000)
        self._background: set[asyncio.Task[Any]] = set()
        self._state = state
        self._nonces = Nonces(state)

    def _authentic(self, query: Any) -> bool:
        """Signed by WeChat, and recent: an old signed query is refused outright."""
        return self._wire.signed(query) and fresh(query.get("timestamp", ""))

    async def verify(self, request: web.Request) -> web.Response:
        """GET: WeChat checks the URL by asking for its `echostr` back, signed."""
        if not self._authentic(request.query):
            return forbidden()
        return web.Response(text=request.query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        """POST: a message or event; answered passively in time, else by the API."""
        if not self._authentic(request.query):
            return forbidden()
        started = time.perf_counter()
        try:
            message = self._wire.message(await _body(request), request.query)
        except BadSignature as error:
            log.info("wechat callback refused: %s", error)
            return forbidden()
        except BadCallback as error:
            log.info("wechat callback refused: %s", error)
            refused = web.Response(status=400, text=WECHAT_BAD_MESSAGE)
            # The rest of an oversized body is never read: the connection closes
            # rather than carry it into the next request.
            refused.force_close()
            return refused
        if not await self._nonces.claim(request.query.get("nonce", ""), _message_key(message)):
            log.info("wechat callback refused: a nonce already used for another message")
            return forbidden()
        delivery = await self._delivery(message)
        if delivery is None:
            how, response = "elsewhere", web.Response(text=SUCCESS)
            self._log(message, how, started)
            return response
        done, _ = await asyncio.wait({delivery.task}, timeout=self._budget)
        if not delivery.claim():
            how, response = "retry", web.Response(text=SUCCESS)
        elif done and not delivery.task.cancelled() and delivery.task.exception() is None:
            how, response = self._passive(message, delivery.task.result(), request)
        else:
            how, response = "pushed", web.Response(text=SUCCESS)
            self._later(self._push_when_done(message.source, delivery.task))
        self._log(message, how, started)
        return response

    @staticmethod
    def _log(message: BaseMessage, how: str, started: float) -> None:
        log.info(
            "wechat callback sender=%s type=%s answer=%s ms=%.0f",
            pseudonym(sender_of(message.source)),
            _kind(message),
            how,
            (time.perf_counter() - started) * 1000,
        )

    async def _delivery(self, message: BaseMessage) -> Delivery | None:
        """This message's turn here; None when another gateway claimed the message."""
        key = _message_key(message)
        delivery = self._deliveries.get(key)
        if delivery is not None:
            return delivery
        if not await is_first(self._state, f"wechat:message:{hashed(key)}", MESSAGE_CLAIM_SECONDS):
            return None
        # A retry may have started the turn here while the claim was being made.
        delivery = self._deliveries.get(key)
        if delivery is None:
            delivery = Delivery(asyncio.ensure_future(self._answer(message)))
            self._deliveries.put(key, delivery)
        return delivery

    def _passive(
        self, message: BaseMessage, turn: Turn, request: web.Request
    ) -> tuple[str, web.Response]:
        """The answer in the callback's response, when it fits in one text."""
        whole = wechat_text.rendered(turn.replies)
        if turn.spoken:
            self._later(self._speak(message.source, turn.replies))
        if not whole:
            return "none", web.Response(text=SUCCESS)
        if not wechat_text.fits(whole):
            self._later(self._send_texts(message.source, turn.replies))
            return "pushed_long", web.Response(text=SUCCESS)
        xml = self._wire.reply(message, whole, request.query)
        return "passive", web.Response(text=xml, content_type="application/xml")

    async def _push_when_done(self, openid: str, task: asyncio.Task[Turn]) -> None:
        turn = await task
        await self._send_texts(openid, turn.replies)
        if turn.spoken:
            await self._speak(openid, turn.replies)

    async def _send_texts(self, openid: str, replies: list[dict[str, Any]]) -> None:
        await send_texts(self._api, openid, replies)

    def _later(self, coroutine: Awaitable[None]) -> None:
        """Runs after the response; kept referenced so it is not collected half-way."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The type only: an unexpected error's text might quote a reply.
            log.error("wechat delivery failed: %s", type(task.exception()).__name__)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()


# Pauses before a piece WeChat refused or could not be reached for is sent again.
SEND_RETRY_SECONDS = (1.0, 3.0)


async def send_texts(api: WeChatApi, openid: str, replies: list[dict[str, Any]]) -> None:
    """The replies by the customer-service API, in pieces WeChat accepts, in order.

    A piece that fails is tried again (SEND_RETRY_SECONDS); if it still fails,
    WeChatApiError is raised, so the caller knows the person did not get it
    (the handoff relay keeps a lawyer's message pending and tries later)."""
    for piece in wechat_text.split(wechat_text.rendered(replies)):
        await _send_with_retries(api, openid, piece)


async def _send_with_retries(api: WeChatApi, openid: str, piece: str) -> None:
    for attempt, pause in enumerate((*SEND_RETRY_SECONDS, None), start=1):
        try:
            await api.send_text(openid, piece)
            return
        except WeChatApiError as error:
            # errcode/errmsg and who (pseudonymised), never what was being sent.
            log.warning(
                "wechat send failed sender=%s try=%d: %s",
                pseudonym(sender_of(openid)),
                attempt,
                error,
            )
            if pause is None:
                raise
            await asyncio.sleep(pause)


async def _body(request: web.Request) -> bytes:
    """The body, read only up to just past the limit: a huge one is refused unread."""
    body = b""
    while len(body) <= MAX_CALLBACK_BYTES:
        chunk = await request.content.read(MAX_CALLBACK_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return body


def _message_key(message: BaseMessage) -> str:
    """MsgId for messages; events have none, and are told apart by sender and time
    (as WeChat advises), and by what they are: two menu buttons pressed within the
    same second are two events."""
    if message.id:
        return f"id:{message.id}"
    data = message._data
    return f"event:{message.source}:{data.get('CreateTime')}:{data.get('Event')}:{data.get('EventKey')}"


def _kind(message: BaseMessage) -> str:
    return message.event if message.type == "event" else message.type


def forbidden() -> web.Response:
    return web.Response(status=403)
