"""The four conversations of issue 25 go forward, on the web chat and by voice."""

from __future__ import annotations

import uuid

import pytest

from tests.simulator.people import TEXT, VOICE
from tests.simulator.talk import say, state

CONSENT = "您同意吗"
THREE_STEPS = "申请分三步"
ELIGIBILITY_START = "几个简短的问题"


class Person:
    def __init__(self, stack, channel: str) -> None:
        self.rasa_url, self.rasa_token = stack.rasa_url, stack.rasa_token
        self.channel = channel
        self.sender = f"forward-{uuid.uuid4().hex[:12]}"
        self.heard: list[str] = []

    def say(self, message: str) -> str:
        replies = say(self.rasa_url, self.sender, message, self.channel)
        text = "\n".join(r.get("text") or "" for r in replies)
        assert text != (self.heard[-1] if self.heard else None), f"the same reply twice: {text}"
        self.heard.append(text)
        return text

    def slots(self) -> dict:
        return state(self.rasa_url, self.sender, self.rasa_token)["slots"]


@pytest.mark.parametrize("channel", [TEXT, VOICE])
def test_wanting_to_apply_applies(stack, channel):
    person = Person(stack, channel)
    first = person.say("我想申请法律援助")
    assert "直接" in first and "查一查" in first and THREE_STEPS not in first
    second = person.say("我想申请法律援助")
    assert CONSENT in second and THREE_STEPS not in second


@pytest.mark.parametrize("channel", [TEXT, VOICE])
@pytest.mark.parametrize("yes", ["好", "嗯", "可以", "1", "第一个"])
def test_yes_or_the_number_takes_the_first_option(stack, channel, yes):
    person = Person(stack, channel)
    person.say("老板欠我工资不给")
    after = person.say(yes)
    assert "还有什么可以帮您" not in after
    assert ELIGIBILITY_START in after


@pytest.mark.parametrize("channel", [TEXT, VOICE])
def test_the_options_words_or_number_choose_it(stack, channel):
    person = Person(stack, channel)
    person.say("老板欠我工资不给")
    assert "身份证件" in person.say("二" if channel == VOICE else "2")
    other = Person(stack, channel)
    other.say("老板欠我工资不给")
    assert "身份证件" in other.say("要准备什么材料")


@pytest.mark.parametrize("channel", [TEXT, VOICE])
def test_can_i_apply_after_a_problem_checks(stack, channel):
    person = Person(stack, channel)
    person.say("老板欠我工资不给")
    assert ELIGIBILITY_START in person.say("能申请吗")


@pytest.mark.parametrize("channel", [TEXT, VOICE])
def test_the_question_asked_is_answered_with_age_and_matter_taken(stack, channel):
    person = Person(stack, channel)
    reply = person.say("我七十二了，三个儿子都不给赡养费，能不能请法律援助")
    assert ELIGIBILITY_START in reply
    slots = person.slots()
    assert slots["matter_type"] == "family_support"
    assert slots["age"] == 72
    assert "多大" not in "\n".join(person.heard)


def test_misunderstandings_offer_a_person_and_never_repeat(stack):
    person = Person(stack, TEXT)
    # What Rasa's FallbackClassifier makes of a message it does not understand,
    # sent directly: independent of which sentences the model is unsure about.
    replies = [person.say("/nlu_fallback") for _ in range(3)]
    assert "12348" in replies[1] and "值班律师" in replies[1]
    assert "12348" in replies[2]


def test_the_same_question_twice_changes_approach(stack):
    person = Person(stack, TEXT)
    person.say("法律援助要收费吗")
    assert "说过了" in person.say("法律援助要收费吗")
