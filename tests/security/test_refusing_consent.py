"""Attack: after answering "不同意" to "您同意吗？" — told "不保存我们的对话" — read
what the person said anyway: in Rasa's tracker store, the continuation links, the
raw database. Nothing of it is left; the next message starts afresh."""

from __future__ import annotations

import pytest

from actions.handoff_dialogue import ActionHandoff
from actions.intake_submit import ActionFinishApplication
from store.links import ConversationLinks
from tests.support.actions import action_server_stores, run_and_save
from tests.support.links import continue_elsewhere
from tests.support.records import (
    ALIAS,
    OLD_KEY,
    SAID,
    SENDER,
    all_text,
    count,
    talk,
    tracker_store,
    user_texts,
)


@pytest.fixture
def action_server_env(migrated_url, monkeypatch):
    with action_server_stores(migrated_url, monkeypatch) as url:
        yield url


async def a_conversation_with_a_link(url: str) -> None:
    store = tracker_store(url, OLD_KEY)
    await talk(store, SENDER, SAID)
    store.engine.dispose()
    links = ConversationLinks.shared()
    continue_elsewhere(links, SENDER, ALIAS, "wechat")


@pytest.mark.parametrize(
    ("action", "slots", "reply"),
    [
        (ActionFinishApplication(), {"intake_left": "consent_refused"}, "utter_intake_consent_refused"),
        (ActionFinishApplication(), {"intake_left": "guardian_missing"}, "utter_intake_guardian_needed"),
        (ActionHandoff(), {"handoff_consent_asked": True}, "utter_handoff_consent_refused"),
    ],
)  # fmt: skip
async def test_refusing_consent_leaves_nothing_readable(action_server_env, action, slots, reply):
    url = action_server_env
    await a_conversation_with_a_link(url)

    messages, _ = await run_and_save(action, url, SENDER, "不同意", "deny", **slots)
    assert [m["response"] for m in messages] == [reply]

    store = tracker_store(url, OLD_KEY)
    assert await store.retrieve(SENDER) is None
    assert await store.retrieve_full_tracker(SENDER) is None
    assert count(url, "events") == 0 and count(url, "conversation_ids") == 0
    assert count(url, "conversation_links") == 0 and count(url, "continuation_codes") == 0
    assert ConversationLinks.shared().conversation_of(ALIAS) is None
    raw = all_text(url, ["audit_entries"])
    assert "forget_on_refusal" in raw and SENDER not in raw and "王小明" not in raw

    await talk(store, SENDER, "你好")  # the next message: a new conversation
    assert user_texts(await store.retrieve_full_tracker(SENDER)) == ["你好"]
    store.engine.dispose()
