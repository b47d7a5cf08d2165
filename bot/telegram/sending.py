"""Replies out to Telegram: long texts split, buttons as inline keyboards, and
every Bot API call retried the way Telegram asks.

* Flood control: Telegram answers 429 with `retry_after`; python-telegram-bot
  raises RetryAfter, and the call is made again after that wait.
* Network errors (and time-outs) are retried with a growing pause. A time-out
  may hide a message that did arrive, so a retry can show it twice; a
  duplicate is better than a reply the person never gets.
* A refusal (BadRequest, Forbidden: blocked, chat gone) is not retried.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.messages import TELEGRAM_CHOOSE
from bot.shared_state import SharedState

log = logging.getLogger("bot.telegram")

Result = TypeVar("Result")

# Telegram's limit for one message's text (UTF-16 code units, after entities).
MAX_MESSAGE_LENGTH = 4096
# callback_data is at most 64 bytes; longer payloads are kept here by key.
MAX_CALLBACK_BYTES = 64
ATTEMPTS = 5
FIRST_BACKOFF_SECONDS = 0.5
# A flood wait longer than this is not waited out (the turn would hang for
# minutes); the reply is given up and logged.
LONGEST_FLOOD_WAIT_SECONDS = 60.0

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
_CLAUSE_END = re.compile(r"(?<=[，、：,:\s])")


async def retrying(call: Callable[[], Awaitable[Result]], what: str = "call") -> Result:
    """`call()` until Telegram takes it: flood waits waited out, network errors retried."""
    backoff = FIRST_BACKOFF_SECONDS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as error:
            wait = _seconds(error.retry_after)
            if wait > LONGEST_FLOOD_WAIT_SECONDS or attempt == ATTEMPTS:
                raise
            log.info("telegram flood control on %s: waiting %.0f s", what, wait)
            await asyncio.sleep(wait)
        except BadRequest:
            raise  # Telegram refused the call itself: the same call fails again
        except NetworkError as error:
            if attempt == ATTEMPTS:
                raise
            log.info("telegram %s failed (%s), retrying", what, type(error).__name__)
            await asyncio.sleep(backoff)
            backoff *= 2
    raise AssertionError("unreachable")


def _seconds(retry_after: int | float | timedelta) -> float:
    # An int in python-telegram-bot 21; a timedelta from version 22 on.
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji may count two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """The text in messages of at most `limit`, cut between sentences.

    A single sentence longer than a message is cut between clauses, and only
    a clause longer than a message mid-clause.
    """
    if telegram_length(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for sentence in _pieces(text, limit):
        if current and telegram_length(current + sentence) > limit:
            chunks.append(current)
            current = ""
        current += sentence
    if current:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


def _pieces(text: str, limit: int) -> list[str]:
    """Sentences, each no longer than `limit` (long ones cut at clauses, then anywhere)."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if telegram_length(sentence) <= limit:
            pieces.append(sentence)
            continue
        for clause in _CLAUSE_END.split(sentence):
            while telegram_length(clause) > limit:
                cut = _cut_within(clause, limit)
                pieces.append(clause[:cut])
                clause = clause[cut:]
            pieces.append(clause)
    return pieces


def _cut_within(text: str, limit: int) -> int:
    """The longest prefix of `text` within `limit` UTF-16 units, whole characters only."""
    length = 0
    for index, char in enumerate(text):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > limit:
            return max(index, 1)
    return len(text)


# A long button payload is answerable this long: a week-old question is
# usually answered again by now, and its press says the button has expired.
LONG_PAYLOAD_SECONDS = 7 * 24 * 3600.0


class ButtonPayloads:
    """Rasa button payloads as callback_data, which Telegram limits to 64 bytes.

    A short payload travels in the button itself ("p" + payload), so buttons
    keep working after a gateway restart; a long one is kept in the gateways'
    shared state ("k" + key), so that any gateway can answer its press, until
    it expires (`LONG_PAYLOAD_SECONDS`).
    """

    def __init__(self, state: SharedState) -> None:
        self._state = state

    async def data_for(self, payload: str) -> str:
        data = "p" + payload
        if len(data.encode()) <= MAX_CALLBACK_BYTES:
            return data
        key = uuid.uuid4().hex
        await self._state.put(f"telegram:button:{key}", payload, LONG_PAYLOAD_SECONDS)
        return "k" + key

    async def payload_of(self, data: str | None) -> str | None:
        """The payload a pressed button stands for; None when it is forgotten or foreign."""
        if not data:
            return None
        if data.startswith("p"):
            return data[1:] or None
        if data.startswith("k"):
            return await self._state.get(f"telegram:button:{data[1:]}")
        return None


async def keyboard(buttons: list[dict[str, Any]], payloads: ButtonPayloads) -> InlineKeyboardMarkup:
    """One button a row: titles are whole phrases, and a screen reader reads them in order."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["title"], callback_data=await payloads.data_for(b["payload"]))]
            for b in buttons
            if b.get("title")
        ]
    )


def reply_text(reply: dict[str, Any]) -> str:
    """What a reply shows: a lawyer's message says who wrote it."""
    text = str(reply.get("text") or "")
    speaker = reply.get("speaker")
    if speaker and text:
        return f"【{speaker}】{text}"
    return text


async def send_text(
    bot: Any,
    chat_id: int,
    text: str,
    buttons: list[dict[str, Any]] | None = None,
    payloads: ButtonPayloads | None = None,
) -> None:
    """One reply as one or more messages; the buttons go with the last part."""
    if not text.strip() and buttons:
        text = TELEGRAM_CHOOSE
    chunks = split_text(text)
    for position, chunk in enumerate(chunks):
        markup = None
        if buttons and payloads is not None and position == len(chunks) - 1:
            markup = await keyboard(buttons, payloads)
        await retrying(
            lambda chunk=chunk, markup=markup: bot.send_message(
                chat_id, chunk, reply_markup=markup
            ),
            "sendMessage",
        )
