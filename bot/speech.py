"""The gateway's speech: one recogniser and one synthesiser for every spoken
channel (the voice chat and its stream, the kiosk, Telegram's and WeChat's
voice messages, the hotline), and what those channels share about listeners.

Loading takes seconds (the Vosk model; TensorFlow in each synthesis worker),
so the engines load in the background when the gateway starts: the text chat
never waits for them, and until they are there a channel says voice is not
available yet (`hears`, `speaks`). Either may stay absent: without a Vosk
model there is no voice input (voice/vosk_recogniser.py says why), without a
voice no speech; text keeps working.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from bot.fixed_replies import fixed_voice_replies
from bot.shared_state import SharedState, hashed
from voice.errors import VoiceInputError
from voice.recogniser_choice import load_configured_recogniser
from voice.recognition import EXPECTED_ANSWERS_KEY, Recogniser
from voice.synthesis import Synthesiser, SynthesisError, load_synthesiser
from voice.vosk_recogniser import VOICE_INPUT_OFF_MESSAGE

log = logging.getLogger("bot.speech")

# Recordings become 16 kHz PCM (voice/audio.py) before they are recognised.
RECOGNITION_RATE = 16_000
# Said to any question with choices: answers, refusals and the requests that
# must always get through ("为什么问这个", "转人工").
ALWAYS_EXPECTED = (
    "是", "不是", "对", "有", "没有", "不想说", "不知道", "为什么问这个",
    "再说一遍", "说慢一点", "说快一点", "转人工", "重新开始",
)  # fmt: skip
SPOKEN_NUMBERS = "一二三四五六七八九"
# How long a listener's speech rate and expected answers are kept between turns.
LISTENER_SECONDS = 24 * 3600.0


class ActiveTurns:
    """How many voice turns are under way (being spoken, recognised or answered).

    The synthesiser picks its voice by it: the natural one only when nobody
    else needs the cores.
    """

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> ActiveTurns:
        self.count += 1
        return self

    def __exit__(self, *_: object) -> None:
        self.count -= 1

    @property
    def others(self) -> int:
        """Turns under way besides the one asking (which is counted too)."""
        return max(0, self.count - 1)


def rate_set_in(replies: list[dict[str, Any]]) -> str | None:
    """The speech rate the dialogue reported ("说慢一点": `custom.speech_rate`), if any."""
    rates = [(r.get("custom") or {}).get("speech_rate") for r in replies]
    return next((str(rate) for rate in reversed(rates) if rate), None)


def shown(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The replies with words or choices: not the messages that only carry data."""
    return [r for r in replies if r.get("text") or r.get("buttons")]


def expected_after(replies: list[dict[str, Any]]) -> tuple[str, ...] | None:
    """The phrases a listener is expected to say next: the choices of the last
    question, and the words the dialogue said to expect (`EXPECTED_ANSWERS_KEY`);
    None when it asked for anything (a problem told, a number of days or yuan).

    Recognition limited to those (Vosk's grammar mode, Whisper's hints) is
    cheaper and far more accurate than free recognition.
    """
    buttons = next((r["buttons"] for r in reversed(replies) if r.get("buttons")), [])
    hinted = [
        str(word)
        for reply in replies
        for word in (reply.get("custom") or {}).get(EXPECTED_ANSWERS_KEY) or []
    ]
    if not buttons and not hinted:
        return None
    titles = [str(b.get("title", "")) for b in buttons]
    # A choice is said by its title or its number ("说一，或者按一").
    numbers = list(SPOKEN_NUMBERS[: len(titles)])
    return tuple(dict.fromkeys([*titles, *numbers, *hinted, *ALWAYS_EXPECTED]))


class SpeechRates:
    """The speech rate each listener chose, in the gateways' shared state: the
    next turn of a conversation may reach another gateway."""

    def __init__(self, state: SharedState) -> None:
        self._state = state

    async def of(self, sender: str) -> str:
        return await self._state.get(_listener_key("rate", sender)) or "normal"

    async def put(self, sender: str, rate: str) -> None:
        await self._state.put(_listener_key("rate", sender), rate, LISTENER_SECONDS)

    async def note(self, sender: str, replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Remembers a rate the dialogue set; the replies without the message that carried it."""
        rate = rate_set_in(replies)
        if rate:
            await self.put(sender, rate)
        return shown(replies)


class ExpectedAnswers:
    """What each listener is expected to say next (`expected_after`), in the
    gateways' shared state: the answer may reach another gateway."""

    def __init__(self, state: SharedState) -> None:
        self._state = state

    async def of(self, sender: str) -> tuple[str, ...] | None:
        stored = await self._state.get(_listener_key("expected", sender))
        return tuple(json.loads(stored)) if stored else None

    async def note(self, sender: str, replies: list[dict[str, Any]]) -> None:
        """Call it before SpeechRates.note drops the messages that carry no text."""
        expected = expected_after(replies)
        key = _listener_key("expected", sender)
        if expected is None:
            await self._state.pop(key)
        else:
            await self._state.put(key, json.dumps(expected, ensure_ascii=False), LISTENER_SECONDS)


def _listener_key(kind: str, sender: str) -> str:
    return f"speech:{kind}:{hashed(sender)}"


class SpeechEngines:
    """The recogniser and the synthesiser, once loaded, and the load they carry."""

    def __init__(self, state: SharedState) -> None:
        self.recogniser: Recogniser | None = None
        self.synthesiser: Synthesiser | None = None
        # The voice chat's and Telegram's turns under way (a hotline call counts
        # its own calls): the synthesiser picks its voice by them.
        self.active = ActiveTurns()
        # What each listener of the voice chat, Telegram and WeChat is expected
        # to say next, and the speech rate each chose.
        self.expected = ExpectedAnswers(state)
        self.rates = SpeechRates(state)
        self._loading: asyncio.Future[None] | None = None

    def start_loading(self) -> None:
        """Loads both engines in the background; call once, at the gateway's start."""
        self._loading = asyncio.ensure_future(self._load())

    async def _load(self) -> None:
        recogniser = await asyncio.to_thread(load_configured_recogniser)
        if recogniser is not None:
            self.recogniser = recogniser
        try:
            self.synthesiser = await asyncio.to_thread(load_synthesiser)
        except SynthesisError as error:
            log.warning("voice output off: %s", error)
        # What start-up made (modules, models) lives as long as the gateway: kept
        # out of the collector's full passes, each of which would otherwise stop
        # every call's audio for over a tenth of a second (some 370,000 objects).
        gc.freeze()

    async def prepare(self, texts: Sequence[str]) -> None:
        """Once the synthesiser is loaded, makes `texts` at every rate in both
        voices, into its cache: fixed prompts that must play without delay."""
        if self._loading is not None:
            await asyncio.shield(self._loading)
        if self.synthesiser is None:
            return
        try:
            await self.synthesiser.prepare(texts)
        except SynthesisError as error:
            log.warning("fixed prompts not prepared: %s", error)

    async def keep_fixed_replies(
        self, replies: Callable[[], Sequence[str]] = fixed_voice_replies
    ) -> None:
        """Once the synthesiser is loaded, makes every fixed reply at every rate
        in both voices and keeps it on disk (voice.prepared_speech), while no
        one is waiting for speech. Without a prepared-speech directory nothing
        is made (hundreds of sentences would only churn the memory cache), and
        the replies are not even read."""
        if self._loading is not None:
            await asyncio.shield(self._loading)
        if self.synthesiser is None or not self.synthesiser.keeps_prepared:
            return
        texts = await asyncio.to_thread(replies)  # domain.yml, parsed off the event loop
        started = time.perf_counter()
        await self.prepare(texts)
        log.info("fixed replies prepared: %d texts in %.0f s", len(texts),
                 time.perf_counter() - started)  # fmt: skip

    async def close(self) -> None:
        if self._loading is not None:
            self._loading.cancel()
        if self.synthesiser is not None:
            await asyncio.to_thread(self.synthesiser.close)

    @property
    def hears(self) -> bool:
        return self.recogniser is not None

    @property
    def speaks(self) -> bool:
        return self.synthesiser is not None

    def status(self) -> dict[str, Any]:
        """Whether a page may offer its microphone and read replies aloud, and if
        not, why (GET /api/voice/status)."""
        reason = "" if self.hears else VOICE_INPUT_OFF_MESSAGE
        return {"input": self.hears, "output": self.speaks, "reason_zh": reason}

    async def recognise(self, sender: str, pcm: bytes) -> str:
        """The words in a recording (16 kHz PCM): within the answers `sender` is
        expected to give first, else freely. Raises VoiceInputError, with what to
        tell the person, for audio that cannot be used or when nothing hears."""
        recogniser = self.recogniser
        if recogniser is None:
            raise VoiceInputError(VOICE_INPUT_OFF_MESSAGE, "no recogniser")
        expected = await self.expected.of(sender)
        if expected:
            heard = (await recogniser.transcribe(pcm, RECOGNITION_RATE, list(expected))).text
            if heard.strip():
                return heard
        # Something else than a choice (or no choice offered): free recognition.
        return (await recogniser.transcribe(pcm, RECOGNITION_RATE)).text

    def voice(self, others: int | None = None) -> Synthesiser | None:
        """The synthesiser's voice for one turn, by load: `others` turns under way
        besides it (by default, the voice chat's and Telegram's); None without one."""
        if self.synthesiser is None:
            return None
        return self.synthesiser.choose(self.active.others if others is None else others)
