"""The whole gateway in this process, in front of a fake Rasa, with a real store.

The attacks in this package are on the gateway's own doors (who is speaking,
whose updates, which code), so Rasa only has to answer: it echoes. Nothing
here needs the trained model or the running stack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import Config
from bot.speech import SpeechEngines
from store import migrate
from tests.support.gateway_api import API_TOKEN
from tests.test_handoff_store import PII_KEY


def fake_rasa() -> web.Application:
    """Answers every turn with what it heard, addressed to whoever sent it."""

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            [{"recipient_id": body["sender"], "text": f"听到了：{body['message']}"}]
        )

    async def tracker(request: web.Request) -> web.Response:
        return web.json_response({"events": []})

    async def events(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.add_routes(
        [
            web.post("/webhooks/{channel}/webhook", webhook),
            web.get("/conversations/{sender}/tracker", tracker),
            web.post("/conversations/{sender}/tracker/events", events),
            web.get("/status", lambda request: web.json_response({})),
        ]
    )
    return app


def database(tmp_path: Any) -> str:
    url = f"sqlite:///{tmp_path / 'security.db'}"
    migrate.upgrade(url)
    return url


@asynccontextmanager
async def gateway(
    monkeypatch: Any, database_url: str, **config: Any
) -> AsyncIterator[tuple[web.Application, TestClient]]:
    """The gateway app and a client of it (which keeps cookies, as a browser does)."""
    monkeypatch.setenv("PII_KEY", PII_KEY)
    # The speech engines are not what is attacked here: they are not loaded.
    monkeypatch.setattr(SpeechEngines, "start_loading", lambda self: None)
    async with TestServer(fake_rasa()) as rasa:
        app = create_app(
            Config(
                rasa_url=str(rasa.make_url("")).rstrip("/"),
                database_url=database_url,
                gateway_api_token=API_TOKEN,
                **config,
            )
        )
        async with TestClient(TestServer(app)) as client:
            yield app, client
