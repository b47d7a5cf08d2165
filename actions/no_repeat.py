"""What the assistant said last: so that no reply is sent twice in a row (issue 25).

A reply the person has just heard, heard again, is a loop: the second time
the assistant changes approach (asks what was unclear, offers the likely
step, then a person). Rules do it for answers given by a response
(nlu_data/rules.yml, "asked again right after its answer"); actions that
build their replies look here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rasa_sdk import Tracker

# Replies that say the assistant did not understand: two in a row, and the next
# one offers a person or 12348.
MISUNDERSTOOD = frozenset(
    {"utter_please_rephrase", "utter_ask_what_happened", "utter_out_of_scope"}
)


def previous_bot_turn(tracker: Tracker) -> list[dict[str, Any]]:
    """The bot messages that answered the user's previous message."""
    turn: list[dict[str, Any]] = []
    users_seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users_seen += 1
            if users_seen == 2:
                break
        elif event.get("event") == "bot" and users_seen == 1:
            turn.append(event)
    return list(reversed(turn))


def previous_response(tracker: Tracker) -> str | None:
    """The response the assistant last answered with, before the latest message."""
    turn = previous_bot_turn(tracker)
    return (turn[-1].get("metadata") or {}).get("utter_action") if turn else None


def previous_text(tracker: Tracker) -> str:
    """Everything the assistant said in its last turn, as one text."""
    return "\n".join(m.get("text") or "" for m in previous_bot_turn(tracker))


def since_restart(tracker: Tracker) -> Iterator[dict[str, Any]]:
    """The conversation's events, newest first, back to its last restart."""
    for event in reversed(tracker.events):
        if event.get("event") == "restart":
            return
        yield event


def said_before(tracker: Tracker, response: str) -> bool:
    """Whether the assistant used a response in this conversation (since a restart)."""
    return any(
        event.get("event") == "bot"
        and (event.get("metadata") or {}).get("utter_action") == response
        for event in since_restart(tracker)
    )


def ran_before(tracker: Tracker, action: str) -> bool:
    """Whether an action ran in this conversation (since a restart)."""
    return any(
        event.get("event") == "action" and event.get("name") == action
        for event in since_restart(tracker)
    )


def vary(tracker: Tracker, response: str, instead: str) -> str:
    """`response`, or `instead` when the last turn said it: a form's "not understood"
    before the same question again would otherwise be the same reply twice."""
    said = {(m.get("metadata") or {}).get("utter_action") for m in previous_bot_turn(tracker)}
    return instead if response in said else response
