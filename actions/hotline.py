"""Answers "what number do I call" from the region's contact data."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.voice import is_voice, source_line
from legal_aid.policy_data import DEFAULT_REGION, available_regions, load_region


def hotline_answer(region: str | None, voice: bool = False) -> str:
    """The hotline answer for a region, ending with its source."""
    if region not in available_regions("contacts"):
        region = DEFAULT_REGION
    contacts = load_region("contacts", region)
    hotline = contacts["hotline"]
    online = contacts["online"]
    emergency = contacts["emergency"]
    return (
        f"法律问题可以拨打{hotline['number']}{hotline['name_zh']}，"
        f"{hotline['hours_zh']}；也可以上{online['name_zh']}在线咨询。"
        f"咨询是免费的。遇到人身危险，请马上拨打{emergency['number']}。\n"
        + source_line(hotline["citation"], voice)
    )


class ActionHotlineInfo(Action):
    """Gives the 12348 hotline and online service of the user's region."""

    def name(self) -> str:
        return "action_hotline_info"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[dict[str, Any]]:
        answer = hotline_answer(tracker.get_slot(slots.REGION), voice=is_voice(tracker))
        dispatcher.utter_message(text=answer)
        return []
