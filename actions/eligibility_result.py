"""The eligibility result, told in the order a person needs it.

First the decision (actions/eligibility_decision.py: the answer in plain
words, why, what stays uncertain), unless the questions already told it
before asking where and how to apply; then what the person can get (the forms
of aid of art. 22 and the services the documents promise) and where to apply
(art. 38), each with its source; then the next step with buttons. The words of
the headline, the introductions and next steps are responses in domain.yml;
the reasons, forms, services and places and their citations come from the
rule files through the engine.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.conversation import restart
from actions.eligibility_decision import (
    Telling,
    tell_decision,
    told_during_questions,
)
from actions.eligibility_form import FORM, LEAVING_TO, about_notarization, facts_from_tracker
from actions.voice import for_ear, is_voice
from legal_aid.eligibility import assess, load_ruleset
from legal_aid.eligibility.engine import rules_for
from legal_aid.eligibility.facts import check_facts
from legal_aid.numbers import number_to_chinese
from legal_aid.policy_data import DEFAULT_REGION


def next_step(assessment: dict[str, Any]) -> str:
    """The response with the next step and its buttons."""
    if assessment["route"] == "notification":
        return "utter_eligibility_next_notification"
    if assessment["decision"] in ("eligible", "needs_more_facts"):
        return "utter_eligibility_next_apply"
    return "utter_eligibility_next_alternatives"


def join_citations(citations: list[str]) -> str:
    """Sources of one article said once: 《法律援助法》第二十二条第（一）项、第（四）项."""
    unique = list(dict.fromkeys(citations))
    article, _, _ = unique[0].partition("条")
    if all(c.startswith(f"{article}条") for c in unique) and len(unique) > 1:
        return f"{unique[0]}、" + "、".join(c.removeprefix(f"{article}条") for c in unique[1:])
    return "；".join(unique)


def forms_of_aid_words(facts: dict[str, Any], assessment: dict[str, Any]) -> tuple[str, str] | None:
    """The forms of aid in words and their sources, when there is more than
    the consultation everyone gets (the headline says that one)."""
    forms = assessment["forms_of_aid"]
    if forms in ([], ["consultation"]):
        return None
    labels = rules_for(check_facts(facts)).forms_of_aid
    words = "、".join(labels[form]["zh"] for form in forms)
    return words, join_citations([labels[form]["citation"] for form in forms])


def tell_what_else(telling: Telling, facts: dict[str, Any], assessment: dict[str, Any]) -> None:
    """The forms of aid, the services promised, and where to apply, each with its source."""
    voice = telling.voice
    forms = forms_of_aid_words(facts, assessment)
    if forms is not None:
        words, citation = forms
        telling.response(
            "utter_eligibility_forms_of_aid",
            forms=for_ear(words) if voice else words,
            citation=for_ear(citation) if voice else citation,
        )
    if assessment["benefits"]:
        telling.response("utter_eligibility_benefits")
        for benefit in assessment["benefits"]:
            telling.cited(benefit["zh"], benefit["citation"])
    apply_at = assessment.get("apply_at")
    if apply_at is not None:
        telling.response(
            "utter_eligibility_apply_at",
            where=for_ear(apply_at["zh"]) if voice else apply_at["zh"],
            citation=for_ear(apply_at["citation"]) if voice else apply_at["citation"],
        )
        left = apply_at.get("home_rules_not_applied")
        if left is not None:
            telling.cited(left["zh"], left["citation"])
    telling.flush()


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
            # The other ways out of the questions: a person (转人工), or 删除我的信息.
            return [SlotSet(slots.ELIGIBILITY_LEFT, None), FollowupAction(LEAVING_TO[left])]
        facts = facts_from_tracker(tracker)
        assessment = assess(facts)
        voice = is_voice(tracker)
        if about_notarization(tracker):
            return self._tell_fee_reductions(dispatcher, facts, assessment, voice)
        telling = Telling(dispatcher, voice)
        tell_decision(telling, tracker, facts, assessment, told_during_questions(tracker, FORM))
        tell_what_else(telling, facts, assessment)
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
        telling = Telling(dispatcher, voice)
        for reason in assessment["reasons"]:
            if reason.get("rule") in fee_rules:
                telling.cited(reason["zh"], reason["citation"])
        telling.flush()
        tell_what_else(telling, facts, assessment)
        dispatcher.utter_message(response="utter_eligibility_next_notarization")
        return []


def fee_reduction_rules(facts: dict[str, Any]) -> set[str]:
    """The ids of the region's rules that reduce a fee."""
    ruleset = load_ruleset(facts.get(slots.REGION) or DEFAULT_REGION)
    return {rule.id for rule in ruleset.rules if "fee_reduction" in rule.effect}
