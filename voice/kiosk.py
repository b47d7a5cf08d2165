"""The voice kiosk: a whole consultation by microphone and speaker.

    python -m voice.kiosk [--gateway URL] [--sender ID] [--wait SECONDS]
                          [--input turn1.wav turn2.wav …] [--output DIR]

Who is speaking is the gateway's to say (bot/web_identity.py): the kiosk keeps
the identity cookie its first turn is given, so one run is one conversation.
`--sender ID` names the conversation instead, for a kiosk that is a trusted
server: it needs GATEWAY_API_TOKEN in the environment, sent as a bearer token.

For a legal-aid station or a person's home: the kiosk listens, sends what it
heard to the gateway's voice API (bot/voice_chat.py) and plays the spoken
replies, one after the other. It is only a client: recognition, the dialogue
and synthesis all run in the gateway, so there is one pipeline and no second
copy of the dialogue. Transcripts and replies are also printed, for a sighted
helper sitting beside the person.

Without audio hardware (tests, a server): `--input` files, one per turn,
replace the microphone, and `--output DIR` writes each reply's speech to
DIR/turn-01-reply-1.wav … instead of playing it. Either can be used alone.

Exit status: 0 after the last input file or Ctrl-C; 1 when the gateway cannot
be reached, voice input is off there, there is no usable audio device, or (with
--input) a turn failed.
"""

from __future__ import annotations

import argparse
import io
import os
import queue
import re
import sys
import time
import wave
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import requests

from voice.audio import to_wav
from voice.recognition import MAX_UTTERANCE_SECONDS

DEFAULT_GATEWAY = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT') or 8080}"
# The gateway's recogniser takes 16 kHz: recording at that rate means the
# gateway's ffmpeg only unwraps the WAV, it never resamples.
RECORD_RATE = 16_000
# A turn under load plus the synthesis of a long reply; far above the goal,
# so only a stuck gateway hits it.
HTTP_TIMEOUT_SECONDS = 60
# The gateway loads Vosk and the voices in the background after it starts:
# a kiosk started together with `./dev run` waits for them this long.
DEFAULT_WAIT_SECONDS = 30
SENDER = re.compile(r"^[\w.:-]{1,128}$")  # what the gateway accepts

# End of utterance, by energy. The microphone is read in blocks of 30 ms. A
# Vosk stream would also find the end, but it needs the model (hundreds of MB)
# loaded in the kiosk as well as in the gateway, and its endpointing waits for
# words it recognises; a level detector needs nothing, reacts to any voice,
# and the gateway's recogniser hears the recording either way.
BLOCK_SECONDS = 0.03
# The first blocks, before anyone speaks, measure the room's noise.
CALIBRATION_BLOCKS = 10
# Speech is louder than this many times the room noise, and never quieter
# than MIN_SPEECH_RMS (int16 scale, about -40 dBFS): a silent room must not
# make a breath count as speech.
NOISE_MARGIN = 3.0
MIN_SPEECH_RMS = 300.0
# Three loud blocks in a row (90 ms) start an utterance: a click or a cough
# does not.
START_BLOCKS = 3
# Chinese speakers pause between phrases; 0.8 s of quiet ends the turn
# without cutting a sentence in half.
END_SILENCE_SECONDS = 0.8
# Kept from before the voice started, so the first syllable is not clipped.
PRE_ROLL_SECONDS = 0.3

# Blocks arrive every 30 ms; none for this long means the device is gone.
MICROPHONE_SILENT_SECONDS = 5
BEEP_HZ, BEEP_SECONDS = 880, 0.15

UNREACHABLE = (
    "无法连接法援助手服务（{url}）。请确认服务已经启动（./dev run），或用 --gateway 指定地址。\n"
    "Cannot reach the 法援助手 gateway at {url}: is `./dev run` running? "
    "Use --gateway to give its address."
)
VOICE_INPUT_OFF = (
    "语音输入没有开通：{reason}\n"
    "Voice input is off at the gateway (no speech recognition model; see RECOGNISER, "
    "WHISPER_MODEL and VOSK_MODEL in docs/voice.md). Text chat still works in the browser."
)
VOICE_OUTPUT_OFF = (
    "语音朗读没有开通，回复只显示文字。\n"
    "Voice output is off at the gateway: replies are shown as text only."
)
NO_AUDIO_DEVICE = (
    "没有找到可用的麦克风或扬声器（{error}）。\n"
    "No usable microphone or speaker ({error}). Without audio hardware, use "
    "--input FILE.wav (one file per turn) and --output DIR (writes the replies as WAV)."
)
GREETING = (
    "法援助手语音服务。听到“嘀”声后请说话，说完停一下就好。按 Ctrl-C 结束。\n"
    "法援助手 voice kiosk: speak after the beep and pause when you are done. Ctrl-C ends."
)


class KioskError(Exception):
    """Ends the kiosk with exit status 1; the message is for the person at the kiosk."""


class TurnFailed(Exception):
    """One turn went wrong at the gateway; the conversation can go on."""


@dataclass
class Reply:
    text: str
    buttons: list[str]
    speech_url: str | None

    @classmethod
    def from_json(cls, reply: dict[str, Any]) -> Reply:
        titles = [button.get("title", "") for button in reply.get("buttons") or []]
        return cls(reply.get("text") or "", titles, reply.get("speech"))


@dataclass
class GatewayClient:
    """The gateway's voice API, synchronously: the kiosk does one thing at a time."""

    base_url: str
    # None: the gateway's cookie says who speaks; a name needs the API token.
    sender: str | None = None
    api_token: str = field(default="", repr=False)
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        if self.api_token:
            self.session.headers["Authorization"] = f"Bearer {self.api_token}"

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(
                method, f"{self.base_url}{path}", timeout=HTTP_TIMEOUT_SECONDS, **kwargs
            )
        except requests.ConnectionError:
            raise KioskError(UNREACHABLE.format(url=self.base_url)) from None
        except requests.Timeout:
            raise TurnFailed("服务响应太慢 / the gateway took too long to answer") from None

    def status(self) -> dict[str, Any]:
        response = self._request("GET", "/api/voice/status")
        if response.status_code != 200:
            raise KioskError(
                UNREACHABLE.format(url=self.base_url) + f" (HTTP {response.status_code})"
            )
        return response.json()

    def turn(self, recording: bytes) -> tuple[str, list[Reply]]:
        """What the gateway heard, and its replies."""
        params = {"sender": self.sender} if self.sender else {}
        response = self._request("POST", "/api/voice/turn", params=params, data=recording)
        if response.status_code != 200:
            raise TurnFailed(f"服务出错 / the gateway answered HTTP {response.status_code}")
        body = response.json()
        return body.get("transcript", ""), [Reply.from_json(r) for r in body.get("replies", [])]

    def speech(self, reply: Reply) -> bytes | None:
        """The reply's WAV, or None when it has none (voice output off, or synthesis failed)."""
        if not reply.speech_url:
            return None
        response = self._request("GET", reply.speech_url)
        return response.content if response.status_code == 200 else None


def wait_for_voice(client: GatewayClient, wait_seconds: float) -> dict[str, Any]:
    """The gateway's voice status, once input and output are on or the wait is over."""
    deadline = time.monotonic() + wait_seconds
    status = client.status()
    while not (status.get("input") and status.get("output")) and time.monotonic() < deadline:
        time.sleep(1)
        status = client.status()
    if not status.get("input"):
        raise KioskError(VOICE_INPUT_OFF.format(reason=status.get("reason_zh") or "原因不明"))
    if not status.get("output"):
        print(VOICE_OUTPUT_OFF, flush=True)
    return status


class UtteranceDetector:
    """Finds one utterance in blocks of int16 microphone samples, by their loudness.

    Feed blocks until `feed` returns True; `recording()` is then the utterance
    with a little audio before it and the pause after it.
    """

    def __init__(self, sample_rate: int = RECORD_RATE, block_seconds: float = BLOCK_SECONDS):
        self._end_blocks = round(END_SILENCE_SECONDS / block_seconds)
        self._max_samples = int((MAX_UTTERANCE_SECONDS - 1) * sample_rate)
        self._noise: list[float] = []
        self._pre_roll: deque[np.ndarray] = deque(maxlen=round(PRE_ROLL_SECONDS / block_seconds))
        self._blocks: list[np.ndarray] = []
        self._loud_run = 0
        self._quiet_run = 0
        self.speaking = False

    @property
    def threshold(self) -> float:
        noise = float(np.median(self._noise)) if self._noise else 0.0
        return max(MIN_SPEECH_RMS, noise * NOISE_MARGIN)

    def feed(self, block: np.ndarray) -> bool:
        """Takes one block; True once the utterance has ended."""
        level = rms(block)
        if not self.speaking:
            return self._before_speech(block, level)
        self._blocks.append(block)
        self._quiet_run = self._quiet_run + 1 if level < self.threshold else 0
        too_long = sum(len(b) for b in self._blocks) >= self._max_samples
        return self._quiet_run >= self._end_blocks or too_long

    def _before_speech(self, block: np.ndarray, level: float) -> bool:
        if len(self._noise) < CALIBRATION_BLOCKS:
            self._noise.append(level)
        self._pre_roll.append(block)
        self._loud_run = self._loud_run + 1 if level >= self.threshold else 0
        if self._loud_run >= START_BLOCKS:
            self.speaking = True
            self._blocks = list(self._pre_roll)
        return False

    def recording(self) -> bytes:
        """The utterance as PCM16 mono."""
        return np.concatenate(self._blocks).astype("<i2").tobytes() if self._blocks else b""


def rms(block: np.ndarray) -> float:
    samples = block.astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def sounddevice_module() -> Any:
    """sounddevice, imported only when the hardware is used (it loads PortAudio)."""
    try:
        import sounddevice
    except OSError as error:  # PortAudio itself is missing
        raise KioskError(NO_AUDIO_DEVICE.format(error=error)) from None
    return sounddevice


def listen(sd: Any) -> bytes:
    """Records from the microphone until the person stops speaking; a WAV file."""
    blocks: queue.Queue[np.ndarray] = queue.Queue()
    detector = UtteranceDetector()

    def on_audio(data: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        blocks.put(data[:, 0].copy())  # PortAudio reuses its buffer

    # The microphone is open only while listening: the kiosk must not hear
    # its own replies from the speaker and take them for the person's words.
    try:
        stream = sd.InputStream(
            samplerate=RECORD_RATE,
            channels=1,
            dtype="int16",
            blocksize=int(RECORD_RATE * BLOCK_SECONDS),
            callback=on_audio,
        )
    except (sd.PortAudioError, ValueError) as error:
        raise KioskError(NO_AUDIO_DEVICE.format(error=error)) from None
    with stream:
        while not detector.feed(next_block(blocks)):
            pass
    return to_wav(detector.recording(), RECORD_RATE)


def next_block(blocks: queue.Queue[np.ndarray]) -> np.ndarray:
    """The next microphone block; a device that stopped sending is an error, not a hang."""
    try:
        return blocks.get(timeout=MICROPHONE_SILENT_SECONDS)
    except queue.Empty:
        raise KioskError(NO_AUDIO_DEVICE.format(error="the microphone sends no audio")) from None


def play_wav(sd: Any, wav_bytes: bytes) -> None:
    """Plays a WAV file to the end."""
    with wave.open(io.BytesIO(wav_bytes)) as source:
        rate = source.getframerate()
        samples = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    play_samples(sd, samples, rate)


def play_samples(sd: Any, samples: np.ndarray, rate: int) -> None:
    try:
        sd.play(samples, rate)
        sd.wait()
    except (sd.PortAudioError, ValueError) as error:
        raise KioskError(NO_AUDIO_DEVICE.format(error=error)) from None


def beep(sd: Any) -> None:
    """The "speak now" tone: a blind person cannot see that the kiosk is listening."""
    t = np.arange(int(RECORD_RATE * BEEP_SECONDS)) / RECORD_RATE
    tone = 0.3 * np.sin(2 * np.pi * BEEP_HZ * t) * np.hanning(t.size)
    play_samples(sd, (tone * 32767).astype("<i2"), RECORD_RATE)


# Where recordings come from, and where speech goes. -----------------------------

Recordings = Iterator[bytes]
SpeechSink = Callable[[int, int, bytes], None]


def recordings_from_files(paths: Sequence[Path]) -> Recordings:
    for path in paths:
        print(f"\n[{path.name}]", flush=True)
        yield path.read_bytes()


def recordings_from_microphone(sd: Any) -> Recordings:
    while True:
        beep(sd)
        print("\n请说话… / Listening…", flush=True)
        yield listen(sd)


def speech_to_files(directory: Path) -> SpeechSink:
    directory.mkdir(parents=True, exist_ok=True)

    def write(turn: int, reply: int, wav_bytes: bytes) -> None:
        (directory / f"turn-{turn:02d}-reply-{reply}.wav").write_bytes(wav_bytes)

    return write


def speech_to_speaker(sd: Any) -> SpeechSink:
    return lambda turn, reply, wav_bytes: play_wav(sd, wav_bytes)


# The conversation. --------------------------------------------------------------


def run_turn(client: GatewayClient, number: int, recording: bytes, speak: SpeechSink) -> None:
    """One turn: send the recording, show and speak each reply in order."""
    transcript, replies = client.turn(recording)
    print(f"您说 / You said: {transcript or '（没有听清 / not heard）'}", flush=True)
    for index, reply in enumerate(replies, start=1):
        show(reply)
        # Fetched one by one: the gateway makes them all at once, so the next
        # is ready by the time this one has been heard.
        wav_bytes = client.speech(reply)
        if wav_bytes is None:
            print("（这条回复没有语音 / no speech for this reply）", flush=True)
        else:
            speak(number, index, wav_bytes)


def show(reply: Reply) -> None:
    print(f"法援助手: {reply.text}", flush=True)
    for number, title in enumerate(reply.buttons, start=1):
        print(f"    {number}. {title}", flush=True)


def converse(client: GatewayClient, recordings: Recordings, speak: SpeechSink) -> int:
    """Every turn in order; 1 if one failed (the conversation still goes on)."""
    failed = 0
    for number, recording in enumerate(recordings, start=1):
        try:
            run_turn(client, number, recording, speak)
        except TurnFailed as error:
            failed += 1
            print(f"这一轮没有成功，请再说一遍。/ This turn failed: {error}", flush=True)
    return 1 if failed else 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m voice.kiosk", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--gateway", default=DEFAULT_GATEWAY, help=f"default {DEFAULT_GATEWAY}")
    parser.add_argument(
        "--sender", help="name the conversation (needs GATEWAY_API_TOKEN); default: the cookie's"
    )
    parser.add_argument(
        "--input", nargs="+", type=Path, metavar="WAV", help="recordings, one per turn"
    )
    parser.add_argument("--output", type=Path, metavar="DIR", help="write replies as WAV here")
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        help=f"seconds to wait for the gateway's voice engines (default {DEFAULT_WAIT_SECONDS})",
    )
    args = parser.parse_args(argv)
    if args.sender is not None and not SENDER.match(args.sender):
        parser.error("--sender: 1 to 128 letters, digits or ._:- characters")
    if args.sender is not None and not os.environ.get("GATEWAY_API_TOKEN"):
        parser.error("--sender needs GATEWAY_API_TOKEN: only a trusted server may name one")
    for path in args.input or []:
        if not path.is_file():
            parser.error(f"--input: no such file: {path}")
    args.gateway = args.gateway.rstrip("/")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    client = GatewayClient(args.gateway, args.sender, os.environ.get("GATEWAY_API_TOKEN", ""))
    sd = None
    try:
        wait_for_voice(client, args.wait)
        if args.input is None or args.output is None:
            sd = sounddevice_module()
        print(GREETING, flush=True)
        recordings = (
            recordings_from_files(args.input) if args.input else recordings_from_microphone(sd)
        )
        speak = speech_to_files(args.output) if args.output else speech_to_speaker(sd)
        return converse(client, recordings, speak)
    except KioskError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if sd is not None:
            sd.stop()  # silence a reply cut off in the middle
        print("\n再见。/ Goodbye.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
