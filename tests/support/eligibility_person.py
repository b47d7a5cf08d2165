"""A person going through the eligibility questions: each question recognised,
answered from what that person would say.

Shared by the eligibility dialogue tests (tests/test_eligibility_dialogue.py,
tests/test_eligibility_routes_dialogue.py). A question the person has no
answer for fails the test: only questions that matter may be asked.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import requests

from scripts.launcher import Stack


class Talks(Protocol):
    def say(self, message: str) -> list[dict]: ...


# What the form may ask, recognised by words of its question (domain.yml utter_ask_*).
QUESTION_WORDS = {
    "matter_type": "什么事",
    "region": "哪个省",
    "claimant": "是谁要的",
    "proceeding": "报警立案",
    "criminal_role": "刑事案件里",
    "has_lawyer": "请了律师",
    "case_location": "在哪里办",
    "domestic_violence_victim": "家庭暴力、虐待或者遗弃吗",
    "migrant_worker": "农民工",
    "retrial_acquitted": "再审改判",
    "good_samaritan": "见义勇为",
    "hero_martyr_relative": "英雄烈士",
    "age": "多大",
    "birth_date": "哪年哪月",
    "gender": "男性还是女性",
    "cannot_fully_understand_own_conduct": "完全明白",
    "may_face_life_or_death_sentence": "无期徒刑",
    # Asked together with the two after it (policy/answers.yml grouped_questions).
    "death_penalty_review": "死刑复核",
    "absentee_trial": "缺席审判吗",
    "compulsory_medical_treatment": "强制医疗的案子吗",
    "disability_categories": "有残疾吗",
    "disability_grade": "几级",
    "has_disability_certificate": "有残疾证吗",
    # Asked together with 特困 (policy/answers.yml grouped_questions), so first.
    "minimum_living_allowance": "低保户",
    "extreme_hardship_support": "特困",
    "no_fixed_income": "固定的生活来源",
    "orphan": "孤儿",
    "household_disabled_count": "几个残疾人",
    "elderly_and_disabled_household": "老残一体",
    "income_per_capita_monthly": "每人每个月",
    "local_minimum_living_standard_monthly": "低保标准",
    "days_to_deadline": "期限",
    "needs_urgent_preservation": "保全",
    "detained": "被关押",
    "guardian_infringes": "其他监护人吗",
    "notarization_service": "什么公证",
    "first_will": "第一次办遗嘱",
    "inheritance_amount": "值多少钱",
}
# How every decision begins (domain.yml utter_eligibility_*, text and voice).
DECISION_WORDS = ("结果：", "结果是：")
# The answer "you can apply" told while the questions about money go on
# (utter_eligibility_may_apply): not the decision, which comes after them.
MAY_APPLY = ("结果：您的事情可以申请法律援助。", "结果是：您的事情可以申请法律援助。")
# Eight for the decision and what helps at once, and two the law adds for an
# applicant: whose claim a support payment is, and where the case is (art. 38).
MAX_QUESTIONS = 10


def asked_fact(texts: list[str]) -> str | None:
    """The fact the last message asks about, or None when the form is done."""
    last = texts[-1] if texts else ""
    for fact, words in QUESTION_WORDS.items():
        if words in last:
            return fact
    return None


class Person:
    """Answers the form's questions from what this person would say."""

    def __init__(self, conversation: Talks, answers: dict[str, str]) -> None:
        self.conversation = conversation
        self.answers = answers
        self.asked: list[str] = []

    def say(self, text: str) -> list[str]:
        return [reply.get("text") or "" for reply in self.conversation.say(text)]

    def check(self, *opening: str) -> str:
        """Says the opening messages, answers every question; the result's text,
        from its first answer ("you can apply", before the questions about
        money; or the decision, told as soon as it is known, before the
        questions about where and how to apply) to its end."""
        texts: list[str] = []
        for message in opening:
            texts = self.say(message)
        transcript = list(texts)
        while (fact := asked_fact(texts)) is not None:
            assert fact not in self.asked[-1:], f"asked {fact} twice in a row: {texts}"
            assert fact in self.answers, f"asked {fact}, which does not matter here: {texts}"
            assert len(self.asked) < MAX_QUESTIONS, f"too many questions: {self.asked}"
            self.asked.append(fact)
            texts = self.say(self.answers[fact])
            transcript += texts
        told = [i for i, text in enumerate(transcript) if text.startswith(DECISION_WORDS)]
        decided = [i for i in told if transcript[i] not in MAY_APPLY]
        assert len(decided) <= 1, f"the decision was told more than once: {transcript}"
        assert len(told) - len(decided) <= 1, f"'you can apply' told twice: {transcript}"
        assert not decided or told[-1] == decided[0], f"told after the decision: {transcript}"
        return "\n".join(transcript[told[0] :] if told else texts)


class VoiceConversation:
    """One caller talking to the assistant through Rasa's voice channel (the
    spoken variants of the responses)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sender = f"voice-{uuid.uuid4().hex[:12]}"

    def say(self, message: str) -> list[dict]:
        response = requests.post(
            f"{self.stack.rasa_url}/webhooks/voice/webhook",
            json={"sender": self.sender, "message": message},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()
