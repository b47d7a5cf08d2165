"""Slots filled by code each turn (Rasa's action_validate_slot_mappings)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from actions import slots
from actions.matters import UNDECIDED, earlier_matter
from legal_aid.places import most_specific_place


class ValidateSlotMappings(ValidationAction):
    """Turns a named place into the policy region whose rules apply to it, and keeps
    the matter decided earlier when a later message's matter is not decided."""

    def domain_slots(self, domain: dict[str, Any]) -> list[str]:
        # rasa_sdk leaves a slot with any form-conditioned mapping to that form;
        # `region` is also the eligibility form's answer to "哪个省", but a place
        # named in any message must still set it; so is `matter_type` to "什么事".
        return [*self.global_slots(domain), slots.REGION, slots.MATTER_TYPE]

    async def validate_matter_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # `other` is a question back (issue 21), not news: "起诉期限是多久" after a
        # wage story must not erase the wages.
        if value == UNDECIDED:
            return {slots.MATTER_TYPE: earlier_matter(tracker) or UNDECIDED}
        return {slots.MATTER_TYPE: value}

    async def extract_region(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot(slots.REQUESTED_SLOT) == slots.CASE_LOCATION:
            # The place of the case, not where the person is (art. 38): the form keeps it.
            return {}
        # "包头市固阳县" arrives as two entities; the county is what counts.
        named = " ".join(tracker.get_latest_entity_values("region"))
        place = most_specific_place(named) if named else None
        if place is None:
            return {}
        return {slots.REGION: place.policy_region, slots.PLACE: place.name}
