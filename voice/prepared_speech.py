"""Speech of the fixed replies, made once and kept on disk between starts.

Most of what the assistant says is fixed text: the questions, the options,
the explanations of the law. The gateway makes every fixed voice reply at
start-up, at every rate and in both voices (`Synthesiser.prepare`, in the
background, only while no listener waits), and keeps each sentence here as a
WAV file named by a hash of (engine, rate, sentence). The next start finds
them: a fixed reply plays at once, even on a fresh gateway, and only what is
new in a reply (a name, a number, a result) is synthesised while the person
waits.

Only `prepare` writes here, and it is given fixed texts (domain responses
without slots, the gateway's own messages): a sentence with a person's name
or phone number is synthesised into the memory cache and never reaches the
disk. Reading by hash reveals nothing either.

    TTS_PREPARED_DIR=/path      (default ~/.cache/fayuan-zhushou/speech; "off": none)

The directory is shared by every gateway of the machine (and by clones of the
project); delete it to make everything again. `VERSION` changes when the
engines' output changes, which leaves the old files unused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

ENV_VAR = "TTS_PREPARED_DIR"
DEFAULT_DIR = Path.home() / ".cache" / "fayuan-zhushou" / "speech"
VERSION = "v1"


class PreparedSpeech:
    """One engine's prepared sentences, as files under `directory`."""

    def __init__(self, directory: Path, engine_name: str) -> None:
        self.directory = directory / f"{engine_name}-{VERSION}"

    def _path(self, sentence: str, rate: str) -> Path:
        digest = hashlib.sha256(f"{rate}\n{sentence}".encode()).hexdigest()[:32]
        return self.directory / rate / f"{digest}.wav"

    def get(self, sentence: str, rate: str) -> bytes | None:
        """The sentence's WAV, or None when it was not prepared."""
        try:
            return self._path(sentence, rate).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            log.warning("prepared speech unreadable: %s", type(error).__name__)
            return None

    def has(self, sentence: str, rate: str) -> bool:
        return self._path(sentence, rate).is_file()

    def put(self, sentence: str, rate: str, wav: bytes) -> None:
        path = self._path(sentence, rate)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written whole under another name, then renamed: two gateways
            # preparing at once, or one stopped mid-write, leave no torn file.
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as partial:
                partial.write(wav)
            os.replace(partial.name, path)
        except OSError as error:
            log.warning("prepared speech not kept on disk: %s", type(error).__name__)


def prepared_dir_from_env() -> Path | None:
    configured = os.environ.get(ENV_VAR, "")
    if configured.lower() == "off":
        return None
    return Path(configured) if configured else DEFAULT_DIR
