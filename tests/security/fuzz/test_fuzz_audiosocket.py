"""Asterisk's AudioSocket under generated frames: the parser directly
(bot/hotline/protocol.py), and frame sequences over real TCP connections to
the gateway's hotline server.

Properties. The parser: every byte string parses into frames that keep the
protocol's rules, then ends (None) or raises ProtocolError, nothing else;
valid frames come back exactly as sent. The server: every connection is
ended within the liveness bound by the server's hang-up frame and close,
whether it was a call that hung up, reported an error, or sent something
that is not AudioSocket; all it sends is AudioSocket; and it still answers
a well-formed call afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.hotline import protocol
from tests.security.fuzz.figures import figures
from tests.security.fuzz.settings import BATCH, LIVENESS_SECONDS, fuzz_settings

PARSER = "AudioSocket parser"
SERVER = "AudioSocket TCP (frames)"
CONNECTIONS = 10  # per example, at once


@dataclass(frozen=True)
class Piece:
    """Bytes to send, and whether they keep the protocol."""

    data: bytes
    valid: bool
    ends_call: bool = False


def frame(kind: int, payload: bytes, valid: bool = True, ends_call: bool = False) -> Piece:
    return Piece(protocol.encode(kind, payload), valid, ends_call)


audio = st.integers(0, protocol.MAX_AUDIO_PAYLOAD // 2).map(
    lambda samples: frame(protocol.AUDIO, bytes(2 * samples))
)
loud_audio = st.binary(min_size=320, max_size=320).map(lambda pcm: frame(protocol.AUDIO, pcm))
dtmf = st.sampled_from(sorted(protocol.DTMF_DIGITS)).map(
    lambda digit: frame(protocol.DTMF, digit.encode())
)
another_uuid = st.uuids().map(lambda u: frame(protocol.UUID, u.bytes))
error = st.binary(max_size=4).map(lambda code: frame(protocol.ERROR, code, ends_call=True))
hangup = st.just(frame(protocol.HANGUP, b"", ends_call=True))


@st.composite
def malformed(draw: st.DrawFn) -> Piece:
    """A frame no Asterisk sends: unknown type, wrong length, not a digit, cut short."""
    how = draw(st.integers(0, 5))
    if how == 0:
        kind = draw(st.integers(0, 255).filter(lambda k: k not in protocol.KINDS))
        return Piece(protocol.HEADER.pack(kind, draw(st.integers(0, 65535))), False)
    if how == 1:
        length = draw(st.integers(0, 65535).filter(lambda n: n != 16))
        return Piece(protocol.HEADER.pack(protocol.UUID, length) + bytes(min(length, 64)), False)
    if how == 2:
        length = draw(st.integers(2, 65535))
        return Piece(protocol.HEADER.pack(protocol.DTMF, length) + b"1" * min(length, 8), False)
    if how == 3:
        digit = draw(
            st.binary(min_size=1, max_size=1).filter(
                lambda b: b.decode("latin-1") not in protocol.DTMF_DIGITS
            )
        )
        return Piece(protocol.encode(protocol.DTMF, digit), False)
    if how == 4:
        length = draw(st.one_of(st.integers(protocol.MAX_AUDIO_PAYLOAD + 1, 65535), st.just(321)))
        return Piece(protocol.HEADER.pack(protocol.AUDIO, length) + bytes(min(length, 400)), False)
    return Piece(protocol.HEADER.pack(protocol.HANGUP, draw(st.integers(1, 65535))), False)


pieces = st.one_of(audio, audio, loud_audio, dtmf, another_uuid, error, hangup, malformed())


# --- the parser ------------------------------------------------------------------


async def parse_all(data: bytes) -> tuple[list[protocol.Frame], str]:
    """Every frame of `data`, then how it ended: "end" or "protocol error"."""
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames: list[protocol.Frame] = []
    while True:
        try:
            parsed = await asyncio.wait_for(protocol.read_frame(reader), LIVENESS_SECONDS)
        except protocol.ProtocolError:
            return frames, "protocol error"
        if parsed is None:
            return frames, "end"
        frames.append(parsed)


def keeps_the_rules(parsed: protocol.Frame) -> bool:
    protocol.check_length(parsed.kind, len(parsed.payload))  # raises if not
    return parsed.kind in protocol.KINDS


byte_strings = st.one_of(
    st.binary(max_size=400),
    st.lists(pieces, max_size=12).map(lambda ps: b"".join(p.data for p in ps)),
    st.tuples(st.lists(pieces, max_size=6), st.integers(0, 2000)).map(
        lambda t: b"".join(p.data for p in t[0])[: t[1]]  # cut anywhere
    ),
)


@fuzz_settings()
@given(
    batch=st.lists(byte_strings, min_size=BATCH, max_size=BATCH),
    valid=st.lists(st.one_of(audio, dtmf, another_uuid, error, hangup), max_size=20),
)
def test_the_parser_reads_frames_or_refuses(fuzz_gateway, batch, valid):
    async def parse() -> None:
        for data in batch:
            frames, how = await parse_all(data)
            figures(PARSER).note(how)
            assert all(keeps_the_rules(f) for f in frames)
        sent = b"".join(p.data for p in valid)
        frames, how = await parse_all(sent)
        figures(PARSER).note(how)
        assert how == "end" and b"".join(f.encode() for f in frames) == sent

    fuzz_gateway.run(parse())


# --- the server over TCP -----------------------------------------------------------------


@st.composite
def calls(draw: st.DrawFn) -> list[Piece]:
    """One connection's frames: mostly a UUID first, then a call's frames, then
    maybe its end: a hang-up, an error or a malformed frame (else the test hangs up)."""
    first = draw(st.one_of(st.uuids().map(lambda u: [frame(protocol.UUID, u.bytes)]), st.just([])))
    middle = draw(
        st.lists(st.one_of(audio, audio, audio, loud_audio, dtmf, another_uuid), max_size=30)
    )
    last = draw(st.one_of(hangup, error, malformed(), malformed(), st.none()))
    return first + middle + ([last] if last else [])


async def one_call(port: int, sent: list[Piece]) -> str | None:
    """Sends the frames; the problem, if the server did not end the call cleanly in time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        for piece in sent:
            writer.write(piece.data)
            figures(SERVER).note("valid" if piece.valid else "malformed")
            if not piece.valid or piece.ends_call:
                break
        else:
            writer.write(protocol.hangup_frame())
        await writer.drain()
    except (ConnectionError, OSError):
        pass  # the server hung up while frames were still on their way: allowed
    try:
        received, ending = await asyncio.wait_for(_everything(reader), LIVENESS_SECONDS)
    except asyncio.TimeoutError:
        return f"the server did not end the connection in {LIVENESS_SECONDS} s: {_brief(sent)}"
    finally:
        writer.close()
    figures(SERVER).slowest_seconds = max(figures(SERVER).slowest_seconds, loop.time() - started)
    if ending not in ("end", "reset"):
        return f"the server sent what is not AudioSocket ({ending}): {_brief(sent)}"
    if ending == "end" and received and received[-1].kind != protocol.HANGUP:
        return f"the server closed without its hang-up frame: {_brief(sent)}"
    return None


async def _everything(reader: asyncio.StreamReader) -> tuple[list[protocol.Frame], str]:
    frames: list[protocol.Frame] = []
    try:
        while (parsed := await protocol.read_frame(reader)) is not None:
            frames.append(parsed)
    except protocol.ProtocolError as wrong:
        return frames, str(wrong)
    except (ConnectionError, OSError):
        return frames, "reset"
    return frames, "end"


def _brief(sent: list[Piece]) -> str:
    return " ".join(p.data[:8].hex() + ("" if p.valid else "!") for p in sent)[:400]


async def a_normal_call(port: int) -> None:
    """A call with a key pressed and a hang-up is answered and ended as ever."""
    pieces_ = [frame(protocol.UUID, uuid.uuid4().bytes), frame(protocol.DTMF, b"*")]
    assert await one_call(port, pieces_) is None


@fuzz_settings()
@given(batch=st.lists(calls(), min_size=CONNECTIONS, max_size=CONNECTIONS))
def test_the_hotline_ends_every_connection_cleanly(fuzz_gateway, error_log, batch):
    gateway: Any = fuzz_gateway
    port = gateway.servers.hotline_port

    async def attack() -> list[str | None]:
        found = await asyncio.gather(*(one_call(port, sent) for sent in batch))
        await a_normal_call(port)
        return list(found)

    problems = [p for p in gateway.run(attack()) if p] + error_log.take()
    assert not problems, "\n".join(problems[:5])


# Minutes of generated input: the full suite's (CI), not ./dev test --fast.
pytestmark = pytest.mark.stack
