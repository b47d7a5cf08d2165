"""Never silent on a legal question (issue 21): the matter said back, or a short
question back with the likely matters as choices, or one open question and then
a person. Actions run with rasa_sdk's own Tracker and CollectingDispatcher."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import ActionTwoStageFallback
from actions.matters import ActionAcknowledgeMatter, choice_button
from actions.slot_mappings import ValidateSlotMappings


def tracker(
    entity: dict[str, Any] | None,
    intent: str = "describe_problem",
    events: list[dict[str, Any]] | None = None,
    channel: str = "rest",
    **slots: Any,
) -> Tracker:
    entities = [{"entity": "matter_type", **entity}] if entity else []
    user = {
        "event": "user",
        "text": "…",
        "input_channel": channel,
        "parse_data": {"intent": {"name": intent}, "entities": entities},
    }
    return Tracker(
        sender_id="unit-test",
        slots=slots,
        latest_message={"intent": {"name": intent}, "entities": entities},
        events=[*(events or []), user],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def acknowledge(t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionAcknowledgeMatter().run(dispatcher, t, {})
    return dispatcher.messages, events


async def test_a_decided_matter_is_said_back_with_its_source():
    messages, _ = await acknowledge(tracker({"value": "labor_wages"}))
    assert "听起来是拖欠工资" in messages[0]["text"]
    assert "来源：《法律援助法》第三十一条" in messages[0]["text"]


async def test_an_undecided_matter_asks_which_of_the_likely_ones():
    entity = {"value": "other", "choices": ["labor_wages", "contract_debt"], "parts": False}
    messages, _ = await acknowledge(tracker(entity))
    text = messages[0]["text"]
    assert "您问的是拖欠工资或者劳动关系，还是借钱欠款或者合同？" in text
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles == ["拖欠工资或者劳动关系", "借钱欠款或者合同", "都不是"]


async def test_a_choice_button_says_the_matter_as_an_entity():
    payload = choice_button("work_injury")["payload"]
    assert payload.startswith("/describe_problem{")
    assert json.loads(payload.removeprefix("/describe_problem")) == {"matter_type": "work_injury"}


async def test_three_choices_read_as_one_question():
    entity = {
        "value": "other",
        "choices": ["personal_injury", "minor_protection", "medical_dispute"],
    }
    messages, _ = await acknowledge(tracker(entity))
    assert "人身损害赔偿、未成年人受到侵害，还是医疗事故赔偿？" in messages[0]["text"]
    assert len(messages[0]["buttons"]) == 4


async def test_on_voice_the_choices_are_left_to_the_buttons_read_with_numbers():
    entity = {"value": "other", "choices": ["labor_wages", "contract_debt"]}
    messages, _ = await acknowledge(tracker(entity, channel="voice"))
    # The gateway reads the buttons: "说一，或者按一：拖欠工资或者劳动关系；…".
    assert messages[0]["text"].endswith("您问的是下面哪一种？")
    assert len(messages[0]["buttons"]) == 3


async def test_the_matter_already_discussed_is_offered_first():
    earlier = [{"event": "slot", "name": "matter_type", "value": "contract_debt"}]
    entity = {"value": "other", "choices": ["housing_property", "contract_debt"]}
    messages, _ = await acknowledge(tracker(entity, events=earlier))
    assert messages[0]["buttons"][0]["title"] == "借钱欠款或者合同"


async def test_two_problems_in_one_message_are_both_named_and_the_person_chooses():
    entity = {"value": "other", "choices": ["labor_wages", "work_injury"], "parts": True}
    messages, events = await acknowledge(tracker(entity))
    assert "您说到了两件事" in messages[0]["text"] and "先说哪一件" in messages[0]["text"]
    assert [b["title"] for b in messages[0]["buttons"]] == ["拖欠工资或者劳动关系", "工伤"]
    assert {"event": "slot", "name": "other_matters", "value": ["labor_wages", "work_injury"]} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


async def test_two_problems_are_named_even_when_one_is_decided():
    entity = {"value": "work_injury", "choices": ["work_injury", "labor_wages"], "parts": True}
    messages, _ = await acknowledge(tracker(entity))
    assert "您说到了两件事：工伤；拖欠工资或者劳动关系" in messages[0]["text"]


async def test_after_the_first_part_the_other_is_offered():
    messages, events = await acknowledge(
        tracker({"value": "work_injury"}, other_matters=["labor_wages", "work_injury"])
    )
    assert "您还说到了拖欠工资或者劳动关系" in messages[0]["text"]
    assert messages[0]["buttons"][0]["title"] == "拖欠工资或者劳动关系"
    pending = next(e for e in events if e.get("name") == "other_matters")
    assert pending["value"] == ["labor_wages"]


async def test_nothing_likely_asks_what_happened_then_offers_a_person():
    messages, _ = await acknowledge(tracker({"value": "other", "choices": []}))
    assert messages[0]["response"] == "utter_ask_what_happened"
    asked = [
        {"event": "user", "text": "…"},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_ask_what_happened"}},
    ]
    messages, _ = await acknowledge(tracker({"value": "other", "choices": []}, events=asked))
    assert messages[0]["response"] == "utter_matter_offer_human"


async def test_a_problem_the_intent_classifier_missed_is_still_answered_as_a_problem():
    dispatcher = CollectingDispatcher()
    entity = {"value": "other", "choices": ["contract_debt", "criminal_defense"]}
    await ActionTwoStageFallback().run(dispatcher, tracker(entity, intent="nlu_fallback"), {})
    assert "您问的是借钱欠款或者合同，还是刑事案件？" in dispatcher.messages[0]["text"]


async def test_without_a_problem_the_fallback_still_asks_to_rephrase():
    dispatcher = CollectingDispatcher()
    await ActionTwoStageFallback().run(dispatcher, tracker(None, intent="nlu_fallback"), {})
    assert dispatcher.messages[0]["response"] == "utter_please_rephrase"


async def test_an_undecided_message_keeps_the_matter_decided_earlier():
    earlier = [{"event": "slot", "name": "matter_type", "value": "labor_wages"}]
    validated = await ValidateSlotMappings().validate_matter_type(
        "other", CollectingDispatcher(), tracker({"value": "other"}, events=earlier), {}
    )
    assert validated == {"matter_type": "labor_wages"}
    validated = await ValidateSlotMappings().validate_matter_type(
        "other", CollectingDispatcher(), tracker({"value": "other"}), {}
    )
    assert validated == {"matter_type": "other"}
