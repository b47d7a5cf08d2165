"""Conversation-mechanics actions, with rasa_sdk's Tracker and CollectingDispatcher."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import (
    ActionChangeSpeechRate,
    ActionRepeatLast,
    ActionTwoStageFallback,
)
from actions.intake_form import ActionAskCounty
from actions.matters import ActionAcknowledgeMatter
from actions.offers import ActionTakeOffer
from actions.safety import ActionSafetyFirst
from actions.voice import source_line

DOMAIN = {"responses": {"utter_forms_of_aid": [], "utter_forms_of_aid_more": []}}


def user(text: str, intent: str, entities: list | None = None, channel: str = "rest") -> dict:
    return {
        "event": "user",
        "text": text,
        "input_channel": channel,
        "parse_data": {"intent": {"name": intent}, "entities": entities or []},
    }


def bot(text: str, utter_action: str | None = None, buttons: list | None = None) -> dict:
    return {
        "event": "bot",
        "text": text,
        "data": {"buttons": buttons},
        "metadata": {"utter_action": utter_action} if utter_action else {},
    }


def tracker(events: list[dict], slots: dict | None = None) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender_id="u",
        slots=slots or {},
        latest_message={
            "text": latest["text"],
            "intent": latest["parse_data"]["intent"],
            "entities": latest["parse_data"]["entities"],
        },
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(action, events, slots=None, domain=DOMAIN):
    dispatcher = CollectingDispatcher()
    returned = await action.run(dispatcher, tracker(events, slots), domain)
    return dispatcher.messages, returned


async def test_repeat_sends_the_previous_turn_again_with_its_buttons():
    buttons = [{"title": "找人工", "payload": "/ask_human"}]
    messages, _ = await run(
        ActionRepeatLast(),
        [
            user("你好", "greet"),
            bot("早答"),
            user("工资", "describe_problem"),
            bot("第一句"),
            bot("第二句", buttons=buttons),
            user("再说一遍", "repeat"),
        ],
    )
    assert [m["text"] for m in messages] == ["第一句", "第二句"]
    assert messages[1]["buttons"] == buttons


async def test_repeat_with_nothing_said_yet():
    messages, _ = await run(ActionRepeatLast(), [user("再说一遍", "repeat")])
    assert messages[0]["response"] == "utter_nothing_to_repeat"


async def test_speech_rate_steps_and_stops_at_the_ends():
    _, events = await run(ActionChangeSpeechRate(), [user("慢点", "speak_slower")])
    assert events == [{"event": "slot", "timestamp": None, "name": "speech_rate", "value": "slow"}]
    messages, events = await run(
        ActionChangeSpeechRate(), [user("再慢点", "speak_slower")], {"speech_rate": "slow"}
    )
    assert events == [] and messages[0]["response"] == "utter_speaking_slowest"


async def test_fallback_twice_in_a_row_offers_a_person_and_never_says_the_same_twice():
    once, _ = await run(
        ActionTwoStageFallback(), [user("你好", "greet"), user("呃", "nlu_fallback")]
    )
    assert once[0]["response"] == "utter_please_rephrase"
    said = [user("呃", "nlu_fallback"), bot("不好意思，我没听明白。", "utter_please_rephrase")]
    twice, _ = await run(ActionTwoStageFallback(), [*said, user("啊", "nlu_fallback")])
    assert twice[0]["response"] == "utter_fallback_offer_human"
    said += [
        user("啊", "nlu_fallback"),
        bot("抱歉，我还是没弄明白。", "utter_fallback_offer_human"),
    ]
    third, _ = await run(ActionTwoStageFallback(), [*said, user("哦", "nlu_fallback")])
    assert third[0]["response"] == "utter_fallback_last"


async def test_yes_after_read_on_question_reads_on():
    events = [
        user("有哪些形式", "forms_of_aid", channel="voice"),
        bot("法律援助主要有这几种：……要继续听吗？", "utter_forms_of_aid"),
        user("要", "affirm", channel="voice"),
    ]
    messages, _ = await run(ActionTakeOffer(), events)
    assert messages[0]["response"] == "utter_forms_of_aid_more"


async def test_yes_with_nothing_offered_moves_on_and_never_twice_the_same_way():
    events = [user("有哪些形式", "forms_of_aid"), bot("1. 法律咨询", "utter_forms_of_aid")]
    messages, _ = await run(ActionTakeOffer(), [*events, user("好", "affirm")])
    assert messages[0]["response"] == "utter_anything_else"
    events += [user("好", "affirm"), bot("好的。还有什么可以帮您？", "utter_anything_else")]
    messages, _ = await run(ActionTakeOffer(), [*events, user("嗯", "affirm")])
    assert messages[0]["response"] == "utter_anything_else_again"


async def test_matter_acknowledged_for_the_ear_on_voice():
    entities = [{"entity": "matter_type", "value": "domestic_violence"}]
    messages, _ = await run(
        ActionAcknowledgeMatter(),
        [user("他打我", "describe_problem", entities, channel="voice")],
    )
    text = messages[0]["text"]
    assert "听起来是家庭暴力" in text
    assert "来源是法律援助法第三十二条第四项。" in text and "《" not in text
    # The choices are read out with their numbers after it: not also listed in the text.
    steps = [b["title"] for b in messages[0]["buttons"]]
    assert steps and not [title for title in steps if title in text]
    assert text.endswith("您想做哪一项？")


async def test_no_matter_asks_what_happened():
    messages, _ = await run(ActionAcknowledgeMatter(), [user("我有个事", "describe_problem")])
    assert messages[0]["response"] == "utter_describe_problem"


async def test_safety_answer_fits_the_danger():
    entities = [{"entity": "danger", "value": "child_in_danger"}]
    messages, _ = await run(ActionSafetyFirst(), [user("孩子", "report_danger", entities)])
    assert (
        messages[0]["text"].startswith("孩子有危险，请马上拨打110")
        and "12355" in messages[0]["text"]
    )
    unspecified, _ = await run(ActionSafetyFirst(), [user("救我", "report_danger")])
    assert "110" in unspecified[0]["text"].split("\n")[0]


def test_source_lines_for_eye_and_ear():
    assert source_line("晋司通〔2022〕35号", voice=False) == "来源：晋司通〔2022〕35号"
    assert source_line("晋司通〔2022〕35号、晋司通〔2022〕57号", voice=True) == (
        "来源是晋司通二〇二二年第三十五号文件、晋司通二〇二二年第五十七号文件。"
    )


async def test_a_named_place_sets_the_policy_region():
    from actions.slot_mappings import ValidateSlotMappings

    entities = [{"entity": "region", "value": "包头市"}, {"entity": "region", "value": "固阳县"}]
    events = [user("我在包头市固阳县打工", "describe_problem", entities)]
    result = await ValidateSlotMappings().extract_region(
        CollectingDispatcher(), tracker(events), {}
    )
    assert result == {"region": "baotou", "place": "固阳县"}
    assert (
        await ValidateSlotMappings().extract_region(
            CollectingDispatcher(), tracker([user("你好", "greet")]), {}
        )
        == {}
    )


async def test_the_county_question_listens_for_the_counties_of_the_city_named_by_voice():
    """On a voice channel the gateway is told which counties to listen for (太原市's);
    a reader gets the question alone."""
    said = [user("山西省太原市", "inform", channel="voice")]
    messages, _ = await run(ActionAskCounty(), said, {"place": "太原市"})
    assert messages[0]["response"] == "utter_ask_county"
    hinted = messages[1]["custom"]["expected_answers"]
    assert "小店区" in hinted and "迎泽区" in hinted and "固阳县" not in hinted

    read, _ = await run(ActionAskCounty(), [user("山西省太原市", "inform")], {"place": "太原市"})
    assert [m["response"] for m in read] == ["utter_ask_county"]
    # A province: its cities first (then the city's counties, when it is re-asked).
    province, _ = await run(ActionAskCounty(), said, {"place": "山西省"})
    assert "太原市" in province[1]["custom"]["expected_answers"]
    # Nothing to go on: no hint.
    unknown, _ = await run(ActionAskCounty(), said, {"place": None})
    assert len(unknown) == 1
