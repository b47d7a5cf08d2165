"""How the tests speak to the gateway's web API as a trusted server.

The gateway decides who is speaking (bot/web_identity.py): a browser gets a
cookie, and only a caller holding GATEWAY_API_TOKEN may name a `sender`. The
tests name their senders (one conversation per test, read back from Rasa by
that id), so every gateway they start has this token (tests/conftest.py sets
it in the environment the stacks inherit) and their requests carry it.
"""

from __future__ import annotations

import os

from aiohttp.test_utils import TestClient

from bot.appkeys import CONFIG

API_TOKEN = "tests-only-gateway-api-token"
API_HEADERS = {"Authorization": f"Bearer {API_TOKEN}"}


def use_test_token() -> None:
    """Every gateway started from here on (a stack, a gateway process) accepts it."""
    os.environ["GATEWAY_API_TOKEN"] = API_TOKEN


async def said_to_rasa(client: TestClient, sender: str, who: str = "user") -> list[str]:
    """What Rasa's tracker of `sender` holds as said by the person ("user") or
    the assistant ("bot"): the turns that really ran, in words (a message that
    only carries data for the gateway, such as a speech rate, has none).
    `client` is the test client of a gateway running in the test's process."""
    config = client.app[CONFIG]
    async with client.session.get(
        f"{config.rasa_url}/conversations/{sender}/tracker", params={"token": config.rasa_token}
    ) as response:
        tracker = await response.json()
    return _said_by(tracker.get("events") or [], who)


def _said_by(events: list[dict], who: str) -> list[str]:
    # A long session rolls over with its last answer copied after the session
    # start, for 再说一遍 (rasa_ext/tracker_store.py): a copy, not said again.
    said, copying = [], False
    for event in events:
        kind = event.get("event")
        copying = kind == "session_started" or (copying and kind in ("slot", "bot"))
        if kind == who and event.get("text") and not (copying and kind == "bot"):
            said.append(event["text"])
    return said
