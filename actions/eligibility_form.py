"""The eligibility form: asks only the facts the engine still needs, one at a time.

The form's questions are not a fixed list: after every answer the engine
(legal_aid.eligibility) assesses the facts known so far, and the next question
is the first of its `missing_facts` (in the data's question order). A person
may decline any question ("不想说", "不知道"); it is not asked again and the
result says what stays uncertain. "为什么问这个" gets the question's reason,
with its source, and the question again.

Slots carry the facts under their contract names (shared/spec/eligibility.md);
the questions, their buttons, spoken variants and reasons are responses in
domain.yml (`utter_ask_<fact>`, `utter_why_<fact>`).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import slots
from actions.conversation import speech_request
from actions.eligibility_decision import (
    MAY_APPLY,
    Telling,
    Told,
    economic_test_facts,
    headline,
    tell_decision,
    told_during_questions,
)
from actions.no_repeat import previous_text, vary
from actions.voice import is_voice
from legal_aid.eligibility import FactError, assess, condition_holds, reasons_to_apply
from legal_aid.eligibility.answers import (
    grouped_facts,
    is_decline,
    is_own_claim,
    parse_answer,
    parse_case_location,
    parse_grouped_answer,
    parse_yes_no,
)
from legal_aid.eligibility.engine import APPLY_AT, benefit_facts
from legal_aid.eligibility.facts import FACTS, check_value
from legal_aid.places import most_specific_place
from legal_aid.policy_data import DEFAULT_REGION

FORM = "eligibility_form"
# Facts the person declined or did not know (slots.ELIGIBILITY_DECLINED) are not
# asked again and are named in the result; facts settled without a value ("没有"
# to "有没有很急的期限") are in slots.ELIGIBILITY_SETTLED. The region is asked first
# when unknown: it decides which rule file applies.
#
# Asked once the person is eligible: a deadline under seven days away or urgent
# preservation brings advance aid (art. 44), the custody authority or a relative
# can carry the application (arts. 39, 40), and the place of the case says where
# to apply (art. 38). These change what to do now but not whether they qualify,
# so the engine lists them apart (benefit_facts).
URGENCY = slots.DAYS_TO_DEADLINE
AFTER_THE_DECISION = ("advance_aid", "apply_channel", APPLY_AT)
# Notarization fee reductions (Baotou) are asked about when the person came for them.
NOTARIZATION_INTENT = "notarization_fee"
# The questions whose yes means the fact is false ("有固定收入吗？" for no_fixed_income).
INVERTED_QUESTIONS = frozenset({slots.NO_FIXED_INCOME})
# The last intents that interrupt rather than answer (see the slot mappings).
ASK_WHY = "ask_why"
DECLINE = "decline_answer"
# Intents that end the questions when said clearly instead of an answer; the
# result action then does what was asked. Not slot-mapping exclusions, so that
# an answer misheard as one of them ("是第一次" as start_over) is still read.
LEAVING_INTENTS = frozenset({"ask_human", "start_over", "delete_my_data"})
# What the form's end action runs next for each of them (start_over restarts).
# "删除我的信息" is promised to work at any time, questions under way included.
LEAVING_TO = {"ask_human": "action_handoff", "delete_my_data": "action_ask_erase_data"}
LEAVING_CONFIDENCE = 0.8
# Asked in one question when both are to be asked ("当事人多大年纪，是男是女？"),
# as people are used to giving them together; the answer may give either or both.
ASKED_TOGETHER = {slots.AGE: slots.GENDER}
# "Not understood" before the question again; the second time in a row, the
# way to a person instead, so the same reply never comes twice (issue 25).
MISSED = "utter_eligibility_not_understood"
PLACE_MISSED = "utter_eligibility_place_not_understood"
MATTER_MISSED = "utter_eligibility_matter_not_understood"
MISSED_HELP = "utter_fallback_offer_human"
MATTER_HELP = "utter_matter_offer_human"


def _latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def facts_from_tracker(tracker: Tracker) -> dict[str, Any]:
    """The engine's facts from the slots: what the person has said so far."""
    facts: dict[str, Any] = {}
    for name in slots.FACT_SLOTS:
        value = tracker.get_slot(name)
        if value is None:
            continue
        try:
            check_value(name, value)
        except FactError:
            # A raw answer not validated yet (the form validates it this turn).
            continue
        facts[name] = value
    # A category mentioned before the form asked arrives in an entity slot of its own.
    mentioned = tracker.get_slot(slots.DISABILITY_CATEGORY)
    categories = slots.DISABILITY_CATEGORIES
    if categories not in facts and mentioned in FACTS[categories].allowed():
        facts[categories] = [mentioned]
    return facts


def about_notarization(tracker: Tracker) -> bool:
    """Whether the person came about notarization fees rather than a legal matter."""
    if tracker.get_slot(slots.NOTARIZATION_SERVICE) is not None:
        return True
    return any(
        (event.get("parse_data") or {}).get("intent", {}).get("name") == NOTARIZATION_INTENT
        for event in tracker.events
        if event.get("event") == "user"
    )


def facts_to_ask(tracker: Tracker) -> list[str]:
    """The facts still to ask, in order: what the engine needs, then what helps more."""
    facts = facts_from_tracker(tracker)
    skipped = set(tracker.get_slot(slots.ELIGIBILITY_DECLINED) or []) | set(
        tracker.get_slot(slots.ELIGIBILITY_SETTLED) or []
    )
    # Income and the 低保 line are compared together: one unanswered, the other is moot.
    pair = economic_test_facts(facts)
    if skipped & pair:
        skipped |= pair
    # The region decides which rule file applies; the matter, if unknown, comes
    # first, because it is the question people expect first.
    region = [] if tracker.get_slot(slots.REGION) else [slots.REGION]
    if about_notarization(tracker):
        # A fee reduction is not legal aid: no decision facts, the service first.
        fees = benefit_facts(facts, ("fee_reduction",), frozenset(skipped))
        wanted = [*region, slots.NOTARIZATION_SERVICE, *fees]
    else:
        assessment = assess(facts)
        matter = [slots.MATTER_TYPE] if slots.MATTER_TYPE in assessment["missing_facts"] else []
        wanted = [*matter, *region, *assessment["missing_facts"]]
        if assessment["decision"] == "eligible" and assessment["route"] == "application":
            wanted += benefit_facts(facts, AFTER_THE_DECISION, frozenset(skipped), assessment)
    return list(dict.fromkeys(f for f in wanted if f not in skipped and f not in facts))


def tell_decision_first(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The answer to "can I get legal aid", as soon as the engine has it (issue 25).

    Once the person qualifies, the questions left (a deadline, how to hand in
    the application, where the case is) change what to do now, not whether they
    qualify: the decision is told with its reasons before them, not after, and
    the result at the end tells only the rest (actions/eligibility_result.py).
    Called after an answer was taken in; a decision is told once."""
    if tracker.get_slot(slots.ELIGIBILITY_LEFT) or about_notarization(tracker):
        return
    facts = facts_from_tracker(tracker)
    assessment = assess(facts)
    if assessment["decision"] != "eligible" or assessment["route"] != "application":
        _tell_may_apply(dispatcher, tracker, facts)
        return
    decision = headline(assessment, economic_test_facts(facts))
    told = told_during_questions(tracker, FORM)
    if not facts_to_ask(tracker) or told.decision == decision:
        return
    # After "可以申请" (MAY_APPLY), its reasons are not told again.
    tell_decision(Telling(dispatcher, is_voice(tracker)), tracker, facts, assessment, told)
    dispatcher.utter_message(response="utter_eligibility_details_next")


def _tell_may_apply(
    dispatcher: CollectingDispatcher, tracker: Tracker, facts: dict[str, Any]
) -> None:
    """ "能申请吗" answered as soon as the matter settles it: the person can apply,
    with the rule that says so, and what the questions left are for (whether the
    income is checked). Told once, before any other decision; the result at the
    end then says how the money questions came out."""
    reasons = reasons_to_apply(facts)
    if not reasons or told_during_questions(tracker, FORM).decision is not None:
        return
    if not facts_to_ask(tracker):
        return
    telling = Telling(dispatcher, is_voice(tracker))
    telling.response(MAY_APPLY)
    # Not again when the answer to the story has just said it, in its own words
    # ("属于可以申请法律援助的事项" with the same article): its source shows it.
    just_said = Told(said=previous_text(tracker))
    for reason in reasons:
        if not (just_said.mentions(reason["zh"]) or just_said.mentions(reason["citation"])):
            telling.cited(reason["zh"], reason["citation"])
    telling.response("utter_eligibility_money_next")


def explain_question(fact: str, dispatcher: CollectingDispatcher) -> None:
    """ "为什么问这个": the question's reason and its source (a spoken variant for the ear)."""
    dispatcher.utter_message(response=f"utter_why_{fact}")


def asked_with(fact: str, tracker: Tracker) -> str | None:
    """The fact asked in the same question as `fact` (ASKED_TOGETHER) while both
    are still to be asked, or None."""
    other = ASKED_TOGETHER.get(fact)
    return other if other is not None and other in facts_to_ask(tracker) else None


def _told_together(fact: str, text: str, tracker: Tracker) -> dict[str, Any]:
    """The fact asked together with `fact`, if it was (asked_with) and the
    answer gives it."""
    other = asked_with(fact, tracker)
    if other is None:
        return {}
    value = parse_answer(other, text)
    return {other: value} if value is not None and _is_valid(other, value) else {}


class ActionAskAge(Action):
    """The age question, with the sex in it when that is still to be asked too."""

    def name(self) -> str:
        return "action_ask_age"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        together = asked_with(slots.AGE, tracker) is not None
        dispatcher.utter_message(
            response="utter_ask_age_and_gender" if together else "utter_ask_age"
        )
        return []


class ValidateEligibilityForm(FormValidationAction):
    """Turns each answer into its fact, and picks the next question from the engine."""

    def name(self) -> str:
        return f"validate_{FORM}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot(slots.ELIGIBILITY_LEFT):
            return []
        return facts_to_ask(tracker)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # Every fact slot has the same validation, so one method serves them all
        # instead of thirty `validate_<slot>` methods.
        updates: dict[str, Any] = {}
        for slot, value in tracker.slots_to_validate().items():
            if slot == slots.REGION:
                updates.update(self._validate_region(dispatcher, tracker, domain))
            elif slot in FACTS:
                updates.update(self._validate_fact(slot, value, dispatcher, tracker, domain))
            tracker.slots.update(updates)
        own_claim = _claim_of_an_elderly_parent(tracker)
        tracker.slots.update(own_claim)
        updates.update(own_claim)
        if updates:
            tell_decision_first(dispatcher, tracker)
        return [SlotSet(slot, value) for slot, value in updates.items()]

    def _validate_fact(
        self,
        fact: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        asked = tracker.get_slot(slots.REQUESTED_SLOT) == fact
        if fact == slots.MATTER_TYPE:
            matter = self._matter(value, tracker)
            if matter is None and asked and _leaving(tracker):
                return {fact: None, slots.ELIGIBILITY_LEFT: _latest_intent(tracker)}
            if matter is None and asked:
                dispatcher.utter_message(response=vary(tracker, MATTER_MISSED, MATTER_HELP))
            return {fact: matter}
        if not asked:
            # Filled by an entity before the form asked ("我七十二了"): read as the
            # answer to its question would be; kept only if valid.
            if isinstance(value, str) and not _is_valid(fact, value):
                value = parse_answer(fact, value, None)
            return {fact: value if value is not None and _is_valid(fact, value) else None}
        interruption = self._interruption(fact, dispatcher, tracker, domain)
        if interruption is not None:
            return interruption
        text = tracker.latest_message.get("text") or ""
        if grouped_facts(fact):
            return self._grouped_answer(fact, text, dispatcher, tracker)
        if fact == slots.CASE_LOCATION:
            return self._case_location(text, dispatcher, tracker)
        answer = parse_answer(fact, text, _latest_intent(tracker))
        if answer is None and _leaving(tracker):
            return {fact: None, slots.ELIGIBILITY_LEFT: _latest_intent(tracker)}
        if answer is not None and fact in INVERTED_QUESTIONS:
            answer = not answer
        if (
            answer is None
            and fact == URGENCY
            and parse_yes_no(text, _latest_intent(tracker)) is False
        ):
            settled = [*(tracker.get_slot(slots.ELIGIBILITY_SETTLED) or []), fact]
            return {fact: None, slots.ELIGIBILITY_SETTLED: settled}
        together = _told_together(fact, text, tracker)
        if (answer is None or not _is_valid(fact, answer)) and together:
            return {fact: None, **together}  # "女的": the age alone is asked next
        if answer is None or not _is_valid(fact, answer):
            dispatcher.utter_message(response=vary(tracker, MISSED, MISSED_HELP))
            return {fact: None}
        return {fact: answer, **together}

    def _interruption(
        self, fact: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any] | None:
        """ "为什么问这个", "不想说" or "再说一遍" instead of an answer; None for an answer."""
        intent = _latest_intent(tracker)
        text = tracker.latest_message.get("text") or ""
        spoken = speech_request(dispatcher, tracker)
        if spoken is not None:
            return {fact: None, **spoken}
        if intent == ASK_WHY:
            explain_question(fact, dispatcher)
            other = asked_with(fact, tracker)
            if other is not None:
                explain_question(other, dispatcher)
            return {fact: None}
        if intent == DECLINE or is_decline(text):
            dispatcher.utter_message(response="utter_eligibility_skip_question")
            declined = [*(tracker.get_slot(slots.ELIGIBILITY_DECLINED) or []), fact]
            return {fact: None, slots.ELIGIBILITY_DECLINED: declined}
        return None

    def _grouped_answer(
        self, fact: str, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """One question for several facts (死刑复核、缺席审判、强制医疗; 低保、特困):
        the answer settles those not known yet."""
        answers = parse_grouped_answer(fact, text, _latest_intent(tracker))
        if answers is None:
            if _leaving(tracker):
                return {fact: None, slots.ELIGIBILITY_LEFT: _latest_intent(tracker)}
            dispatcher.utter_message(response=vary(tracker, MISSED, MISSED_HELP))
            return {fact: None}
        unknown = {name for name in answers if tracker.get_slot(name) is None}
        return {name: value for name, value in answers.items() if name in unknown | {fact}}

    def _case_location(
        self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Where the case is: a place named, or "本地" for the place said before."""
        region = tracker.get_slot(slots.REGION)
        home = tracker.get_slot(slots.PLACE) or (region if region != DEFAULT_REGION else None)
        named = " ".join(tracker.get_latest_entity_values("region"))
        place = parse_case_location(named or text, home)
        if place is None and named:
            place = parse_case_location(text, home)
        if place is None and _leaving(tracker):
            return {slots.CASE_LOCATION: None, slots.ELIGIBILITY_LEFT: _latest_intent(tracker)}
        if place is None:
            dispatcher.utter_message(response=vary(tracker, PLACE_MISSED, MISSED_HELP))
        return {slots.CASE_LOCATION: place}

    def _matter(self, value: Any, tracker: Tracker) -> str | None:
        if value in FACTS[slots.MATTER_TYPE].allowed():
            return value
        return next(tracker.get_latest_entity_values("matter_type"), None)

    def _validate_region(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot(slots.REQUESTED_SLOT) != slots.REGION:
            # Set from a place the person named (action_validate_slot_mappings).
            return {}
        interruption = self._interruption(slots.REGION, dispatcher, tracker, domain)
        if interruption is not None and slots.ELIGIBILITY_DECLINED in interruption:
            # Without a place, the national rules apply; the result says so.
            return {**interruption, slots.REGION: DEFAULT_REGION}
        if interruption is not None:
            return interruption
        named = " ".join(tracker.get_latest_entity_values("region"))
        place = most_specific_place(named or tracker.latest_message.get("text") or "")
        if place is None and _leaving(tracker):
            return {slots.REGION: None, slots.ELIGIBILITY_LEFT: _latest_intent(tracker)}
        if place is None:
            dispatcher.utter_message(response=vary(tracker, PLACE_MISSED, MISSED_HELP))
            return {slots.REGION: None}
        return {slots.REGION: place.policy_region, slots.PLACE: place.name}


def _claim_of_an_elderly_parent(tracker: Tracker) -> dict[str, Any]:
    """ "我七十五了，女儿不管我": an elderly person who tells of support payments
    with their own age is claiming them for themselves, so "这笔钱是谁要的" is
    not asked (policy/answers.yml own_claim_unless, policy/REVIEW.md)."""
    if tracker.get_slot(slots.MATTER_TYPE) != "family_support":
        return {}
    if tracker.get_slot(slots.CLAIMANT) is not None or slots.CLAIMANT in (
        tracker.get_slot(slots.ELIGIBILITY_DECLINED) or []
    ):
        return {}
    story = _message_with_own_age(tracker)
    facts = facts_from_tracker(tracker)
    if story is None or slots.AGE not in facts or not is_own_claim(story):
        return {}
    return {slots.CLAIMANT: "self"} if condition_holds("elderly", facts) else {}


def _message_with_own_age(tracker: Tracker) -> str | None:
    """The latest message in which the person said their own age ("我七十五了":
    the `age` entity, nlu_data/lookups/regexes.yml)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        entities = (event.get("parse_data") or {}).get("entities") or []
        if any(entity.get("entity") == slots.AGE for entity in entities):
            return event.get("text") or ""
    return None


def _leaving(tracker: Tracker) -> bool:
    return said_clearly(tracker, LEAVING_INTENTS)


def said_clearly(tracker: Tracker, intents: frozenset[str]) -> bool:
    """Whether the latest message is confidently one of `intents` (a request to
    stop the questions), rather than an answer that merely resembles one."""
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name") in intents and (intent.get("confidence") or 0.0) >= LEAVING_CONFIDENCE


def _is_valid(fact: str, value: Any) -> bool:
    try:
        check_value(fact, value)
    except FactError:
        return False
    return True
