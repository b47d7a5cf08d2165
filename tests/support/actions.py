"""Running the forgetting actions as the action server does, against real stores,
and applying their events to the conversation as Rasa would before saving it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rasa.shared.core.events import Event
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from store import encrypted_store
from tests.support.records import OLD_KEY, talk, tracker_store


def sdk_tracker(sender: str, **slots: Any) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots=slots,
        latest_message={"intent": {"name": "deny", "confidence": 1.0}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@contextmanager
def action_server_stores(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The action server's stores on the test database (Store.shared reads the env)."""
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PII_KEY", OLD_KEY)
    encrypted_store._shared.cache_clear()
    try:
        yield url
    finally:
        encrypted_store._shared.cache_clear()


async def run_and_save(
    action: Action, url: str, sender: str, said: str, intent: str = "affirm", **slots: Any
) -> tuple[list[dict], list[dict[str, Any]]]:
    """The action's messages and events; its events end the turn in which the person
    said `said`, saved by the real tracker store."""
    dispatcher = CollectingDispatcher()
    tracker = sdk_tracker(sender, **slots)
    tracker.latest_message = {"text": said, "intent": {"name": intent, "confidence": 1.0}}
    events = await action.run(dispatcher, tracker, {})
    store = tracker_store(url, OLD_KEY)
    forget = any(e.get("name") == "forget_conversation" and e.get("value") for e in events)
    await talk(store, sender, said, forget=forget)
    store.engine.dispose()
    assert all(Event.from_parameters(e) for e in events)
    return dispatcher.messages, events
