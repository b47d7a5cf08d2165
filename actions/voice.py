"""What custom actions need to know about voice channels.

Responses in domain.yml have `channel: voice` variants; texts that actions
build themselves use these helpers. The full text-to-speech normaliser
(numbers, dates, symbols) lives in voice/ and runs on every spoken reply.
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker

VOICE_CHANNELS = frozenset({"voice"})

_CITATION_FOR_EAR = [
    (re.compile(r"〔(\d{4})〕(\d+)号"), r"\1年第\2号文件"),
    (re.compile(r"第（(.)）项"), r"第\1项"),
    (re.compile(r"[《》“”\"]"), ""),
    (re.compile(r"[、；;]"), "，"),
]


def is_voice(tracker: Tracker) -> bool:
    """Whether the person is listening rather than reading."""
    return tracker.get_latest_input_channel() in VOICE_CHANNELS


_BRACKETS_FOR_EAR = re.compile(r"[（）()《》“”\"「」]")


def for_ear(text: str) -> str:
    """Text an action built, without the brackets and quotes a listener cannot hear."""
    return _BRACKETS_FOR_EAR.sub("", text)


def source_line(citation: str, voice: bool) -> str:
    """The closing "来源" line of an answer about a rule, for eye or ear."""
    if not voice:
        return f"来源：{citation}"
    spoken = citation
    for pattern, replacement in _CITATION_FOR_EAR:
        spoken = pattern.sub(replacement, spoken)
    return f"来源是{spoken}。"
