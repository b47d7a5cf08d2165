"""The application form's choices, without a server: which questions, which field a correction names."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker

from actions.intake_form import questions_for, review_fields, spoken_reference
from legal_aid.intake.fields import field_named_in, fields, parse_applying_for


def tracker(**slots) -> Tracker:
    return Tracker("someone", slots, {}, [], False, None, {}, "action_listen")


@pytest.mark.parametrize(
    "said, field_key",
    [
        ("电话说错了", "phone"),
        ("手机号码打错了", "phone"),
        ("身份证号码要改", "id_number"),
        ("残疾证号码不对", "disability_certificate"),
        ("名字说错了", "applicant_name"),
        ("事情经过要改一下", "description"),
        ("事情类型说错了", "matter_type"),
        ("联系方式说错了", "contact_preference"),
        ("地址说错了", "county"),
    ],
)
def test_a_correction_names_its_field(said, field_key):
    assert field_named_in(said).key == field_key


def test_a_correction_without_a_field_names_none():
    assert field_named_in("我说错了") is None


@pytest.mark.parametrize(
    "said, who",
    [("为自己申请", "self"), ("我自己", "self"), ("替我妈申请", "other"), ("给孩子申请", "other")],
)
def test_who_the_application_is_for(said, who):
    assert parse_applying_for(said) == who


def test_the_reference_is_spoken_letter_by_letter_and_digit_by_digit():
    assert spoken_reference("FY-2026-000123") == "F Y，二零二六，零零零一二三"


def test_nothing_but_consent_is_asked_before_consent():
    assert questions_for(tracker()) == ["intake_consent"]
    assert questions_for(tracker(intake_consent=False)) == ["intake_consent"]


def test_a_child_under_14_needs_a_guardian_and_an_adult_does_not():
    child = questions_for(tracker(intake_consent=True, age=10))
    adult = questions_for(tracker(intake_consent=True, age=40))
    assert {"guardian_consent", "guardian_name", "guardian_relation"} <= set(child)
    assert "guardian_consent" not in adult
    # The guardian consents before anything about the child is asked.
    assert child.index("guardian_consent") < child.index("applicant_name")


def test_skipped_and_already_told_questions_are_not_asked():
    asked = questions_for(
        tracker(
            intake_consent=True,
            age=40,
            intake_skipped=["id_number"],
            days_to_deadline=3,
            eligibility_settled=["needs_urgent_preservation"],
        )
    )
    assert "id_number" not in asked
    assert "days_to_deadline" not in asked and "needs_urgent_preservation" not in asked
    assert asked[-1] == "intake_review"


def test_a_stopped_form_asks_nothing():
    assert questions_for(tracker(intake_consent=True, intake_left="pause_application")) == []


def test_only_answered_fields_are_read_back_in_the_data_files_order():
    shown = review_fields(
        tracker(applicant_name="李建国", phone="13812345678", county="太原市小店区")
    )
    keys = [f.key for f in shown]
    assert keys == ["applicant_name", "phone", "county", "urgency"]
    order = [f.key for f in fields()]
    assert keys == sorted(keys, key=order.index)


def test_the_spoken_checklist_names_the_items_and_says_the_sources():
    from actions.intake_submit import spoken_checklist, written_checklist
    from legal_aid.intake.materials import checklist

    assessment = {"economic_review": "required", "reasons": []}
    items = checklist("labor_wages", {"days_to_deadline": 3}, assessment, "national")
    spoken = spoken_checklist(items)
    assert spoken.startswith("证件和文书：") and "证据：劳动合同" in spoken
    assert "来源是法律援助法第四十四条" in spoken and "法律援助法第四十一条" in spoken
    assert "（" not in spoken
    written = written_checklist(items)
    assert written.startswith("1. ") and "来源：《法律援助法》第四十一条" in written


def test_a_sentence_read_back_ends_with_one_full_stop():
    from actions.intake_form import field_value
    from legal_aid.intake.fields import field

    said = tracker(description="老板拖了两个月工资。")
    assert field_value(field("description"), said, voice=False) == "老板拖了两个月工资"
