"""A cookie or token the gateway did not sign gets a new identity, never the one
it claims."""

from __future__ import annotations

import pytest

from bot.web_identity import SENDER_COOKIE
from tests.security.gateway import database, gateway

VICTIM = "web-0123456789abcdef0123456789abcdef"
FORGED = [
    VICTIM,  # unsigned
    f"{VICTIM}.k1:" + "0" * 64,  # a made-up signature
    f"{VICTIM}.",
    f"telegram:123456789.k1:{'0' * 64}",
]


@pytest.mark.parametrize("forged", FORGED)
async def test_a_forged_cookie_gets_a_new_identity(monkeypatch, tmp_path, forged):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        client.session.cookie_jar.update_cookies({SENDER_COOKIE: forged})
        response = await client.post("/api/chat", json={"message": "我是谁"})
        sender = (await response.json())[0]["recipient_id"]
        assert sender not in (VICTIM, "telegram:123456789")
        assert response.cookies[SENDER_COOKIE].value.startswith(sender + ".")

        bearer = {"Authorization": f"Bearer {forged}"}
        as_app = await client.post("/api/chat", json={"message": "我是谁"}, headers=bearer)
        assert (await as_app.json())[0]["recipient_id"] != VICTIM


async def test_the_page_without_javascript_shows_nothing_to_a_forged_cookie(monkeypatch, tmp_path):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        client.session.cookie_jar.update_cookies({SENDER_COOKIE: FORGED[1]})
        page = await client.get("/chat", allow_redirects=False)
        assert page.status == 303 and page.headers["Location"] == "/"
