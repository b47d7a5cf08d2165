"""接续码 end to end: a person starts on the web chat, asks for a code in the
middle of the eligibility questions, says it from another sender (another
channel), confirms it back on the web chat, and goes on from the other sender
where they were; a wrong code merges nothing, and the code alone shows nothing
of the conversation until it is confirmed."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from bot.continuation import last_question, said_code, said_confirmation
from tests.conftest import Conversation
from tests.test_eligibility_dialogue import asked_fact

ANSWERS = {
    "matter_type": "老板拖欠工资",
    "region": "内蒙古包头",
    "migrant_worker": "是的，我是农民工",
    "age": "45岁",
    "gender": "男",
    "has_lawyer": "没有",
    "domestic_violence_victim": "没有",
    "disability_categories": "没有残疾",
    "days_to_deadline": "还有二十天",
    "needs_urgent_preservation": "不需要",
    "minimum_living_allowance": "不是",
    "income_per_capita_monthly": "每人每月一千块",
}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("接续 38527164", "38527164"),
        ("接续38527164", "38527164"),
        ("接续码：3852 7164", "38527164"),
        ("我的接续码是38527164。", "38527164"),
        ("接续三八五二七一六四", "38527164"),  # as the recogniser writes speech
        ("接续 三 八 五 二 七 幺 六 四", "38527164"),
        ("接续 ３８５２７１６４", "38527164"),
        ("接 续 三 八 五 二 七 一 六 四", "38527164"),
        ("继续 三八五二七一六四", "38527164"),  # 接续 heard as 继续
        ("接续 12", "12"),  # a wrong code, answered as one
    ],
)
def test_codes_are_heard_however_they_are_said(message, code):
    assert said_code(message) == code


@pytest.mark.parametrize(
    "message",
    ["我想接续刚才的对话", "接续", "老板拖欠我385271元", "继续", "继续 3", "继续 385271"],
)
def test_other_messages_are_no_codes(message):
    assert said_code(message) is None


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("确认接续 4821", "4821"),
        ("确认接续：4821。", "4821"),
        ("确认接续四八二幺", "4821"),  # as the recogniser writes speech
        ("确 认 继 续 四 八 二 一", "4821"),  # 接续 heard as 继续
        ("确认接续 12", "12"),  # a wrong number, answered as one
    ],
)
def test_confirmations_are_heard_however_they_are_said(message, number):
    assert said_confirmation(message) == number
    assert said_code(message) is None


@pytest.mark.parametrize("message", ["确认", "确认接续", "确认 4821", "确认继续 12", "我确认了"])
def test_other_messages_are_no_confirmations(message):
    assert said_confirmation(message) is None


def test_the_recap_is_the_question_waiting_for_an_answer():
    events = [
        {"event": "bot", "text": "您在哪个省？", "metadata": {"utter_action": "utter_ask_region"}},
        {"event": "user", "text": "给我接续码"},
        {"event": "bot", "text": "好的。……接续 385271。", "metadata": {}},
        {"event": "bot", "text": "您在哪个省？", "metadata": {"utter_action": "utter_ask_region"}},
    ]
    assert last_question(events) == {"text": "您在哪个省？", "buttons": []}
    assert last_question([{"event": "bot", "text": "不客气。"}]) is None


def tracker(stack, sender: str) -> dict:
    response = requests.get(stack.rasa_api(f"/conversations/{sender}/tracker"), timeout=30)
    response.raise_for_status()
    return response.json()


def texts(replies: list[dict]) -> list[str]:
    return [reply.get("text") or "" for reply in replies]


def test_a_person_continues_on_another_channel_with_a_code(stack):
    web = Conversation(stack, sender=f"web-{uuid.uuid4().hex[:12]}")
    texts(web.say("包工头欠了我八个月工钱 一分没给"))
    said = texts(web.say("帮我查一查"))
    fact = asked_fact(said)
    assert fact in ANSWERS, said
    said = texts(web.say(ANSWERS[fact]))
    pending = asked_fact(said)
    assert pending in ANSWERS and pending != fact, said

    said = texts(web.say("我想换到手机上接着说，给我接续码"))
    codes = re.findall(r"接续 (\d{8})", "\n".join(said))
    assert codes, said
    assert asked_fact(said) == pending, said  # the question waits for its answer

    # The other channel is a second web conversation here: Telegram's own
    # senders come only from its verified updates (tests/test_telegram.py).
    stranger = Conversation(stack, sender=f"web-{uuid.uuid4().hex[:12]}")
    wrong = "00000000" if codes[0] != "00000000" else "11111111"
    refused = "\n".join(texts(stranger.say(f"接续 {wrong}")))
    assert "没能接上" in refused
    assert tracker(stack, stranger.sender)["slots"].get("matter_type") is None

    phone = Conversation(stack, sender=f"web-{uuid.uuid4().hex[:12]}")
    asked = texts(phone.say(f"接续 {codes[0]}"))
    assert "原来咨询的地方（网页）" in asked[0], asked
    number = re.search(r"确认接续 (\d{4})", asked[0]).group(1)
    # The code alone shows nothing of the conversation: not the question, not the matter.
    early = "\n".join(texts(phone.say("刚才说到哪了？我的情况你还记得吗")))
    assert "还没有收到确认" in early and "工钱" not in early and "工资" not in early, early
    assert tracker(stack, phone.sender)["slots"].get("matter_type") is None

    # Confirmed on the web chat, where the code was given.
    confirmed = "\n".join(texts(web.say(f"确认接续 {number}")))
    assert "已经确认" in confirmed, confirmed
    linked = texts(phone.say("好了"))
    assert "已经接上了" in linked[0], linked
    assert asked_fact(linked) == pending, linked  # the question again, on the new channel

    after = texts(phone.say(ANSWERS[pending]))
    assert asked_fact(after) != pending, after  # taken as the answer
    slots = tracker(stack, web.sender)["slots"]
    assert slots["matter_type"] == "labor_wages"
    assert slots[pending] is not None, (pending, slots)
    assert tracker(stack, phone.sender)["slots"].get("matter_type") is None  # nothing of its own

    # The code was good once.
    again = "\n".join(texts(stranger.say(f"接续 {codes[0]}")))
    assert "没能接上" in again
