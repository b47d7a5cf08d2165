"""A telephone system for the tests: it calls the gateway as Asterisk's AudioSocket does.

    async with SimulatedCall(port) as call:
        greeting = await call.next_answer()          # what the assistant said
        await call.say(await telephone_audio(wav))   # 20 ms frames, in real time
        await call.press("1")
        await call.hang_up()

Like Asterisk, it sends the call's UUID first, then a 320-byte frame of audio
every 20 ms for the whole call (silence when the caller says nothing), DTMF
as 1-byte frames and the hang-up as 0x00 0x00 0x00. Every frame it receives
is kept with its arrival time, so a test measures what a caller would
notice: when the assistant spoke, for how long, how loudly, and when it
stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import struct
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.hotline import protocol
from voice.audio import to_pcm

# Frames further apart than this belong to two different answers: the
# assistant sends its pauses between sentences as audio, so only the end of
# an answer leaves the line without frames.
ANSWER_GAP_SECONDS = 0.3
# The command line's reply to a step: all it says until the line is this long quiet.
REPLY_OVER_SECONDS = 2.0


@dataclass
class _Stretch:
    """An answer being gathered: its frames, joined once it is whole."""

    started: float
    ended: float
    frames: list[bytes] = field(repr=False)


@dataclass
class Answer:
    """One stretch of the assistant's speech, as the caller received it."""

    started: float  # perf_counter of the first frame
    ended: float  # perf_counter of the last frame
    pcm: bytes = field(repr=False)  # never printed in a failure: it is audio

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (2 * protocol.SAMPLE_RATE)

    @property
    def rms(self) -> float:
        samples = np.frombuffer(self.pcm, dtype="<i2").astype(np.float64)
        return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


async def telephone_audio(wav: bytes) -> bytes:
    """A recording (e.g. espeak-ng's WAV) as 8 kHz 16-bit mono, as the line carries it."""
    return await to_pcm(wav, protocol.SAMPLE_RATE)


class SimulatedCall:
    def __init__(self, port: int, host: str = "127.0.0.1", call_id: uuid.UUID | None = None):
        self.host, self.port = host, port
        self.call_id = call_id or uuid.uuid4()
        self.received: list[tuple[float, bytes]] = []  # (arrival, audio payload)
        self.other_frames: list[tuple[float, int, bytes]] = []
        self.hung_up_by_assistant = asyncio.Event()  # a 0x00 frame arrived
        self.closed = asyncio.Event()  # the connection closed
        self._outgoing = bytearray()  # caller audio waiting to be sent
        self._spoken = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._writer: asyncio.StreamWriter | None = None
        self.connected_at = 0.0
        self._read_upto = 0  # index into received of the answers already taken
        self.left_audiosocket_at: float | None = None  # when a transfer took the call away

    async def __aenter__(self) -> SimulatedCall:
        await self.connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def connect(self, send_uuid: bool = True, stream_audio: bool = True) -> None:
        # A phone reads the line without pause. This process (a whole test
        # session: some 850,000 objects) would stop for about 0.4 s in a full
        # garbage collection, and frames read late would look like a gap in
        # the assistant's speech. What exists now is kept out of the collector.
        gc.freeze()
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self.connected_at = time.perf_counter()
        if send_uuid:
            await self.send_raw(protocol.uuid_frame(self.call_id))
        self._tasks.append(asyncio.ensure_future(self._receive()))
        if stream_audio:
            self._tasks.append(asyncio.ensure_future(self._stream()))

    async def send_raw(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def _stream(self) -> None:
        """A frame every 20 ms, as Asterisk does: the caller's words, else silence."""
        size = protocol.FRAME_BYTES
        start = time.perf_counter()
        sent = 0
        try:
            while not self.closed.is_set():
                frame = bytes(self._outgoing[:size]).ljust(size, b"\0")
                del self._outgoing[:size]
                if not self._outgoing:
                    self._spoken.set()
                await self.send_raw(protocol.audio_frame(frame))
                sent += 1
                await asyncio.sleep(max(0.0, start + sent * 0.02 - time.perf_counter()))
        except (ConnectionError, OSError):
            pass

    async def _receive(self) -> None:
        try:
            while True:
                header = await self._reader.readexactly(3)
                kind, length = struct.unpack(">BH", header)
                payload = await self._reader.readexactly(length) if length else b""
                now = time.perf_counter()
                if kind == protocol.AUDIO:
                    assert length == protocol.FRAME_BYTES, length
                    self.received.append((now, payload))
                else:
                    self.other_frames.append((now, kind, payload))
                    if kind == protocol.HANGUP:
                        self.hung_up_by_assistant.set()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.closed.set()

    async def say(self, pcm: bytes) -> float:
        """Speaks `pcm` (8 kHz) in real time; returns when it was all sent (end of speech)."""
        self._spoken.clear()
        self._outgoing += pcm
        await self._spoken.wait()
        # The last frame is on the wire once the next tick has passed.
        await asyncio.sleep(0.02)
        return time.perf_counter()

    async def press(self, digit: str) -> float:
        await self.send_raw(protocol.dtmf_frame(digit))
        return time.perf_counter()

    async def hang_up(self) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self.closed.set()
            try:
                await self.send_raw(protocol.hangup_frame())
            except (ConnectionError, OSError, RuntimeError):  # RuntimeError: after write_eof
                pass
            self._writer.close()

    async def close_from_asterisk(self) -> None:
        """The channel left AudioSocket() (a transfer): Asterisk closes the socket."""
        self.left_audiosocket_at = time.perf_counter()
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()

    async def close(self) -> None:
        await self.hang_up()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def answers(self, since: float = 0.0) -> list[Answer]:
        """Every stretch of speech received after `since`."""
        # Frames are gathered first and joined once per answer: twenty calls
        # polling for their answers, each copying its audio frame by frame
        # (quadratic), kept this process too busy to read the frames on time,
        # and a greeting read late looked cut in two.
        stretches: list[_Stretch] = []
        for at, pcm in self.received:
            if at < since:
                continue
            if stretches and at - stretches[-1].ended <= ANSWER_GAP_SECONDS:
                stretches[-1].ended = at
                stretches[-1].frames.append(pcm)
            else:
                stretches.append(_Stretch(at, at, [pcm]))
        return [Answer(s.started, s.ended, b"".join(s.frames)) for s in stretches]

    async def next_answer(self, timeout: float = 60.0, since: float | None = None) -> Answer:
        """The next whole answer: waits for its first frame, then for the line to go quiet."""
        since = time.perf_counter() if since is None else since
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            found = self.answers(since)
            if found and time.perf_counter() - found[0].ended > ANSWER_GAP_SECONDS + 0.2:
                return found[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no whole answer within {timeout} s: {self.answers(since)}")

    def audio_seconds(self, after: float, until: float) -> float:
        """How much audio (seconds of it, not of the clock) arrived in (after, until]."""
        pcm_bytes = sum(len(pcm) for at, pcm in self.received if after < at <= until)
        return pcm_bytes / (2 * protocol.SAMPLE_RATE)

    async def quiet_after(self, since: float, quiet: float = 1.0, timeout: float = 30.0) -> float:
        """Waits for audio after `since`, then for `quiet` seconds without any;
        returns when the last frame arrived. Unlike `next_answer`, pauses
        shorter than `quiet` do not end the wait."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            last = self.received[-1][0] if self.received else 0.0
            if last > since and time.perf_counter() - last > quiet:
                return last
            await asyncio.sleep(0.05)
        raise AssertionError(f"the line was not quiet for {quiet} s within {timeout} s")

    async def first_audio_after(self, since: float, timeout: float = 60.0) -> float:
        """When the first frame after `since` arrived."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, _ in self.received:
                if at > since:
                    return at
            await asyncio.sleep(0.01)
        raise AssertionError(f"no audio within {timeout} s")


# A developer's telephone: call a running gateway as Asterisk would and keep
# what was heard, to listen to it and look at its length and spectrogram.
#
#   .venv/bin/python -m tests.support.audiosocket_sim --port 9092 \
#       --step press:1 --step say:question.wav --step press:0 --save call.wav


def _wav_bytes(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(protocol.SAMPLE_RATE)
        wav.writeframes(pcm)
    return buffer.getvalue()


async def _call(port: int, steps: list[str], save: str | None, answer_timeout: float) -> None:
    async with SimulatedCall(port) as call:
        heard = [await call.next_answer(answer_timeout, since=call.connected_at)]
        print(f"greeting: {heard[0].seconds:.1f} s of speech, rms {heard[0].rms:.0f}")
        for step in steps:
            kind, _, value = step.partition(":")
            if kind == "press":
                since = await call.press(value)
            elif kind == "say":
                since = await call.say(await telephone_audio(Path(value).read_bytes()))
            else:
                raise SystemExit(f"unknown step {step!r}: press:<digit> or say:<file.wav>")
            if call.closed.is_set():
                print(f"{step}: the line was closed")
                break
            # The whole reply: a spoken message per line, with pauses between them.
            try:
                await call.quiet_after(since, quiet=REPLY_OVER_SECONDS, timeout=answer_timeout)
            except AssertionError:
                print(f"{step}: no whole answer within {answer_timeout} s")
                break
            parts = call.answers(since)
            heard += parts
            seconds = sum(part.seconds for part in parts)
            print(f"{step}: {seconds:.1f} s of speech in {len(parts)} parts")
        if save:
            Path(save).write_bytes(_wav_bytes(b"".join(answer.pcm for answer in heard)))
            print(f"saved what was heard to {save}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Call the hotline of a running gateway.")
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--step", action="append", default=[], help="press:<digit> or say:<wav>")
    parser.add_argument("--save", help="write everything heard to this WAV file")
    parser.add_argument("--answer-timeout", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(_call(args.port, args.step, args.save, args.answer_timeout))


if __name__ == "__main__":
    main()
