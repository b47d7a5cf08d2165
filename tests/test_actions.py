"""Custom actions, run with rasa_sdk's own Tracker and CollectingDispatcher."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.hotline import ActionHotlineInfo
from legal_aid.policy_data import PolicyDataError, available_regions, load_region


def tracker_with_slots(**slots) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots=slots,
        latest_message={"intent": {"name": "ask_hotline", "confidence": 1.0}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run_hotline(**slots) -> str:
    dispatcher = CollectingDispatcher()
    events = await ActionHotlineInfo().run(dispatcher, tracker_with_slots(**slots), {})
    assert events == []
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]["text"]


async def test_hotline_answer_without_a_region_is_the_national_one():
    text = await run_hotline()
    assert "12348" in text
    assert "110" in text
    assert "以当地公布为准" in text  # the national documents give no hours
    assert text.endswith("》")  # ends with its source document


async def test_shanxi_hotline_answer_has_its_own_hours_and_source():
    text = await run_hotline(region="shanxi")
    assert "7×24小时" in text
    assert "来源：晋司通〔2022〕35号" in text
    assert "12348" in text  # inherited from the national file


async def test_an_unknown_region_falls_back_to_national():
    assert await run_hotline(region="atlantis") == await run_hotline(region="national")


def test_every_contacts_file_loads_with_the_fields_the_action_reads():
    assert {"national", "shanxi"} <= set(available_regions("contacts"))
    for region in available_regions("contacts"):
        contacts = load_region("contacts", region)
        assert contacts["hotline"]["number"] and contacts["hotline"]["citation"]
        assert contacts["online"]["name_zh"] and contacts["emergency"]["number"]


def test_a_missing_region_file_is_a_clear_error():
    with pytest.raises(PolicyDataError, match="atlantis"):
        load_region("contacts", "atlantis")
