"""Says back the matter the person described, and offers the next steps."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.voice import is_voice, source_line
from legal_aid.policy_data import load_policy_file

NEXT_STEPS = [
    {"title": "查一查能不能申请", "payload": "/check_eligibility"},
    {"title": "要准备什么材料", "payload": "/materials_needed"},
    {"title": "找人工", "payload": "/ask_human"},
]


def matter_types() -> dict[str, dict[str, str]]:
    """policy/matter_types.yml: how each matter is said, and its legal scope."""
    return load_policy_file("matter_types.yml")


def matter_name(matter: str | None) -> str:
    """How a matter is said to the person ("拖欠工资、讨要劳动报酬")."""
    return matter_types().get(matter or "", {}).get("said_zh", "其他法律问题")


def recognised_matter(tracker: Tracker) -> str | None:
    """The matter of the latest message, else the one recognised earlier."""
    latest = next(tracker.get_latest_entity_values("matter_type"), None)
    return latest or tracker.get_slot(slots.MATTER_TYPE)


class ActionAcknowledgeMatter(Action):
    def name(self) -> str:
        return "action_acknowledge_matter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        matter = recognised_matter(tracker)
        if matter not in matter_types():
            dispatcher.utter_message(response="utter_describe_problem")
            return []
        about = matter_types()[matter]
        voice = is_voice(tracker)
        text = (
            f"听起来是{about['said_zh']}。{about['scope_zh']}\n"
            f"{source_line(about['citation'], voice)}\n"
            "我不是律师，不能判断案子的结果。接下来您可以：查一查能不能申请法律援助，"
            "了解要准备什么材料，或者找人工。"
        )
        dispatcher.utter_message(text=text, buttons=NEXT_STEPS)
        return []
