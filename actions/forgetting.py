"""Forgetting a conversation: after a refusal of consent, and on "删除我的信息".

Where the deleting happens, and why there:

- the store's records of the conversation (applications, tickets, continuation
  links and codes) are deleted here, by store/erasure.py: the action server
  already reaches the store, and the person must be told what was deleted and
  what was kept;
- the conversation itself (Rasa's tracker events) is deleted by the tracker
  store, when this turn is saved, because an action sets `forget_conversation`
  (rasa_ext/tracker_store.py). An action cannot delete it itself: Rasa saves
  the turn after the action, and would write back every event it no longer
  finds in the database. The gateway could, after the reply, but would then have
  to recognise the moment from the reply and race the next turn.

A refusal answers "不保存我们的对话"; after this turn, nothing of what was said
is readable, and the next message starts a new conversation.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.voice import for_ear, is_voice, on_the_phone
from legal_aid.eligibility.answers import parse_yes_no
from store.erasure import Erasure

logger = logging.getLogger(__name__)

# After "确定删除吗？" a reply that says no in any of these words deletes nothing,
# whatever the intent model made of it ("不删除" looks like delete_my_data).
REFUSING_WORDS = ("不", "别", "算了", "取消", "先等等", "再想想")
ASKED_AGAIN = "delete_my_data"

# Built here, not in domain.yml: a failure the model never needs to predict.
ERASE_FAILED = "抱歉，现在没能删除，您的信息还在。请过一会儿再说“删除我的信息”，或者拨打12348。"


def forget_conversation() -> list[dict[str, Any]]:
    """The event that makes the tracker store delete this conversation at the end of the turn."""
    return [SlotSet(slots.FORGET_CONVERSATION, True)]


async def forget_after_refusal(tracker: Tracker) -> list[dict[str, Any]]:
    """Consent refused: the links and codes the conversation made, and the
    conversation itself. A store that cannot be reached does not keep the
    conversation: it is forgotten all the same; the links go when their period ends."""
    try:
        await asyncio.to_thread(Erasure.shared().forget_refused, tracker.sender_id)
    except Exception as error:  # no key, database down: log no id, forget anyway
        logger.warning("links not deleted after a refusal: %s", type(error).__name__)
    return forget_conversation()


class ActionAskEraseData(Action):
    """ "删除我的信息": says what would be deleted and asks to confirm (是/否, 按1/按2)."""

    def name(self) -> str:
        return "action_ask_erase_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        phone = on_the_phone(tracker)
        dispatcher.utter_message(
            response="utter_ask_erase_data_phone" if phone else "utter_ask_erase_data"
        )
        return []


def confirms_erasure(text: str, intent: str | None) -> bool:
    """Whether the answer to "确定删除吗？" is a yes. Only a clear yes deletes:
    a no in words, or anything unclear, keeps everything."""
    if any(word in text for word in REFUSING_WORDS):
        return False
    answer = parse_yes_no(text, intent)
    if answer is not None:
        return answer
    # "确定删除", "删吧", "删除我的信息" again: the request repeated is a yes.
    return intent == ASKED_AGAIN or "删" in text


class ActionEraseMyData(Action):
    """The answer to "确定删除吗？" (read by its words, rules.yml): a yes deletes the
    conversation's records, says what was kept and forgets the conversation."""

    def name(self) -> str:
        return "action_erase_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name")
        if not confirms_erasure(message.get("text") or "", intent):
            dispatcher.utter_message(response="utter_erase_cancelled")
            return []
        try:
            report = await asyncio.to_thread(Erasure.shared().erase_conversation, tracker.sender_id)
        except Exception as error:
            # Nothing deleted, nothing promised: the conversation stays for a retry.
            logger.warning("erasure failed: %s", type(error).__name__)
            dispatcher.utter_message(
                text=for_ear(ERASE_FAILED) if is_voice(tracker) else ERASE_FAILED
            )
            return []
        if report.kept:
            dispatcher.utter_message(
                response="utter_data_erased_some_kept", references="、".join(report.kept)
            )
        else:
            dispatcher.utter_message(response="utter_data_erased")
        return forget_conversation()
