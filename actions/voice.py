"""What custom actions need to know about voice channels.

Responses in domain.yml have `channel: voice` variants; texts that actions
build themselves go through `for_ear`, which is voice.normalise: the one
text-to-speech normaliser (numbers, dates, citations, symbols) that also runs
on every spoken reply, so there is one way to write for the ear.
"""

from __future__ import annotations

from rasa_sdk import Tracker

from voice.normalise import normalise

VOICE_CHANNELS = frozenset({"voice"})


def is_voice(tracker: Tracker) -> bool:
    """Whether the person is listening rather than reading."""
    return tracker.get_latest_input_channel() in VOICE_CHANNELS


def for_ear(text: str) -> str:
    """Text an action built, as it should be spoken (see voice.normalise)."""
    return normalise(text)


def source_line(citation: str, voice: bool) -> str:
    """The closing "来源" line of an answer about a rule, for eye or ear."""
    if not voice:
        return f"来源：{citation}"
    return f"来源是{for_ear(citation)}。"
