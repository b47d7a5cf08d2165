"""Starting, resuming and finishing the application (申请登记).

action_start_application begins a new application or resumes a paused one.
action_finish_application runs when the form stops: it creates the record
exactly once (the application key chosen at consent makes a retry after a
crash harmless), reads the reference back, tells what happens next with the
legal time limits, lists the materials to prepare and offers the filled-in
form. When the form stopped early it says why, and after a refusal of
consent it forgets what was said: the answers, and the conversation itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.conversation import restart
from actions.eligibility_form import LEAVING_TO, facts_from_tracker
from actions.forgetting import forget_after_refusal
from actions.intake_form import PERSONAL_SLOTS, PROGRESS_SLOTS, spoken_reference
from actions.voice import for_ear, is_voice, source_line
from legal_aid.channels import REST
from legal_aid.eligibility import assess, condition_holds
from legal_aid.eligibility.conditions import DEADLINE_UNDER_SEVEN_DAYS
from legal_aid.intake.fields import consent_version
from legal_aid.intake.materials import EVIDENCE, MaterialItem, checklist
from legal_aid.policy_data import DEFAULT_REGION
from store.intake import ApplicationDetails, IntakeStore

logger = logging.getLogger(__name__)

# Where a person who was not stored is sent instead, by why the form stopped.
STOPPED_RESPONSES = {
    "consent_refused": "utter_intake_consent_refused",
    "guardian_missing": "utter_intake_guardian_needed",
    "pause_application": "utter_intake_paused",
}
# Stopped without consent: what was said is forgotten, not kept for later.
FORGET_ON = frozenset({"consent_refused", "guardian_missing"})
# Test hook (tests/test_intake_dialogue.py): the action server dies right
# after the record is committed, before it can answer, as a crash would.
CRASH_AFTER_COMMIT_ENV = "FAYUAN_CRASH_AFTER_INTAKE_COMMIT"


def clear(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in names]


class ActionStartApplication(Action):
    """ "现在登记申请" / "继续申请": a new application, or back to the open one."""

    def name(self) -> str:
        return "action_start_application"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot(slots.INTAKE_REFERENCE):
            # The last application is in; a new one starts from a clean form.
            dispatcher.utter_message(response="utter_intake_start")
            return [
                *clear(PERSONAL_SLOTS + PROGRESS_SLOTS),
                *clear((slots.APPLICATION_KEY, slots.INTAKE_REFERENCE)),
            ]
        if tracker.get_slot(slots.APPLICATION_KEY):
            dispatcher.utter_message(response="utter_intake_resume")
            return [SlotSet(slots.INTAKE_LEFT, None)]
        dispatcher.utter_message(response="utter_intake_start")
        return [SlotSet(slots.INTAKE_LEFT, None)]


class ActionFinishApplication(Action):
    """Submits the confirmed application once, or says why it stopped."""

    def name(self) -> str:
        return "action_finish_application"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        left = tracker.get_slot(slots.INTAKE_LEFT)
        if left == "start_over":
            return restart(dispatcher, tracker)
        if left in LEAVING_TO:
            # A person, or 删除我的信息 (which asks first): nothing is forgotten
            # here, the answers so far stay for when the person comes back.
            return [*clear((slots.INTAKE_LEFT,)), FollowupAction(LEAVING_TO[left])]
        if left:
            dispatcher.utter_message(response=STOPPED_RESPONSES.get(left, "utter_anything_else"))
            forgotten = (
                clear(PERSONAL_SLOTS + (slots.APPLICATION_KEY,)) if left in FORGET_ON else []
            )
            # Refused: the conversation so far is deleted too (actions/forgetting.py).
            refused = await forget_after_refusal(tracker) if left in FORGET_ON else []
            return [
                *forgotten,
                *clear(PROGRESS_SLOTS if left in FORGET_ON else (slots.INTAKE_LEFT,)),
                *refused,
            ]
        details = application_details(tracker)
        try:
            result = await asyncio.to_thread(IntakeStore.shared().submit, details)
        except Exception:
            # Nothing is lost: the answers stay in the conversation for a retry.
            logger.exception("intake store unavailable; application kept for a retry")
            dispatcher.utter_message(response="utter_intake_store_down")
            return []
        if result.created and os.environ.get(CRASH_AFTER_COMMIT_ENV):
            os._exit(70)
        logger.info("application %s recorded (new=%s)", result.reference, result.created)
        self._tell_submitted(dispatcher, tracker, details, result.reference)
        # The record holds the answers now; the conversation need not.
        return [
            *clear(PERSONAL_SLOTS + PROGRESS_SLOTS),
            SlotSet(slots.INTAKE_REFERENCE, result.reference),
        ]

    def _tell_submitted(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        details: ApplicationDetails,
        reference: str,
    ) -> None:
        voice = is_voice(tracker)
        dispatcher.utter_message(
            response="utter_intake_submitted",
            reference=reference,
            reference_spoken=spoken_reference(reference),
        )
        dispatcher.utter_message(response="utter_intake_next_steps")
        if details.advance_aid:
            dispatcher.utter_message(response="utter_intake_advance_aid")
        dispatcher.utter_message(response="utter_intake_checklist_intro")
        items = checklist(
            details.matter_type,
            details.eligibility.get("facts", {}),
            details.eligibility.get("assessment", {}),
            details.region,
        )
        dispatcher.utter_message(
            text=spoken_checklist(items) if voice else written_checklist(items)
        )
        dispatcher.utter_message(
            response="utter_intake_form_ready",
            json_message={"document": document_offer(reference)},
        )


def written_checklist(items: list[MaterialItem]) -> str:
    """Every item with what it is and where to get it, and its source."""
    lines = []
    for number, item in enumerate(items, start=1):
        lines.append(f"{number}. {item.title}：{item.detail}")
        if item.citation:
            lines.append(f"   {source_line(item.citation, voice=False)}")
    return "\n".join(lines)


def spoken_checklist(items: list[MaterialItem]) -> str:
    """For the ear only the names, documents first, then the evidence in one sentence;
    the details would be too long to remember (they are on the form)."""
    documents = [item.title for item in items if not item.key.startswith(EVIDENCE)]
    evidence = [item.title for item in items if item.key.startswith(EVIDENCE)]
    sentences = [f"证件和文书：{'，'.join(documents)}。"] if documents else []
    if evidence:
        sentences.append(f"证据：{'，'.join(evidence)}。")
    citations = list(dict.fromkeys(item.citation for item in items if item.citation))
    spoken = for_ear("".join(sentences))
    return f"{spoken}{source_line('；'.join(citations), voice=True)}" if citations else spoken


def document_offer(reference: str) -> dict[str, str]:
    """Where the gateway serves the filled-in form; the token proves it is theirs."""
    token = IntakeStore.shared().document_token(reference)
    path = f"/intake/{reference}/form.pdf?token={token}"
    return {
        "title": f"法律援助申请表 {reference}",
        "url": path,
        "large_print_url": f"{path}&large=1",
        "filename": f"{reference}.pdf",
    }


def application_details(tracker: Tracker) -> ApplicationDetails:
    """The confirmed answers as the record the store keeps.

    Whether aid may start at once is the assessment's `advance_aid`, and the
    deadline flag is the policy's art. 44 line: the record says what the
    eligibility result and the handoff queue say (None: no deadline was told).
    """
    slot = tracker.get_slot
    facts = facts_from_tracker(tracker)
    assessment = assess(facts)
    deadline_close = condition_holds(DEADLINE_UNDER_SEVEN_DAYS, facts)
    guardian = (
        {"name": slot(slots.GUARDIAN_NAME), "relation": slot(slots.GUARDIAN_RELATION)}
        if slot(slots.GUARDIAN_NAME)
        else None
    )
    age = slot(slots.AGE)
    return ApplicationDetails(
        application_key=slot(slots.APPLICATION_KEY),
        channel=tracker.get_latest_input_channel() or REST.name,
        conversation_id=tracker.sender_id,
        name=slot(slots.APPLICANT_NAME),
        phone=slot(slots.PHONE),
        region=slot(slots.REGION) or DEFAULT_REGION,
        county=slot(slots.COUNTY),
        matter_type=slot(slots.MATTER_TYPE),
        description=slot(slots.DESCRIPTION),
        contact_preference=slot(slots.CONTACT_PREFERENCE),
        consent_version=consent_version(),
        consent_given_at=datetime.fromisoformat(slot(slots.INTAKE_CONSENT_AT)),
        id_number=slot(slots.ID_NUMBER),
        disability_certificate=slot(slots.DISABILITY_CERTIFICATE),
        accessibility_needs=tuple(slot(slots.ACCESSIBILITY_NEEDS) or ()),
        applying_for=slot(slots.APPLYING_FOR) or "self",
        applicant_age=int(age) if isinstance(age, int | float) else None,
        guardian=guardian,
        deadline_within_7_days=deadline_close,
        urgent_preservation=slot(slots.NEEDS_URGENT_PRESERVATION),
        advance_aid=assessment["advance_aid"],
        eligibility={
            # The checklist reads who applies beside the facts (urgency is in the facts).
            "facts": {
                **facts,
                slots.APPLYING_FOR: slot(slots.APPLYING_FOR) or "self",
                "guardian": guardian,
            },
            "assessment": assessment,
        },
    )
