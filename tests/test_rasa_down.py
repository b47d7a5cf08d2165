"""The Rasa server stops mid-conversation: the user gets a polite answer, loses
nothing, and the conversation goes on with its history once Rasa is back."""

from __future__ import annotations

import requests

from tests.conftest import Conversation


def user_messages_in_tracker(stack, sender: str) -> list[str]:
    tracker = requests.get(
        stack.rasa_api(f"/conversations/{sender}/tracker"),
        params={"include_events": "ALL"},
        timeout=10,
    ).json()
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_rasa_restart_mid_conversation_keeps_history(stack):
    conversation = Conversation(stack)
    assert "法援助手" in conversation.reply_text("你好")

    stack.stop(("rasa",))
    try:
        replies = conversation.say("法律援助是什么意思")
        assert len(replies) == 1
        assert "繁忙" in replies[0]["text"] and "12348" in replies[0]["text"]
        health = requests.get(f"{stack.gateway_url}/healthz", timeout=10).json()
        assert health["status"] == "degraded" and not health["rasa"]["ok"]
    finally:
        stack.start_one("rasa")

    # The held question is answered first, then the new one.
    replies = conversation.say("热线电话是多少")
    texts = [r["text"] for r in replies]
    assert any("来源：《法律援助法》第二条" in t for t in texts), texts
    assert "12348" in texts[-1]
    # The tracker store kept what was said before the restart.
    assert user_messages_in_tracker(stack, conversation.sender) == [
        "你好",
        "法律援助是什么意思",
        "热线电话是多少",
    ]
