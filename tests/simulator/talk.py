"""One simulated conversation with the real stack, and what it measured.

The person talks to Rasa's webhooks directly, as the gateway does (`rest` with
the web chat's metadata, `voice` with the voice channel's), through `say`
only, so a change of the way in is one function. A form's question is
answered from the person's facts by the slot Rasa says it is asking
(the tracker API), so the simulator never guesses which question it heard.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.simulator.people import TEXT, VOICE, Person

MAX_TURNS = 45
DEAD_END = "还有什么可以帮您"
# Answers anybody would give to the questions their story does not settle.
DEFAULT_ANSWERS = {
    "region": "太原",
    "days_to_deadline": "没有",
    "needs_urgent_preservation": "不用",
    "case_location": "本地",
    "intake_consent": "同意",
    "applying_for": "为自己申请",
    "age": "四十五岁",
    "applicant_name": "我叫王秀兰",
    "phone": "13812345678",
    "phone_confirmed": "对",
    "id_number": "不想说",
    "county": "太原市小店区",
    "matter_confirmed": "对",
    "description": "事情拖了很久一直没有解决，对方不给钱。",
    "disability_certificate": "没有",
    "accessibility_needs": "不需要",
    "contact_preference": "打电话",
    "intake_review": "对",
}
UNKNOWN = "不知道"
# The Rasa input channel and metadata the gateway uses for each channel
# (bot/turns.py): the web chat reads, the voice channel listens.
WAYS_IN = {TEXT: ("rest", {"channel": "web"}), VOICE: ("voice", {"channel": "voice"})}


def say(rasa_url: str, sender: str, message: str, channel: str) -> list[dict[str, Any]]:
    """One message to the assistant, as the gateway sends it for that channel."""
    webhook, metadata = WAYS_IN[channel]
    response = requests.post(
        f"{rasa_url}/webhooks/{webhook}/webhook",
        json={"sender": sender, "message": message, "metadata": metadata},
        timeout=120,
    )
    response.raise_for_status()
    return response.json()


def state(rasa_url: str, sender: str, token: str) -> dict[str, Any]:
    """The conversation's slots and active form (no events: cheap). Rasa's HTTP
    API wants its token (RASA_TOKEN); the webhooks do not."""
    response = requests.get(
        f"{rasa_url}/conversations/{sender}/tracker",
        params={"include_events": "NONE", "token": token},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()


@dataclass
class Outcome:
    person: Person
    turns: int = 0
    turns_to_goal: int | None = None
    repeats: int = 0
    dead_ends: int = 0
    # "qualify": the turn the eligibility questions ended, after the first answer.
    check_ended: int | None = None
    transcript: list[str] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.turns_to_goal is not None


def reached(goal: str, text: str, slots: dict[str, Any]) -> bool:
    if goal == "qualify":
        # The first answer to "能不能申请" (often "可以申请" with the questions
        # about money still to come): `check_ended` counts to the end of them.
        return "结果：" in text or "结果是：" in text
    if goal == "apply":
        return "登记编号是" in text
    if goal == "human":
        return slots.get("handoff_consent") is True
    return "身份证件" in text and "证据" in text


def option_index(person: Person, replies: list[dict[str, Any]]) -> tuple[int, int] | None:
    """Where the goal's option is among the buttons offered: (index, how many)."""
    buttons = [b for r in replies for b in r.get("buttons") or []]
    for index, button in enumerate(buttons):
        if button.get("payload") == person.about["payload"]:
            return index, len(buttons)
    return None


def spoken_option(person: Person, text: str) -> str | None:
    """The goal's option as a listener hears it offered ("您可以说：现在登记申请…")."""
    return next((w for w in person.about["option_words"] if w in text), None)


def answer_offer(person: Person, replies: list[dict[str, Any]], used: set[str]) -> str:
    """How this person answers what was offered, on the way to their goal."""
    text = "\n".join(r.get("text") or "" for r in replies)
    found = option_index(person, replies)
    if person.style == "remark" and "remark" not in used:
        used.add("remark")
        return person.remark()
    if person.style == "question" and "question" not in used:
        used.add("question")
        return person.question()
    if found is None:
        words = spoken_option(person, text)
        if words and person.style in ("words", "yes", "button", "number", "remark"):
            return words
        return person.ask_again()
    index, _ = found
    buttons = [b for r in replies for b in r.get("buttons") or []]
    if person.style == "button":
        return buttons[index]["payload"]
    if person.style == "yes" and index == 0:
        return person.yes()
    if person.style in ("number", "yes"):
        return person.number(index + 1)
    if person.style == "rephrase" and "rephrase" not in used:
        used.add("rephrase")
        return person.ask_again()
    return buttons[index]["title"]


def next_message(person: Person, replies: list[dict], now: dict, used: set[str]) -> str:
    slots = now.get("slots") or {}
    asking = slots.get("requested_slot")
    if (now.get("active_loop") or {}).get("name") and asking:
        # "您遇到的是什么事？" is answered with the story.
        facts = {"matter_type": person.story["story"], **person.everyone, **person.story["facts"]}
        return facts.get(asking) or DEFAULT_ANSWERS.get(asking) or UNKNOWN
    if slots.get("handoff_consent_asked"):
        return "同意"
    return answer_offer(person, replies, used)


def converse(rasa_url: str, token: str, person: Person) -> Outcome:
    """The whole conversation, until the goal is reached or MAX_TURNS."""
    outcome = Outcome(person)
    sender = f"sim-{uuid.uuid4().hex[:12]}"
    queue = person.first_messages()
    previous = None
    used: set[str] = set()
    replies: list[dict[str, Any]] = []
    now: dict[str, Any] = {}
    while outcome.turns < MAX_TURNS:
        message = queue.pop(0) if queue else next_message(person, replies, now, used)
        replies = say(rasa_url, sender, message, person.channel)
        outcome.turns += 1
        text = "\n".join(r.get("text") or "" for r in replies)
        outcome.transcript += [f"> {message}", text]
        if text and text == previous:
            outcome.repeats += 1
        previous = text
        now = state(rasa_url, sender, token)
        if DEAD_END in text:
            outcome.dead_ends += 1
        if not outcome.reached and reached(person.goal, text, now.get("slots") or {}):
            outcome.turns_to_goal = outcome.turns
        if outcome.reached and not _checking(now):
            if person.goal == "qualify":
                outcome.check_ended = outcome.turns
            return outcome
    return outcome


def _checking(now: dict[str, Any]) -> bool:
    """Whether the eligibility questions are still under way."""
    return (now.get("active_loop") or {}).get("name") == "eligibility_form"
