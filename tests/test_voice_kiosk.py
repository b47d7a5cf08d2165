"""The voice kiosk (voice/kiosk.py) as a person would run it, without audio hardware.

`python -m voice.kiosk --input … --output …` runs as a subprocess against a real
gateway process, which uses the session's Rasa and action servers, the Korean
Vosk model and the espeak voice. espeak-ng's Korean is not intelligible to that
model, so these tests check the machinery (recording in, spoken replies out),
not what was understood. The end-of-utterance detector is checked on its own
with synthetic audio, since there is no microphone here.
"""

from __future__ import annotations

import io
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from scripts.launcher import Stack, free_port
from scripts.model_cache import PROJECT_DIR
from tests.support.voice_support import KOREAN_MODEL, gateway_only, wait_for_voice_engines
from voice.kiosk import (
    BLOCK_SECONDS,
    END_SILENCE_SECONDS,
    RECORD_RATE,
    UtteranceDetector,
    listen,
)

KIOSK_TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module")
def voice_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gateway = gateway_only(stack, tmp_path_factory.mktemp("kiosk-var"), KOREAN_MODEL)
    try:
        wait_for_voice_engines(gateway.gateway_url)
        yield gateway.gateway_url
    finally:
        gateway.stop(("gateway",))


@pytest.fixture
def gateway_without_voice_input(stack: Stack, tmp_path: Path) -> Iterator[str]:
    gateway = gateway_only(stack, tmp_path / "var", tmp_path / "no-model-here")
    try:
        yield gateway.gateway_url
    finally:
        gateway.stop(("gateway",))


def run_kiosk(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice.kiosk", *arguments],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=KIOSK_TIMEOUT_SECONDS,
    )


def espeak_to_file(text: str, path: Path) -> Path:
    with path.open("wb") as out:
        subprocess.run(["espeak-ng", "-v", "ko", "--stdout", text], check=True, stdout=out)
    return path


def seconds_and_loudness(path: Path) -> tuple[float, float]:
    with wave.open(io.BytesIO(path.read_bytes())) as audio:
        frames = audio.readframes(audio.getnframes())
        seconds = audio.getnframes() / audio.getframerate()
    samples = np.frombuffer(frames, dtype=np.int16).astype(np.float64)
    return seconds, float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def test_recordings_in_spoken_replies_out(voice_gateway: str, tmp_path: Path) -> None:
    first = espeak_to_file("안녕하세요", tmp_path / "a.wav")
    second = espeak_to_file("법률 상담을 받고 싶어요", tmp_path / "b.wav")
    out = tmp_path / "out"
    kiosk = run_kiosk("--gateway", voice_gateway, "--input", str(first), str(second),
                      "--output", str(out))  # fmt: skip
    assert kiosk.returncode == 0, kiosk.stderr
    for turn in ("01", "02"):
        written = sorted(out.glob(f"turn-{turn}-reply-*.wav"))
        assert written, (turn, kiosk.stdout)
        for path in written:
            seconds, loudness = seconds_and_loudness(path)
            # A spoken sentence or more, not a click; and not silence.
            assert 0.5 < seconds < 60, (path.name, seconds)
            assert loudness > 300, (path.name, loudness)
    # The sighted helper sees what was heard and what was answered.
    assert kiosk.stdout.count("您说 / You said:") == 2
    assert "法援助手: " in kiosk.stdout


def test_an_unreachable_gateway_is_explained(tmp_path: Path) -> None:
    recording = espeak_to_file("네", tmp_path / "a.wav")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    kiosk = run_kiosk("--gateway", url, "--input", str(recording), "--output", str(tmp_path))
    assert kiosk.returncode == 1
    assert "无法连接法援助手服务" in kiosk.stderr and "Cannot reach" in kiosk.stderr
    assert url in kiosk.stderr
    assert "Traceback" not in kiosk.stderr


def test_a_gateway_without_voice_input_is_explained(
    gateway_without_voice_input: str, tmp_path: Path
) -> None:
    recording = espeak_to_file("네", tmp_path / "a.wav")
    kiosk = run_kiosk("--gateway", gateway_without_voice_input, "--wait", "3",
                      "--input", str(recording), "--output", str(tmp_path / "out"))  # fmt: skip
    assert kiosk.returncode == 1
    assert "语音输入没有开通" in kiosk.stderr and "Voice input is off" in kiosk.stderr
    assert not (tmp_path / "out").exists()


def blocks(*parts: np.ndarray) -> Iterator[np.ndarray]:
    audio = np.concatenate(parts)
    size = int(RECORD_RATE * BLOCK_SECONDS)
    for start in range(0, len(audio), size):
        yield audio[start : start + size]


def room_noise(seconds: float, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0, 60, int(seconds * RECORD_RATE)).astype(np.int16)


def voice_like(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * RECORD_RATE)) / RECORD_RATE
    tone = 4000 * np.sin(2 * np.pi * 180 * t) + rng.normal(0, 60, t.size)
    return tone.astype(np.int16)


def test_the_utterance_ends_after_a_pause_not_before_speech() -> None:
    rng = np.random.default_rng(7)
    detector = UtteranceDetector()
    heard_until = None
    for index, block in enumerate(
        blocks(room_noise(1.0, rng), voice_like(1.5, rng), room_noise(3.0, rng))
    ):
        if detector.feed(block):
            heard_until = (index + 1) * BLOCK_SECONDS
            break
    assert heard_until is not None
    # Ends one pause after the voice stopped (at 2.5 s), not at the first quiet block.
    assert 2.5 + END_SILENCE_SECONDS - 0.1 < heard_until < 2.5 + END_SILENCE_SECONDS + 0.2
    seconds = len(detector.recording()) / 2 / RECORD_RATE
    assert 1.5 < seconds < 1.5 + END_SILENCE_SECONDS + 0.5


def test_noise_and_a_click_are_not_an_utterance() -> None:
    rng = np.random.default_rng(8)
    click = np.full(int(0.03 * RECORD_RATE), 8000, dtype=np.int16)
    detector = UtteranceDetector()
    for block in blocks(room_noise(1.0, rng), click, room_noise(2.0, rng)):
        assert not detector.feed(block)
    assert not detector.speaking


class FakeMicrophone:
    """Stands in for sounddevice: its InputStream delivers prepared audio in blocks."""

    PortAudioError = OSError

    def __init__(self, audio: np.ndarray) -> None:
        self.audio = audio

    def InputStream(self, callback, blocksize: int, **settings):  # noqa: N802 - sounddevice's name
        audio = self.audio

        class Stream:
            def __enter__(self) -> Stream:
                for start in range(0, len(audio), blocksize):
                    callback(audio[start : start + blocksize, None], blocksize, None, None)
                return self

            def __exit__(self, *exc_info: object) -> None:
                return None

        return Stream()


def test_listening_records_one_utterance_as_wav() -> None:
    rng = np.random.default_rng(9)
    microphone = FakeMicrophone(
        np.concatenate([room_noise(0.6, rng), voice_like(1.0, rng), room_noise(2.0, rng)])
    )
    with wave.open(io.BytesIO(listen(microphone))) as recording:
        assert recording.getframerate() == RECORD_RATE and recording.getnchannels() == 1
        seconds = recording.getnframes() / RECORD_RATE
    assert 1.0 < seconds < 1.0 + END_SILENCE_SECONDS + 0.5
