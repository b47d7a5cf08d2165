"""Attack: type five wrong passwords for a lawyer's account, so that she
cannot log in. The lock is per account *and* address: the stranger is locked
out, the lawyer at her own desk is not."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from bot.appkeys import STORES
from tests.security.gateway_app import gateway

PASSWORD = "a long enough password 2026"
LAWYER_DESK = "198.51.100.20"
STRANGER = "203.0.113.66"


async def log_in(client: TestClient, username: str, password: str, address: str) -> int:
    headers = {"X-Forwarded-For": address}
    form = await client.get("/console/login", headers=headers)
    csrf = re.search(r'name="csrf" value="([^"]+)"', await form.text()).group(1)
    answer = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": csrf},
        headers=headers,
        allow_redirects=False,
    )
    return answer.status


async def test_a_stranger_cannot_lock_a_lawyer_out(tmp_path, monkeypatch):
    settings = {"trusted_proxies": ("127.0.0.1",), "rate_limit_login": 0}
    async with gateway(tmp_path, monkeypatch, **settings) as (app, client):
        app[STORES].accounts.create("coord.wang", PASSWORD, "coordinator")
        guesses = [await log_in(client, "coord.wang", "wrong!", STRANGER) for _ in range(5)]
        assert guesses == [401, 401, 401, 401, 403], "the fifth locks, for the stranger"
        # Locked for the stranger even with the right password...
        assert await log_in(client, "coord.wang", PASSWORD, STRANGER) == 403
        # ...but not for the lawyer at her own desk.
        assert await log_in(client, "coord.wang", PASSWORD, LAWYER_DESK) == 303
