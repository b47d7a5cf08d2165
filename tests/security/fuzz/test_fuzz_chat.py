"""POST /api/chat under every body, content type and identity a client could send.

Properties (each input): no 5xx, an answer in time, and either the contract's
reply list (200) or a rejection that says why in Chinese. After each batch the
gateway still answers a plain message.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.fuzz.probe import Answer, Request, says_why_in_chinese, send, survives
from tests.security.fuzz.settings import BATCH, fuzz_settings
from tests.security.fuzz.strategies import (
    authorizations,
    content_types,
    cookies,
    deep_nesting,
    encoded,
    header_text,
    headers_of,
    json_values,
    odd_text,
)

TARGET = "POST /api/chat"
# Just past the gateway's body limit (bot/app.py MAX_REQUEST_BYTES is 256 KiB).
HUGE_SIZES = st.sampled_from([3_000, 70_000, 262_000, 262_145, 400_000])


@st.composite
def chat_objects(draw: st.DrawFn) -> dict:
    """Objects shaped like the contract's, each part right, wrong or missing."""
    body: dict = {}
    if draw(st.integers(0, 9)):
        body["message"] = draw(st.one_of(odd_text, json_values))
    if draw(st.integers(0, 3)) == 0:
        body["sender"] = draw(st.one_of(odd_text, json_values, st.just("telegram:1")))
    if draw(st.integers(0, 3)) == 0:
        body["metadata"] = draw(json_values)
    extra = draw(st.dictionaries(odd_text, json_values, max_size=2))
    return {**extra, **body}


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 99))
    if kind < 55:
        return encoded(draw(chat_objects()), draw(st.booleans()))
    if kind < 75:
        return encoded(draw(json_values), draw(st.booleans()))
    if kind < 90:
        return draw(st.binary(max_size=300))
    if kind < 96:
        return draw(deep_nesting())
    size = draw(HUGE_SIZES)
    return b'{"message": "' + b"\xe6\xac\xa0" * (size // 3) + b'"}'


@st.composite
def chat_requests(draw: st.DrawFn) -> Request:
    headers = headers_of(draw(content_types), draw(authorizations), draw(cookies))
    if draw(st.integers(0, 19)) == 0:
        headers["X-Forwarded-For"] = draw(header_text)
    return Request("POST", "/api/chat", draw(bodies()), headers)


def judge(request: Request, answer: Answer) -> str | None:
    if answer.status == 200:
        replies = answer.json()
        if not isinstance(replies, list) or not all(isinstance(r, dict) for r in replies):
            return "a 200 that is not the reply list"
        return None
    if not says_why_in_chinese(answer):
        return "a rejection without a Chinese reason"
    return None


NORMAL = Request(
    "POST",
    "/api/chat",
    b'{"message": "\xe4\xbd\xa0\xe5\xa5\xbd"}',
    {"Content-Type": "application/json"},
)


async def still_answers(gateway) -> None:
    """The gateway, after the batch, answers a plain message as ever."""
    answer = await send(gateway.session, gateway.servers.web, NORMAL)
    assert answer.status == 200, answer.text


@fuzz_settings()
@given(batch=st.lists(chat_requests(), min_size=BATCH, max_size=BATCH))
def test_chat_answers_every_body(fuzz_gateway, error_log, batch):
    servers = fuzz_gateway.servers
    survives(fuzz_gateway, error_log, TARGET, judge, {servers.web: batch}, still_answers)


# Minutes of generated input: the full suite's (CI), not ./dev test --fast.
pytestmark = pytest.mark.stack
