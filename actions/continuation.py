"""换个地方接着说: a short code that carries this conversation to another channel.

The person asks ("给我接续码", "我想在微信上继续"); the assistant says an
eight-digit code (store/links.py), valid ten minutes and once. Said or typed on the other channel as
"接续 385271", the gateway (bot/continuation.py) links that channel's sender to
this conversation once the person confirms it here ("确认接续" and the number
the other channel was told; a hotline call's code links at once): nothing is
merged unless the person brings the code and confirms it.

Asked in the middle of the questions, the code is said and the question is
asked again (the forms call `continuation_request`), so the answer given on
the other channel is taken as the answer to it.

The store keeps only a keyed hash of the code and the conversation id
encrypted (store/links.py); nothing here logs the code or the id.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.voice import is_voice
from legal_aid.numbers import number_to_chinese
from store.links import ConversationLinks

logger = logging.getLogger(__name__)

INTENT = "continue_elsewhere"
# Inside the questions, only a clear request interrupts: an answer is an answer.
REQUEST_CONFIDENCE = 0.8
# The spoken variant of utter_continuation_code says how many digits there are,
# which domain.yml still puts at six; said from here until the model is next
# retrained with domain.yml saying "这八个数字" (then utter the response again).
SPOKEN_CODE = (
    "好的。请在另一个地方说：接续，再说这八个数字：{code_spoken}。十分钟内有效，只能用一次。"
    "接上以后，我们从刚才的地方接着说。"
)


def spoken_digits(code: str) -> str:
    """ "385271" as the ear needs it: one digit at a time."""
    return " ".join(number_to_chinese(int(digit)) for digit in code)


def say_code(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """A new code for this conversation, said; or, if the store cannot, that it cannot."""
    try:
        code = ConversationLinks.shared().issue_code(tracker.sender_id)
    except Exception as error:  # no key, database down: say so, log no id
        logger.warning("continuation code not issued: %s", type(error).__name__)
        dispatcher.utter_message(response="utter_continuation_unavailable")
        return
    if is_voice(tracker):
        dispatcher.utter_message(text=SPOKEN_CODE.format(code_spoken=spoken_digits(code)))
        return
    dispatcher.utter_message(
        response="utter_continuation_code", code=code, code_spoken=spoken_digits(code)
    )


def continuation_request(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Whether the person asked for a code instead of answering a form's question
    (the code is then said; the form asks its question again)."""
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") != INTENT or (intent.get("confidence") or 0.0) < REQUEST_CONFIDENCE:
        return False
    say_code(dispatcher, tracker)
    return True


class ActionContinuationCode(Action):
    def name(self) -> str:
        return "action_continuation_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        say_code(dispatcher, tracker)
        return []
