"""The call the hotline cannot take: told so politely, then hung up.

Every call takes a share of the cores (recognition, synthesis, the dialogue),
so the server answers at most HOTLINE_MAX_CALLS at once. A call beyond that
hears one short sentence (synthesised once, then kept) and is hung up, so
Asterisk's dialplan goes on after AudioSocket() (to the operators' queue, or
a recorded message). Busy answers are bounded too: past as many again, a
connection is hung up at once, so a flood of connections costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.hotline import protocol
from bot.messages import HOTLINE_BUSY
from bot.speech import SpeechEngines
from voice.audio import to_telephone_pcm
from voice.errors import VoiceInputError
from voice.normalise import reply_for_ear
from voice.synthesis import SynthesisError

log = logging.getLogger("bot.hotline")

UUID_TIMEOUT_SECONDS = 5.0


class BusyLine:
    """Speaks HOTLINE_BUSY to calls over the limit; the audio is made once."""

    def __init__(self, speech: SpeechEngines, limit: int) -> None:
        self._speech = speech
        self._limit = limit
        self._answering = 0
        self._pcm: bytes | None = None
        self._making = asyncio.Lock()

    async def turn_away(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._answering >= self._limit:
            await protocol.hang_up(writer)
            return
        self._answering += 1
        try:
            if await _is_a_call(reader):
                await play(writer, await self._audio())
        finally:
            self._answering -= 1
            await protocol.hang_up(writer)

    async def _audio(self) -> bytes:
        """HOTLINE_BUSY at 8 kHz; empty while no synthesiser is loaded (then only hang up)."""
        async with self._making:
            if self._pcm is None:
                self._pcm = await self._synthesise()
            return self._pcm

    async def _synthesise(self) -> bytes | None:
        # The cheapest voice: every core is taken by the calls under way.
        synthesiser = self._speech.voice(others=self._limit)
        if synthesiser is None:
            return None
        try:
            speech = await synthesiser.synthesise(reply_for_ear({"text": HOTLINE_BUSY}))
            return await to_telephone_pcm(speech.pcm, speech.sample_rate)
        except (SynthesisError, VoiceInputError):
            log.warning("hotline busy message could not be synthesised")
            return None


async def _is_a_call(reader: asyncio.StreamReader) -> bool:
    """Whether the peer opens as Asterisk does, with the call's UUID frame."""
    try:
        frame = await asyncio.wait_for(protocol.read_frame(reader), UUID_TIMEOUT_SECONDS)
    except (protocol.ProtocolError, asyncio.TimeoutError, ConnectionError, OSError):
        return False
    return frame is not None and frame.kind == protocol.UUID


async def play(writer: asyncio.StreamWriter, pcm: bytes | None) -> None:
    """The audio in 20 ms frames at the pace of speech (Asterisk buffers little)."""
    if not pcm:
        return
    loop = asyncio.get_running_loop()
    started, size = loop.time(), protocol.FRAME_BYTES
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        for index, offset in enumerate(range(0, len(pcm), size)):
            writer.write(protocol.audio_frame(pcm[offset : offset + size].ljust(size, b"\0")))
            await writer.drain()
            delay = started + (index + 1) * protocol.FRAME_SECONDS - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
