"""Audio conversion through ffmpeg and sox: what people send in, and what they hear back.

In: whatever browsers and messengers record (webm/opus, ogg/opus, amr, mp3,
wav) becomes PCM16 mono at the recogniser's rate (`to_pcm`). Out: synthesised
PCM becomes WAV for the page (`to_wav`), OGG/Opus for messengers
(`to_ogg_opus`), AMR-NB for WeChat voice messages (`to_amr`) or 8 kHz linear
PCM for the telephone (`to_telephone_pcm`). AMR goes through sox, both ways:
Debian's ffmpeg decodes it poorly and cannot encode it.

The converters run as subprocesses fed through pipes, with a timeout, and at most one
per core at a time. Empty, broken or unknown audio raises `UnreadableAudio`
and audio over the limits `AudioTooLong`: both carry a polite Chinese message
for the person, so a bad recording is answered, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import wave
import weakref
from math import gcd

import numpy as np
from scipy.signal import resample_poly

from voice.errors import AudioTooLong, UnreadableAudio, VoiceInputError
from voice.recognition import BYTES_PER_SAMPLE, MAX_UTTERANCE_SECONDS, TOO_LONG_MESSAGE

logger = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
SOX = "sox"
# The first bytes of an AMR file (RFC 4867 storage format), narrow- and wideband.
AMR_NB_MAGIC = b"#!AMR\n"
AMR_WB_MAGIC = b"#!AMR-WB\n"
TELEPHONE_SAMPLE_RATE = 8000

# A minute of 48 kHz stereo WAV, the bulkiest thing a browser records for one
# turn, is 11 MB; compressed formats are a fraction of that. Larger uploads
# are refused before ffmpeg spends any time on them.
MAX_INPUT_BYTES = 16 * 1024 * 1024
# The highest rate any microphone or browser records at. A WAV header declaring
# more is not a recording: ffmpeg's resampler spent ten seconds and tried to
# allocate gigabytes for a 47-byte file declaring 202 MHz (found by the fuzz
# suite, tests/security/fuzz), holding one of the few converter slots.
MAX_INPUT_SAMPLE_RATE = 384_000
# More channels than any recorder makes: a header declaring thousands kept the
# converter busy past every bound (found by the fuzz suite).
MAX_INPUT_CHANNELS = 8
# Decoding a minute of audio takes a fraction of a second; an ffmpeg that
# takes longer is stuck on a hostile file and must not hold the turn.
FFMPEG_TIMEOUT_SECONDS = 20
# Opus for messengers' voice notes: speech stays clear at this bitrate.
OPUS_BITRATE = "32k"
# AMR-NB's mode 7, 12.2 kbit/s: its clearest, the one phones record voice
# messages in. sox's default is mode 0, 4.75 kbit/s, which muffles speech.
AMR_MODE = "7"

EMPTY_MESSAGE = "没有收到声音，请按住说话键再说一次，或者直接打字。"
UNREADABLE_MESSAGE = "抱歉，这段录音没能打开，请再录一次，或者直接打字。"
TOO_LARGE_MESSAGE = "这段录音文件太大了，请分几次说，每次不超过六十秒。"
CONVERTER_MISSING_MESSAGE = "语音功能暂时不能用，请直接打字，我们一样为您服务。"

_ffmpeg_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def to_pcm(data: bytes, sample_rate: int) -> bytes:
    """Any recording people send, as PCM16 mono at `sample_rate` for the recogniser."""
    if not data:
        raise UnreadableAudio(EMPTY_MESSAGE, "no audio bytes")
    if len(data) > MAX_INPUT_BYTES:
        raise AudioTooLong(TOO_LARGE_MESSAGE, f"{len(data)} bytes of audio")
    declared = declared_wav_rate(data)
    if declared is not None and not 0 < declared <= MAX_INPUT_SAMPLE_RATE:
        raise UnreadableAudio(UNREADABLE_MESSAGE, f"a WAV header declaring {declared} Hz")
    channels = declared_wav_channels(data)
    if channels is not None and not 0 < channels <= MAX_INPUT_CHANNELS:
        raise UnreadableAudio(UNREADABLE_MESSAGE, f"a WAV header declaring {channels} channels")
    # Decode a little past the limit, so that a longer recording is told
    # apart from one exactly at the limit without decoding all of it.
    amr_type = _amr_type(data)
    if amr_type:
        pcm = await run_sox(
            [
                "-t",
                amr_type,
                "-",
                *_sox_pcm(sample_rate),
                "-",
                "trim",
                "0",
                str(MAX_UTTERANCE_SECONDS + 1),
            ],
            data,
        )
    else:
        pcm = await run_ffmpeg(
            ["-i", "pipe:0", "-t", str(MAX_UTTERANCE_SECONDS + 1), *_pcm_output(sample_rate)],
            data,
        )
    pcm = pcm[: len(pcm) - len(pcm) % BYTES_PER_SAMPLE]
    if len(pcm) > MAX_UTTERANCE_SECONDS * sample_rate * BYTES_PER_SAMPLE:
        raise AudioTooLong(TOO_LONG_MESSAGE, f"more than {MAX_UTTERANCE_SECONDS} s of audio")
    if not pcm:
        raise UnreadableAudio(EMPTY_MESSAGE, "the recording holds no sound")
    return pcm


def to_wav(pcm: bytes, sample_rate: int) -> bytes:
    """PCM16 mono as a WAV file (the standard library writes it; no ffmpeg needed)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(BYTES_PER_SAMPLE)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


async def to_ogg_opus(pcm: bytes, sample_rate: int) -> bytes:
    """PCM16 mono as an OGG/Opus voice note, what messengers play."""
    return await run_ffmpeg(
        [*_pcm_input(sample_rate), "-c:a", "libopus", "-b:a", OPUS_BITRATE, "-f", "ogg", "pipe:1"],
        pcm,
    )


async def to_amr(pcm: bytes, sample_rate: int) -> bytes:
    """PCM16 mono as an AMR-NB file (8 kHz, 12.2 kbit/s), what WeChat plays as a voice message."""
    return await run_sox(
        [*_sox_pcm(sample_rate), "-", "-C", AMR_MODE, "-t", "amr-nb", "-r", "8000", "-c", "1", "-"],
        pcm,
    )


def pcm_as_float(pcm: bytes, sample_rate: int, target_rate: int) -> np.ndarray:
    """PCM16 mono as float32 samples in [-1, 1] at `target_rate`, in this process.

    For a recogniser's worker thread, which cannot await ffmpeg: telephone
    audio (8 kHz) goes up to the 16 kHz a model listens at. Polyphase
    resampling keeps the band the telephone carried and adds nothing above it.
    """
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % BYTES_PER_SAMPLE], dtype="<i2")
    audio = samples.astype(np.float32) / 32768.0
    if sample_rate == target_rate or not audio.size:
        return audio
    common = gcd(sample_rate, target_rate)
    return resample_poly(audio, target_rate // common, sample_rate // common).astype(np.float32)


def declared_wav_rate(data: bytes) -> int | None:
    """The sample rate a RIFF/WAVE file's fmt chunk declares; None when it is not
    WAV or the chunk is not there to read (ffmpeg then judges the file)."""
    return _fmt_field(data, 4, 4)  # after the format tag (2 bytes) and channels (2)


def declared_wav_channels(data: bytes) -> int | None:
    """The number of channels a RIFF/WAVE file's fmt chunk declares, or None."""
    return _fmt_field(data, 2, 2)  # after the format tag (2 bytes)


def _fmt_field(data: bytes, offset: int, size: int) -> int | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    position = 12
    while position + 8 <= len(data):
        chunk_size = int.from_bytes(data[position + 4 : position + 8], "little")
        if data[position : position + 4] == b"fmt ":
            field = data[position + 8 + offset : position + 8 + offset + size]
            return int.from_bytes(field, "little") if len(field) == size else None
        position += 8 + chunk_size + (chunk_size & 1)  # chunks are padded to even sizes
    return None


def _amr_type(data: bytes) -> str | None:
    """sox's name for the AMR flavour of `data`, or None when it is not AMR."""
    if data.startswith(AMR_WB_MAGIC):
        return "amr-wb"
    if data.startswith(AMR_NB_MAGIC):
        return "amr-nb"
    return None


def _sox_pcm(sample_rate: int) -> list[str]:
    """sox's words for PCM16 mono at `sample_rate` (the file name follows)."""
    return ["-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-r", str(sample_rate)]


async def to_telephone_pcm(pcm: bytes, sample_rate: int) -> bytes:
    """PCM16 mono resampled to 8 kHz linear PCM16 mono, for the telephone.

    In this process, not through ffmpeg: every sentence of every call comes
    here, and a process per sentence cost each of twenty calls its start-up
    time on the cores the calls share. Polyphase resampling filters out what
    the telephone cannot carry (above 4 kHz) instead of folding it back.
    """
    if sample_rate == TELEPHONE_SAMPLE_RATE:
        return pcm
    audio = pcm_as_float(pcm, sample_rate, TELEPHONE_SAMPLE_RATE)
    return float_as_pcm(audio)


def float_as_pcm(audio: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as PCM16 mono, clipped rather than wrapped."""
    return (np.clip(audio, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes()


def _pcm_input(sample_rate: int) -> list[str]:
    return ["-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "-i", "pipe:0"]


def _pcm_output(sample_rate: int) -> list[str]:
    return ["-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "s16le", "pipe:1"]


async def run_ffmpeg(arguments: list[str], data: bytes) -> bytes:
    """ffmpeg with `data` on stdin; its stdout, or a polite error if it fails or hangs."""
    return await _convert(
        [FFMPEG, "-hide_banner", "-nostats", "-loglevel", "error", *arguments], data
    )


async def run_sox(arguments: list[str], data: bytes) -> bytes:
    """sox with `data` on stdin; its stdout, or a polite error if it fails or hangs."""
    # -q: no progress display; -V1: only failures on stderr.
    return await _convert([SOX, "-q", "-V1", *arguments], data)


async def _convert(command: list[str], data: bytes) -> bytes:
    tool = command[0]
    async with _ffmpeg_slot():
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as error:
            logger.error("%s is not installed: voice conversion is off", tool)
            raise VoiceInputError(CONVERTER_MISSING_MESSAGE, f"{tool} not found") from error
        output, errors = await _communicate(process, data)
    if process.returncode != 0 or not output:
        # The converter's own words describe the file, never the person; keep them short.
        detail = errors.decode("utf-8", "replace").strip()[-300:]
        logger.info("%s could not convert audio: %s", tool, detail or f"exit {process.returncode}")
        raise UnreadableAudio(UNREADABLE_MESSAGE, detail)
    return output


async def _communicate(process: asyncio.subprocess.Process, data: bytes) -> tuple[bytes, bytes]:
    try:
        output = await asyncio.wait_for(process.communicate(data), FFMPEG_TIMEOUT_SECONDS)
    except asyncio.TimeoutError as error:
        process.kill()
        await process.wait()
        raise UnreadableAudio(UNREADABLE_MESSAGE, "the converter timed out") from error
    finally:
        await _collect_stdin_error(process)
    return output


async def _collect_stdin_error(process: asyncio.subprocess.Process) -> None:
    """ffmpeg may stop reading early (a broken file, or past the length limit);
    Python 3.10 keeps that broken pipe in a future nobody awaits, and logs
    "Future exception was never retrieved" unless it is collected here."""
    if process.stdin is not None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await process.stdin.wait_closed()


def _ffmpeg_slot() -> asyncio.Semaphore:
    """At most one converter (ffmpeg or sox) per core: a burst of uploads queues instead of thrashing."""
    # A semaphore belongs to one event loop; tests and tools may run several.
    loop = asyncio.get_running_loop()
    if loop not in _ffmpeg_slots:
        _ffmpeg_slots[loop] = asyncio.Semaphore(os.cpu_count() or 1)
    return _ffmpeg_slots[loop]
