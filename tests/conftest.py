"""Shared fixtures: the real action server, Rasa server and gateway on free ports."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
import requests

from scripts.cluster import Cluster
from scripts.launcher import Ports, Stack
from scripts.local_postgres import PostgresServer
from scripts.local_redis import RedisServer
from store import migrate
from tests.support.gateway_api import API_HEADERS, use_test_token

# The voice tests written for Vosk check its plumbing with the Korean model (or
# with none: voice input off), in this process and in the stacks they start.
# Unset, the engine would be Whisper, since the Korean model is not Chinese;
# the tests of Whisper and of the choice set RECOGNISER themselves.
os.environ["RECOGNISER"] = "vosk"
# Every gateway of the suite would otherwise make all the fixed replies' speech
# (hundreds of sentences, three rates, both voices: minutes of both cores) in
# its first session on a machine: the tests of preparing give their own folder
# (tests/test_voice_synthesis.py).
os.environ["TTS_PREPARED_DIR"] = "off"
# The tests name their senders on /api/chat, as a trusted server may.
use_test_token()

# Every async test on asyncio's own event loop, as the gateway runs (`python -m
# bot` never installs uvloop). Rasa's import pulls in aiogram, which installs
# uvloop's policy for the whole process on import: a test then ran on uvloop in
# the full suite and on asyncio alone, depending on what was collected first.
# Imported here, at one known moment, and the policy put back.
import aiogram  # noqa: E402, F401

asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses the running stack, however indirectly, is marked `stack`:
    `./dev test --fast` leaves those out."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant, started once for the test session."""
    running = Stack(
        ports=Ports.free(),
        var_dir=tmp_path_factory.mktemp("var"),
        # Every test talks from 127.0.0.1, many times a minute: the per-address
        # limits are tested on their own (tests/security/test_rate_limits.py).
        env={f"RATE_LIMIT_{kind}": "0" for kind in ("CHAT", "POLLS", "VOICE", "LOGIN")},
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Conversation:
    """One user talking to the assistant through the gateway's /api/chat, named
    by the test (with the API token; a browser would have the cookie)."""

    def __init__(self, stack: Stack | Cluster, sender: str | None = None) -> None:
        self.stack = stack
        self.sender = sender or f"test-{uuid.uuid4().hex[:12]}"

    def say(self, message: str) -> list[dict]:
        response = requests.post(
            f"{self.stack.gateway_url}/api/chat",
            json={"sender": self.sender, "message": message},
            headers=API_HEADERS,
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def reply_text(self, message: str) -> str:
        return "\n".join(reply["text"] for reply in self.say(message))


@pytest.fixture
def conversation(stack: Stack) -> Conversation:
    return Conversation(stack)


# --- the store's databases: every store test runs on SQLite and on PostgreSQL ---


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on loopback, one for the test session."""
    reason = PostgresServer.unavailable()
    if reason:
        pytest.skip(reason)
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis server on loopback, one for the test session."""
    reason = RedisServer.unavailable()
    if reason:
        pytest.skip(reason)
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"store_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def migrated_url(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


# Recorded Mandarin and the recogniser that hears it, made once for every test
# that needs them (tests/test_speech_set.py, tests/test_whisper_recogniser.py):
# loading Whisper and synthesising the sentences are the slow part. Imported
# here only when asked for, so the rest of the suite never loads them.


@pytest.fixture(scope="session")
def whisper():
    from voice.whisper_recogniser import load_whisper

    loaded = load_whisper("base")
    assert loaded is not None
    return loaded


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory):
    from tests.speech_set import SpeechMaker

    return SpeechMaker(tmp_path_factory.mktemp("speech-set"))
