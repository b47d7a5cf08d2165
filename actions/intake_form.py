"""The application form (申请登记): consent first, one question at a time, read back before submitting.

The questions are not a fixed list: which ones are asked depends on the
person (a child under 14 needs a guardian's consent; the ID number and the
disability certificate may be skipped; urgency already told in the eligibility
questions is not asked again). Every answer is checked in the words people
use (legal_aid/intake/validation.py). At any time a person may correct an
earlier answer ("电话说错了"), ask why a question is asked, or stop and come
back later ("先停一下" … "继续申请") with nothing lost.

Before submitting, every answer is read back, one field at a time, and the
person confirms or changes it; only then does action_finish_application
create the record.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import slots
from actions.conversation import speech_request
from actions.eligibility_form import LEAVING_INTENTS as ELIGIBILITY_LEAVING
from actions.eligibility_form import said_clearly
from actions.matters import matter_name
from actions.no_repeat import vary
from actions.voice import expect_answers, is_voice
from legal_aid.eligibility.answers import is_decline, parse_answer, parse_yes_no
from legal_aid.intake import validation
from legal_aid.intake.fields import (
    Field,
    field,
    field_named_in,
    fields,
    needs_words,
    parse_applying_for,
    parse_guardian_relation,
    value_label,
)
from legal_aid.numbers import digits_to_chinese
from legal_aid.places import most_specific_place, places_within

FORM = "intake_form"
# After this many answers in a row not understood, offer a way out.
MISSES_BEFORE_HELP = 2
# PIPL art. 31: a child under 14 needs a parent's or guardian's consent.
GUARDIAN_CONSENT_BELOW_AGE = 14
GUARDIAN_SLOTS = (slots.GUARDIAN_CONSENT, slots.GUARDIAN_NAME, slots.GUARDIAN_RELATION)
# Questions that may be skipped ("跳过", "没有", "不想说"); the rest are needed.
OPTIONAL = frozenset({slots.ID_NUMBER, slots.DISABILITY_CERTIFICATE, slots.AGE})
URGENCY_SLOTS = (slots.DAYS_TO_DEADLINE, slots.NEEDS_URGENT_PRESERVATION)
# Free-text answers: a clear "先停一下" must not be taken for a name or a story.
FREE_TEXT = frozenset({slots.APPLICANT_NAME, slots.GUARDIAN_NAME, slots.DESCRIPTION})
LEAVING_INTENTS = frozenset({"pause_application", *ELIGIBILITY_LEAVING})
CORRECTION_INTENT = "correct_answer"
CORRECTION_CONFIDENCE = 0.6
MIN_DESCRIPTION_CHARS = 6
MAX_DESCRIPTION_CHARS = 1000
# What the person told the form about themselves: forgotten when they withdraw consent.
PERSONAL_SLOTS = (
    slots.APPLICANT_NAME,
    slots.PHONE,
    slots.PHONE_CONFIRMED,
    slots.ID_NUMBER,
    slots.COUNTY,
    slots.MATTER_CONFIRMED,
    slots.DESCRIPTION,
    slots.DISABILITY_CERTIFICATE,
    slots.ACCESSIBILITY_NEEDS,
    slots.CONTACT_PREFERENCE,
    *GUARDIAN_SLOTS,
    slots.APPLYING_FOR,
)
# Slots that only say where the form is.
PROGRESS_SLOTS = (
    slots.INTAKE_CONSENT,
    slots.INTAKE_REVIEW,
    slots.INTAKE_REVIEW_FIELD,
    slots.INTAKE_CONFIRMED,
    slots.INTAKE_SKIPPED,
    slots.INTAKE_LEFT,
    slots.INTAKE_CONSENT_AT,
    slots.INTAKE_MISSES,
)


def _intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


def _needs_guardian_consent(tracker: Tracker) -> bool:
    age = tracker.get_slot(slots.AGE)
    return isinstance(age, int | float) and age < GUARDIAN_CONSENT_BELOW_AGE


def _urgency_known(tracker: Tracker, slot: str) -> bool:
    settled = set(tracker.get_slot(slots.ELIGIBILITY_SETTLED) or []) | set(
        tracker.get_slot(slots.INTAKE_SKIPPED) or []
    )
    return tracker.get_slot(slot) is not None or slot in settled


def questions_for(tracker: Tracker) -> list[str]:
    """The questions this person is asked, in order (answered ones included)."""
    if tracker.get_slot(slots.INTAKE_LEFT):
        return []
    if tracker.get_slot(slots.INTAKE_CONSENT) is not True:
        return [slots.INTAKE_CONSENT]
    skipped = set(tracker.get_slot(slots.INTAKE_SKIPPED) or [])
    wanted = [slots.INTAKE_CONSENT, slots.APPLYING_FOR, slots.AGE]
    if _needs_guardian_consent(tracker):
        wanted += GUARDIAN_SLOTS
    wanted += [
        slots.APPLICANT_NAME,
        slots.PHONE,
        slots.PHONE_CONFIRMED,
        slots.ID_NUMBER,
        slots.COUNTY,
        slots.MATTER_TYPE,
        slots.MATTER_CONFIRMED,
        slots.DESCRIPTION,
        slots.DISABILITY_CERTIFICATE,
        slots.ACCESSIBILITY_NEEDS,
        slots.CONTACT_PREFERENCE,
        *(slot for slot in URGENCY_SLOTS if not _urgency_known(tracker, slot)),
        slots.INTAKE_REVIEW,
    ]
    return [slot for slot in wanted if slot not in skipped]


def review_fields(tracker: Tracker) -> list[Field]:
    """The fields read back before submitting: those this person answered."""
    shown = []
    for f in fields():
        if f.key == "guardian" and not tracker.get_slot(slots.GUARDIAN_NAME):
            continue
        if f.key == "urgency":
            shown.append(f)
            continue
        if any(tracker.get_slot(slot) is not None for slot in f.slots):
            shown.append(f)
    return shown


def spoken_reference(reference: str) -> str:
    """FY-2026-000123 said so it can be written down: letters, then digit by digit."""
    letters, *numbers = reference.split("-")
    return "，".join([" ".join(letters), *(digits_to_chinese(n) for n in numbers)])


def urgency_words(tracker: Tracker) -> str:
    days = tracker.get_slot(slots.DAYS_TO_DEADLINE)
    preservation = tracker.get_slot(slots.NEEDS_URGENT_PRESERVATION)
    parts = []
    if isinstance(days, int | float):
        parts.append(f"离期限还有{int(days)}天")
    if preservation is True:
        parts.append("要马上申请保全")
    return "，".join(parts) or "没有很急的期限"


def field_value(f: Field, tracker: Tracker, voice: bool) -> str:
    """A field's answer as it is read back: for the eye, or for the ear."""
    slot = tracker.get_slot
    if f.key == "phone":
        digits = slot(slots.PHONE)
        return validation.phone_for_readback(digits) if voice else validation.phone_grouped(digits)
    if f.key in ("id_number", "disability_certificate"):
        value = slot(f.slots[0])
        return digits_to_chinese(value).replace("X", "叉") if voice else value
    if f.key == "county":
        return str(slot(slots.COUNTY)).replace("/", "")
    if f.key == "matter_type":
        return matter_name(slot(slots.MATTER_TYPE))
    if f.key == "guardian":
        name, relation = slot(slots.GUARDIAN_NAME), slot(slots.GUARDIAN_RELATION)
        return f"{name}，{relation}" if voice else f"{name}（{relation}）"
    if f.key == "accessibility_needs":
        return needs_words(slot(slots.ACCESSIBILITY_NEEDS) or ())
    if f.key == "contact_preference":
        return value_label("contact_preference", slot(slots.CONTACT_PREFERENCE))
    if f.key == "urgency":
        return urgency_words(tracker)
    # A sentence the person said ends with its own 。; the question adds another.
    return str(slot(f.slots[0])).rstrip("。.！!？? ")


class ValidateIntakeForm(FormValidationAction):
    """Checks each answer, handles corrections and pauses, and runs the read-back."""

    def name(self) -> str:
        return f"validate_{FORM}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        return questions_for(tracker)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        asked = tracker.get_slot(slots.REQUESTED_SLOT)
        to_validate = tracker.slots_to_validate()
        if asked not in to_validate:
            return []
        updates = self._correction(asked, dispatcher, tracker)
        if updates is None:
            updates = self._answer(asked, to_validate[asked], dispatcher, tracker, domain)
        return [SlotSet(slot, value) for slot, value in updates.items()]

    def _correction(
        self, asked: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any] | None:
        """ "电话说错了": forget that field (asked again next); None when it is an answer."""
        intent, confidence = _intent(tracker)
        if intent != CORRECTION_INTENT or confidence < CORRECTION_CONFIDENCE:
            return None
        named = field_named_in(_text(tracker))
        if named is None:
            return None
        dispatcher.utter_message(response="utter_intake_fix_field", field_label=named.label)
        return {asked: None, **forget(named, tracker)}

    def _answer(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        text = _text(tracker)
        intent, _ = _intent(tracker)
        spoken = speech_request(dispatcher, tracker)
        if spoken is not None:
            return {slot: None, **spoken}
        if intent == "ask_why":
            why = f"utter_why_{slot}"
            has_why = why in domain.get("responses", {})
            dispatcher.utter_message(response=why if has_why else "utter_intake_why_generic")
            return {slot: None}
        declined = intent == "decline_answer" or is_decline(text)
        if declined and slot in OPTIONAL:
            return {
                slot: None,
                slots.INTAKE_SKIPPED: [*(tracker.get_slot(slots.INTAKE_SKIPPED) or []), slot],
            }
        # Read into a dispatcher of its own: "转人工" is not an answer, and the
        # person should not hear "我没听明白" before being passed on.
        reading = CollectingDispatcher()
        parsed = ANSWER_READERS[slot](text, intent, tracker, reading)
        leaving = said_clearly(tracker, LEAVING_INTENTS)
        if leaving and (parsed is None or slot in FREE_TEXT):
            return {slot: None, slots.INTAKE_LEFT: intent}
        dispatcher.messages.extend(reading.messages)
        if parsed is None and declined and slot != slots.INTAKE_CONSENT:
            # Declined twice in a row: the ways out instead of the same words again.
            dispatcher.utter_message(
                response=vary(tracker, "utter_intake_required_field", "utter_intake_stuck")
            )
            return {slot: None}
        if parsed is None:
            return self._missed(slot, dispatcher, tracker)
        return {**parsed, slots.INTAKE_MISSES: 0}

    def _missed(
        self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Not understood again: the question comes back, with a way out after a few tries."""
        misses = int(tracker.get_slot(slots.INTAKE_MISSES) or 0) + 1
        if misses >= MISSES_BEFORE_HELP:
            dispatcher.utter_message(response="utter_intake_stuck")
            misses = 0
        return {slot: None, slots.INTAKE_MISSES: misses}


# Fields read back to a listener at once; on a screen, all of them.
REVIEW_PAGE_FOR_THE_EAR = 3
# The confirmations of fields read back as soon as they are answered (the phone
# number, the matter): a listener does not hear those fields again before submitting.
READ_BACK_WHEN_ANSWERED = (slots.PHONE_CONFIRMED, slots.MATTER_CONFIRMED)
# The read-back's state while it asks which field of a page is wrong.
WHICH = "which"


def forget(f: Field, tracker: Tracker) -> dict[str, Any]:
    """Clears a field so the form asks it again, and takes back its confirmation."""
    confirmed = [key for key in tracker.get_slot(slots.INTAKE_CONFIRMED) or [] if key != f.key]
    skipped = [slot for slot in tracker.get_slot(slots.INTAKE_SKIPPED) or [] if slot not in f.slots]
    settled = [
        slot for slot in tracker.get_slot(slots.ELIGIBILITY_SETTLED) or [] if slot not in f.slots
    ]
    return {
        **{slot: None for slot in f.slots},
        slots.INTAKE_CONFIRMED: confirmed,
        slots.INTAKE_SKIPPED: skipped,
        slots.ELIGIBILITY_SETTLED: settled,
        slots.INTAKE_REVIEW: None,
    }


# --- one reader per question: the slots to set, or None after saying what was wrong ---


def _read_consent(text: str, intent: str | None, tracker: Tracker, d: CollectingDispatcher) -> Any:
    answer = parse_yes_no(text, intent)
    if answer is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    if answer is False:
        return {slots.INTAKE_CONSENT: False, slots.INTAKE_LEFT: "consent_refused"}
    return {
        slots.INTAKE_CONSENT: True,
        slots.APPLICATION_KEY: tracker.get_slot(slots.APPLICATION_KEY) or uuid.uuid4().hex,
        slots.INTAKE_CONSENT_AT: datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _read_applying_for(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    answer = parse_applying_for(text)
    if answer is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    return {slots.APPLYING_FOR: answer}


def _read_age(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    age = parse_answer(slots.AGE, text, intent)
    if age is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    return {slots.AGE: age}


def _read_guardian_consent(
    text: str, intent: str | None, t: Tracker, d: CollectingDispatcher
) -> Any:
    answer = parse_yes_no(text, intent)
    if answer is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    if answer is False:
        return {slots.GUARDIAN_CONSENT: False, slots.INTAKE_LEFT: "guardian_missing"}
    return {slots.GUARDIAN_CONSENT: True}


def _read_name(slot: str):  # one reader for both names
    def read(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
        name = validation.parse_name(text)
        if name is None:
            d.utter_message(response="utter_intake_name_not_understood")
            return None
        return {slot: name}

    return read


def _read_guardian_relation(
    text: str, intent: str | None, t: Tracker, d: CollectingDispatcher
) -> Any:
    relation = parse_guardian_relation(text)
    if relation is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    return {slots.GUARDIAN_RELATION: relation}


def _read_phone(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    phone = validation.parse_phone(text)
    if phone is None:
        d.utter_message(response="utter_intake_phone_not_understood")
        return None
    return {slots.PHONE: phone, slots.PHONE_CONFIRMED: None}


def _read_phone_confirmed(
    text: str, intent: str | None, t: Tracker, d: CollectingDispatcher
) -> Any:
    # A different number said instead of "不对" is taken as the correction.
    phone = validation.parse_phone(text)
    if phone is not None and phone != t.get_slot(slots.PHONE):
        return {slots.PHONE: phone, slots.PHONE_CONFIRMED: None}
    answer = parse_yes_no(text, intent)
    if answer is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    if answer is False:
        d.utter_message(response="utter_intake_say_again")
        return {slots.PHONE: None, slots.PHONE_CONFIRMED: None}
    return {slots.PHONE_CONFIRMED: True}


def _read_id_number(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    if parse_yes_no(text, intent) is False:
        # "没有" (no ID card to hand): skipped like "跳过".
        return {
            slots.ID_NUMBER: None,
            slots.INTAKE_SKIPPED: [*(t.get_slot(slots.INTAKE_SKIPPED) or []), slots.ID_NUMBER],
        }
    id_number = validation.parse_id_number(text)
    problem = validation.id_number_problem(id_number) if id_number else None
    if id_number is None or problem:
        d.utter_message(
            response="utter_intake_id_problem",
            problem=problem or "我没听出完整的身份证号码，一共是十八位。",
        )
        return None
    updates: dict[str, Any] = {slots.ID_NUMBER: id_number}
    if t.get_slot(slots.AGE) is None:
        birth = validation.birth_date_from_id(id_number)
        updates[slots.AGE] = validation.age_on(birth, date.today())
    return updates


def _read_county(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    named = " ".join(t.get_latest_entity_values("region"))
    place = most_specific_place(named or text) or most_specific_place(text)
    if place is not None and place.level == "county":
        return {
            slots.COUNTY: place.path_text,
            slots.REGION: place.policy_region,
            slots.PLACE: place.name,
        }
    if place is not None:
        d.utter_message(response="utter_intake_county_more_precise", place=place.name)
        expect_answers(d, t, places_within(place.name))
        return None
    if text.endswith(("县", "区", "旗", "市")) and 2 <= len(text) <= 30:
        # A county the directory does not list yet: keep the person's words.
        return {slots.COUNTY: text}
    d.utter_message(response="utter_intake_county_not_understood")
    return None


def _read_matter(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    matter = next(t.get_latest_entity_values("matter_type"), None)
    if matter is None:
        d.utter_message(
            response=vary(t, "utter_eligibility_matter_not_understood", "utter_matter_offer_human")
        )
        return None
    return {slots.MATTER_TYPE: matter, slots.MATTER_CONFIRMED: None}


def _read_matter_confirmed(
    text: str, intent: str | None, t: Tracker, d: CollectingDispatcher
) -> Any:
    answer = parse_yes_no(text, intent)
    if answer is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    if answer is False:
        return {slots.MATTER_TYPE: None, slots.MATTER_CONFIRMED: None}
    return {slots.MATTER_CONFIRMED: True}


def _read_description(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    if len(text) < MIN_DESCRIPTION_CHARS:
        d.utter_message(response="utter_intake_description_too_short")
        return None
    return {slots.DESCRIPTION: text[:MAX_DESCRIPTION_CHARS]}


def _read_certificate(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    if parse_yes_no(text, intent) is False:
        # "没有": no certificate (the checklist then says how to get one).
        return {
            slots.DISABILITY_CERTIFICATE: None,
            slots.HAS_DISABILITY_CERTIFICATE: False,
            slots.INTAKE_SKIPPED: [
                *(t.get_slot(slots.INTAKE_SKIPPED) or []),
                slots.DISABILITY_CERTIFICATE,
            ],
        }
    certificate = validation.parse_disability_certificate(text)
    problem = validation.certificate_problem(certificate) if certificate else None
    if certificate is None or problem:
        d.utter_message(
            response="utter_intake_certificate_problem",
            problem=problem or "我没听出完整的残疾人证号，一共是二十位。",
        )
        return None
    return {slots.DISABILITY_CERTIFICATE: certificate, slots.HAS_DISABILITY_CERTIFICATE: True}


def _read_needs(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    needs = validation.parse_accessibility_needs(text)
    if needs is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    return {slots.ACCESSIBILITY_NEEDS: list(needs)}


def _read_contact(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    contact = validation.parse_contact_preference(text)
    if contact is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    return {slots.CONTACT_PREFERENCE: contact}


def _read_deadline(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    days = parse_answer(slots.DAYS_TO_DEADLINE, text, intent)
    if days is not None:
        return {slots.DAYS_TO_DEADLINE: days}
    if parse_yes_no(text, intent) is False:
        settled = [*(t.get_slot(slots.ELIGIBILITY_SETTLED) or []), slots.DAYS_TO_DEADLINE]
        return {slots.DAYS_TO_DEADLINE: None, slots.ELIGIBILITY_SETTLED: settled}
    d.utter_message(response="utter_intake_not_understood")
    return None


def _read_preservation(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    answer = parse_yes_no(text, intent)
    if answer is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    return {slots.NEEDS_URGENT_PRESERVATION: answer}


def _read_review(text: str, intent: str | None, t: Tracker, d: CollectingDispatcher) -> Any:
    """The answer to a page of the read-back: all right, or which field to change."""
    page = review_page_keys(t)
    if not page:
        return None
    answer = parse_yes_no(text, intent)
    named = field_named_in(text) if answer is not True else None
    if named is not None or (answer is False and len(page) == 1):
        wrong = named or field(page[0])
        d.utter_message(response="utter_intake_fix_field", field_label=wrong.label)
        return {**forget(wrong, t), slots.INTAKE_REVIEW_FIELD: None}
    if answer is False:
        # Several fields were read: which one is wrong (asked by action_ask_intake_review).
        return {slots.INTAKE_REVIEW: None, slots.INTAKE_REVIEW_FIELD: {WHICH: page}}
    if answer is None:
        d.utter_message(response="utter_intake_not_understood")
        return None
    confirmed = [*(t.get_slot(slots.INTAKE_CONFIRMED) or []), *page]
    done = all(f.key in confirmed for f in review_fields(t))
    return {
        slots.INTAKE_CONFIRMED: confirmed,
        slots.INTAKE_REVIEW: True if done else None,
        slots.INTAKE_REVIEW_FIELD: None,
    }


def review_page_keys(tracker: Tracker) -> list[str]:
    """The keys of the fields read back last (one page of the read-back)."""
    page = tracker.get_slot(slots.INTAKE_REVIEW_FIELD)
    if isinstance(page, dict):
        page = page.get(WHICH)
    if isinstance(page, str):
        return [page]
    return list(page or [])


ANSWER_READERS = {
    slots.INTAKE_CONSENT: _read_consent,
    slots.APPLYING_FOR: _read_applying_for,
    slots.AGE: _read_age,
    slots.GUARDIAN_CONSENT: _read_guardian_consent,
    slots.GUARDIAN_NAME: _read_name(slots.GUARDIAN_NAME),
    slots.GUARDIAN_RELATION: _read_guardian_relation,
    slots.APPLICANT_NAME: _read_name(slots.APPLICANT_NAME),
    slots.PHONE: _read_phone,
    slots.PHONE_CONFIRMED: _read_phone_confirmed,
    slots.ID_NUMBER: _read_id_number,
    slots.COUNTY: _read_county,
    slots.MATTER_TYPE: _read_matter,
    slots.MATTER_CONFIRMED: _read_matter_confirmed,
    slots.DESCRIPTION: _read_description,
    slots.DISABILITY_CERTIFICATE: _read_certificate,
    slots.ACCESSIBILITY_NEEDS: _read_needs,
    slots.CONTACT_PREFERENCE: _read_contact,
    slots.DAYS_TO_DEADLINE: _read_deadline,
    slots.NEEDS_URGENT_PRESERVATION: _read_preservation,
    slots.INTAKE_REVIEW: _read_review,
}


# --- questions whose words depend on what was said ---


class ActionAskPhoneConfirmed(Action):
    """Reads the number back in groups of digits: "一三八，一二三四，五六七八，对吗？"."""

    def name(self) -> str:
        return "action_ask_phone_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            response="utter_intake_phone_readback",
            phone_readback=field_value(field("phone"), tracker, is_voice(tracker)),
        )
        return []


class ActionAskCounty(Action):
    """Asks for the county; a voice channel listens for the places within the one
    already named (太原市's 小店区, 迎泽区 …; 山西省's cities, then that city's
    counties), which are easily misheard on a phone line."""

    def name(self) -> str:
        return "action_ask_county"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_ask_county")
        expect_answers(dispatcher, tracker, places_within(tracker.get_slot(slots.PLACE)))
        return []


class ActionAskMatterConfirmed(Action):
    """ "您要申请的事情是：拖欠工资。对吗？" — the matter from the conversation, confirmed."""

    def name(self) -> str:
        return "action_ask_matter_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            response="utter_intake_matter_readback",
            matter_name=matter_name(tracker.get_slot(slots.MATTER_TYPE)),
        )
        return []


class ActionAskIntakeReview(Action):
    """Reads back the fields not yet confirmed before submitting, a page at a
    time: all of them at once on a screen, where the eye runs down a list, and
    three at a time to the ear (REVIEW_PAGE_FOR_THE_EAR), so a listener can hold
    them; one "对吗？" a page (issue 25: fewer turns to the reference number)."""

    def name(self) -> str:
        return "action_ask_intake_review"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        which = tracker.get_slot(slots.INTAKE_REVIEW_FIELD)
        if isinstance(which, dict):
            labels = [field(key).label for key in which.get(WHICH) or []]
            dispatcher.utter_message(response="utter_intake_review_which", labels="、".join(labels))
            return []
        voice = is_voice(tracker)
        confirmed = tracker.get_slot(slots.INTAKE_CONFIRMED) or []
        if not confirmed:
            dispatcher.utter_message(response="utter_intake_review_start")
        if voice:
            # A listener confirmed these by ear moments ago: not read to him again.
            confirmed = [*confirmed, *confirmed_by_ear(tracker, confirmed)]
        pending = [f for f in review_fields(tracker) if f.key not in confirmed]
        if not pending:
            return [SlotSet(slots.INTAKE_CONFIRMED, confirmed), SlotSet(slots.INTAKE_REVIEW, True)]
        page = pending[:REVIEW_PAGE_FOR_THE_EAR] if voice else pending
        if len(page) == 1:
            dispatcher.utter_message(
                response="utter_intake_review_field",
                field_label=page[0].label,
                field_value=field_value(page[0], tracker, voice),
            )
        else:
            said = [(f.label, field_value(f, tracker, voice)) for f in page]
            lines = (
                "；".join(f"{label}，{value}" for label, value in said)
                if voice
                else ("\n".join(f"{label}：{value}" for label, value in said))
            )
            dispatcher.utter_message(response="utter_intake_review_page", fields=lines)
        return [
            SlotSet(slots.INTAKE_CONFIRMED, confirmed),
            SlotSet(slots.INTAKE_REVIEW_FIELD, [f.key for f in page]),
        ]


def confirmed_by_ear(tracker: Tracker, confirmed: list[str]) -> list[str]:
    """The fields read back and confirmed as they were answered (the phone
    number, the matter), not confirmed in the read-back yet."""
    return [
        f.key
        for f in fields()
        if f.key not in confirmed
        and any(
            tracker.get_slot(slot) is True for slot in READ_BACK_WHEN_ANSWERED if slot in f.slots
        )
    ]
