"""An eligibility decision told: the answer in plain words, why, and what stays open.

The part of the result that answers "can I get legal aid": a headline in
plain words (可以申请 / 不需要审查收入 / 需要先看收入), each reason with its source,
the income line and what stays uncertain because a question went unanswered.
The form tells it as soon as the engine has decided, before it asks where and
how to apply (actions/eligibility_form.py); the result action otherwise
(actions/eligibility_result.py), which then tells the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.voice import for_ear, source_line
from legal_aid.eligibility import load_ruleset
from legal_aid.eligibility.facts import FACTS
from legal_aid.numbers import number_to_chinese
from legal_aid.policy_data import DEFAULT_REGION


@dataclass(frozen=True)
class _Outcome:
    """What a headline is chosen by."""

    decision: str
    route: str | None
    review: str | None
    income_open: bool  # the region's income or 低保 line still to ask


# The response that says each outcome in plain words: the first that fits.
HEADLINES: tuple[tuple[str, Callable[[_Outcome], bool]], ...] = (
    ("utter_eligibility_notification",
     lambda o: o.decision == "eligible" and o.route == "notification"),
    ("utter_eligibility_exempt", lambda o: o.decision == "eligible" and o.review == "exempt"),
    ("utter_eligibility_income_met", lambda o: o.decision == "eligible"),
    ("utter_eligibility_income_check",
     lambda o: o.decision == "needs_more_facts" and o.income_open),
    ("utter_eligibility_uncertain", lambda o: o.decision == "needs_more_facts"),
    ("utter_eligibility_duty_lawyer", lambda o: o.route == "duty_lawyer"),
    ("utter_eligibility_consultation_only", lambda o: o.decision == "consultation_only"),
    ("utter_eligibility_not_eligible", lambda o: True),
)  # fmt: skip
# "You can apply; the questions left are about money": told while they go on,
# never as the result (actions/eligibility_form.py).
MAY_APPLY = "utter_eligibility_may_apply"
# The responses that say a decision. Before the questions end, only MAY_APPLY
# and the two of an eligible applicant are ever told.
DECISIONS = frozenset(response for response, _ in HEADLINES) | {MAY_APPLY}


def headline(assessment: dict[str, Any], income_facts: frozenset[str]) -> str:
    """The response that says the outcome in plain words (`income_facts`: the
    facts of the region's economic test, economic_test_facts)."""
    outcome = _Outcome(
        decision=assessment["decision"],
        route=assessment["route"],
        review=assessment["economic_review"],
        income_open=bool(income_facts & set(assessment["missing_facts"])),
    )
    return next(response for response, fits in HEADLINES if fits(outcome))


def economic_test_facts(facts: dict[str, Any]) -> frozenset[str]:
    """The income and the 低保 line the region's economic test compares (its rule file)."""
    test = load_ruleset(facts.get(slots.REGION) or DEFAULT_REGION).economic_test
    return frozenset({test["income"], test["standard"]})


def uncertain_line(declined: list[str], assessment: dict[str, Any]) -> str | None:
    """What stays open because the person did not answer, or None."""
    labels = ["所在地区，先按全国的规定说" if f == slots.REGION else FACTS[f].zh for f in declined]
    if not labels:
        return None
    open_facts = [FACTS[f].zh for f in assessment["missing_facts"] if f in FACTS]
    line = f"您没有回答：{'、'.join(labels)}。"
    if open_facts:
        line += f"所以还不能确定，要等法律援助机构核对：{'、'.join(open_facts)}。"
    return line


def threshold_line(assessment: dict[str, Any], voice: bool) -> str | None:
    threshold = assessment.get("hardship_threshold_monthly")
    if threshold is None or assessment["economic_review"] != "required":
        return None
    amount = number_to_chinese(int(threshold)) if voice else f"{threshold:g}"
    return f"适用的经济困难标准是家庭人均每月{amount}元。"


class Telling:
    """Lines of the result for eye or ear: a bullet and a source line below for
    the eye, one spoken message per line for the ear."""

    def __init__(self, dispatcher: CollectingDispatcher, voice: bool) -> None:
        self.dispatcher = dispatcher
        self.voice = voice
        self.lines: list[str] = []

    def cited(self, zh: str, citation: str) -> None:
        if self.voice:
            self.lines.append(f"{for_ear(zh)}{source_line(citation, True)}")
        else:
            self.lines.append(f"· {zh}\n  {source_line(citation, False)}")

    def plain(self, line: str) -> None:
        self.lines.append(for_ear(line) if self.voice else line)

    def response(self, name: str, **values: str) -> None:
        """A response of domain.yml, after the lines so far."""
        self.flush()
        self.dispatcher.utter_message(response=name, **values)

    def flush(self) -> None:
        if self.voice:
            # One spoken message per line: a pause between them, and the
            # listener can say "再说一遍" after any of them.
            for line in self.lines:
                self.dispatcher.utter_message(text=line)
        elif self.lines:
            self.dispatcher.utter_message(text="\n".join(self.lines))
        self.lines = []


@dataclass(frozen=True)
class Told:
    """What the questions under way have told so far: the last decision (its
    headline response, or None) and everything said since they began."""

    decision: str | None = None
    said: str = ""

    def mentions(self, line: str) -> bool:
        return line in self.said or for_ear(line) in self.said


def told_during_questions(tracker: Tracker, form: str) -> Told:
    """What was told since the questions of `form` began (its latest start)."""
    said: list[str] = []
    decision = None
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == form:
            break
        if event.get("event") == "bot":
            said.append(event.get("text") or "")
            response = (event.get("metadata") or {}).get("utter_action")
            if decision is None and response in DECISIONS:
                decision = response
    return Told(decision, "\n".join(reversed(said)))


def tell_decision(
    telling: Telling,
    tracker: Tracker,
    facts: dict[str, Any],
    assessment: dict[str, Any],
    told: Told = Told(),
) -> None:
    """The answer in plain words, why (each reason with its source), the income
    line and what stays uncertain: the part of the result that answers "can I".
    A reason the questions already told (`told`) is not told again; when they
    told this very decision, only what is new since: a reason an answer after
    it brought (a deadline: advance aid)."""
    decision = headline(assessment, economic_test_facts(facts))
    again = told.decision == decision
    if not again:
        telling.response(decision)
    for reason in assessment["reasons"]:
        if not told.mentions(reason["zh"]):
            telling.cited(reason["zh"], reason["citation"])
    for line in (
        threshold_line(assessment, telling.voice),
        uncertain_line(tracker.get_slot(slots.ELIGIBILITY_DECLINED) or [], assessment),
    ):
        if line and not (again and told.mentions(line)):
            telling.plain(line)
    telling.flush()
