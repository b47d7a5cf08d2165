"""The speech recogniser interface that every voice channel talks to.

A `Recogniser` holds one loaded model shared by all conversations and opens a
`RecognitionStream` per utterance (or per call); the stream takes PCM16 mono
chunks as they arrive and returns partial text, then the final text of each
utterance when the engine hears its end. Another engine is plugged in by
subclassing `Recogniser` and writing `open_stream`: channels never see the
engine. The Vosk implementation is `voice.vosk_recogniser`.

Recognition is CPU-bound, so `Recogniser.transcribe` and `accept_off_loop` run it
in one thread pool: a long utterance never blocks the event loop that serves
other users. (Vosk and CTranslate2 release the GIL while they decode.)

Grammar mode: where the dialogue expects a yes/no, digits or one of a few
choices, pass `grammar` (the phrases it expects). Vosk then only chooses among
them, which is cheaper and far more accurate than free speech, and hears
nothing when none was said; Whisper (voice.whisper_recogniser) takes them as
hints and recognises freely. Either way the final text of a stream goes
through `voice.sound_match.heard_as`: what sounds like one of the phrases is
that phrase (转人公主 → 转人工), and domain words heard as homophones are
written right (法律原主 → 法律援助) before the text reaches the dialogue.

Which engine runs is configuration (voice.recogniser_choice: RECOGNISER,
VOSK_MODEL, WHISPER_MODEL).
"""

from __future__ import annotations

import abc
import asyncio
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from dotenv import dotenv_values

from voice.errors import AudioTooLong
from voice.sound_match import heard_as

# Browsers and messengers give 16 kHz after conversion (voice.audio.to_pcm);
# the telephone gives 8 kHz. Both are what the Vosk models are trained on.
SUPPORTED_SAMPLE_RATES = (8000, 16000)
BYTES_PER_SAMPLE = 2  # PCM16 mono

# One turn of a consultation is a sentence or a short story; a minute is far
# more than people say in one breath, and it bounds the CPU one user can take
# from the others (decoding costs a good fraction of the audio's duration).
MAX_UTTERANCE_SECONDS = 60
# The largest PCM a turn may hold: a minute at the highest supported rate.
MAX_UTTERANCE_BYTES = MAX_UTTERANCE_SECONDS * max(SUPPORTED_SAMPLE_RATES) * BYTES_PER_SAMPLE
# Said to the person, so the limit is written in words; change both together.
TOO_LONG_MESSAGE = "这段录音太长了，请分几次说，每次不超过六十秒。"

# A reply's custom message may carry the words the person will likely say
# next ({"expected_answers": ["小店区", …]}) where the question has no buttons:
# the gateway recognises the answer with them as it would with choices.
EXPECTED_ANSWERS_KEY = "expected_answers"

# The engine's "none of the expected phrases" word in grammar mode.
UNKNOWN_WORD = "[unk]"

# Feeding a whole recording in pieces of 0.25 s (at 16 kHz) gives the engine
# the same endpointing as a live stream, and each call stays short.
CHUNK_BYTES = 8000


@dataclass(frozen=True)
class Transcript:
    """What was understood: the text so far, or the text of a finished utterance.

    `final` is False for a partial result (the person is still speaking) and
    True once the recogniser has detected the end of the utterance, or the
    stream was finished. `text` is empty when nothing was understood.
    """

    text: str
    final: bool

    @property
    def is_empty(self) -> bool:
        return not self.text


class RecognitionStream(abc.ABC):
    """One stream of PCM16 mono audio at a fixed sample rate.

    Not thread-safe: feed it from one task at a time (await each
    `accept_off_loop` before the next). Enforces the length limit.
    """

    def __init__(self, sample_rate: int, choices: Sequence[str] = ()) -> None:
        check_sample_rate(sample_rate)
        self.sample_rate = sample_rate
        # The phrases the dialogue expects (the grammar): the final text is
        # mapped onto them by sound.
        self.choices = tuple(choices)
        self._bytes_seen = 0
        # A chunk boundary may split a sample in two; keep the odd byte.
        self._odd_byte = b""
        self._utterances: list[str] = []

    @property
    def seconds_heard(self) -> float:
        return self._bytes_seen / (self.sample_rate * BYTES_PER_SAMPLE)

    def accept(self, pcm: bytes) -> Transcript:
        """Feed a chunk; a partial transcript, or the final one at the end of an utterance."""
        self._bytes_seen += len(pcm)
        if self.seconds_heard > MAX_UTTERANCE_SECONDS:
            raise AudioTooLong(TOO_LONG_MESSAGE, f"more than {MAX_UTTERANCE_SECONDS} s of audio")
        samples = self._whole_samples(pcm)
        transcript = self._accept_samples(samples)
        if transcript.final and transcript.text:
            self._utterances.append(transcript.text)
        return transcript

    def finish(self) -> Transcript:
        """End the stream: the final transcript of everything it heard, as the dialogue
        should read it (a choice said, domain words written right)."""
        last = self._finish_samples()
        if last.text:
            self._utterances.append(last.text)
        return Transcript(heard_as(join_utterances(self._utterances), self.choices), final=True)

    def _whole_samples(self, pcm: bytes) -> bytes:
        data = self._odd_byte + pcm
        cut = len(data) - len(data) % BYTES_PER_SAMPLE
        self._odd_byte = data[cut:]
        return data[:cut]

    @abc.abstractmethod
    def _accept_samples(self, pcm: bytes) -> Transcript:
        """The engine's step: whole PCM16 samples in, partial or final text out."""

    @abc.abstractmethod
    def _finish_samples(self) -> Transcript:
        """The engine's flush: the text of the utterance still in progress."""


class Recogniser(abc.ABC):
    """A loaded speech model, shared by every conversation."""

    #: Shown in logs and the health check.
    name: str = "recogniser"

    @abc.abstractmethod
    def open_stream(
        self, sample_rate: int, grammar: Sequence[str] | None = None
    ) -> RecognitionStream:
        """A new stream; with `grammar`, only those phrases (or nothing) are recognised."""

    def recognise(
        self, pcm: bytes, sample_rate: int, grammar: Sequence[str] | None = None
    ) -> Transcript:
        """The final transcript of a whole recording (blocking: call it off the loop)."""
        check_length(pcm, sample_rate)
        stream = self.open_stream(sample_rate, grammar)
        for start in range(0, len(pcm), CHUNK_BYTES):
            stream.accept(pcm[start : start + CHUNK_BYTES])
        return stream.finish()

    async def transcribe(
        self, pcm: bytes, sample_rate: int, grammar: Sequence[str] | None = None
    ) -> Transcript:
        """`recognise` in the recognition pool, so the event loop keeps serving others."""
        # Refuse here, before taking a worker thread for audio that would be refused.
        check_length(pcm, sample_rate)
        return await run_in_recognition_pool(self.recognise, pcm, sample_rate, grammar)


def voice_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment over `.env`, as the gateway reads its settings."""
    from_file = {name: value for name, value in dotenv_values(".env").items() if value is not None}
    return {**from_file, **(os.environ if environ is None else environ)}


def check_sample_rate(sample_rate: int) -> None:
    """A wrong rate is the channel's mistake (it converts with voice.audio), not the user's."""
    if sample_rate not in SUPPORTED_SAMPLE_RATES:
        raise ValueError(f"sample rate {sample_rate} Hz; supported: {SUPPORTED_SAMPLE_RATES}")


def check_length(pcm: bytes, sample_rate: int) -> None:
    """Refuse a recording longer than one turn may be, with the polite message."""
    check_sample_rate(sample_rate)
    if len(pcm) > MAX_UTTERANCE_SECONDS * sample_rate * BYTES_PER_SAMPLE:
        seconds = len(pcm) / (sample_rate * BYTES_PER_SAMPLE)
        raise AudioTooLong(TOO_LONG_MESSAGE, f"{seconds:.1f} s of audio")


# Chinese models put spaces between words ("我 想 咨询"); people and Jieba
# read Chinese without them. Spaces between other words (Latin, Hangul) stay.
_HAN_FIRST, _HAN_LAST = "\u3400", "\u9fff"  # CJK ideographs, with extension A
_HAN = f"[{_HAN_FIRST}-{_HAN_LAST}]"
_SPACE_BETWEEN_HAN = re.compile(f"(?<={_HAN})\\s+(?={_HAN})")


def is_han(character: str) -> bool:
    """A Chinese character (as opposed to Hangul, Latin or a digit)."""
    return _HAN_FIRST <= character <= _HAN_LAST


def clean_text(engine_text: str) -> str:
    """The engine's words as a person would write them, without the unknown-word marker."""
    words = [word for word in engine_text.split() if word != UNKNOWN_WORD]
    return _SPACE_BETWEEN_HAN.sub("", " ".join(words))


def join_utterances(texts: Sequence[str]) -> str:
    """Several utterances of one stream as one text (Chinese needs no space between)."""
    return clean_text(" ".join(texts))


_pool: ThreadPoolExecutor | None = None
_Result = TypeVar("_Result")


# Threads per core. A thread waiting for Whisper's decoders (as many as the
# cores, queued in CTranslate2) does nothing, but it is taken: with one thread
# per core, two decodes held every streaming listener's next 0.1 s chunk
# (an append, for Whisper) until they were done, and at 20 listeners the
# chunks fell seconds behind the speech, "end" with them.
THREADS_PER_CORE = 4


def recognition_pool() -> ThreadPoolExecutor:
    """The shared worker threads."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=THREADS_PER_CORE * (os.cpu_count() or 1),
            thread_name_prefix="recognition",
        )
    return _pool


async def run_in_recognition_pool(func: Callable[..., _Result], *args: object) -> _Result:
    """Run a blocking recognition call in the pool and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(recognition_pool(), func, *args)


async def accept_off_loop(stream: RecognitionStream, pcm: bytes) -> Transcript:
    """`stream.accept` in the recognition pool: for channels that stream live audio."""
    return await run_in_recognition_pool(stream.accept, pcm)


async def finish_off_loop(stream: RecognitionStream) -> Transcript:
    """`stream.finish` in the recognition pool."""
    return await run_in_recognition_pool(stream.finish)
