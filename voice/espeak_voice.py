"""pyttsx3 on espeak-ng with the Mandarin voice `cmn`: the fallback synthesiser.

Robotic but always there (it needs only the espeak-ng package). Two traps:

- the voice must be espeak's `cmn` (pyttsx3 lists it as "sit/cmn"); `zh`
  is accepted by pyttsx3 and then silently speaks nothing useful;
- pyttsx3's `runAndWait()` can return before its espeak driver has written
  the file (a known pyttsx3 bug: the driver writes it from espeak's callback
  thread when the message ends). `wait_for_complete_wav` waits until the WAV
  header's sizes agree with the file's;
- its rate property does not change the speed after the first utterance, so
  the speed is an embedded command at the head of each text.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
import time
from pathlib import Path

from voice.synthesis import Speech, SynthesisError, check_rate

# Words per minute for espeak; 175 is its default. Mandarin syllables are
# counted as words, so these are syllables a minute.
WORDS_PER_MINUTE = {"slow": 125, "normal": 170, "fast": 230}
VOICE_LANGUAGE = "cmn"
FILE_TIMEOUT_SECONDS = 30.0
_POLL_SECONDS = 0.01


class EspeakVoice:
    """A VoiceEngine: one pyttsx3 espeak driver, used by one worker at a time."""

    name = "espeak"

    def __init__(self) -> None:
        import pyttsx3

        self._engine = pyttsx3.init("espeak")
        self._engine.setProperty("voice", _mandarin_voice_id(self._engine))
        self._directory = Path(tempfile.gettempdir())
        self._count = 0

    def speak(self, text: str, rate: str) -> Speech:
        """The sentence spoken into a temporary WAV file, read back and removed."""
        self._count += 1
        path = self._directory / f"fayuan-espeak-{os.getpid()}-{self._count}.wav"
        # The driver prints "Audio saved to …" for every file.
        with contextlib.redirect_stdout(io.StringIO()):
            self._engine.save_to_file(_with_speed(text, rate), str(path))
            self._engine.runAndWait()
            try:
                data = wait_for_complete_wav(path)
            finally:
                path.unlink(missing_ok=True)
        return Speech.from_wav(data)


def _with_speed(text: str, rate: str) -> str:
    """The text led by espeak's embedded speed command (Ctrl-A, words a minute, S).

    pyttsx3's setProperty("rate") only reaches espeak's queue once and is then
    ignored (measured: every later utterance kept the first rate), so the
    speed travels with each text instead.
    """
    return f"\x01{WORDS_PER_MINUTE[check_rate(rate)]}S{text}"


def _mandarin_voice_id(engine: object) -> str:
    for voice in engine.getProperty("voices"):  # type: ignore[attr-defined]
        if voice.id.rsplit("/", 1)[-1] == VOICE_LANGUAGE:
            return voice.id
    raise SynthesisError("espeak-ng has no Mandarin voice (cmn); install espeak-ng-data")


def wav_is_complete(data: bytes) -> bool:
    """Whether a WAV file's RIFF size and data-chunk size both agree with its length."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    if struct.unpack_from("<I", data, 4)[0] + 8 != len(data):
        return False
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, offset)
        if chunk == b"data":
            return offset + 8 + size == len(data)
        offset += 8 + size + (size & 1)
    return False


def wait_for_complete_wav(path: Path, timeout: float = FILE_TIMEOUT_SECONDS) -> bytes:
    """The file's bytes once it is complete and has stopped growing.

    Python's wave module writes the header, sizes included, before the
    samples, so a file still being written is shorter than its header says.
    """
    deadline = time.monotonic() + timeout
    previous: bytes | None = None
    while time.monotonic() < deadline:
        data = path.read_bytes() if path.exists() else b""
        if wav_is_complete(data) and data == previous:
            return data
        previous = data if wav_is_complete(data) else None
        time.sleep(_POLL_SECONDS)
    raise SynthesisError(f"espeak did not finish writing {path.name} in {timeout:.0f} s")
