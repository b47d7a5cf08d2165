"""Offers and the answers that take them (issue 25): "好" means the offered step.

An offer is the assistant's last turn with options: its buttons, in order,
the first being the recommended step. A person who cannot see buttons (voice,
the hotline, a screen reader in a hurry) answers with 好/是/嗯, a number
("二", "第二个") or the option's words. The words are understood by the NLU
model as the option's own intent; a yes or a number comes here, and the
option is taken the way Rasa's own two-stage fallback takes a confirmed
intent: the "好" turn is replaced by the option's intent (`act_as`), so the
rules for that intent (start the eligibility check, the application, the
handoff) run as if the person had pressed the button.

The options of a spoken variant without buttons ("下一步，您可以说：…") are those
of the same response's written variant: the words are read aloud, the choices
are the same.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.no_repeat import previous_bot_turn, previous_response
from legal_aid.numbers import ascii_digits, parse_chinese_number

READ_ON_QUESTION = "要继续听吗？"
CHOOSE_OPTION = "choose_option"
# Options whose payload is itself a yes or a no are the question's own answers
# (consent questions have rules of their own); taking one would answer again.
NOT_A_STEP = frozenset({"affirm", "deny", CHOOSE_OPTION})
_NUMBER = re.compile(r"[0-9０-９]+|[一二两三四五六七八九十]")


def offered_options(tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, str]]:
    """The options of the assistant's last turn, in the order they were offered."""
    turn = previous_bot_turn(tracker)
    buttons = [b for m in turn for b in (m.get("data") or {}).get("buttons") or []]
    if buttons:
        return buttons
    for message in reversed(turn):
        response = (message.get("metadata") or {}).get("utter_action")
        for variant in domain.get("responses", {}).get(response) or []:
            if variant.get("buttons"):
                return variant["buttons"]
    return []


def parse_payload(payload: str) -> tuple[str, dict[str, Any]]:
    """'/describe_problem{"matter_type":"labor_wages"}' → the intent and its entities."""
    name, brace, rest = payload.lstrip("/").partition("{")
    entities = json.loads(brace + rest) if brace else {}
    return name, entities


def chosen_number(text: str) -> int | None:
    """The number a choice names: "2", "第二个", "选三" → 2, 2, 3."""
    match = _NUMBER.search(text)
    if not match:
        return None
    digits = ascii_digits(match.group())
    number = int(digits) if digits.isdigit() else parse_chinese_number(digits)
    return int(number) if number else None


def act_as(tracker: Tracker, payload: str) -> list[dict[str, Any]]:
    """Replaces the latest message's meaning by a payload's, keeping its words and
    channel: the person's "好" becomes the option they agreed to."""
    intent, entities = parse_payload(payload)
    latest = next(e for e in reversed(tracker.events) if e.get("event") == "user")
    parse_data = {
        "text": latest.get("text"),
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        "entities": [{"entity": k, "value": v, "start": 0, "end": 0} for k, v in entities.items()],
    }
    meant = {
        "event": "user",
        "text": latest.get("text"),
        "parse_data": parse_data,
        "input_channel": latest.get("input_channel"),
        "metadata": latest.get("metadata") or {},
    }
    # Entities of a payload fill their slots, as a pressed button's would.
    filled = [SlotSet(name, value) for name, value in entities.items() if name in tracker.slots]
    return [UserUtteranceReverted(), ActionExecuted("action_listen"), meant, *filled]


def take(option: dict[str, str], tracker: Tracker) -> list[dict[str, Any]] | None:
    """The events that take an option, or None when it is not a step to take."""
    payload = option.get("payload") or ""
    if not payload.startswith("/") or parse_payload(payload)[0] in NOT_A_STEP:
        return None
    return act_as(tracker, payload)


def read_on(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> bool:
    """After "要继续听吗？", a yes hears the rest of the answer."""
    last = previous_bot_turn(tracker)
    if not last or not (last[-1].get("text") or "").endswith(READ_ON_QUESTION):
        return False
    more = f"{(last[-1].get('metadata') or {}).get('utter_action')}_more"
    if more not in domain.get("responses", {}):
        return False
    dispatcher.utter_message(response=more)
    return True


def ask_which(dispatcher: CollectingDispatcher, options: list[dict[str, str]]) -> None:
    """ "您想先做哪一项？" with the options again (read with their numbers on voice)."""
    dispatcher.utter_message(response="utter_which_option", buttons=options)


def move_on(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """ "还有什么可以帮您？", or, said just before, the concrete next steps instead."""
    said_before = previous_response(tracker) == "utter_anything_else"
    dispatcher.utter_message(
        response="utter_anything_else_again" if said_before else "utter_anything_else"
    )


class ActionTakeOffer(Action):
    """A yes or a number after an offer takes that option; a yes after
    "要继续听吗？" reads on; with nothing offered the conversation moves on."""

    def name(self) -> str:
        return "action_take_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        choosing = (tracker.latest_message.get("intent") or {}).get("name") == CHOOSE_OPTION
        if not choosing and read_on(dispatcher, tracker, domain):
            return []
        options = offered_options(tracker, domain)
        if not options:
            if choosing:
                dispatcher.utter_message(response="utter_no_options")
            else:
                move_on(dispatcher, tracker)
            return []
        index = 0
        if choosing:
            number = chosen_number(tracker.latest_message.get("text") or "")
            if number is None or not 1 <= number <= len(options):
                ask_which(dispatcher, options)
                return []
            index = number - 1
        taken = take(options[index], tracker)
        if taken is None:
            move_on(dispatcher, tracker)
            return []
        return taken


class ActionMoveOn(Action):
    """A no, a declined answer or a pause with nothing running: on to what is next."""

    def name(self) -> str:
        return "action_move_on"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        move_on(dispatcher, tracker)
        return []


class ActionOutOfScope(Action):
    """A remark the assistant cannot help with: said so, and back to the open offer."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        options = offered_options(tracker, domain)
        if options:
            dispatcher.utter_message(response="utter_out_of_scope_offer_open", buttons=options)
        elif previous_response(tracker) == "utter_out_of_scope":
            dispatcher.utter_message(response="utter_anything_else_again")
        else:
            dispatcher.utter_message(response="utter_out_of_scope")
        return []
