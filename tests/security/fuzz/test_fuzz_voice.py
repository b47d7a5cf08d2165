"""POST /api/voice/turn under generated uploads: random bytes, WAV files with
truncated, huge or nonsensical headers, AMR that is not, empty and oversized
bodies, any content type, any `?sender=`.

Properties (each input): no 5xx, an answer in time, and either the turn's
answer (200: the transcript and replies; a recording that cannot be used is
answered with a Chinese reply saying so) or a rejection in Chinese.
Most uploads are decoded by a stand-in for ffmpeg (harness.Converter), a
share of them by the real ffmpeg and sox.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.fuzz.figures import is_chinese
from tests.security.fuzz.probe import Answer, Request, says_why_in_chinese, send, survives
from tests.security.fuzz.settings import BATCH, fuzz_settings
from tests.security.fuzz.strategies import authorizations, content_types, cookies, headers_of
from voice.audio import AMR_NB_MAGIC, AMR_WB_MAGIC

TARGET = "POST /api/voice/turn"
U32 = st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([0, 1, 2**31, 2**32 - 1]))


@st.composite
def wav_files(draw: st.DrawFn) -> bytes:
    """A RIFF/WAVE file whose every header field may lie, cut anywhere."""
    channels = draw(st.one_of(st.just(1), st.integers(0, 65535)))
    width = draw(st.one_of(st.just(2), st.integers(0, 65535)))
    rate = draw(st.one_of(st.sampled_from([8000, 16000, 48000]), U32))
    fmt_tag = draw(st.one_of(st.just(1), st.integers(0, 65535)))
    frames = draw(st.binary(max_size=4000))
    data_size = draw(st.one_of(st.just(len(frames)), U32))
    fmt = struct.pack(
        "<HHIIHH",
        fmt_tag,
        channels,
        rate,
        (rate * channels * width) % 2**32,
        (channels * width) % 2**16,
        width * 8 % 2**16,
    )
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"data" + struct.pack("<I", data_size) + frames
    riff_size = draw(st.one_of(st.just(len(chunks) + 4), U32))
    whole = b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + chunks
    cut = draw(st.integers(0, len(whole)))
    return whole if draw(st.booleans()) else whole[:cut]


@st.composite
def uploads(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 199))
    if kind < 60:
        return draw(st.binary(max_size=2000))
    if kind < 150:
        return draw(wav_files())
    if kind < 170:
        silence = bytes(2 * draw(st.integers(1, 16000)))
        return (
            b"RIFF"
            + struct.pack("<I", 36 + len(silence))
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
            + b"data"
            + struct.pack("<I", len(silence))
            + silence
        )
    if kind < 185:
        return draw(st.sampled_from([AMR_NB_MAGIC, AMR_WB_MAGIC])) + draw(st.binary(max_size=500))
    if kind < 197:
        return b""
    return b"\x00" * draw(st.sampled_from([300_000, 17 * 1024 * 1024]))


@st.composite
def voice_requests(draw: st.DrawFn) -> Request:
    headers = headers_of(draw(content_types), draw(authorizations), draw(cookies))
    params = {}
    if draw(st.integers(0, 9)) == 0:
        params["sender"] = draw(st.text(max_size=140))
    return Request("POST", "/api/voice/turn", draw(uploads()), headers, params)


def judge(request: Request, answer: Answer) -> str | None:
    if answer.status != 200:
        return None if says_why_in_chinese(answer) else "a rejection without a Chinese reason"
    body = answer.json()
    if not isinstance(body, dict) or not isinstance(body.get("replies"), list):
        return "a 200 that is not the turn's answer"
    if not body.get("transcript") and not all(
        is_chinese(r.get("text", "")) for r in body["replies"]
    ):
        return "an unusable recording answered without a Chinese reply"
    return None


NORMAL = Request(
    "POST",
    "/api/voice/say",
    '{"message": "你好"}'.encode(),
    {"Content-Type": "application/json"},
)


async def still_answers(gateway: Any) -> None:
    answer = await send(gateway.session, gateway.servers.web, NORMAL)
    assert answer.status == 200, answer.text


@fuzz_settings()
@given(batch=st.lists(voice_requests(), min_size=BATCH, max_size=BATCH))
def test_voice_upload_answers_every_recording(fuzz_gateway, error_log, batch):
    servers = fuzz_gateway.servers
    survives(fuzz_gateway, error_log, TARGET, judge, {servers.web: batch}, still_answers)


# Minutes of generated input: the full suite's (CI), not ./dev test --fast.
pytestmark = pytest.mark.stack
