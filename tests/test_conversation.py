"""A new user talks to the real assistant, in Chinese, through the gateway."""

from __future__ import annotations

import requests

from tests.conftest import Conversation


def test_health_reports_every_part_up(stack):
    body = requests.get(f"{stack.gateway_url}/healthz", timeout=10).json()
    assert body["status"] == "ok"
    assert body["rasa"]["ok"] and body["rasa"]["model"].endswith(".tar.gz")
    assert body["actions"]["ok"]
    assert body["store"]["ok"]


def test_a_first_visit_in_chinese(conversation: Conversation):
    replies = conversation.say("你好")
    assert replies[0]["recipient_id"] == conversation.sender
    assert replies[0]["buttons"] == []
    greeting = replies[0]["text"]
    assert "法援助手" in greeting and "不是律师" in greeting

    answer = conversation.reply_text("请问法律援助是干什么的")
    assert "免费" in answer
    assert "来源：《法律援助法》第二条" in answer

    # Answered by the action server from policy/contacts/national.yml.
    hotline = conversation.reply_text("你们有没有热线电话可以打")
    assert "12348" in hotline and "来源：" in hotline

    assert "不客气" in conversation.reply_text("太感谢了")
    assert "祝您顺利" in conversation.reply_text("好的 再见")


def test_it_admits_being_a_program(conversation: Conversation):
    assert "不是真人" in conversation.reply_text("你是机器人还是真人")


def test_asking_for_a_human_gets_an_honest_answer_and_the_hotline(conversation: Conversation):
    answer = conversation.reply_text("我不想跟机器说 给我转人工")
    # Passed to a lawyer on duty (tests/test_handoff_dialogue.py); with nobody on
    # the roster, it says so and gives the hotline.
    assert "律师" in answer and ("12348" in answer or "有空" in answer)


def test_out_of_scope_says_what_it_can_do(conversation: Conversation):
    answer = conversation.reply_text("明天北京天气怎么样")
    assert "帮不上" in answer and "法律援助" in answer


def test_nonsense_gets_no_confident_wrong_answer(conversation: Conversation):
    for nonsense in ("asdf zzzz", "我的猫不吃饭怎么办呀"):
        answer = conversation.reply_text(nonsense)
        # "Please rephrase", "here is what I can do", or the second time (issue
        # 25: never the same reply twice) an example of what to say and a
        # person — never, say, the hotline answer to a question nobody asked.
        assert any(sign in answer for sign in ("换个说法", "我能做的是", "直接说遇到的事")), (
            nonsense,
            answer,
        )
