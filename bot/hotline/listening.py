"""Hearing the caller: where an utterance starts and ends, and what it said.

`Endpointer` works on the 20 ms frames as they arrive: speech starts after
START_FRAMES loud frames in a row (a click or a breath is shorter), and ends
after END_SILENCE_SECONDS of quiet (the hangover: people pause between
words). The last PRE_ROLL_FRAMES before the start are kept, so the first
syllable is not cut. Energy is enough on a telephone line: Asterisk's audio
is already band-limited and the assistant's own voice does not come back on
the caller's channel (the line is four-wire from Asterisk's side).

`Utterance` recognises while the caller is still speaking (Vosk in the
recognition pool, a chunk at a time), so at the end of speech only the last
chunk and the final result are left: the caller's wait is short. Where a
choice, yes/no or digits is expected, Vosk's grammar mode comes first (cheap
and accurate); if it heard none of the expected phrases, the same audio is
recognised freely.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Sequence

import numpy as np

from bot.hotline.protocol import FRAME_SECONDS, SAMPLE_RATE
from voice.recognition import (
    Recogniser,
    RecognitionStream,
    accept_off_loop,
    finish_off_loop,
    run_in_recognition_pool,
)

# RMS of a 20 ms frame (16-bit samples) above which it counts as speech. A
# quiet telephone line is well under 200; speech is in the thousands.
SPEECH_RMS = 600.0
START_FRAMES = 3  # 60 ms of speech in a row starts an utterance
END_SILENCE_SECONDS = 0.7
PRE_ROLL_FRAMES = 15  # 300 ms kept from before the start
MIN_SPEECH_SECONDS = 0.2  # less voiced audio than this was a noise, not words
MAX_UTTERANCE_SECONDS = 30.0
# Audio goes to the recogniser in pieces of this many frames (200 ms): one
# thread-pool hop per frame would cost more than the decoding.
CHUNK_FRAMES = 10


def frame_rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


class Endpointer:
    """Feeds on frames; says when an utterance starts, and gives its audio when it ends."""

    def __init__(
        self,
        end_silence_seconds: float = END_SILENCE_SECONDS,
        speech_rms: float = SPEECH_RMS,
    ) -> None:
        self.speech_rms = speech_rms
        self.end_frames = max(1, round(end_silence_seconds / FRAME_SECONDS))
        self.max_frames = round(MAX_UTTERANCE_SECONDS / FRAME_SECONDS)
        self._recent: collections.deque[bytes] = collections.deque(maxlen=PRE_ROLL_FRAMES)
        self._loud_run = 0
        self.speaking = False
        self._frames: list[bytes] = []
        self._voiced = 0
        self._quiet_run = 0

    def feed(self, pcm: bytes) -> tuple[str, bytes] | None:
        """("start", audio so far) when speech starts, ("more", frame) while it goes
        on, ("end", b"") when it ended (with enough voiced audio) or ("noise", b"")
        when it turned out to be too short to be words; else None."""
        loud = frame_rms(pcm) >= self.speech_rms
        if not self.speaking:
            self._recent.append(pcm)
            self._loud_run = self._loud_run + 1 if loud else 0
            if self._loud_run < START_FRAMES:
                return None
            self.speaking = True
            self._frames = list(self._recent)
            self._recent.clear()
            self._voiced, self._quiet_run = self._loud_run, 0
            return "start", b"".join(self._frames)
        self._frames.append(pcm)
        if loud:
            self._voiced += 1
            self._quiet_run = 0
        else:
            self._quiet_run += 1
        if self._quiet_run >= self.end_frames or len(self._frames) >= self.max_frames:
            self.speaking = False
            self._loud_run = 0
            enough = self._voiced * FRAME_SECONDS >= MIN_SPEECH_SECONDS
            return ("end", b"") if enough else ("noise", b"")
        return "more", pcm


class Utterance:
    """One utterance being recognised while it is spoken."""

    def __init__(self, recogniser: Recogniser | None, grammar: Sequence[str] | None) -> None:
        self.recogniser = recogniser
        self.grammar = list(grammar) if grammar else None
        self.pcm = bytearray()
        self._pending = bytearray()
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.ended_at: float | None = None  # perf_counter at the end of speech
        self.task: asyncio.Task[str] = asyncio.ensure_future(self._recognise())

    def feed(self, pcm: bytes) -> None:
        self.pcm += pcm
        self._pending += pcm
        if len(self._pending) >= CHUNK_FRAMES * len(pcm):
            self._chunks.put_nowait(bytes(self._pending))
            self._pending.clear()

    def end(self) -> None:
        self.ended_at = time.perf_counter()
        if self._pending:
            self._chunks.put_nowait(bytes(self._pending))
            self._pending.clear()
        self._chunks.put_nowait(None)

    def cancel(self) -> None:
        self.task.cancel()

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (2 * SAMPLE_RATE)

    async def _recognise(self) -> str:
        """The words heard ("" when none); a stream left unfinished is dropped."""
        if self.recogniser is None:
            # No model: drain the audio, hear nothing (the caller is asked to press keys).
            while await self._chunks.get() is not None:
                pass
            return ""
        stream: RecognitionStream = await run_in_recognition_pool(
            self.recogniser.open_stream, SAMPLE_RATE, self.grammar
        )
        while (chunk := await self._chunks.get()) is not None:
            await accept_off_loop(stream, chunk)
        heard = (await finish_off_loop(stream)).text
        if heard or not self.grammar:
            return heard
        # None of the expected phrases: perhaps the caller said something else.
        with contextlib.suppress(ValueError):
            return (await self.recogniser.transcribe(bytes(self.pcm), SAMPLE_RATE)).text
        return ""
