"""POST /telegram/webhook under generated updates, with the secret token right,
wrong or missing.

Properties (each input): no 5xx, an answer in time, and only the protocol's
answers: 403 without the secret, 200 for an update, 400 for JSON that is no
update (Telegram never sends one: nobody reads that answer but a forger).
The updates accepted are handled in the background: the queue must drain
within the liveness bound, and no handler may fail (an ERROR in the log).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.limits import MAX_REQUEST_BYTES
from bot.telegram import TELEGRAM
from bot.telegram.webhook import PATH, SECRET_HEADER
from tests.security.fuzz.harness import TELEGRAM_SECRET
from tests.security.fuzz.probe import Answer, Request, send, survives
from tests.security.fuzz.settings import BATCH, LIVENESS_SECONDS, fuzz_settings
from tests.security.fuzz.strategies import (
    content_types,
    encoded,
    header_text,
    json_values,
    long_text,
    odd_text,
)

TARGET = "POST /telegram/webhook"
_update_ids = itertools.count(1)
# Half a batch per example, twice the examples: fifty updates, each a message with
# its person, chat and odd fields, outgrew hypothesis' buffer three times in
# four, and generating the examples thrown away took most of the target's minutes.
UPDATES_PER_EXAMPLE = BATCH // 2
COMMANDS = ["/start", "/help", "/human", "/repeat", "/slower", "/faster", "/restart", "/x"]


def maybe(draw: st.DrawFn, value: Any, odd: st.SearchStrategy = json_values) -> Any:
    """The value, mostly; sometimes something else of any type."""
    return value if draw(st.integers(0, 7)) else draw(odd)


@st.composite
def people(draw: st.DrawFn) -> dict:
    person_id = draw(st.integers(1, 2**40))
    return {
        "id": maybe(draw, person_id),
        "is_bot": maybe(draw, draw(st.booleans())),
        "first_name": maybe(draw, draw(odd_text)),
    }


@st.composite
def messages(draw: st.DrawFn) -> dict:
    person = draw(people())
    message: dict[str, Any] = {
        "message_id": maybe(draw, draw(st.integers(0, 2**31))),
        "date": maybe(draw, int(time.time())),
        "chat": maybe(draw, {"id": person["id"], "type": maybe(draw, "private", odd_text)}),
        "from": person,
    }
    kind = draw(st.integers(0, 5))
    if kind < 3:
        text = draw(st.one_of(odd_text, st.sampled_from(COMMANDS), long_text))
        message["text"] = maybe(draw, text)
        if isinstance(text, str) and text.startswith("/"):
            length = draw(st.integers(-2, 40))
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    elif kind == 3:
        message["voice"] = {
            "file_id": maybe(draw, draw(odd_text)),
            "file_unique_id": "u",
            "duration": maybe(draw, draw(st.integers(-5, 10**6))),
        }
    elif kind == 4:
        message[draw(st.sampled_from(["photo", "location", "document", "sticker"]))] = draw(
            json_values
        )
    for key in draw(st.lists(odd_text, max_size=2)):
        message.setdefault(key, draw(json_values))
    return message


@st.composite
def updates(draw: st.DrawFn) -> Any:
    kind = draw(st.integers(0, 9))
    update: dict[str, Any] = {"update_id": maybe(draw, next(_update_ids))}
    if kind < 6:
        update["message"] = draw(messages())
    elif kind < 8:
        message = draw(messages())
        update["callback_query"] = {
            "id": maybe(draw, draw(odd_text)),
            "from": message["from"],
            "chat_instance": "ci",
            "data": maybe(draw, draw(odd_text)),
            "message": maybe(draw, message),
        }
    elif kind == 8:
        update[draw(st.sampled_from(["edited_message", "channel_post", "poll", "x"]))] = draw(
            json_values
        )
    else:
        return draw(json_values)
    return update


@st.composite
def webhook_requests(draw: st.DrawFn) -> Request:
    secret = draw(st.integers(0, 9))
    headers: dict[str, str] = {}
    if secret < 7:
        headers[SECRET_HEADER] = TELEGRAM_SECRET
    elif secret < 9:
        headers[SECRET_HEADER] = draw(header_text)
    if draw(st.integers(0, 4)) == 0:
        content_type = draw(content_types)
        if content_type is not None:
            headers["Content-Type"] = content_type
    else:
        headers["Content-Type"] = "application/json"
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.binary(max_size=200))
    else:
        body = encoded(draw(updates()), draw(st.booleans()))
    label = "secret" if secret < 7 else "no-secret"
    return Request("POST", PATH, body, headers, label=label)


def judge(request: Request, answer: Answer) -> str | None:
    if request.label == "no-secret":
        return None if answer.status in (401, 403) else "not refused without the secret"
    if answer.status == 200:
        return None
    if answer.status == 400:
        return None  # not an update; only a forger holding the secret sees this
    if answer.status == 413 and len(request.body) > MAX_REQUEST_BYTES:
        return None  # larger than any update Telegram sends: refused unread, in Chinese
    return "not one of the webhook's answers"


async def drained(gateway: Any) -> None:
    """The accepted updates are all handled within the liveness bound."""
    application = next(app[TELEGRAM] for app in gateway.apps if TELEGRAM in app)
    deadline = time.monotonic() + LIVENESS_SECONDS
    while application.update_queue.qsize() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not application.update_queue.qsize(), "the update queue did not drain"


async def still_answers(gateway: Any) -> None:
    update = {"update_id": next(_update_ids), "message": {
        "message_id": 1, "date": int(time.time()), "text": "你好",
        "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": False, "first_name": "a"},
    }}  # fmt: skip
    request = Request(
        "POST",
        PATH,
        json.dumps(update).encode(),
        {SECRET_HEADER: TELEGRAM_SECRET, "Content-Type": "application/json"},
    )
    answer = await send(gateway.session, gateway.servers.web, request)
    assert answer.status == 200, answer.text


@fuzz_settings(scale=BATCH / UPDATES_PER_EXAMPLE)
@given(
    batch=st.lists(webhook_requests(), min_size=UPDATES_PER_EXAMPLE, max_size=UPDATES_PER_EXAMPLE)
)
def test_telegram_webhook_answers_every_update(fuzz_gateway, error_log, batch):
    async def answered_and_drained(gateway: Any) -> None:
        await still_answers(gateway)
        await drained(gateway)

    servers = fuzz_gateway.servers
    survives(fuzz_gateway, error_log, TARGET, judge, {servers.web: batch}, answered_and_drained)


# Minutes of generated input: the full suite's (CI), not ./dev test --fast.
pytestmark = pytest.mark.stack
