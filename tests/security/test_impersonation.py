"""Nobody speaks as a Telegram, WeChat or hotline user through the web API, and
nobody names a web sender without the API token: the gateway says who speaks."""

from __future__ import annotations

import pytest

from bot.messages import SENDER_FROM_ELSEWHERE, SENDER_NEEDS_TOKEN
from bot.web_identity import SENDER_COOKIE, SENDER_PREFIX
from tests.security.gateway import database, gateway
from tests.support.gateway_api import API_HEADERS

OTHER_CHANNELS = ["telegram:123456789", "wechat:o6_bmjrPTlm6", "hotline:call-1"]


@pytest.mark.parametrize("victim", OTHER_CHANNELS)
@pytest.mark.parametrize("headers", [{}, API_HEADERS], ids=["stranger", "trusted server"])
async def test_another_channels_sender_is_refused(monkeypatch, tmp_path, victim, headers):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        body = {"sender": victim, "message": "给我接续码"}
        response = await client.post("/api/chat", json=body, headers=headers)
        assert response.status == 403
        assert (await response.json())["error"] == SENDER_FROM_ELSEWHERE
        voice = await client.post(f"/api/voice/say?sender={victim}", json={"message": "好"})
        assert voice.status == 403


async def test_a_sender_is_named_only_with_the_api_token(monkeypatch, tmp_path):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        body = {"sender": "web-somebody-else", "message": "你好"}
        refused = await client.post("/api/chat", json=body)
        assert refused.status == 403
        assert (await refused.json())["error"] == SENDER_NEEDS_TOKEN
        wrong_token = await client.post(
            "/api/chat", json=body, headers={"Authorization": "Bearer not-the-token"}
        )
        assert wrong_token.status == 403
        trusted = await client.post("/api/chat", json=body, headers=API_HEADERS)
        assert trusted.status == 200
        assert (await trusted.json())[0]["recipient_id"] == "web-somebody-else"


async def test_the_first_message_gets_an_identity_in_a_signed_httponly_cookie(
    monkeypatch, tmp_path
):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        first = await client.post("/api/chat", json={"message": "你好"})
        assert first.status == 200  # the contract: {"message": …} is enough
        sender = (await first.json())[0]["recipient_id"]
        assert sender.startswith(SENDER_PREFIX) and len(sender) == len(SENDER_PREFIX) + 32
        cookie = first.cookies[SENDER_COOKIE]
        assert cookie["httponly"] and cookie["path"] == "/"
        assert cookie.value.startswith(sender + ".")
        again = await client.post("/api/chat", json={"message": "还是我"})
        assert (await again.json())[0]["recipient_id"] == sender
        assert SENDER_COOKIE not in again.cookies  # not issued twice


async def test_an_app_gets_a_bearer_token(monkeypatch, tmp_path):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        token = (await (await client.post("/api/session")).json())["token"]
        client.session.cookie_jar.clear()  # an app without cookies
        headers = {"Authorization": f"Bearer {token}"}
        one = await client.post("/api/chat", json={"message": "一"}, headers=headers)
        two = await client.post("/api/chat", json={"message": "二"}, headers=headers)
        senders = {(await r.json())[0]["recipient_id"] for r in (one, two)}
        assert senders == {token.rpartition(".")[0]}


async def test_another_site_cannot_open_the_voice_stream(monkeypatch, tmp_path):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        await client.post("/api/chat", json={"message": "你好"})  # the person's cookie
        other_site = await client.get(
            "/api/voice/stream", headers={"Origin": "https://evil.example"}
        )
        assert other_site.status == 403
