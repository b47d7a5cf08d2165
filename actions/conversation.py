"""Conversation mechanics: repeat, speech rate, fallback, start over."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import learning, slots
from actions.continuation import continuation_request
from actions.matters import acknowledge, matter_entity
from actions.no_repeat import MISUNDERSTOOD, previous_bot_turn, previous_response
from actions.voice import speaks_replies

SPEECH_RATES = ["slow", "normal", "fast"]
SPEECH_REQUESTS = frozenset({"repeat", "speak_slower", "speak_faster"})
SPEECH_REQUEST_CONFIDENCE = 0.8


class ActionRepeatLast(Action):
    """ "再说一遍": the last answer again, exactly as it was given."""

    def name(self) -> str:
        return "action_repeat_last"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        last = previous_bot_turn(tracker)
        if not last:
            dispatcher.utter_message(response="utter_nothing_to_repeat")
        for message in last:
            data = message.get("data") or {}
            dispatcher.utter_message(text=message.get("text"), buttons=data.get("buttons") or [])
        return []


def change_speech_rate(
    dispatcher: CollectingDispatcher, tracker: Tracker, slower: bool
) -> dict[str, Any]:
    """One step along slow, normal, fast, said in words; the slot to set ({} at the end)."""
    current = tracker.get_slot(slots.SPEECH_RATE) or "normal"
    position = SPEECH_RATES.index(current) + (-1 if slower else 1)
    if not 0 <= position < len(SPEECH_RATES):
        dispatcher.utter_message(
            response="utter_speaking_slowest" if slower else "utter_speaking_fastest"
        )
        return {}
    dispatcher.utter_message(
        response="utter_speaking_slower" if slower else "utter_speaking_faster"
    )
    if speaks_replies(tracker):
        # The gateway's synthesiser reads the new rate from this message.
        dispatcher.utter_message(json_message={"speech_rate": SPEECH_RATES[position]})
    return {slots.SPEECH_RATE: SPEECH_RATES[position]}


def speech_request(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
    """ "再说一遍"/"说慢一点" said instead of an answer to a form's question: the rate
    changes if asked, and the form asks the question again. None for an answer.
    "给我接续码" is such a request too: the code is said, then the question again."""
    if continuation_request(dispatcher, tracker):
        return {}
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") not in SPEECH_REQUESTS:
        return None
    if (intent.get("confidence") or 0.0) < SPEECH_REQUEST_CONFIDENCE:
        return None  # "慢" in an answer is an answer
    if intent["name"] == "repeat":
        return {}
    return change_speech_rate(dispatcher, tracker, slower=intent["name"] == "speak_slower")


class ActionChangeSpeechRate(Action):
    """ "说慢一点"/"说快一点": one step along slow, normal, fast."""

    def name(self) -> str:
        return "action_change_speech_rate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        slower = tracker.latest_message.get("intent", {}).get("name") == "speak_slower"
        changed = change_speech_rate(dispatcher, tracker, slower)
        return [SlotSet(slot, value) for slot, value in changed.items()]


# The fallback's steps: rephrase; after two misunderstandings in a row (this
# one, and a rephrase, an open question or an out-of-scope answer before it), a
# person or 12348; then those two in turn, never the same reply twice (issue 25).
FALLBACK_FIRST = "utter_please_rephrase"
FALLBACK_OFFERS_HUMAN = "utter_fallback_offer_human"
FALLBACK_NEXT = {
    **dict.fromkeys(MISUNDERSTOOD, FALLBACK_OFFERS_HUMAN),
    FALLBACK_OFFERS_HUMAN: "utter_fallback_last",
    # Asked after the offer of a person (actions/learning.py): the third miss.
    learning.ASK_CONSENT: "utter_fallback_last",
    "utter_matter_offer_human": "utter_fallback_last",
    "utter_fallback_last": "utter_fallback_offer_human",
}


class ActionTwoStageFallback(Action):
    """First "please rephrase, for example…"; the second time in a row, a person
    or 12348; after that those two in turn, so nothing is said twice in a row.

    A message whose intent was unclear but which tells a legal problem (the
    matter-type extractor marked it) is answered as a problem instead: its
    matter, or the question back (issue 21)."""

    def name(self) -> str:
        return "action_two_stage_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if matter_entity(tracker) is not None:
            return acknowledge(dispatcher, tracker)
        learning.keep(tracker, learning.NOT_UNDERSTOOD)
        response = FALLBACK_NEXT.get(previous_response(tracker), FALLBACK_FIRST)
        dispatcher.utter_message(response=response)
        if response == FALLBACK_OFFERS_HUMAN and learning.may_ask_consent(tracker):
            # The question must be the turn's last action: the rules read the answer after it.
            return [FollowupAction("action_ask_learning_consent")]
        return []


class ActionRestartConversation(Action):
    """ "重新开始": forget the conversation, but keep how fast to speak."""

    def name(self) -> str:
        return "action_restart_conversation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return restart(dispatcher, tracker)


def restart(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """Says so and forgets the conversation, keeping how fast to speak."""
    dispatcher.utter_message(response="utter_restarted")
    return [
        Restarted(),
        SlotSet(slots.SPEECH_RATE, tracker.get_slot(slots.SPEECH_RATE) or "normal"),
    ]
