"""The routes issue 22 opened, through the real stack: the person answers only what is asked.

A crime victim (第二十九条), a 死刑复核 defendant (第二十五条第一款第（五）项), a
Shanxi resident whose case is in Beijing (第三十八条), and the Baotou
notarization fees (包头 第四部分: 40 %, 50 % or free) by text and by voice.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from legal_aid.times import china_today
from tests.conftest import Conversation
from tests.support.eligibility_person import Person, VoiceConversation


def test_a_sexually_abused_girl_of_fourteen_is_a_crime_victim_who_may_apply(conversation):
    person = Person(
        conversation,
        {
            "region": "河北保定",
            "domestic_violence_victim": "不是",
            "proceeding": "报警立案了",
            "age": "十四岁",
            "minimum_living_allowance": "是 我们家是低保户",
            "days_to_deadline": "没有",
            "needs_urgent_preservation": "没有",
            "guardian_infringes": "不是",
            "case_location": "本地",
        },
    )
    result = person.check("我女儿十四岁 被人性侵了", "帮我查一查")
    assert "结果：您可以申请法律援助" in result
    assert "第二十九条" in result
    assert "刑事代理" in result  # the form of aid, 第二十二条第（三）项
    assert "由法定代理人" in result and "第四十条" in result
    assert "到哪里申请" in result and "第三十八条" in result
    # The art. 32 question first; the girl is the one harmed, so no role is asked.
    assert person.asked[:3] == ["region", "domestic_violence_victim", "proceeding"]
    assert "criminal_role" not in person.asked


def test_a_death_sentence_under_review_is_notified_though_no_death_is_still_faced(
    conversation,
):
    person = Person(
        conversation,
        {
            "region": "河北石家庄",
            "criminal_role": "他是被告人",
            "age": "四十岁",
            "cannot_fully_understand_own_conduct": "不是",
            # Already sentenced: he no longer 'may face' it, as the reviewer's case said.
            "may_face_life_or_death_sentence": "不是",
            "death_penalty_review": "死刑复核",
        },
    )
    result = person.check("我哥哥被判了死刑 现在最高法院在复核 想给他找律师", "帮我查一查")
    assert "应当通知法律援助机构" in result
    assert "第二十五条第一款第（五）项" in result
    assert "刑事辩护" in result
    assert person.asked[-1] == "death_penalty_review"


def test_a_shanxi_woman_suing_in_beijing_is_sent_to_beijing(conversation):
    person = Person(
        conversation,
        {"region": "山西太原", "domestic_violence_victim": "不是", "case_location": "北京"},
    )
    result = person.check("我是山西太原的 要去北京法院起诉离婚", "帮我查一查")
    assert "向北京市的法律援助机构申请" in result
    assert "来源：《法律援助法》第三十八条" in result
    assert "晋司通〔2022〕57号" in result and "不适用" in result
    # Beijing applies the national rules: the Shanxi-only questions are not asked.
    assert "gender" not in person.asked and "case_location" in person.asked


def seventieth_birthday_passed_yesterday() -> str:
    day = china_today() - timedelta(days=1)
    try:
        born = day.replace(year=day.year - 70)
    except ValueError:  # 29 February
        born = day.replace(year=day.year - 70, day=28)
    return f"{born.year}年{born.month}月{born.day}日"


# (opening, answers, what the text says, what the voice says)
NOTARIZATIONS = {
    "40 %: a pension notarization of a disabled person": (
        "我是残疾人 办公证能减免费用吗",
        {
            "region": "包头",
            "notarization_service": "领抚恤金",
            "disability_categories": "肢体残疾",
        },
        "比例不低于40%",
        "至少减百分之四十",
    ),
    "50 %: a basic-livelihood notarization of a severely disabled person": (
        "我是残疾人 办公证能减免费用吗",
        {
            "region": "包头",
            "notarization_service": "基本生活",
            "disability_categories": "肢体残疾",
            "disability_grade": "一级",
        },
        "比例不低于50%",
        "至少减百分之五十",
    ),
    "free: the first will of a disabled person the day after turning 70": (
        "我是残疾人 办公证能减免费用吗",
        {
            "region": "包头",
            "notarization_service": "立遗嘱",
            "disability_categories": "听力残疾",
            "age": "七十岁",
            "birth_date": seventieth_birthday_passed_yesterday(),
            "first_will": "是第一次",
        },
        "免收公证费",
        "免收公证费",
    ),
}


@pytest.mark.parametrize("channel", ["text", "voice"])
@pytest.mark.parametrize("case", list(NOTARIZATIONS))
def test_baotou_notarization_fees_reach_the_right_people(stack, case, channel):
    opening, answers, written, spoken = NOTARIZATIONS[case]
    talk = VoiceConversation(stack) if channel == "voice" else Conversation(stack)
    person = Person(talk, answers)
    talk.say(opening)
    result = person.check("帮我查一查")
    assert (spoken if channel == "voice" else written) in result
    assert "第四部分" in result
    # The services Baotou promises disabled people are said too, with their source.
    assert "预约上门" in result
    if channel == "voice":
        assert "《" not in result and "%" not in result


def test_the_result_said_aloud_names_the_services_and_where_to_apply(stack):
    person = Person(
        VoiceConversation(stack),
        {
            "region": "包头",
            "migrant_worker": "是",
            "days_to_deadline": "没有",
            "needs_urgent_preservation": "没有",
            "case_location": "本地",
        },
    )
    spoken = person.check("我是肢体残疾 包工头欠了我三个月工钱", "帮我查一查")
    assert "结果是：您可以申请法律援助" in spoken
    assert "您还可以得到这些帮助" in spoken
    assert "预约上门" in spoken and "自主选择承办律师" in spoken
    assert "来源是包头市进一步加强残疾人法律服务工作的措施第一部分第二项" in spoken
    assert "到哪里申请：向包头市的法律援助机构申请" in spoken
    assert "来源是法律援助法第三十八条" in spoken
    assert "《" not in spoken and "（" not in spoken
