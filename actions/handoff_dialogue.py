"""转人工: pass the conversation to a lawyer on duty, and say honestly what happens.

action_handoff builds the request a lawyer reads (HandoffRequest: a summary
taken in within ten seconds, the transcript, the facts, the channel, the
application reference, a lawyer asked for by name), opens the ticket, asks the
matching rules who can take it and tells the person in plain words: a lawyer
is taking over, the place in the queue, when the next shift starts (and 12348
now), or why the lawyer they named cannot, with the choice of another.

While the ticket is open the conversation is paused (ConversationPaused): the
gateway's relay (bot/handoff_relay.py) sends what the person says to the
ticket, and resumes the conversation when the lawyer hands it back.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.eligibility_form import facts_from_tracker
from actions.forgetting import forget_after_refusal
from actions.voice import gateway_channel, on_the_phone
from legal_aid.channels import RECORDED, REST
from legal_aid.eligibility import assess, condition_holds
from legal_aid.eligibility.answers import parse_yes_no
from legal_aid.eligibility.conditions import (
    DEADLINE_UNDER_SEVEN_DAYS,
    ELDERLY,
    MINOR,
    URGENT_PRESERVATION,
)
from legal_aid.handoff import matching
from legal_aid.handoff.matching import MatchResult
from legal_aid.numbers import number_to_chinese
from legal_aid.policy_data import DEFAULT_REGION
from legal_aid.times import said_time
from store.handoff import AssistantTickets, HandoffRequest, HandoffSummary
from store.intake import ACCESSIBILITY_NEEDS

logger = logging.getLogger(__name__)

# China has one time zone and no daylight saving: a fixed offset needs no tz database.
TRANSCRIPT_TURNS = 40
TRANSCRIPT_TEXT = 1000
WHAT_HAPPENED_LIMIT = 600
# "我要找王明律师", "让李华律师接待我": the name before 律师, after a verb of asking.
REQUESTED = re.compile(r"(?:找|要|请|让|叫|约|换成|点名|指定|一下)+([\u4e00-\u9fff]{2,4}?)律师")
# What people put before 律师 that is no name ("找个律师", "要值班律师").
NOT_A_NAME = ("个", "位", "值班", "真人", "援助", "法援", "专业", "别的", "其他", "你们", "好的")
DISABILITY_ZH = {
    "visual": "视力残疾",
    "hearing": "听力残疾",
    "speech": "言语残疾",
    "physical": "肢体残疾",
    "intellectual": "智力残疾",
    "mental": "精神残疾",
    "multiple": "多重残疾",
}
# The age groups a lawyer is told, by the policy's named conditions (the lines
# are drawn in policy/eligibility, not here); anyone in neither is an adult.
AGE_GROUPS = ((MINOR, "未成年人"), (ELDERLY, "老年人"))
ADULT = "成年人"
# Said in the lawyer's summary when the assessment grants advance aid.
ADVANCE_AID_WORDS = "可以先行提供法律援助（《法律援助法》第四十四条）"
DECISION_ZH = {
    "eligible": "符合申请法律援助的条件",
    "needs_more_facts": "可能符合条件，还需核对",
    "consultation_only": "一般只能提供法律咨询",
    "not_eligible": "一般不符合法律援助条件",
}
# What the person is told, by the matching result (legal_aid/handoff/matching.py).
NOT_AVAILABLE = {
    matching.REQUESTED_UNKNOWN: "utter_handoff_requested_unknown",
    matching.REQUESTED_OFF_DUTY: "utter_handoff_requested_off_duty",
    matching.REQUESTED_BUSY: "utter_handoff_requested_busy",
    matching.REQUESTED_NOT_QUALIFIED: "utter_handoff_requested_not_qualified",
    matching.REQUESTED_AMBIGUOUS: "utter_handoff_requested_ambiguous",
}

# The request ----------------------------------------------------------------------


def requested_lawyer(text: str | None) -> str | None:
    """The lawyer a person asked for by name (点援制), as they said it, or None."""
    found = REQUESTED.search(text or "")
    if not found or any(word in found.group(1) for word in NOT_A_NAME):
        return None
    return f"{found.group(1)}律师"


def age_group(facts: dict[str, Any]) -> str:
    """未成年人, 老年人 or 成年人, as the region's named conditions say for the age."""
    return next((words for name, words in AGE_GROUPS if condition_holds(name, facts)), ADULT)


def who_line(tracker: Tracker, facts: dict[str, Any]) -> str:
    """Who the lawyer will talk to: for whom, age group, gender, disability."""
    slot = tracker.get_slot
    parts = ["为他人咨询" if slot(slots.APPLYING_FOR) == "other" else "本人"]
    if slots.AGE in facts:
        parts.append(f"{age_group(facts)}，{facts[slots.AGE]}岁")
    if slot(slots.GENDER) == "female":
        parts.append("女性")
    categories = slot(slots.DISABILITY_CATEGORIES) or []
    if isinstance(categories, list) and categories:
        disability = "、".join(DISABILITY_ZH.get(c, c) for c in categories)
        if slot(slots.DISABILITY_GRADE):
            disability += f"（{slot(slots.DISABILITY_GRADE)}）"
        if slot(slots.HAS_DISABILITY_CERTIFICATE) is True:
            disability += "，持残疾证"
        parts.append(disability)
    return "，".join(parts)


def what_happened(tracker: Tracker) -> str:
    """The person's own description, or the first message that described the problem."""
    description = tracker.get_slot(slots.DESCRIPTION)
    if isinstance(description, str) and description.strip():
        return description.strip()[:WHAT_HAPPENED_LIMIT]
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        describes = (parse.get("intent") or {}).get("name") in (
            "describe_problem",
            "criminal_defense",
            "protection_order",
        ) or any(e.get("entity") == "matter_type" for e in parse.get("entities") or [])
        if describes and (event.get("text") or "").strip():
            return event["text"].strip()[:WHAT_HAPPENED_LIMIT]
    reference = tracker.get_slot(slots.INTAKE_REFERENCE)
    if reference:
        # Submitting clears the answers from the conversation; the record keeps them.
        return f"已登记申请 {reference}，事情经过见下方申请登记"
    return "还没有说明具体情况"


def eligibility_line(facts: dict[str, Any], assessment: dict[str, Any]) -> str:
    """The eligibility result in one line with its sources, when it was checked."""
    asked = set(facts) - {slots.REGION, slots.MATTER_TYPE}
    if not asked:
        return "还没有查过能不能申请"
    citations = "；".join(dict.fromkeys(r["citation"] for r in assessment["reasons"]))
    line = DECISION_ZH.get(assessment["decision"], assessment["decision"])
    return f"{line}（来源：{citations}）" if citations else line


def urgency_line(facts: dict[str, Any], assessment: dict[str, Any]) -> str:
    """The urgency in words for the lawyer; "" when there is none.

    The circumstances are the policy's named conditions (art. 44's lines), so at
    exactly seven days the summary, the queue and the eligibility result all say
    "not urgent". A lawyer needs to know of a near deadline even where legal aid
    cannot start at once; whether it may is the assessment's answer, which the
    queue also asks, and is said only when it holds.
    """
    words = []
    if condition_holds(DEADLINE_UNDER_SEVEN_DAYS, facts):
        words.append(f"离期限还有{facts[slots.DAYS_TO_DEADLINE]}天")
    if condition_holds(URGENT_PRESERVATION, facts):
        words.append("需要紧急保全")
    if words and assessment["advance_aid"]:
        words.append(ADVANCE_AID_WORDS)
    return "，".join(words)


def transcript(tracker: Tracker) -> tuple[tuple[str, str], ...]:
    """The conversation so far as the store keeps it, the latest turns only."""
    turns = []
    for event in tracker.events:
        text = (event.get("text") or "").strip()
        if not text or event.get("event") not in ("user", "bot"):
            continue
        role = "person" if event["event"] == "user" else "assistant"
        turns.append((role, text[:TRANSCRIPT_TEXT]))
    return tuple(turns[-TRANSCRIPT_TURNS:])


def channel_of(tracker: Tracker) -> str:
    """The person's channel, as the gateway names it, else Rasa's input channel."""
    channel = gateway_channel(tracker) or tracker.get_latest_input_channel() or REST.name
    return channel if channel in RECORDED else REST.name


def handoff_request(tracker: Tracker) -> HandoffRequest:
    slot = tracker.get_slot
    facts = facts_from_tracker(tracker)
    facts.setdefault(slots.REGION, slot(slots.REGION) or DEFAULT_REGION)
    assessment = assess(facts)
    matter = slot(slots.MATTER_TYPE) or "other"
    needs = tuple(n for n in slot(slots.ACCESSIBILITY_NEEDS) or () if n in ACCESSIBILITY_NEEDS)
    summary = HandoffSummary(
        matter_type=matter,
        who=who_line(tracker, facts),
        what_happened=what_happened(tracker),
        eligibility_result=eligibility_line(facts, assessment),
        urgency=urgency_line(facts, assessment),
        accessibility_needs=needs,
    )
    return HandoffRequest(
        conversation_id=tracker.sender_id,
        channel=channel_of(tracker),
        summary=summary,
        facts=facts,
        transcript=transcript(tracker),
        intake_reference=slot(slots.INTAKE_REFERENCE) or None,
        requested_lawyer=slot(slots.HANDOFF_REQUESTED_LAWYER)
        or requested_lawyer(tracker.latest_message.get("text")),
        # The queue's urgency is the same answer (policy/handoff: the assessment's advance_aid).
        urgency=assessment["advance_aid"],
    )


# Saying it ------------------------------------------------------------------------


def lawyer_names(lawyers: tuple[matching.LawyerProfile, ...]) -> str:
    return "、".join(f"{lawyer.display_name}律师" for lawyer in lawyers[:3])


def why_not_qualified(result: MatchResult) -> str:
    return (
        "；".join(f"{note.zh}（来源：{note.citation}）" for note in result.notes[:-1]) or "不符合"
    )


def tell(
    dispatcher: CollectingDispatcher, result: MatchResult, requested: str | None, now: datetime
) -> None:
    """What the person hears about who takes over, or why nobody can now."""
    if result.reason == matching.ASSIGNED:
        dispatcher.utter_message(response="utter_handoff_assigned")
    elif result.reason == matching.REQUESTED_ASSIGNED:
        dispatcher.utter_message(
            response="utter_handoff_requested_assigned", lawyer=result.lawyer.display_name
        )
    elif result.reason == matching.ALL_BUSY:
        dispatcher.utter_message(
            response="utter_handoff_queued",
            position=number_to_chinese(result.queue_position),
            minutes=number_to_chinese(result.expected_wait_minutes),
        )
    elif result.reason == matching.NOBODY_ON_DUTY and result.next_shift_at:
        dispatcher.utter_message(
            response="utter_handoff_nobody_on_duty", next_shift=said_time(result.next_shift_at, now)
        )
    elif result.reason == matching.NO_QUALIFIED_LAWYER and result.notes:
        # A required rule (e.g. 第二十六条 for capital cases) nobody on the roster meets.
        dispatcher.utter_message(response="utter_handoff_no_qualified")
    elif result.reason in (matching.NOBODY_ON_DUTY, matching.NO_QUALIFIED_LAWYER):
        # No shift ahead, or no lawyer on the roster at all: say just that.
        dispatcher.utter_message(response="utter_handoff_nobody_rostered")
    else:
        tell_requested(dispatcher, result, requested or "您点名的律师", now)


def tell_requested(
    dispatcher: CollectingDispatcher, result: MatchResult, requested: str, now: datetime
) -> None:
    """点援制: why the named lawyer cannot take it now, and who can instead."""
    next_shift = (
        said_time(result.next_shift_at, now) if result.next_shift_at else "还没有排定的时间"
    )
    dispatcher.utter_message(
        response=NOT_AVAILABLE[result.reason],
        requested=requested,
        next_shift=next_shift,
        why=why_not_qualified(result),
        namesakes=lawyer_names(result.namesakes),
    )
    if result.alternatives:
        dispatcher.utter_message(
            response="utter_handoff_other_lawyer", alternatives=lawyer_names(result.alternatives)
        )
    else:
        dispatcher.utter_message(response="utter_handoff_no_alternative")


def open_and_match(request: HandoffRequest) -> tuple[str, MatchResult]:
    """Runs in a thread: the store is synchronous."""
    store = AssistantTickets.shared()
    ticket = store.create_ticket(request)
    return ticket.reference, store.match_ticket(ticket.reference)


def consent(tracker: Tracker) -> bool | None:
    """Whether the person agreed that the lawyer gets the transcript and summary.

    The application's consent covers it (it names the assigned lawyer among those
    who see the record), and so does an earlier yes in this conversation; else
    the answer to the question just asked, or None when it has not been asked.
    """
    if tracker.get_slot(slots.INTAKE_CONSENT_AT) or tracker.get_slot(slots.HANDOFF_CONSENT) is True:
        return True
    if not tracker.get_slot(slots.HANDOFF_CONSENT_ASKED):
        return None
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "ask_human":
        return True  # asked whether to pass it on, "转吧" / "转人工" is a yes
    # The words first (a spoken "同意" may not be recognised as an intent).
    return parse_yes_no(tracker.latest_message.get("text") or "", intent)


class ActionHandoff(Action):
    """转人工: asks consent once, then opens the ticket, says who takes over or why
    nobody can, and pauses the conversation."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        agreed = consent(tracker)
        # On the hotline 0 reaches a person: its responses say so instead of giving 12348.
        phone = on_the_phone(tracker)
        if agreed is None:
            # Nothing about the person is stored until they say yes (PIPL arts. 14, 17).
            dispatcher.utter_message(
                response="utter_ask_handoff_consent_phone" if phone else "utter_ask_handoff_consent"
            )
            named = requested_lawyer(tracker.latest_message.get("text"))
            return [
                SlotSet(slots.HANDOFF_CONSENT_ASKED, True),
                SlotSet(slots.HANDOFF_REQUESTED_LAWYER, named),
            ]
        if agreed is False:
            dispatcher.utter_message(
                response="utter_handoff_consent_refused_phone"
                if phone
                else "utter_handoff_consent_refused"
            )
            # "不保存我们的对话": the conversation so far is deleted (actions/forgetting.py).
            return [
                SlotSet(slots.HANDOFF_CONSENT_ASKED, False),
                SlotSet(slots.HANDOFF_REQUESTED_LAWYER, None),
                *await forget_after_refusal(tracker),
            ]
        return await self.hand_over(dispatcher, tracker)

    async def hand_over(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[dict[str, Any]]:
        request = handoff_request(tracker)
        agreed = [
            SlotSet(slots.HANDOFF_CONSENT_ASKED, False),
            SlotSet(slots.HANDOFF_CONSENT, True),
            SlotSet(slots.HANDOFF_REQUESTED_LAWYER, None),
        ]
        try:
            reference, result = await asyncio.to_thread(open_and_match, request)
        except Exception:
            # Nothing is lost: the conversation keeps everything, and asking again retries.
            logger.exception("handoff store unavailable; the person was told to try again")
            dispatcher.utter_message(response="utter_handoff_store_down")
            return agreed
        logger.info("handoff %s opened: %s", reference, result.reason)
        tell(dispatcher, result, request.requested_lawyer, datetime.now(timezone.utc))
        # The page polls for the lawyer's replies while this is open (bot/static/chat.js).
        dispatcher.utter_message(json_message={"handoff": {"status": "open"}})
        return [*agreed, ConversationPaused()]
