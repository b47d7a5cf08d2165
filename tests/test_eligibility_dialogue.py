"""The eligibility form as real people go through it: few questions, the right answer, its source.

Each person talks to the real stack (gateway, Rasa, action server). A test
answers whatever the assistant asks, from what that person would say, so it
checks that only questions that matter are asked: a question the person has
no answer for fails the test.
"""

from __future__ import annotations

import pytest
import requests

from legal_aid.eligibility.answers import parse_answer, parse_grouped_answer
from legal_aid.eligibility.engine import benefit_facts
from tests.support.eligibility_person import Person, asked_fact


def test_a_blind_man_wrongly_detained_gets_a_lawyer_by_notification(conversation):
    person = Person(
        conversation,
        {"region": "山西晋中", "criminal_role": "被抓的一方", "has_lawyer": "没有"},
    )
    result = person.check("我是盲人 被冤枉抓起来了 我家里人想给我找律师", "帮我查一查")
    assert "应当通知法律援助机构" in result
    assert "第二十五条第一款第（二）项" in result
    assert "income_per_capita_monthly" not in person.asked


def test_a_beaten_wife_with_income_above_the_line_needs_no_income_check(conversation):
    person = Person(
        conversation,
        {
            "region": "太原",
            "domestic_violence_victim": "是的",
            "income_per_capita_monthly": "一个月五千多",
            "days_to_deadline": "没有",
            "needs_urgent_preservation": "不用",
            "case_location": "就在本地",
        },
    )
    result = person.check("我老公喝了酒就打我 我想离婚", "帮我查一查")
    assert "不需要审查收入" in result
    assert "第三十二条第（四）项" in result
    assert "income_per_capita_monthly" not in person.asked


def test_a_migrant_worker_owed_wages_is_exempt_from_the_income_check(conversation):
    person = Person(
        conversation,
        {
            "region": "内蒙古呼和浩特",
            "migrant_worker": "对 我是农民工",
            "days_to_deadline": "没有",
            "needs_urgent_preservation": "没有",
            "case_location": "本地",
        },
    )
    result = person.check("包工头欠了我八个月工钱 一分没给", "帮我查一查")
    assert "不需要审查收入" in result
    assert "第四十二条第（三）项" in result
    # Region, migrant worker, deadline, preservation, and where the case is (art. 38).
    assert len(person.asked) <= 5


def test_the_decision_comes_as_soon_as_it_is_known(conversation):
    """ "Can I get legal aid" is answered when the answer is known; the questions
    that only say where and how to apply come after it, and the end of the
    result does not say the decision again (issue 25)."""

    def say(message: str) -> list[str]:
        return [reply.get("text") or "" for reply in conversation.say(message)]

    say("包工头欠了我工钱不给")
    assert asked_fact(say("帮我查一查")) == "region"
    assert asked_fact(say("山西太原")) == "migrant_worker"
    decided = say("是，我是农民工")
    assert decided[0].startswith("结果：您可以申请法律援助")
    assert "第四十二条第（三）项" in "\n".join(decided)
    assert asked_fact(decided) == "days_to_deadline"
    rest = [text for answer in ("没有", "没有", "本地") for text in say(answer)]
    assert "到哪里申请" in "\n".join(rest) and "第三十八条" in "\n".join(rest)
    assert not any("结果" in text for text in rest), rest


def test_can_i_apply_is_answered_before_the_questions_about_money(conversation):
    """A 75-year-old whose daughter does not support her asks "能申请吗": she
    hears "可以申请" with its source at once (support payments are in scope
    everywhere, art. 31); the questions that follow decide only whether her
    income is checked, and the result after them does not say the source
    again (issue 25)."""
    first = [
        reply.get("text") or "" for reply in conversation.say("我七十五了女儿不管我，能申请吗")
    ]
    assert "结果：您的事情可以申请法律援助。" in first
    assert "第三十一条第（四）项" in "\n".join(first)
    assert asked_fact(first) == "region"
    # No answer for whose claim it is (her age told it) or the sex (the 低保 line
    # unknown, it changes nothing): asked either, the test fails.
    person = Person(
        conversation,
        {
            "region": "山西太原",
            "domestic_violence_victim": "没有",
            "disability_categories": "没有",
            "minimum_living_allowance": "不是",
            "no_fixed_income": "有退休金",
            "income_per_capita_monthly": "两千",
            "local_minimum_living_standard_monthly": "不知道",
        },
    )
    result = person.check("山西太原")
    assert "需要先看收入" in result
    assert "第三十一条第（四）项" not in result


@pytest.mark.parametrize(
    ("story", "article"),
    [
        ("单位一直不给我交社保", "第三十一条第（二）项"),
        ("老板欠我工资不给", "第三十一条第（五）项"),
    ],
)
def test_the_yes_does_not_repeat_the_source_the_story_was_just_answered_with(
    conversation, story, article
):
    # The story's answer says the rule in its own words, with the same source.
    assert article in "\n".join(r.get("text") or "" for r in conversation.say(story))
    texts = [r.get("text") or "" for r in conversation.say("能申请吗")]
    assert "结果：您的事情可以申请法律援助。" in texts
    assert article not in "\n".join(texts)
    assert asked_fact(texts) == "region"


def test_a_severely_disabled_person_in_shanxi_gets_aid_on_the_certificate(conversation):
    person = Person(
        conversation,
        {
            "region": "山西省太原市",
            "domestic_violence_victim": "不是",
            "age": "四十五岁",
            "gender": "男",
            "disability_categories": "肢体残疾",
            "disability_grade": "二级",
            "has_disability_certificate": "有",
            "minimum_living_allowance": "不是",
            "no_fixed_income": "有",
            "household_disabled_count": "就我一个",
            "elderly_and_disabled_household": "不是",
            "days_to_deadline": "没有",
            "needs_urgent_preservation": "没有",
            "case_location": "太原",
        },
    )
    result = person.check("我爸去世了 哥哥不让我分遗产", "帮我查一查")
    assert "不需要审查收入" in result
    assert "晋司通〔2022〕35号" in result


def test_age_and_sex_are_asked_and_answered_together(conversation):
    # No answer for the sex alone: asked it again, the test fails.
    person = Person(
        conversation,
        {
            "region": "山西太原",
            "domestic_violence_victim": "没有",
            "case_location": "本地",
            "age": "五十二岁，女的",
            "disability_categories": "没有",
            "minimum_living_allowance": "都不是",
            "no_fixed_income": "有",
            "income_per_capita_monthly": "一千二",
            "local_minimum_living_standard_monthly": "八百",
            "days_to_deadline": "没有",
            "needs_urgent_preservation": "没有",
        },
    )
    result = person.check("丈夫要跟我离婚，孩子的抚养权我想要", "帮我查一查")
    assert "gender" not in person.asked
    # The woman's income line in Shanxi: twice the 低保 line.
    assert "晋司通〔2022〕57号" in result


def test_the_sex_alone_where_only_the_age_was_asked_is_not_an_answer(conversation):
    # In Hebei the sex does not matter, so the question asks the age alone.
    for message in ("公司拖了我半年工资", "帮我查一查", "河北石家庄", "不是"):
        texts = [r.get("text") or "" for r in conversation.say(message)]
    assert asked_fact(texts) == "age" and "女性" not in texts[-1]
    texts = [r.get("text") or "" for r in conversation.say("女的")]
    # Said so, not the same question again as if nothing had been said.
    assert "没听明白" in "".join(texts[:-1]) and asked_fact(texts) == "age"


def test_one_question_asks_about_dibao_and_tekun_together(conversation):
    # No answer for 特困 alone: asked it after the 低保 question, the test fails.
    person = Person(
        conversation,
        {
            "region": "河北石家庄",
            "migrant_worker": "不是",
            "age": "五十岁",
            "disability_categories": "没有",
            "minimum_living_allowance": "不是低保户，是特困供养人员",
            "days_to_deadline": "没有",
            "needs_urgent_preservation": "没有",
            "case_location": "本地",
        },
    )
    result = person.check("公司拖了我半年工资", "帮我查一查")
    assert "不需要审查收入" in result
    assert "特困供养人员" in result and "第四十二条第（二）项" in result


@pytest.mark.parametrize(
    ("spoken", "facts"),
    [
        ("不是低保户", {"minimum_living_allowance": False, "extreme_hardship_support": False}),
        ("都不是", {"minimum_living_allowance": False, "extreme_hardship_support": False}),
        ("没有领救助", {"minimum_living_allowance": False, "extreme_hardship_support": False}),
        # A bare yes is the broad first item: 低保 or another assistance.
        ("是的", {"minimum_living_allowance": True}),
        ("我们是五保户", {"extreme_hardship_support": True}),
        ("不是低保，是特困", {"extreme_hardship_support": True}),
    ],
)
def test_the_dibao_question_is_understood(spoken, facts):
    assert parse_grouped_answer("minimum_living_allowance", spoken) == facts


@pytest.mark.parametrize(
    ("spoken", "named"),
    [("死刑复核", "death_penalty_review"), ("不是死刑复核", None), ("都不是", None)],
)
def test_one_of_the_special_procedures_is_named_or_none(spoken, named):
    answer = parse_grouped_answer("death_penalty_review", spoken)
    assert answer is not None and [fact for fact, value in answer.items() if value] == (
        [named] if named else []
    )
    # A bare yes does not say which.
    assert parse_grouped_answer("death_penalty_review", "是") is None


# An elderly parent without income, claiming support from his children.
ELDERLY_PARENT = {
    "region": "河北石家庄",
    "claimant": "我自己",
    "domestic_violence_victim": "不是",
    "disability_categories": "没有",
    "minimum_living_allowance": "不是",
    "no_fixed_income": "没有",
    "days_to_deadline": "没有",
    "needs_urgent_preservation": "没有",
    "case_location": "本地",
}


def test_an_elderly_parent_without_income_claiming_support_is_exempt(conversation):
    person = Person(conversation, {**ELDERLY_PARENT, "age": "六十八岁"})
    result = person.check("儿子不给我生活费", "帮我查一查")
    assert "不需要审查收入" in result
    assert "第四十二条第（一）项" in result
    # Said once at most: by the answer to the story or with "可以申请", not again.
    assert result.count("第三十一条第（四）项") <= 1


def test_an_age_told_in_the_story_is_not_asked_again(conversation):
    """The story as the answer to "您遇到的是什么事？" ("我七十二了……"): his age
    is taken from it, as it is from a story told before the questions."""
    # No age among his answers: asked, he could not answer, and the test fails.
    person = Person(
        conversation, {**ELDERLY_PARENT, "matter_type": "我七十二了，三个儿子都不给我赡养费"}
    )
    result = person.check("帮我查一查能不能申请法律援助")
    assert person.asked[0] == "matter_type"
    assert "age" not in person.asked
    assert "第四十二条第（一）项" in result


@pytest.mark.parametrize(
    ("story", "asked"),
    [
        # Her own age and her daughter: she claims support for herself.
        ("我七十五了女儿不管我，能申请法律援助吗", False),
        # A grandmother may be claiming child support for a grandchild: asked.
        ("我七十了，儿子不给孙子抚养费，能申请法律援助吗", True),
        # No age of her own in the story: asked.
        ("女儿不给我赡养费，能申请法律援助吗", True),
    ],
)
def test_an_elderly_parent_telling_her_age_is_not_asked_whose_claim_it_is(
    conversation, story, asked
):
    conversation.say(story)
    texts = [r.get("text") or "" for r in conversation.say("山西太原")]
    assert (asked_fact(texts) == "claimant") == asked, texts


def test_a_deadline_in_five_days_brings_advance_aid(conversation):
    person = Person(
        conversation,
        {
            "region": "山西大同",
            "migrant_worker": "是",
            "days_to_deadline": "还有五天就过时效了",
            "case_location": "本地",
        },
    )
    result = person.check("厂里干活把手指头轧断了 老板不管", "帮我查一查")
    assert "先行提供法律援助" in result
    assert "第四十四条第（一）项" in result


def test_a_disabled_person_over_seventy_makes_a_will_free_in_baotou(conversation):
    person = Person(
        conversation,
        {
            "region": "包头市",
            "notarization_service": "立遗嘱",
            "age": "七十二岁",
            "disability_categories": "听力残疾",
            "first_will": "是第一次",
        },
    )
    conversation.say("我是残疾人 办公证能减免费用吗")
    result = person.check("帮我查一查")
    assert "免收公证费" in result
    assert "包头市《进一步加强残疾人法律服务工作的措施》" in result


def test_a_person_who_will_not_say_their_income_is_told_what_is_uncertain(conversation):
    person = Person(
        conversation,
        {
            "region": "河北保定",
            "migrant_worker": "不是",
            "age": "三十五",
            "disability_categories": "没有",
            "minimum_living_allowance": "不是",
            "no_fixed_income": "有",
            "income_per_capita_monthly": "不想说",
        },
    )
    result = person.check("公司拖欠我两个月工资 一直不给", "帮我查一查")
    assert "需要先看收入" in result
    assert "您没有回答：家庭人均月收入" in result


def test_why_is_answered_with_the_source_and_the_question_comes_again(conversation):
    conversation.say("老板拖了我三个月工资不给")
    conversation.say("帮我查一查")
    texts = [r.get("text") or "" for r in conversation.say("为什么问这个")]
    assert any("来源" in text for text in texts[:-1])
    assert asked_fact(texts) == "region"


@pytest.mark.parametrize(
    ("fact", "spoken", "value"),
    [
        ("age", "六十八岁", 68),
        ("income_per_capita_monthly", "一千二", 1200.0),
        ("income_per_capita_monthly", "两千五百块", 2500.0),
        ("disability_grade", "二级", 2),
        ("disability_grade", "重度", 2),
        ("migrant_worker", "对", True),
        ("migrant_worker", "没有", False),
        ("has_disability_certificate", "有", True),
        ("domestic_violence_victim", "不是", False),
        # The longest word counts: 可以 in 不可以, 没 in 没问题, 有 in 有问题.
        ("migrant_worker", "不可以", False),
        ("migrant_worker", "对，没问题", True),
        ("migrant_worker", "有问题", False),
        ("days_to_deadline", "两个月", 60),
        ("age", "是第一次", None),
        # None at all, though a 一 is said.
        ("household_disabled_count", "一个也没有", 0),
        ("household_disabled_count", "没有一个", 0),
        ("household_disabled_count", "就我一个", 1),
    ],
)
def test_spoken_answers_are_understood(fact, spoken, value):
    assert parse_answer(fact, spoken) == value


def test_questions_and_results_have_a_spoken_variant(stack):
    sender = "voice-eligibility"

    def voice(message: str) -> list[str]:
        response = requests.post(
            f"{stack.rasa_url}/webhooks/voice/webhook",
            json={"sender": sender, "message": message},
            timeout=30,
        )
        response.raise_for_status()
        return [m.get("text") or "" for m in response.json()]

    voice("包工头欠了我工钱不给")
    question = voice("帮我查一查")[-1]
    assert "“" not in question and "比如，山西太原" in question
    # Region, migrant worker (then the decision), deadline, preservation, and
    # where the case is (art. 38), then the rest of the result.
    texts = [
        text for answer in ("山西太原", "是", "没有", "没有", "本地") for text in voice(answer)
    ]
    spoken = "\n".join(texts)
    assert "结果是：您可以申请法律援助" in spoken
    assert "来源是法律援助法第四十二条第三项" in spoken
    assert "到哪里申请：向太原市的法律援助机构申请" in spoken
    assert "来源是法律援助法第三十八条" in spoken
    assert "《" not in spoken and "（" not in spoken


def test_the_deadline_is_asked_before_facts_only_a_narrower_rule_needs():
    eligible = {
        "region": "shanxi",
        "matter_type": "domestic_violence",
        "domestic_violence_victim": True,
    }
    assert benefit_facts(eligible, ("advance_aid",))[0] == "days_to_deadline"
    settled = frozenset({"days_to_deadline"})
    no_preservation = {**eligible, "needs_urgent_preservation": False}
    # Without a deadline, the women's urgent-case rule cannot apply: no more questions.
    assert benefit_facts(no_preservation, ("advance_aid",), settled) == []


def test_a_granted_benefit_needs_no_more_questions():
    urgent = {"matter_type": "labor_wages", "migrant_worker": True, "days_to_deadline": 3}
    assert benefit_facts(urgent, ("advance_aid",)) == []


def test_fee_questions_follow_the_service():
    will = {
        "region": "baotou",
        "notarization_service": "will",
        "age": 72,
        "disability_categories": ["hearing"],
    }
    assert benefit_facts(will, ("fee_reduction",)) == ["first_will"]


def test_repeat_and_slower_during_the_questions_say_the_question_again(conversation):
    conversation.say("包工头欠我工钱")
    first = [m["text"] for m in conversation.say("帮我查一查") if m.get("text")]
    question = asked_fact(first)
    assert question is not None
    again = [m["text"] for m in conversation.say("/repeat") if m.get("text")]
    assert asked_fact(again) == question and not any("没听" in t for t in again)
    slower = [m["text"] for m in conversation.say("/speak_slower") if m.get("text")]
    assert any("说慢一点" in t for t in slower) and asked_fact(slower) == question


def test_asking_for_a_person_ends_the_questions(conversation):
    conversation.say("包工头欠我工钱")
    conversation.say("帮我查一查")
    reply = conversation.reply_text("转人工")
    assert "律师" in reply  # who takes over, or when; which depends on the roster
    assert asked_fact([reply]) is None
    # The questions do not come back on the next message.
    assert asked_fact([conversation.reply_text("谢谢")]) is None


def test_danger_during_the_questions_comes_first(conversation):
    conversation.say("包工头欠我工钱")
    conversation.say("帮我查一查")
    conversation.say("山西太原")
    reply = conversation.reply_text("他喝醉了拿刀要砍我")
    assert "110" in reply
    assert asked_fact([reply]) is None
