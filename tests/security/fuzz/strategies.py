"""Generated inputs shared by the fuzz targets: JSON of every shape, odd text,
headers an attacker (or a broken client) might send."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from tests.support.gateway_api import API_TOKEN

# Any code point, lone surrogates included: they survive JSON's \\u escapes.
ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
odd_text = st.one_of(
    st.text(max_size=40),
    st.text(ANY_CHARACTER, max_size=40),
    st.text("老板欠我工资０１２３ \t\n\r\x00\u200b\u202e\ufeff", max_size=60),
    st.sampled_from(["", " ", "接续 123456", "接续", "1", "转人工", "\x00", "\ud800", "🙂" * 3]),
)
# Thousands of characters for a few of hypothesis' choices: a short piece
# repeated. Drawing each character (st.text(max_size=5000)) made batches overrun
# hypothesis' buffer, so most examples were generated, thrown away and redrawn.
long_text = st.builds(
    lambda piece, times: (piece or "欠薪") * times, odd_text, st.integers(1, 2_500)
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def deep_nesting(draw: st.DrawFn) -> bytes:
    """Arrays or objects nested deeper than any parser's recursion allows."""
    depth = draw(st.sampled_from([100, 1_000, 5_000, 50_000]))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"message":', "}")]))
    return (opener * depth + "1" + closer * depth).encode()


def encoded(value: object, ascii_only: bool) -> bytes:
    """JSON bytes; lone surrogates kept as \\u escapes, or written raw (bad UTF-8)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)

content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/json; charset=utf-16",
            "application/json; charset=no-such-charset",
            "text/plain",
            "text/xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "audio/wav",
            "application/octet-stream",
            "",
        ]
    ),
    header_text,
)

authorizations = st.one_of(
    st.none(),
    st.just(f"Bearer {API_TOKEN}"),
    st.builds(lambda t: f"Bearer {t}", header_text),
    header_text,
)
cookies = st.one_of(
    st.none(),
    st.builds(lambda v: f"fayuan_chat={v}", header_text.filter(lambda v: ";" not in v)),
    st.just("fayuan_chat=web-00000000000000000000000000000000.forged"),
)


def headers_of(content_type: str | None, authorization: str | None, cookie: str | None) -> dict:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if authorization is not None:
        headers["Authorization"] = authorization
    if cookie is not None:
        headers["Cookie"] = cookie
    return headers
