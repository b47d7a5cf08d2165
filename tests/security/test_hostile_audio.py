"""Audio and AudioSocket input the fuzz suite (tests/security/fuzz) found
holding the gateway's resources: each is now refused at once."""

from __future__ import annotations

import asyncio
import struct

import pytest

import voice.audio
from bot.hotline import protocol
from bot.hotline.call import Call, CallSettings
from scripts.launcher import free_port
from tests.security.gateway import database, gateway
from voice.audio import (
    MAX_INPUT_SAMPLE_RATE,
    declared_wav_channels,
    declared_wav_rate,
    to_pcm,
)
from voice.errors import UnreadableAudio


def wav(rate: int, pcm: bytes = b"\x00\x00" * 100, channels: int = 1) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 % 2**32, 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def test_the_declared_rate_is_read_from_the_fmt_chunk():
    assert declared_wav_rate(wav(16_000)) == 16_000
    assert declared_wav_rate(wav(16_000)[:26]) is None  # cut inside the rate
    assert declared_wav_rate(b"OggS" + bytes(40)) is None
    padded = wav(8_000).replace(b"WAVE", b"WAVELIST" + struct.pack("<I", 3) + b"abc\x00", 1)
    assert declared_wav_rate(padded) == 8_000  # an odd-sized chunk before it, padded
    assert declared_wav_channels(wav(16_000, channels=2)) == 2


async def test_a_wav_declaring_an_impossible_rate_never_reaches_ffmpeg(monkeypatch):
    """47 bytes declaring 202 MHz took ffmpeg ten seconds and a failed
    multi-gigabyte allocation, holding one of the two converter slots; a
    header declaring thousands of channels held it past every bound."""
    converted = []

    async def ffmpeg(*args, **kwargs):
        converted.append(args)
        raise AssertionError("the converter was asked to read it")

    monkeypatch.setattr(voice.audio, "run_ffmpeg", ffmpeg)
    for rate, channels in (
        (202_201_374, 1),
        (MAX_INPUT_SAMPLE_RATE + 1, 1),
        (0, 1),
        (16_000, 3793),
    ):
        with pytest.raises(UnreadableAudio):
            await to_pcm(wav(rate, b"\x00", channels), 16_000)
    assert converted == []


async def test_a_wav_at_a_real_rate_is_still_converted():
    pcm = await to_pcm(wav(48_000, b"\x01\x00" * 4800), 16_000)
    assert 3000 <= len(pcm) <= 3400  # a tenth of a second at 16 kHz


@pytest.mark.parametrize("first", [protocol.hangup_frame(), b""], ids=["hang-up", "nothing"])
async def test_a_connection_ended_before_its_uuid_is_closed(monkeypatch, tmp_path, first):
    """It was left open: one leaked socket per connection."""
    port = free_port()
    async with gateway(monkeypatch, database(tmp_path), hotline_port=port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(first)
        if not first:
            writer.write_eof()
        await writer.drain()
        received = await asyncio.wait_for(reader.read(), 10)  # until the server closes
        assert received in (b"", protocol.hangup_frame())
        writer.close()


async def test_a_call_cancelled_while_listening_leaves_no_task_behind():
    """The call is cancelled at its caller's hang-up, often while it waits for
    the next key: the helper task waiting on the queue was left pending and
    destroyed later ("Task was destroyed but it is pending!", logged as an error)."""
    call = Call.__new__(Call)  # only what next_event uses
    call.events, call.hung_up, call.utterance = asyncio.Queue(), asyncio.Event(), None
    call.settings = CallSettings(silence_seconds=30.0)
    listening = asyncio.ensure_future(call.next_event())
    await asyncio.sleep(0.05)
    listening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await listening
    await asyncio.sleep(0)
    left = [t for t in asyncio.all_tasks() if "Queue.get" in repr(t) and not t.done()]
    assert not left
