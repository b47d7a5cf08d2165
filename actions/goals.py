"""The person's goal drives the next step (issue 25).

"我想申请法律援助" is a goal, not a question about procedure: the first time the
assistant asks in one short question whether to register now or check first
(both are possible); said again, or once the eligibility result is known, the
application starts. "能申请吗" after a problem is about this person's case: the
eligibility check starts (and, when the facts are already known, the form
completes at once and the result is said). Both hand over to the rules for
start_application and check_eligibility by taking that meaning (`act_as`).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.matters import UNDECIDED
from actions.no_repeat import previous_response, ran_before, said_before
from actions.offers import act_as

APPLY_OR_CHECK = "utter_apply_or_check"
START_APPLICATION = "/start_application"
CHECK_ELIGIBILITY = "/check_eligibility"
ELIGIBILITY_RESULT = "action_eligibility_result"


def knows_matter(tracker: Tracker) -> bool:
    matter = tracker.get_slot(slots.MATTER_TYPE)
    return bool(matter) and matter != UNDECIDED


class ActionApplyGoal(Action):
    """ "我想申请": register now or check first, asked once; then the application."""

    def name(self) -> str:
        return "action_apply_goal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if said_before(tracker, APPLY_OR_CHECK) or ran_before(tracker, ELIGIBILITY_RESULT):
            # Asked to apply again, or already knows the result: apply.
            return act_as(tracker, START_APPLICATION)
        dispatcher.utter_message(response=APPLY_OR_CHECK)
        return []


class ActionCanIApply(Action):
    """ "我能申请吗": checked for this person once a matter is known; otherwise who
    qualifies in general, with the offer to check."""

    def name(self) -> str:
        return "action_can_i_apply"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if knows_matter(tracker):
            return act_as(tracker, CHECK_ELIGIBILITY)
        if previous_response(tracker) == "utter_who_qualifies":
            dispatcher.utter_message(response="utter_asked_again")
        else:
            dispatcher.utter_message(response="utter_who_qualifies")
        return []
