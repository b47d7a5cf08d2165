"""Shared fixtures: the real action server, Rasa server and gateway on free ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from scripts.launcher import Ports, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant, started once for the test session."""
    running = Stack(ports=Ports.free(), var_dir=tmp_path_factory.mktemp("var"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Conversation:
    """One user talking to the assistant through the gateway's /api/chat."""

    def __init__(self, stack: Stack, sender: str | None = None) -> None:
        self.stack = stack
        self.sender = sender or f"test-{uuid.uuid4().hex[:12]}"

    def say(self, message: str) -> list[dict]:
        response = requests.post(
            f"{self.stack.gateway_url}/api/chat",
            json={"sender": self.sender, "message": message},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def reply_text(self, message: str) -> str:
        return "\n".join(reply["text"] for reply in self.say(message))


@pytest.fixture
def conversation(stack: Stack) -> Conversation:
    return Conversation(stack)
