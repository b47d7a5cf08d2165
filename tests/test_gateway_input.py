"""Bad input to /api/chat gets a clear answer and never reaches Rasa broken."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.gateway_api import API_HEADERS

BAD_BODIES = [
    (b"not json", "JSON"),
    (b"[1, 2]", "JSON 对象"),
    (b'{"sender": 5, "message": "hi"}', "sender"),
    (b'{"sender": "", "message": "hi"}', "sender"),
    (b'{"sender": "a", "message": 5}', "message"),
    (b'{"sender": "a", "message": "hi", "metadata": [1]}', "metadata"),
]


def chat(stack: Any, headers: dict[str, str] | None = None, **request: Any) -> requests.Response:
    """POST /api/chat as the tests' trusted server, which may name its senders."""
    return requests.post(
        f"{stack.gateway_url}/api/chat", headers={**API_HEADERS, **(headers or {})}, **request
    )


@pytest.mark.parametrize(("body", "named"), BAD_BODIES)
def test_malformed_requests_get_400_with_a_reason(stack, body, named):
    response = chat(
        stack,
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_a_huge_body_is_refused_before_it_is_read(stack):
    body = b'{"sender": "a", "message": "' + b"x" * 1_000_000 + b'"}'
    response = chat(stack, data=body, timeout=30)
    assert response.status_code == 413


def test_a_too_long_message_is_answered_politely(stack):
    replies = chat(
        stack,
        json={"sender": "long-writer", "message": "老板欠我工资" * 1000},
        timeout=10,
    ).json()
    assert "太长" in replies[0]["text"] and "分成几段" in replies[0]["text"]


def test_an_empty_message_asks_what_the_problem_is(stack):
    replies = chat(stack, json={"sender": "quiet", "message": "   "}, timeout=10).json()
    assert "遇到了什么问题" in replies[0]["text"]


def test_metadata_passes_through_to_rasa(stack):
    sender = "with-metadata"
    chat(
        stack,
        json={"sender": sender, "message": "你好", "metadata": {"channel_hint": "kiosk"}},
        timeout=30,
    ).raise_for_status()
    tracker = requests.get(stack.rasa_api(f"/conversations/{sender}/tracker"), timeout=10).json()
    user_events = [e for e in tracker["events"] if e["event"] == "user"]
    assert user_events[-1]["metadata"]["channel_hint"] == "kiosk"


def test_logs_hold_no_message_text_or_sender_id(stack):
    secret = "我的电话是13812345678"
    sender = "wx-openid-o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
    chat(stack, json={"sender": sender, "message": secret}, timeout=30).raise_for_status()
    for log in (stack.var_dir / "log").glob("*.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        assert "13812345678" not in text, log.name
        assert sender not in text, log.name
    assert "turn sender=" in (stack.var_dir / "log" / "gateway.log").read_text()
