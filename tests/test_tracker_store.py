"""The rolling tracker store, on a real SQLite database."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.tracker_store import RollingSessionTrackerStore
from store.crypto import KeyRing, new_key_entry

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  region:
    type: text
    mappings: [{type: custom}]
responses:
  utter_greet: [{text: "您好"}]
"""
)


FIRST_KEY = new_key_entry()
KEYS = KeyRing.parse(FIRST_KEY)


@pytest.fixture
def store(tmp_path) -> RollingSessionTrackerStore:
    return RollingSessionTrackerStore(
        domain=DOMAIN, host=f"sqlite:///{tmp_path / 'tracker.db'}", max_session_turns=5, keys=KEYS
    )


async def talk(store, sender: str, turns: int) -> None:
    """Each turn as Rasa does it: retrieve, add the turn's events, save."""
    for turn in range(turns):
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
        if turn == 0:
            tracker.update(SlotSet("region", "shanxi"))
        tracker.update(UserUttered(f"第{turn}句", {"name": "greet", "confidence": 1.0}))
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered(f"回答{turn}"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)


def user_texts(tracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


async def test_a_long_session_rolls_over_and_keeps_slots_and_last_answer(store):
    await talk(store, "u1", 12)
    current = await store.retrieve("u1")
    # 12 turns with a rollover every 5: the current session holds only 2.
    assert user_texts(current) == ["第10句", "第11句"]
    assert current.get_slot("region") == "shanxi"
    full = await store.retrieve_full_tracker("u1")
    assert user_texts(full) == [f"第{n}句" for n in range(12)]
    assert sum(isinstance(e, SessionStarted) for e in full.events) == 2


async def test_the_last_answer_survives_a_rollover_for_repeat(store):
    await talk(store, "u2", 5)
    current = await store.retrieve("u2")
    assert user_texts(current) == []
    assert [e.text for e in current.events if isinstance(e, BotUttered)] == ["回答4"]


async def test_a_running_form_is_never_cut(store):
    await talk(store, "u3", 4)
    tracker = await store.retrieve("u3")
    tracker.update(ActiveLoop("intake_form"))
    tracker.update(UserUttered("张三", {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    assert len(user_texts(await store.retrieve("u3"))) == 5


async def test_short_conversations_are_left_alone(store):
    await talk(store, "u4", 4)
    assert len(user_texts(await store.retrieve("u4"))) == 4


async def test_what_people_said_and_who_they_are_is_not_in_the_file(store, tmp_path):
    sender = "telegram-chat-4455667788"
    await talk(store, sender, 2)
    raw = (tmp_path / "tracker.db").read_bytes()
    for plain in ("第0句", "回答1", "shanxi", sender):
        assert plain.encode() not in raw
    # Still the same conversation when read back with the key.
    assert user_texts(await store.retrieve(sender)) == ["第0句", "第1句"]


async def test_a_rotated_key_still_finds_the_conversation(store, tmp_path):
    sender = "web-rotation"
    await talk(store, sender, 1)
    rotated = RollingSessionTrackerStore(
        domain=DOMAIN,
        host=f"sqlite:///{tmp_path / 'tracker.db'}",
        max_session_turns=5,
        keys=KeyRing.parse(f"{new_key_entry()},{FIRST_KEY}"),
    )
    await talk(rotated, sender, 1)
    assert user_texts(await rotated.retrieve(sender)) == ["第0句", "第0句"]


def bot_texts(tracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, BotUttered)]


async def test_two_servers_taking_turns_store_each_event_once(store, tmp_path):
    # Two Rasa servers behind the gateway share the database (issue 24): each
    # saves only what its turn added, though the other wrote in between.
    other = RollingSessionTrackerStore(
        domain=DOMAIN, host=f"sqlite:///{tmp_path / 'tracker.db'}", max_session_turns=5, keys=KEYS
    )
    sender = "web-two-servers"
    for turn, server in enumerate([store, other, other, store, other, store, store]):
        tracker = await server.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
        tracker.update(UserUttered(f"第{turn}句", {"name": "greet", "confidence": 1.0}))
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered(f"回答{turn}"))
        tracker.update(ActionExecuted("action_listen"))
        await server.save(tracker)
        await store.retrieve(sender)  # a read between turns: the page without JavaScript
    full = await store.retrieve_full_tracker(sender)
    assert user_texts(full) == [f"第{n}句" for n in range(7)]
    # The rollover after turn 5 repeats the last answer into the new session.
    assert bot_texts(full) == [f"回答{n}" for n in range(5)] + ["回答4"] + ["回答5", "回答6"]
    assert user_texts(await other.retrieve(sender)) == ["第5句", "第6句"]


async def test_a_tracker_saved_twice_without_a_new_load_adds_only_the_new_events(store):
    sender = "web-saved-twice"
    await talk(store, sender, 1)
    tracker = await store.retrieve(sender)
    tracker.update(UserUttered("第二句", {"name": "greet", "confidence": 1.0}))
    await store.save(tracker)
    tracker.update(BotUttered("第二个回答"))
    await store.save(tracker)
    full = await store.retrieve_full_tracker(sender)
    assert user_texts(full) == ["第0句", "第二句"]
    assert bot_texts(full) == ["回答0", "第二个回答"]
