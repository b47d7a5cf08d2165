"""A gateway in this process with its store (SQLite, a fresh key) and no Rasa:
enough for the console, the limits and the relay, which refuse before any turn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import Config
from store import migrate
from store.crypto import new_key_entry


@asynccontextmanager
async def gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **config: object
) -> AsyncIterator[tuple[web.Application, TestClient]]:
    database_url = f"sqlite:///{tmp_path / 'legal_aid.db'}"
    monkeypatch.setenv("PII_KEY", new_key_entry())
    # The neural voice takes the cores for many seconds; these tests never listen.
    monkeypatch.setenv("TTS_ENGINE", "espeak")
    monkeypatch.setenv("TTS_WORKERS", "1")
    migrate.upgrade(database_url)
    settings = {"rasa_url": "http://127.0.0.1:9", "database_url": database_url, **config}
    app = create_app(Config(**settings))  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        yield app, client
