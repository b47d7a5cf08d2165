"""The eligibility result, told in the order a person needs it.

First the answer in plain words (可以申请 / 不需要审查收入 / 需要先看收入),
then why, each reason with its source, then what stays uncertain because a
question went unanswered, then the next step with buttons. The words of the
headline and next steps are responses in domain.yml; the reasons and their
citations come from the rule files through the engine.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.conversation import restart
from actions.eligibility_form import about_notarization, economic_test_facts, facts_from_tracker
from actions.voice import for_ear, is_voice, source_line
from legal_aid.eligibility import assess, load_ruleset
from legal_aid.eligibility.facts import FACTS
from legal_aid.numbers import number_to_chinese
from legal_aid.policy_data import DEFAULT_REGION


def headline(assessment: dict[str, Any], income_facts: frozenset[str]) -> str:
    """The response that says the outcome in plain words (`income_facts`: the
    facts of the region's economic test, economic_test_facts)."""
    decision, route, review = (
        assessment["decision"],
        assessment["route"],
        assessment["economic_review"],
    )
    if decision == "eligible" and route == "notification":
        return "utter_eligibility_notification"
    if decision == "eligible" and review == "exempt":
        return "utter_eligibility_exempt"
    if decision == "eligible":
        return "utter_eligibility_income_met"
    if decision == "needs_more_facts" and income_facts & set(assessment["missing_facts"]):
        return "utter_eligibility_income_check"
    if decision == "needs_more_facts":
        return "utter_eligibility_uncertain"
    if route == "duty_lawyer":
        return "utter_eligibility_duty_lawyer"
    if decision == "consultation_only":
        return "utter_eligibility_consultation_only"
    return "utter_eligibility_not_eligible"


def next_step(assessment: dict[str, Any]) -> str:
    """The response with the next step and its buttons."""
    if assessment["route"] == "notification":
        return "utter_eligibility_next_notification"
    if assessment["decision"] in ("eligible", "needs_more_facts"):
        return "utter_eligibility_next_apply"
    return "utter_eligibility_next_alternatives"


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


class ActionEligibilityResult(Action):
    """Assesses the facts the form collected and tells the result."""

    def name(self) -> str:
        return "action_eligibility_result"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        left = tracker.get_slot(slots.ELIGIBILITY_LEFT)
        if left == "start_over":
            return restart(dispatcher, tracker)
        if left:
            # The only other way out of the questions: asking for a person (转人工).
            return [SlotSet(slots.ELIGIBILITY_LEFT, None), FollowupAction("action_handoff")]
        facts = facts_from_tracker(tracker)
        assessment = assess(facts)
        voice = is_voice(tracker)
        if about_notarization(tracker):
            return self._tell_fee_reductions(dispatcher, facts, assessment, voice)
        dispatcher.utter_message(response=headline(assessment, economic_test_facts(facts)))
        lines = [
            f"{for_ear(reason['zh'])}{source_line(reason['citation'], voice)}"
            if voice
            else f"· {reason['zh']}\n  {source_line(reason['citation'], voice)}"
            for reason in assessment["reasons"]
        ]
        extra = [
            threshold_line(assessment, voice),
            uncertain_line(tracker.get_slot(slots.ELIGIBILITY_DECLINED) or [], assessment),
        ]
        lines += [for_ear(line) if voice else line for line in extra if line]
        if voice:
            # One spoken message per reason: a pause between them, and the
            # listener can say "再说一遍" after any of them.
            for line in lines:
                dispatcher.utter_message(text=line)
        else:
            dispatcher.utter_message(text="\n".join(lines))
        dispatcher.utter_message(response=next_step(assessment))
        return []

    def _tell_fee_reductions(
        self,
        dispatcher: CollectingDispatcher,
        facts: dict[str, Any],
        assessment: dict[str, Any],
        voice: bool,
    ) -> list[dict[str, Any]]:
        """For a notarization: the reduction and its source, not a legal-aid decision."""
        reductions = assessment["fee_reductions"]
        if not reductions:
            dispatcher.utter_message(response="utter_eligibility_no_fee_reduction")
            return []
        percent = max(r["min_percent"] for r in reductions)
        dispatcher.utter_message(
            response="utter_eligibility_fee_free"
            if percent >= 100
            else "utter_eligibility_fee_reduced",
            percent=number_to_chinese(percent) if voice else str(percent),
        )
        fee_rules = fee_reduction_rules(facts)
        for reason in assessment["reasons"]:
            if reason.get("rule") in fee_rules:
                dispatcher.utter_message(
                    text=f"{reason['zh']}\n{source_line(reason['citation'], voice)}"
                )
        dispatcher.utter_message(response="utter_eligibility_next_notarization")
        return []


def fee_reduction_rules(facts: dict[str, Any]) -> set[str]:
    """The ids of the region's rules that reduce a fee."""
    ruleset = load_ruleset(facts.get(slots.REGION) or DEFAULT_REGION)
    return {rule.id for rule in ruleset.rules if "fee_reduction" in rule.effect}
