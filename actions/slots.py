"""Every slot the actions read or set, by its name in domain.yml: one module.

A slot name mistyped in an action is an error nowhere: `get_slot` answers
None and Rasa drops a `SlotSet` for a slot it does not know. Named once here,
a typo is an AttributeError on the first run, and tests/test_slots.py checks
that these names are exactly the domain's slots the actions use. Each
constant is its slot's name in capitals.

The slots live here, in the Rasa layer, not in legal_aid: a slot is
conversation state that domain.yml declares, and legal_aid knows facts, never
Rasa. Where a slot holds an eligibility fact it carries the fact's contract
name (shared/spec/eligibility.md), so those names are taken from
legal_aid.eligibility.facts.FACTS and checked against it, not written anew.
"""

from __future__ import annotations

from legal_aid.eligibility.facts import FACTS


def _fact(name: str) -> str:
    """The slot that holds a fact: the fact's own name, checked against the contract."""
    if name not in FACTS:
        raise KeyError(f"{name!r} is not a fact of shared/spec/eligibility.md")
    return name


# --- eligibility facts ------------------------------------------------------------
# The contract's facts that the dialogue never asks (no slot holds them).
FACTS_WITHOUT_A_SLOT: frozenset[str] = frozenset()
FACT_SLOTS = tuple(name for name in FACTS if name not in FACTS_WITHOUT_A_SLOT)

# The facts an action reads or sets by name.
REGION = _fact("region")
MATTER_TYPE = _fact("matter_type")
AGE = _fact("age")
GENDER = _fact("gender")
CLAIMANT = _fact("claimant")
DISABILITY_CATEGORIES = _fact("disability_categories")
DISABILITY_GRADE = _fact("disability_grade")
HAS_DISABILITY_CERTIFICATE = _fact("has_disability_certificate")
NO_FIXED_INCOME = _fact("no_fixed_income")
DAYS_TO_DEADLINE = _fact("days_to_deadline")
NEEDS_URGENT_PRESERVATION = _fact("needs_urgent_preservation")
NOTARIZATION_SERVICE = _fact("notarization_service")
CASE_LOCATION = _fact("case_location")

# --- set from what was said, on any turn -----------------------------------------
PLACE = "place"  # the place named, whose policy region is REGION
DISABILITY_CATEGORY = "disability_category"  # a category mentioned before it is asked
SPEECH_RATE = "speech_rate"
# The other problems of a message that told several, offered once the first is answered.
OTHER_MATTERS = "other_matters"
# Rasa's own (not declared in domain.yml): the question a form is asking.
REQUESTED_SLOT = "requested_slot"

# --- the eligibility questions ---------------------------------------------------
ELIGIBILITY_DECLINED = "eligibility_declined"  # facts the person would not or could not give
ELIGIBILITY_SETTLED = "eligibility_settled"  # asked and settled without a value ("没有")
ELIGIBILITY_LEFT = "eligibility_left"  # the intent that ended the questions

# --- the application (申请登记) --------------------------------------------------
INTAKE_CONSENT = "intake_consent"
INTAKE_CONSENT_AT = "intake_consent_at"
APPLICATION_KEY = "application_key"
APPLYING_FOR = "applying_for"
GUARDIAN_CONSENT = "guardian_consent"
GUARDIAN_NAME = "guardian_name"
GUARDIAN_RELATION = "guardian_relation"
APPLICANT_NAME = "applicant_name"
PHONE = "phone"
PHONE_CONFIRMED = "phone_confirmed"
ID_NUMBER = "id_number"
COUNTY = "county"
MATTER_CONFIRMED = "matter_confirmed"
DESCRIPTION = "description"
DISABILITY_CERTIFICATE = "disability_certificate"
ACCESSIBILITY_NEEDS = "accessibility_needs"
CONTACT_PREFERENCE = "contact_preference"
INTAKE_REVIEW = "intake_review"
INTAKE_REVIEW_FIELD = "intake_review_field"
INTAKE_CONFIRMED = "intake_confirmed"
INTAKE_SKIPPED = "intake_skipped"
INTAKE_LEFT = "intake_left"
INTAKE_MISSES = "intake_misses"
INTAKE_REFERENCE = "intake_reference"

# --- handing over to a lawyer (转人工) --------------------------------------------
HANDOFF_CONSENT_ASKED = "handoff_consent_asked"
HANDOFF_CONSENT = "handoff_consent"
HANDOFF_REQUESTED_LAWYER = "handoff_requested_lawyer"
# Whether the person agreed that messages the assistant did not understand are kept,
# masked, for the centre to label and teach it (actions/learning.py, store/training.py).
LEARNING_CONSENT = "learning_consent"
# Set when the conversation must be deleted instead of saved (actions/forgetting.py,
# rasa_ext/tracker_store.py FORGET_SLOT).
FORGET_CONVERSATION = "forget_conversation"
