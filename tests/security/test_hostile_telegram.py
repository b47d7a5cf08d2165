"""The Telegram webhook under JSON that is no update: the fuzz suite
(tests/security/fuzz) found null, numbers and lists answered with 500, at the
top and where an update holds an object."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.telegram import TELEGRAM
from bot.telegram.webhook import PATH, SECRET_HEADER
from tests.security.gateway import database, gateway
from tests.support.fake_telegram import TOKEN, FakeTelegram

SECRET = "hostile-test-secret"


NESTED_LIST = (
    b'{"update_id": 1, "callback_query": {"id": "q", "chat_instance": "c", "data": "1",'
    b' "from": {"id": 2, "is_bot": false, "first_name": "a"}, "message": [1]}}'
)


FAR_DATE = (
    b'{"update_id": 2, "message": {"message_id": 1, "date": -2.6e+254,'
    b' "chat": {"id": 9, "type": "private"}, "text": "hi"}}'
)


@contextlib.asynccontextmanager
async def webhook_gateway(monkeypatch, tmp_path) -> AsyncIterator[tuple[Any, Any]]:
    """A gateway taking Telegram's webhook, its Telegram application running."""
    fake = FakeTelegram()
    await fake.start()
    config = {
        "telegram_token": TOKEN,
        "telegram_api_base": fake.api_base,
        "telegram_webhook_url": "https://legal-aid.example/telegram/webhook",
        "telegram_webhook_secret": SECRET,
    }
    try:
        async with gateway(monkeypatch, database(tmp_path), **config) as (app, client):
            for _ in range(100):
                if app[TELEGRAM].running:
                    break
                await asyncio.sleep(0.1)
            yield app, client
    finally:
        await fake.close()


@pytest.mark.parametrize(
    "body", [b"null", b"1", b"[]", b'"update"', b"[{}]", NESTED_LIST, FAR_DATE]
)
async def test_json_that_is_no_update_is_refused(monkeypatch, tmp_path, body):
    async with webhook_gateway(monkeypatch, tmp_path) as (_, client):
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        response = await client.post(PATH, data=body, headers=headers)
        assert response.status == 400


async def test_a_post_refused_unread_closes_its_connection_and_the_next_is_answered(
    monkeypatch, tmp_path
):
    # Refused by its headers, the body is never read: kept open, the connection
    # carried the unread rest into the next request, which the fuzz suite saw
    # go unanswered for a minute.
    async with webhook_gateway(monkeypatch, tmp_path) as (_, client):
        forged = await client.post(
            PATH, data=b'{"update_id": 1}' * 1000, headers={SECRET_HEADER: "guess"}
        )
        assert forged.status == 403
        assert forged.headers.get("Connection", "").lower() == "close"
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        answered = await client.post(PATH, data=b"[]", headers=headers)
        assert answered.status == 400  # read, and refused for what it holds
        assert answered.headers.get("Connection", "").lower() != "close"
