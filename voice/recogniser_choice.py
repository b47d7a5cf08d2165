"""Which speech recogniser the voice channels get: configuration, with a default that works.

    RECOGNISER=vosk|whisper     (unset: chosen as below)
    VOSK_MODEL=/path/to/model   (Vosk: a Chinese model, python -m scripts.fetch_vosk_model)
    WHISPER_MODEL=base|/path    (Whisper: `base`, joined at setup; or a converted model's folder)

Unset, RECOGNISER is Vosk when VOSK_MODEL names a Chinese Vosk model (it
streams partial text and has grammar mode, and costs less CPU), and Whisper
otherwise: a fresh machine cannot download the Chinese Vosk model, but it
has Whisper base from the locked packages, so `./dev run` understands Mandarin.
A Vosk model in another language (the tests' Korean one) does not count.

Settings come from the environment over `.env`, as the gateway reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from voice.recognition import Recogniser, voice_settings
from voice.vosk_recogniser import configured_model_dir, load_recogniser
from voice.whisper_model import MODEL_ENV_VAR as WHISPER_ENV_VAR
from voice.whisper_recogniser import load_whisper

logger = logging.getLogger(__name__)

ENGINE_ENV_VAR = "RECOGNISER"
ENGINES = ("vosk", "whisper")


def load_configured_recogniser(environ: Mapping[str, str] | None = None) -> Recogniser | None:
    """The recogniser the settings ask for, loaded; None when voice input is off (logged why)."""
    settings = voice_settings(environ)
    engine = settings.get(ENGINE_ENV_VAR, "").strip().lower()
    if engine == "vosk":
        return _announced(load_recogniser(environ=settings))
    if engine == "whisper":
        return _announced(load_whisper(settings.get(WHISPER_ENV_VAR)))
    if engine:
        logger.warning(
            "Voice input off: %s=%s; it must be one of %s (or unset, to choose by the models installed)",
            ENGINE_ENV_VAR,
            engine,
            ", ".join(ENGINES),
        )
        return None
    return _announced(_default_recogniser(settings))


def _default_recogniser(settings: Mapping[str, str]) -> Recogniser | None:
    """Vosk with a Chinese model when one is configured, else Whisper."""
    if configured_model_dir(settings):
        vosk = load_recogniser(environ=settings)
        if vosk is not None and vosk.knows_chinese:
            return vosk
        if vosk is not None:
            logger.info("VOSK_MODEL=%s is not a Chinese model: Whisper listens", vosk.model_dir)
    return load_whisper(settings.get(WHISPER_ENV_VAR))


def _announced(recogniser: Recogniser | None) -> Recogniser | None:
    if recogniser is not None:
        where = getattr(recogniser, "model_dir", "")
        logger.info("speech recognition: %s (%s)", recogniser.name, where)
    return recogniser
