"""Keeping what the assistant did not understand, for coordinators to label (issue 21).

Collected here, in the action server, rather than by an event broker or the
tracker store: the fallback (ActionTwoStageFallback) and the question back about
the matter type (actions/matters.py ask_back) are the moments the dialogue itself
decides it did not understand, and the action has the whole tracker at hand —
the person's agreement (a slot), the text, the intent ranking and the matter
extractor's guess. A broker sees events one by one, without the slots, and
would have to rebuild each conversation to know both; the tracker store would
have to recognise a fallback from the events after the fact.

Only when the person agreed (`learning_consent` is true), and never a button's
payload. The question is asked once in a conversation, the second time in a row
the assistant does not understand (ActionTwoStageFallback follows its offer of a
person with ActionAskLearningConsent): the moment a person sees why it matters,
and not before, since most people are understood and need not be asked. A yes
keeps the messages not understood so far in the conversation too; a no, or no
answer, keeps nothing, and it is not asked again. The write runs in a thread
after the reply is decided: the turn does not wait for it, and a store that
fails loses the message, logged without text or id. The store masks the text before keeping it (store/training.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.no_repeat import said_before, since_restart
from actions.voice import gateway_channel
from legal_aid.channels import NAMES
from legal_aid.eligibility.answers import parse_yes_no
from store.training import FALLBACK_INTENT, Misunderstood, TrainingStore

logger = logging.getLogger(__name__)

NOT_UNDERSTOOD = "not_understood"
ASKED_BACK = "asked_back"
UNDECIDED = "other"
ASK_CONSENT = "utter_ask_learning_consent"
# The messages not understood before the yes that are kept with it: the two
# that led to the question, and one more.
KEPT_FROM_BEFORE = 3
# Writes under way: kept so that they are not collected before they finish.
_PENDING: set[asyncio.Task[None]] = set()


def keep(tracker: Tracker, reason: str) -> None:
    """Keeps the latest message for labelling if the person agreed; never waits."""
    if tracker.get_slot(slots.LEARNING_CONSENT) is not True:
        return
    _keep_parse(tracker, tracker.latest_message or {}, reason)


def _keep_parse(tracker: Tracker, parse: dict[str, Any], reason: str) -> None:
    message = misunderstood(tracker, reason, parse)
    if message is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no action server running this (a plain function call)
    task = loop.create_task(_store(message))
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


def may_ask_consent(tracker: Tracker) -> bool:
    """Not answered yet, and not asked yet in this conversation."""
    return tracker.get_slot(slots.LEARNING_CONSENT) is None and not said_before(
        tracker, ASK_CONSENT
    )


class ActionAskLearningConsent(Action):
    """ "我没听懂的话……能不能留给工作人员……？" (domain.yml, policy/REVIEW.md)."""

    def name(self) -> str:
        return "action_ask_learning_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response=ASK_CONSENT)
        return []


class ActionLearningConsent(Action):
    """The answer to the question, read by its words ("不可以" is a no whatever
    the intent model made of it). A yes keeps the messages not understood so
    far in this conversation as well, masked like every other."""

    def name(self) -> str:
        return "action_learning_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        latest = tracker.latest_message or {}
        intent = (latest.get("intent") or {}).get("name")
        agreed = parse_yes_no(latest.get("text") or "", intent) is True
        if agreed:
            for parse in not_understood_before(tracker):
                _keep_parse(tracker, parse, NOT_UNDERSTOOD)
        response = "utter_learning_consent_given" if agreed else "utter_learning_consent_refused"
        dispatcher.utter_message(response=response)
        return [SlotSet(slots.LEARNING_CONSENT, agreed)]


def not_understood_before(tracker: Tracker) -> list[dict[str, Any]]:
    """The latest messages the fallback answered (Rasa named them nlu_fallback)."""
    found = []
    for event in since_restart(tracker):
        parse = event.get("parse_data") or {}
        if (
            event.get("event") == "user"
            and (parse.get("intent") or {}).get("name") == FALLBACK_INTENT
        ):
            found.append(parse)
        if len(found) == KEPT_FROM_BEFORE:
            break
    return found


async def settled() -> None:
    """Waits for the writes under way (tests, and the server's shutdown)."""
    while _PENDING:
        await asyncio.gather(*list(_PENDING), return_exceptions=True)


def misunderstood(
    tracker: Tracker, reason: str, parse: dict[str, Any] | None = None
) -> Misunderstood | None:
    """A message (by default the latest) as the store keeps it; None for a button or nothing typed."""
    latest: dict[str, Any] = (tracker.latest_message or {}) if parse is None else parse
    text = (latest.get("text") or "").strip()
    if not text or text.startswith("/"):
        return None
    intent, confidence = _best_guess(latest)
    channel = gateway_channel(tracker) or tracker.get_latest_input_channel() or "unknown"
    return Misunderstood(
        conversation_id=tracker.sender_id,
        text=text,
        channel=channel if channel in NAMES else "other",
        reason=reason,
        intent=intent,
        confidence=confidence,
        matter=_matter_guess(latest),
    )


def _best_guess(latest: dict[str, Any]) -> tuple[str | None, float | None]:
    """The likeliest real intent: below the fallback's threshold Rasa names the
    message nlu_fallback, and the ranking still holds what it thought."""
    ranking = [latest.get("intent") or {}, *(latest.get("intent_ranking") or [])]
    for guess in ranking:
        if guess.get("name") and guess["name"] != FALLBACK_INTENT:
            return guess["name"], guess.get("confidence")
    return None, None


def _matter_guess(latest: dict[str, Any]) -> str | None:
    entity = next(
        (e for e in latest.get("entities") or [] if e.get("entity") == slots.MATTER_TYPE), None
    )
    if entity is None:
        return None
    if entity.get("value") and entity["value"] != UNDECIDED:
        return entity["value"]
    return next(iter(entity.get("choices") or []), None)


async def _store(message: Misunderstood) -> None:
    try:
        await asyncio.to_thread(TrainingStore.shared().collect, message)
    except Exception as error:  # noqa: BLE001 - no key, database down: the turn goes on
        logger.warning("message for labelling not kept: %s", type(error).__name__)
