"""One home for each rule (issue 18): its consumers ask it, so they cannot disagree.

Art. 44's "不足七日" was `< 7` in the rule files but `<= 7` in the handoff dialogue
and the application, so with exactly seven days left the eligibility result, the
queue and the stored record said three different things. Now the line is the
named condition `deadline_under_seven_days` of policy/eligibility, advance aid
is the assessment's answer, and every consumer asks them. These tests drive
each consumer from the same slots, on both sides of every line.
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.eligibility_form import facts_from_tracker
from actions.handoff_dialogue import ADVANCE_AID_WORDS, handoff_request, who_line
from actions.intake_submit import application_details
from legal_aid.eligibility import assess, condition_holds
from legal_aid.eligibility.conditions import ELDERLY, MINOR
from legal_aid.handoff.matching import priority
from legal_aid.intake.materials import checklist


def tracker(**slots: Any) -> Tracker:
    return Tracker("someone", slots, {}, [], False, None, {}, "action_listen")


# A confirmed application about wages a migrant worker is owed (art. 31, art. 42).
APPLICATION = {
    "application_key": "a1b2c3",
    "intake_consent_at": "2026-12-01T02:00:00+00:00",
    "applicant_name": "张伟",
    "phone": "13800138000",
    "county": "山西省/太原市/小店区",
    "region": "national",
    "matter_type": "labor_wages",
    "migrant_worker": True,
    "description": "老板拖欠了三个月工资。",
    "contact_preference": "phone",
}

# (id, urgency slots, advance aid: what every consumer must say)
URGENCY_TABLE = [
    ("6 days left: under seven", {"days_to_deadline": 6}, True),
    ("exactly 7 days left: not under seven", {"days_to_deadline": 7}, False),
    ("8 days left", {"days_to_deadline": 8}, False),
    ("7 days left, but preservation is urgent",
     {"days_to_deadline": 7, "needs_urgent_preservation": True}, True),
    ("8 days left, no preservation",
     {"days_to_deadline": 8, "needs_urgent_preservation": False}, False),
    ("6 days left on a matter outside legal aid: no advance aid anywhere",
     {"days_to_deadline": 6, "matter_type": "contract_debt"}, False),
]  # fmt: skip


@pytest.mark.parametrize(
    "urgency, advance_aid",
    [row[1:] for row in URGENCY_TABLE],
    ids=[row[0] for row in URGENCY_TABLE],
)
def test_advance_aid_agrees_across_assessment_queue_and_application(urgency, advance_aid):
    said = tracker(**{**APPLICATION, **urgency})
    facts = facts_from_tracker(said)

    assessed = assess(facts)["advance_aid"]
    # The queue on the ticket's facts alone, as the store ranks a ticket.
    queued = priority(facts).urgent
    stored = application_details(said)
    request = handoff_request(said)

    assert (assessed, queued, stored.advance_aid, request.urgency) == (advance_aid,) * 4
    assert priority(request.facts, request.urgency).urgent is advance_aid
    # The lawyer's summary says aid may start at once exactly when it may, and
    # names a deadline under seven days even where it may not.
    assert (ADVANCE_AID_WORDS in request.summary.urgency) is advance_aid
    under_seven = urgency.get("days_to_deadline", 99) < 7
    assert ("离期限还有" in request.summary.urgency) is under_seven


@pytest.mark.parametrize("days, under_seven", [(6, True), (7, False), (8, False)])
def test_the_record_and_the_checklist_draw_the_deadline_line_where_art_44_does(days, under_seven):
    said = tracker(**APPLICATION, days_to_deadline=days)
    stored = application_details(said)
    assert stored.deadline_within_7_days is under_seven
    assert stored.urgent is under_seven
    items = checklist(
        stored.matter_type,
        stored.eligibility["facts"],
        stored.eligibility["assessment"],
        stored.region,
    )
    assert ("deadline_document" in {item.key for item in items}) is under_seven


def test_no_deadline_told_is_no_deadline_flag():
    stored = application_details(tracker(**APPLICATION))
    assert stored.deadline_within_7_days is None and stored.advance_aid is False


# (age, the group the lawyer is told, a minor's papers?, queue group)
AGE_TABLE = [
    (17, "未成年人", True, "minors"),
    (18, "成年人", False, None),
    (59, "成年人", False, None),
    (60, "老年人", False, "elderly"),
]


@pytest.mark.parametrize("age, group, minor_papers, queue_group", AGE_TABLE)
def test_age_groups_agree_with_the_policy_conditions(age, group, minor_papers, queue_group):
    said = tracker(age=age, gender="male", region="national")
    facts = facts_from_tracker(said)
    assert condition_holds(MINOR, facts) is (group == "未成年人")
    assert condition_holds(ELDERLY, facts) is (group == "老年人")

    assert f"{group}，{age}岁" in who_line(said, facts)
    groups = [reason.key for reason in priority(facts).reasons]
    assert groups == ([queue_group] if queue_group else [])
    items = checklist("labor_wages", facts, assess(facts), "national")
    assert ("guardianship_proof_child" in {item.key for item in items}) is minor_papers
