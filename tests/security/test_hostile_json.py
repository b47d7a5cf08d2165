"""Bodies the fuzz suite (tests/security/fuzz) found answered with 500, or refused
in English: each is now refused with a Chinese reason, on every route that reads JSON."""

from __future__ import annotations

import pytest

from bot.messages import CHAT_NOT_JSON, CHAT_NOT_TEXT, REQUEST_TOO_LARGE, SAY_BODY_RULE
from tests.security.gateway import database, gateway
from tests.support.gateway_api import API_HEADERS

JSON = "application/json"
HOSTILE = [
    # Deeper than the JSON parser's recursion: RecursionError.
    pytest.param(b"[" * 50_000 + b"]" * 50_000, JSON, CHAT_NOT_JSON, id="deep-nesting"),
    # A charset Python does not know: LookupError when decoding.
    pytest.param(b'{"message": "hi"}', f"{JSON}; charset=no-such", CHAT_NOT_JSON, id="charset"),
    # Valid JSON, but a lone surrogate is not text: it broke the log's pseudonym.
    pytest.param(b'{"message": "\\ud800"}', JSON, CHAT_NOT_TEXT, id="surrogate-message"),
    pytest.param(b'{"message": "hi", "metadata": {"\\udfff": 1}}', JSON, CHAT_NOT_TEXT, id="meta"),
]


@pytest.mark.parametrize(("body", "content_type", "reason"), HOSTILE)
@pytest.mark.parametrize("path", ["/api/chat", "/api/voice/say"])
async def test_hostile_json_is_refused_with_a_reason(
    monkeypatch, tmp_path, path, body, content_type, reason
):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        response = await client.post(path, data=body, headers={"Content-Type": content_type})
        assert response.status == 400
        answer = await response.json()
        assert answer["error"] in (reason, *_say_rules(path))
        normal = await client.post("/api/chat", json={"message": "你好"})
        assert normal.status == 200


def _say_rules(path: str) -> tuple[str, ...]:
    """/api/voice/say answers every unusable body with its one rule."""
    return (SAY_BODY_RULE,) if path == "/api/voice/say" else ()


async def test_a_trusted_server_naming_a_surrogate_sender_is_refused(monkeypatch, tmp_path):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        body = b'{"message": "hi", "sender": "\\ud800"}'
        response = await client.post(
            "/api/chat", data=body, headers={**API_HEADERS, "Content-Type": JSON}
        )
        assert response.status == 400
        assert (await response.json())["error"] == CHAT_NOT_TEXT


async def test_a_body_over_the_limit_is_refused_in_chinese(monkeypatch, tmp_path):
    """aiohttp's own 413 said "Maximum request body size … exceeded", in English."""
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        body = b'{"message": "' + "欠".encode() * 100_000 + b'"}'
        response = await client.post("/api/chat", data=body, headers={"Content-Type": JSON})
        assert response.status == 413
        assert (await response.json())["error"] == REQUEST_TOO_LARGE
