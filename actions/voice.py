"""What custom actions need to know about voice channels.

Responses in domain.yml have `channel: voice` variants; texts that actions
build themselves go through `for_ear`, which is voice.normalise: the one
text-to-speech normaliser (numbers, dates, citations, symbols) that also runs
on every spoken reply, so there is one way to write for the ear.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from legal_aid.channels import HOTLINE, SPOKEN, VOICE_MESSAGES
from voice.normalise import normalise
from voice.recognition import EXPECTED_ANSWERS_KEY


def is_voice(tracker: Tracker) -> bool:
    """Whether the person is listening rather than reading."""
    return tracker.get_latest_input_channel() in SPOKEN


def gateway_channel(tracker: Tracker) -> str | None:
    """The channel the gateway names in the latest message's metadata: Telegram
    and WeChat reach Rasa through its `rest` input channel."""
    last = next((e for e in reversed(tracker.events) if e.get("event") == "user"), {})
    return (last.get("metadata") or {}).get("channel")


def on_the_phone(tracker: Tracker) -> bool:
    """Whether the person is on the hotline (bot/hotline/): 0 reaches a person there."""
    return gateway_channel(tracker) == HOTLINE.name


def speaks_replies(tracker: Tracker) -> bool:
    """Whether the gateway speaks this conversation's replies (a voice channel, or a
    messaging channel's voice messages), so needs to hear of a new speech rate."""
    return is_voice(tracker) or gateway_channel(tracker) in VOICE_MESSAGES


def for_ear(text: str) -> str:
    """Text an action built, as it should be spoken (see voice.normalise)."""
    return normalise(text)


def source_line(citation: str, voice: bool) -> str:
    """The closing "来源" line of an answer about a rule, for eye or ear."""
    if not voice:
        return f"来源：{citation}"
    return f"来源是{for_ear(citation)}。"


def expect_answers(dispatcher: CollectingDispatcher, tracker: Tracker, words: list[str]) -> None:
    """Tells the gateway what the person will likely answer (the counties of a
    city …) where it hears speech, so the recogniser listens for those words;
    nothing is shown or said."""
    if words and speaks_replies(tracker):
        dispatcher.utter_message(json_message={EXPECTED_ANSWERS_KEY: words})
