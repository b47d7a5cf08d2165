"""Danger first: 110 and the right hotline before anything else."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from legal_aid.policy_data import load_policy_file


def safety_messages() -> dict[str, Any]:
    return load_policy_file("safety.yml")


def safety_answer(category: str | None) -> str:
    messages = safety_messages()
    chosen = messages["categories"].get(category or "", messages["categories"]["unspecified"])
    return f"{chosen['first_zh']}\n{chosen['also_zh']}\n{messages['to_a_person_zh']}"


class ActionSafetyFirst(Action):
    def name(self) -> str:
        return "action_safety_first"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        category = next(tracker.get_latest_entity_values("danger"), None)
        dispatcher.utter_message(text=safety_answer(category))
        return []
