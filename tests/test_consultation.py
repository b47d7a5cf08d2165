"""Consultation as real people ask for it: their wording, cited answers, safety."""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import Conversation


def parse(stack, text: str) -> dict:
    response = requests.post(stack.rasa_api("/model/parse"), json={"text": text}, timeout=30)
    response.raise_for_status()
    return response.json()


def matter_of(stack, text: str) -> str | None:
    entities = [e for e in parse(stack, text)["entities"] if e["entity"] == "matter_type"]
    return entities[0]["value"] if entities else None


# The examples, and held-out wording of the same problems.
EVERYDAY_PROBLEMS = [
    ("老板拖了我三个月工资不给", "labor_wages"),
    ("我老公喝了酒就打我", "domestic_violence"),
    ("我妈走了留下一套房我哥不让我分", "inheritance"),
    ("儿子不给我生活费", "family_support"),
    ("厂里干活把手指头轧断了", "work_injury"),
    ("被车撞了对方不赔", "traffic_accident"),
    ("干了一年活包工头一分钱没给就跑了", "labor_wages"),
    ("在车间上班胳膊被机器卷进去了", "work_injury"),
    ("骑电动车被一辆货车刮倒了腿骨折", "traffic_accident"),
]


@pytest.mark.parametrize(("text", "matter"), EVERYDAY_PROBLEMS)
def test_everyday_wording_gets_the_right_matter_type(stack, text, matter):
    assert matter_of(stack, text) == matter


def test_greetings_and_questions_carry_no_matter_type(stack):
    for text in ("你好", "法律援助是什么", "你们电话多少", "谢谢你"):
        assert matter_of(stack, text) is None, text


def test_problem_and_wish_to_apply_in_one_message(stack):
    result = parse(stack, "工地欠我八千块钱 我想申请法律援助")
    assert [e["value"] for e in result["entities"] if e["entity"] == "matter_type"] == [
        "labor_wages"
    ]


def test_matter_is_said_back_with_its_scope_source_and_next_steps(conversation: Conversation):
    replies = conversation.say("老板已经拖了我三个月工资了 怎么办")
    text = replies[-1]["text"]
    assert "听起来是拖欠工资" in text
    assert "来源：《法律援助法》第三十一条" in text
    assert "不是律师" in text
    titles = [b["title"] for b in replies[-1]["buttons"]]
    assert "查一查能不能申请" in titles and "找人工" in titles


FAQ = [
    ("你们这个法援是干啥的", "第二十二条"),
    ("法律援助都有哪些形式", "第二十二条"),
    ("我这种情况能不能申请法律援助", "第三十一条"),
    ("请问怎么申请法律援助", "第四十三条"),
    ("申请要带什么材料", "诚信承诺"),
    ("申请了多久能有结果", "第四十三条"),
    ("不给援助我不服怎么办", "第四十九条"),
    ("到哪里去申请法律援助", "第三十八条"),
    ("找你们要不要花钱", "第二条"),
    ("残疾人有没有优先办理", "四优先"),
    ("我是聋人需要手语翻译", "手语"),
    ("残疾人办公证能不能少交钱", "包头"),
    ("我弟弟被警察抓了 要找律师", "第二十五条"),
    ("怎么申请人身安全保护令", "反家庭暴力法"),
]


@pytest.mark.parametrize(("question", "expected"), FAQ)
def test_faq_answers_are_cited(conversation: Conversation, question, expected):
    answer = conversation.reply_text(question)
    assert "来源：" in answer, answer
    assert expected in answer, answer


DANGER = [
    "他现在正在打我",
    "我老公说今晚要弄死我",
    "我不想活了",
    "孩子被他后爸打得浑身是伤",
    # Indirect wording, no keyword from the safety patterns.
    "他又喝多了在砸门 我和孩子躲在卫生间里",
    "我觉得自己就是个累赘 活着也没什么意思",
]


@pytest.mark.parametrize("message", DANGER)
def test_danger_gets_110_before_anything_else(conversation: Conversation, message):
    first = conversation.say(message)[0]["text"]
    assert "110" in first.split("\n")[0] or "12356" in first.split("\n")[0], first
    assert "12348" in first  # then the fastest way to a person


def test_danger_inside_a_wage_question_still_comes_first(conversation: Conversation):
    first = conversation.say("老板欠我工资不给 还说我再去要就打死我")[0]["text"]
    assert "110" in first


def test_money_for_life_is_not_mistaken_for_danger(conversation: Conversation):
    answer = conversation.reply_text("那是我的救命钱 老板拖着不给")
    assert "110" not in answer


def test_repeat_gives_the_last_answer_again(conversation: Conversation):
    first = conversation.say("法律援助要钱吗")
    assert conversation.say("没听清 再说一遍") == first


def test_speech_rate_is_a_slot_the_voice_channels_read(stack, conversation: Conversation):
    assert "慢一点" in conversation.reply_text("你说慢一点")
    tracker = requests.get(
        stack.rasa_api(f"/conversations/{conversation.sender}/tracker"), timeout=10
    ).json()
    assert tracker["slots"]["speech_rate"] == "slow"
    assert "快一点" in conversation.reply_text("说快点吧")
    tracker = requests.get(
        stack.rasa_api(f"/conversations/{conversation.sender}/tracker"), timeout=10
    ).json()
    assert tracker["slots"]["speech_rate"] == "normal"


def test_fallback_asks_to_rephrase_then_offers_a_person(conversation: Conversation):
    # "/nlu_fallback" is what Rasa's FallbackClassifier makes of a message it
    # does not understand; sent directly, it makes the test independent of
    # which sentences the current model happens to be unsure about.
    first = conversation.reply_text("/nlu_fallback")
    assert "换个说法" in first
    second = conversation.reply_text("/nlu_fallback")
    assert "12348" in second and "律师" in second


def voice_say(stack, sender: str, message: str) -> list[str]:
    response = requests.post(
        f"{stack.rasa_url}/webhooks/voice/webhook",
        json={"sender": sender, "message": message},
        timeout=30,
    )
    response.raise_for_status()
    return [r.get("text", "") for r in response.json()]


def test_voice_answers_are_written_for_the_ear(stack):
    sender = "voice-listener"
    texts = voice_say(stack, sender, "法律援助有哪些形式")
    spoken = texts[-1]
    assert not re.search(r"[《》（）()\[\]“”\n]|\d\.", spoken), spoken
    assert spoken.count("，") <= 4 and spoken.endswith("要继续听吗？")
    more = voice_say(stack, sender, "要")
    assert "劳动争议" in more[-1] and "来源是法律援助法第二十二条" in more[-1]


def test_text_answers_do_not_ask_to_read_on(conversation: Conversation):
    answer = conversation.reply_text("法律援助有哪些形式")
    assert "劳动争议" in answer and "要继续听吗" not in answer
    assert "还有什么可以帮您" in conversation.reply_text("好的")


def test_details_become_entities_and_slots(stack, conversation: Conversation):
    entities = parse(stack, "我妈是盲人 在包头市固阳县 儿子欠她三千五 拖了两年多")["entities"]
    found = {(e["entity"], e["value"]) for e in entities}
    assert ("relation", "mother") in found
    assert ("disability_category", "visual") in found
    assert ("money", "三千五") in found
    assert ("duration", "两年多") in found

    conversation.say("我在包头市固阳县打工 老板欠了我三个月工资")
    slots = requests.get(
        stack.rasa_api(f"/conversations/{conversation.sender}/tracker"), timeout=10
    ).json()["slots"]
    assert slots["region"] == "baotou" and slots["place"] == "固阳县"
    assert slots["matter_type"] == "labor_wages"


@pytest.mark.parametrize("answer", ["没有", "是的", "不是", "好的 谢谢", "再说一遍"])
def test_short_answers_never_carry_a_matter(stack, answer):
    assert matter_of(stack, answer) is None


def test_a_short_answer_keeps_the_matter_described_before(stack, conversation: Conversation):
    conversation.say("老板拖了我三个月工资不给")
    conversation.say("没有")
    slots = requests.get(
        stack.rasa_api(f"/conversations/{conversation.sender}/tracker"), timeout=10
    ).json()["slots"]
    assert slots["matter_type"] == "labor_wages"
