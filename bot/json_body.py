"""Reading a JSON request body that anybody may have sent.

aiohttp's `request.json()` raises more than ValueError for hostile bodies: an
unknown charset in the Content-Type is a LookupError, nesting deeper than the
parser's recursion a RecursionError, and both reached the client as 500s (the
fuzz suite, tests/security/fuzz, found them). JSON may also carry lone UTF-16
surrogates as `\\ud800` escapes: valid JSON syntax, but not text; such a
string fails later, wherever it is first encoded (the log's pseudonym, the
store's hashes). So every body is refused here, as one ValueError with the
reason to show, before any of it is used.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.messages import CHAT_NOT_JSON, CHAT_NOT_TEXT


class BadJsonBody(ValueError):
    """The body is not usable JSON text; `str(error)` is the reason for the client."""


async def read_json(request: web.Request) -> Any:
    """The body's JSON value, or BadJsonBody."""
    raw = await request.read()
    try:
        value = json.loads(raw.decode(request.charset or "utf-8"))
    except (ValueError, LookupError, RecursionError):
        raise BadJsonBody(CHAT_NOT_JSON) from None
    try:
        # The same value as UTF-8 text: fails only for lone surrogates.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadJsonBody(CHAT_NOT_TEXT) from None
    return value
