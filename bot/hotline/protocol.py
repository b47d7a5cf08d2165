"""Asterisk's AudioSocket protocol: the frames, read and written exactly.

Every frame is a 3-byte header — one type byte, a 2-byte big-endian payload
length — and the payload (Asterisk's res_audiosocket / the protocol's README):

    0x00  hang-up (terminate), no payload; closing the socket is enough too
    0x01  the call's UUID, 16 bytes, the first frame of every connection
    0x03  one DTMF digit, 1 ASCII byte
    0x10  audio: signed linear 16-bit, 8 kHz, mono, little-endian (320 bytes = 20 ms)
    0xff  an error, with an optional application-specific code

A frame that breaks these rules raises `ProtocolError`, whose message says
what was wrong with the frame and never carries its payload (audio and digits
are the caller's).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid
from dataclasses import dataclass

HANGUP = 0x00
UUID = 0x01
DTMF = 0x03
AUDIO = 0x10
ERROR = 0xFF
KINDS = frozenset({HANGUP, UUID, DTMF, AUDIO, ERROR})

SAMPLE_RATE = 8000
BYTES_PER_SAMPLE = 2
FRAME_SECONDS = 0.020
FRAME_BYTES = int(SAMPLE_RATE * FRAME_SECONDS) * BYTES_PER_SAMPLE  # 320
# Asterisk sends 20 ms; a peer may batch a little more. Anything above this
# is not telephone audio (and the length field allows up to 64 KiB).
MAX_AUDIO_PAYLOAD = 16 * FRAME_BYTES
DTMF_DIGITS = frozenset("0123456789*#ABCD")
HEADER = struct.Struct(">BH")


class ProtocolError(Exception):
    """The peer sent something that is not AudioSocket; the message is safe to log."""


@dataclass(frozen=True)
class Frame:
    kind: int
    payload: bytes = b""

    def encode(self) -> bytes:
        return encode(self.kind, self.payload)


def encode(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("an AudioSocket payload holds at most 65535 bytes")
    return HEADER.pack(kind, len(payload)) + payload


def hangup_frame() -> bytes:
    return encode(HANGUP)


async def hang_up(writer: asyncio.StreamWriter) -> None:
    """Sends the hang-up frame, then closes the connection, even when the peer
    has stopped reading (the frame is best effort; the close is not)."""
    with contextlib.suppress(ConnectionError, OSError, RuntimeError, asyncio.TimeoutError):
        if not writer.is_closing():
            writer.write(hangup_frame())
            await asyncio.wait_for(writer.drain(), 2)
    with contextlib.suppress(ConnectionError, OSError, RuntimeError, asyncio.TimeoutError):
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 2)


def audio_frame(pcm: bytes) -> bytes:
    return encode(AUDIO, pcm)


def uuid_frame(call_id: uuid.UUID) -> bytes:
    return encode(UUID, call_id.bytes)


def dtmf_frame(digit: str) -> bytes:
    return encode(DTMF, digit.encode("ascii"))


async def read_frame(reader: asyncio.StreamReader) -> Frame | None:
    """The next frame, or None when the peer closed the connection between frames.

    Raises ProtocolError for an unknown type, a payload of the wrong size for
    its type, or a connection closed in the middle of a frame.
    """
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            return None
        raise ProtocolError("connection closed inside a frame header") from None
    kind, length = HEADER.unpack(header)
    if kind not in KINDS:
        raise ProtocolError(f"unknown frame type 0x{kind:02x} (length {length})")
    check_length(kind, length)
    try:
        payload = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        raise ProtocolError(f"connection closed inside a 0x{kind:02x} frame") from None
    if kind == DTMF and payload.decode("ascii", "replace") not in DTMF_DIGITS:
        raise ProtocolError("a DTMF frame that is not a digit, *, # or A-D")
    return Frame(kind, payload)


def check_length(kind: int, length: int) -> None:
    if kind == UUID and length != 16:
        raise ProtocolError(f"a UUID frame of {length} bytes, not 16")
    if kind == DTMF and length != 1:
        raise ProtocolError(f"a DTMF frame of {length} bytes, not 1")
    if kind == AUDIO and (length % BYTES_PER_SAMPLE or length > MAX_AUDIO_PAYLOAD):
        raise ProtocolError(f"an audio frame of {length} bytes")
    if kind == HANGUP and length:
        raise ProtocolError(f"a hang-up frame with {length} bytes of payload")
    # ERROR: any length; its payload is an optional code.
