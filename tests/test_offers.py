"""Offers and goals (issue 25): a yes takes the offered step, a number chooses,
"我想申请" applies, and nothing is said twice in a row."""

from __future__ import annotations

from actions.goals import ActionApplyGoal, ActionCanIApply
from actions.matters import say_matter
from actions.offers import ActionOutOfScope, ActionTakeOffer, chosen_number, parse_payload
from tests.test_conversation_actions import bot, run, tracker, user

OPTIONS = [
    {"title": "查一查能不能申请", "payload": "/check_eligibility"},
    {"title": "要准备什么材料", "payload": "/materials_needed"},
    {"title": "找人工", "payload": "/ask_human"},
]
DOMAIN = {
    "responses": {
        "utter_eligibility_next_apply": [
            {"text": "下一步：…", "buttons": OPTIONS},
            {"channel": "voice", "text": "下一步，您可以说：…"},
        ]
    }
}
OFFER = [user("老板欠我工资不给", "describe_problem"), bot("听起来是拖欠工资。", buttons=OPTIONS)]


def meant(events: list[dict]) -> dict:
    """The user event an action put in place of the latest message."""
    assert events[0]["event"] == "rewind" and events[1]["name"] == "action_listen"
    return events[2]


async def test_yes_takes_the_first_option_keeping_the_words_and_channel():
    messages, events = await run(ActionTakeOffer(), [*OFFER, user("好", "affirm")], domain=DOMAIN)
    assert messages == []
    taken = meant(events)
    assert taken["parse_data"]["intent"]["name"] == "check_eligibility"
    assert taken["text"] == "好" and taken["input_channel"] == "rest"


async def test_a_number_chooses_that_option():
    for said, intent in [("2", "materials_needed"), ("第三个", "ask_human"), ("选一", None)]:
        _, events = await run(
            ActionTakeOffer(), [*OFFER, user(said, "choose_option")], domain=DOMAIN
        )
        assert meant(events)["parse_data"]["intent"]["name"] == (intent or "check_eligibility")


async def test_a_number_out_of_range_reads_the_options_again():
    messages, events = await run(
        ActionTakeOffer(), [*OFFER, user("五", "choose_option")], domain=DOMAIN
    )
    assert events == []
    assert messages[0]["response"] == "utter_which_option" and messages[0]["buttons"] == OPTIONS


async def test_a_spoken_offer_without_buttons_has_its_written_variant_options():
    events = [
        user("帮我查一查", "check_eligibility", channel="voice"),
        bot("下一步，您可以说：…", "utter_eligibility_next_apply"),
        user("嗯", "affirm", channel="voice"),
    ]
    _, returned = await run(ActionTakeOffer(), events, domain=DOMAIN)
    assert meant(returned)["parse_data"]["intent"]["name"] == "check_eligibility"
    assert meant(returned)["input_channel"] == "voice"


async def test_a_matter_choice_fills_the_matter_as_the_button_would():
    matter = [{"title": "拖欠工资", "payload": '/describe_problem{"matter_type":"labor_wages"}'}]
    events = [user("钱的事", "describe_problem"), bot("您问的是？", buttons=matter)]
    # Rasa sends every slot of the domain with the tracker.
    slots = {"matter_type": None}
    _, returned = await run(ActionTakeOffer(), [*events, user("1", "choose_option")], slots)
    assert meant(returned)["parse_data"]["entities"][0]["value"] == "labor_wages"
    assert returned[-1] == {
        "event": "slot", "timestamp": None, "name": "matter_type", "value": "labor_wages"
    }  # fmt: skip


async def test_a_number_with_nothing_offered_says_so():
    messages, _ = await run(ActionTakeOffer(), [user("2", "choose_option")])
    assert messages[0]["response"] == "utter_no_options"


async def test_an_unrelated_remark_goes_back_to_the_open_offer():
    messages, _ = await run(ActionOutOfScope(), [*OFFER, user("今天好冷", "out_of_scope")])
    assert messages[0]["response"] == "utter_out_of_scope_offer_open"
    assert messages[0]["buttons"] == OPTIONS


async def test_wanting_to_apply_asks_once_then_applies():
    messages, events = await run(ActionApplyGoal(), [user("我想申请法律援助", "apply")])
    assert messages[0]["response"] == "utter_apply_or_check" and events == []
    asked = [user("我想申请法律援助", "apply"), bot("您想直接登记申请…", "utter_apply_or_check")]
    messages, events = await run(ActionApplyGoal(), [*asked, user("申请", "apply")])
    assert messages == []
    assert meant(events)["parse_data"]["intent"]["name"] == "start_application"


async def test_can_i_apply_checks_once_the_matter_is_known():
    _, events = await run(
        ActionCanIApply(),
        [*OFFER, user("能申请吗", "who_qualifies")],
        {"matter_type": "labor_wages"},
    )
    assert meant(events)["parse_data"]["intent"]["name"] == "check_eligibility"
    messages, _ = await run(ActionCanIApply(), [user("谁能申请", "who_qualifies")])
    assert messages[0]["response"] == "utter_who_qualifies"


async def test_the_same_story_twice_is_not_answered_twice_the_same_way():
    from rasa_sdk.executor import CollectingDispatcher

    first = CollectingDispatcher()
    say_matter(first, tracker([user("老板欠我工资", "describe_problem")]), "labor_wages")
    text = first.messages[0]["text"]
    again = CollectingDispatcher()
    events = [
        user("老板欠我工资", "describe_problem"),
        bot(text),
        user("工资没给", "describe_problem"),
    ]
    say_matter(again, tracker(events), "labor_wages")
    assert again.messages[0]["text"] != text and "哪一项" in again.messages[0]["text"]


def test_numbers_and_payloads():
    assert [chosen_number(t) for t in ["1", "第二个", "选三", "２", "好"]] == [1, 2, 3, 2, None]
    assert parse_payload('/describe_problem{"matter_type":"x"}') == (
        "describe_problem",
        {"matter_type": "x"},
    )
