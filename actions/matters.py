"""Says back the matter the person described, and offers the next steps.

Never silence on a legal question (issue 21). The matter-type extractor
(rasa_ext/matter_type.py) marks every problem with the `matter_type` entity:

- a matter it decided: the matter is said back with its scope and source;
- `other` with `choices`: the two or three likely matters are offered, "您问的
  是劳动报酬，还是合同欠款？", each a button (read with numbers on voice, a key
  on the phone) that says the matter as an entity;
- `parts`: two problems in one message (decided or not); both are named and
  the person chooses which comes first; the other is offered after the answer;
- `other` without choices: one open question about what happened; asked a
  second time in a row, a person is offered instead.
"""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import learning, slots
from actions.no_repeat import MISUNDERSTOOD, previous_response, previous_text, since_restart
from actions.voice import is_voice, source_line
from legal_aid.policy_data import load_policy_file

NEXT_STEPS = [
    {"title": "查一查能不能申请", "payload": "/check_eligibility"},
    {"title": "要准备什么材料", "payload": "/materials_needed"},
    {"title": "找人工", "payload": "/ask_human"},
]
UNDECIDED = "other"
NONE_OF_THESE = "都不是"
OPEN_QUESTION = "utter_ask_what_happened"
PROBLEM_INTENT = "describe_problem"
COUNTS = {2: "两", 3: "三"}


def matter_types() -> dict[str, dict[str, str]]:
    """policy/matter_types.yml: how each matter is said, and its legal scope."""
    return load_policy_file("matter_types.yml")


def matter_name(matter: str | None) -> str:
    """How a matter is said to the person ("拖欠工资、讨要劳动报酬")."""
    return matter_types().get(matter or "", {}).get("said_zh", "其他法律问题")


def choice_name(matter: str) -> str:
    """A matter as one of several choices: its said name without "的问题"."""
    return matter_name(matter).removesuffix("的问题")


def matter_entity(tracker: Tracker) -> dict[str, Any] | None:
    """The latest message's matter_type entity, as the extractor or a button set it."""
    entities = tracker.latest_message.get("entities") or []
    return next((e for e in entities if e.get("entity") == slots.MATTER_TYPE), None)


def recognised_matter(tracker: Tracker) -> str | None:
    """The matter of the latest message, else the one recognised earlier."""
    latest = next(tracker.get_latest_entity_values("matter_type"), None)
    if latest and latest != UNDECIDED:
        return latest
    slot = tracker.get_slot(slots.MATTER_TYPE)
    return slot if slot != UNDECIDED else earlier_matter(tracker)


def earlier_matter(tracker: Tracker) -> str | None:
    """The last matter decided before this message (the slot now says `other`)."""
    for event in since_restart(tracker):
        if event.get("event") == "slot" and event.get("name") == slots.MATTER_TYPE:
            value = event.get("value")
            if value and value != UNDECIDED:
                return value
    return None


def choice_button(matter: str) -> dict[str, str]:
    """A button that tells the assistant the matter as if the extractor had decided it."""
    entity = json.dumps({slots.MATTER_TYPE: matter}, ensure_ascii=False, separators=(",", ":"))
    return {"title": choice_name(matter), "payload": f"/{PROBLEM_INTENT}{entity}"}


def either_or(names: list[str]) -> str:
    """ "A，还是B" / "A、B，还是C"."""
    return f"{'、'.join(names[:-1])}，还是{names[-1]}"


def acknowledge(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The reply to a described problem: the matter said back, or the question back."""
    entity = matter_entity(tracker) or {}
    parts = [c for c in entity.get("choices") or [] if c in matter_types()]
    if entity.get("parts") and len(parts) >= 2:
        return ask_which_first(dispatcher, tracker, parts)
    if entity.get("value") == UNDECIDED:
        # The slot keeps an earlier matter (actions/slot_mappings.py).
        return ask_back(dispatcher, tracker, entity)
    matter = recognised_matter(tracker)
    if matter not in matter_types() or matter == UNDECIDED:
        dispatcher.utter_message(response="utter_describe_problem")
        return []
    return say_matter(dispatcher, tracker, matter)


def say_matter(
    dispatcher: CollectingDispatcher, tracker: Tracker, matter: str
) -> list[dict[str, Any]]:
    """The matter with its scope and source, and the next steps."""
    about = matter_types()[matter]
    voice = is_voice(tracker)
    # Heard, the choices are read after the text with their numbers: listing
    # them in the text as well would say them twice.
    next_steps = (
        "接下来您想做哪一项？"
        if voice
        else "接下来您可以：查一查能不能申请法律援助，了解要准备什么材料，或者找人工。"
    )
    text = (
        f"听起来是{about['said_zh']}。{about['scope_zh']}\n"
        f"{source_line(about['citation'], voice)}\n"
        f"我不是律师，不能判断案子的结果。{next_steps}"
    )
    buttons = list(NEXT_STEPS)
    pending = [m for m in tracker.get_slot(slots.OTHER_MATTERS) or [] if m != matter]
    if pending:
        # The other part of a two-part message, offered once the first is answered.
        text += f"\n您还说到了{'、'.join(choice_name(m) for m in pending)}，想接着问可以点它。"
        buttons = [*(choice_button(m) for m in pending), *buttons]
    if text == previous_text(tracker):
        # The same story told again: the matter is understood; the step is what is missing.
        text = f"好的，还是{about['said_zh']}。您想先做哪一项？"
    dispatcher.utter_message(text=text, buttons=buttons)
    return [SlotSet(slots.MATTER_TYPE, matter), SlotSet(slots.OTHER_MATTERS, pending or None)]


def ask_back(
    dispatcher: CollectingDispatcher, tracker: Tracker, entity: dict[str, Any]
) -> list[dict[str, Any]]:
    """The short question back when the matter is not decided."""
    learning.keep(tracker, learning.ASKED_BACK)
    choices = [c for c in entity.get("choices") or [] if c in matter_types()]
    if len(choices) >= 2:
        return ask_which_matter(dispatcher, tracker, choices)
    previous = previous_response(tracker)
    if previous in MISUNDERSTOOD:
        # Not understood once already and still nothing likely: a person can sort it out.
        dispatcher.utter_message(response="utter_matter_offer_human")
        return []
    if previous == "utter_matter_offer_human":
        dispatcher.utter_message(response="utter_fallback_last")
        return []
    dispatcher.utter_message(response=OPEN_QUESTION)
    return []


def ask_which_matter(
    dispatcher: CollectingDispatcher, tracker: Tracker, choices: list[str]
) -> list[dict[str, Any]]:
    """ "您问的是劳动报酬，还是合同欠款？" with a button for each, and one for neither."""
    earlier = earlier_matter(tracker)
    if earlier in choices:
        # The matter already under discussion is the likeliest reading.
        choices = [earlier, *(c for c in choices if c != earlier)]
    buttons = [choice_button(c) for c in choices]
    buttons.append({"title": NONE_OF_THESE, "payload": f"/{PROBLEM_INTENT}" + _undecided()})
    if is_voice(tracker):
        # The gateway reads the buttons after it: "说一，或者按一：…".
        text = "我想先弄清楚是哪一类问题。您问的是下面哪一种？"
    else:
        text = f"我想先弄清楚是哪一类问题：您问的是{either_or([choice_name(c) for c in choices])}？"
    dispatcher.utter_message(text=text, buttons=buttons)
    return []


def ask_which_first(
    dispatcher: CollectingDispatcher, tracker: Tracker, parts: list[str]
) -> list[dict[str, Any]]:
    """Two problems in one message: both named, the person chooses the first."""
    count = COUNTS[len(parts)]
    if is_voice(tracker):
        # The gateway reads the buttons after it: "说一，或者按一：…".
        text = f"您说到了{count}件事。我们一件一件来，先说哪一件？"
    else:
        names = "；".join(choice_name(p) for p in parts)
        text = f"您说到了{count}件事：{names}。我们一件一件来，先说哪一件？"
    dispatcher.utter_message(text=text, buttons=[choice_button(p) for p in parts])
    return [SlotSet(slots.OTHER_MATTERS, parts)]


def _undecided() -> str:
    return json.dumps({slots.MATTER_TYPE: UNDECIDED}, ensure_ascii=False, separators=(",", ":"))


class ActionAcknowledgeMatter(Action):
    def name(self) -> str:
        return "action_acknowledge_matter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return acknowledge(dispatcher, tracker)
