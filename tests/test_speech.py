"""The gateway's speech engines as every spoken channel meets them: what they
say of themselves, and recognition within the answers a listener is expected
to give. The engines themselves are tested in test_voice_recognition.py and
test_voice_synthesis.py."""

from __future__ import annotations

import asyncio

import pytest

from bot.shared_state import LocalState
from bot.speech import ALWAYS_EXPECTED, SpeechEngines
from voice.errors import VoiceInputError
from voice.recognition import Transcript
from voice.vosk_recogniser import VOICE_INPUT_OFF_MESSAGE


class Hears:
    """Hears `free` freely, and within a grammar only what is in `within`."""

    def __init__(self, free: str, within: str = "") -> None:
        self.free, self.within = free, within
        self.grammars: list[list[str] | None] = []

    async def transcribe(self, pcm: bytes, sample_rate: int, grammar=None) -> Transcript:
        self.grammars.append(grammar)
        heard = self.free if grammar is None else self.within
        return Transcript(heard if grammar is None or heard in grammar else "", final=True)


def test_without_engines_voice_is_off_and_says_why():
    engines = SpeechEngines(LocalState())
    assert engines.status() == {
        "input": False,
        "output": False,
        "reason_zh": VOICE_INPUT_OFF_MESSAGE,
    }
    assert engines.voice() is None
    with pytest.raises(VoiceInputError) as refused:
        asyncio.run(engines.recognise("voice-1", b"\0\0"))
    assert refused.value.user_message == VOICE_INPUT_OFF_MESSAGE


def test_a_choice_is_heard_within_the_expected_answers_first():
    engines = SpeechEngines(LocalState())
    choices = [{"text": "是哪一种？", "buttons": [{"title": "劳动争议", "payload": "/x"}]}]
    asyncio.run(engines.expected.note("voice-1", choices))

    engines.recogniser = Hears(free="老板欠我工资", within="劳动争议")
    assert asyncio.run(engines.recognise("voice-1", b"\0\0")) == "劳动争议"
    assert engines.recogniser.grammars == [["劳动争议", "一", *ALWAYS_EXPECTED]]

    # Something else than a choice: heard freely after all.
    engines.recogniser = Hears(free="我想问别的", within="")
    assert asyncio.run(engines.recognise("voice-1", b"\0\0")) == "我想问别的"
    assert engines.recogniser.grammars[-1] is None
    # Another listener was offered nothing: free recognition at once.
    assert asyncio.run(engines.recognise("voice-2", b"\0\0")) == "我想问别的"
    assert engines.status()["input"] is True


def test_words_the_dialogue_says_to_expect_are_heard_first_like_choices():
    """A question without buttons (the county) may name the answers to listen for
    in a message that is not shown; they are the expected answers until the next reply."""
    engines = SpeechEngines(LocalState())
    replies = [
        {"text": "当事人在哪个县或者区？"},
        {"custom": {"expected_answers": ["小店区", "迎泽区"]}},
    ]
    asyncio.run(engines.expected.note("voice-1", replies))
    engines.recogniser = Hears(free="小店吃", within="小店区")
    assert asyncio.run(engines.recognise("voice-1", b"\0\0")) == "小店区"
    assert engines.recogniser.grammars == [["小店区", "迎泽区", *ALWAYS_EXPECTED]]

    asyncio.run(engines.expected.note("voice-1", [{"text": "请说一下您的名字。"}]))
    assert asyncio.run(engines.recognise("voice-1", b"\0\0")) == "小店吃"
