"""aiohttp's own refusals of a request, said in Chinese; and a refused request's
connection closed when its body was not read.

A body over a route's limit is refused by aiohttp itself (413) with English
text ("Maximum request body size … exceeded"), which a person's page or app
cannot show; the fuzz suite (tests/security/fuzz) found it. This middleware
answers it as every other refusal of the web API is answered: JSON with a
Chinese `error`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.messages import REQUEST_TOO_LARGE
from bot.responses import json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def refusals_in_chinese(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        response = json_response({"error": REQUEST_TOO_LARGE}, status=413)
    except web.HTTPException as refusal:
        _close_if_body_unread(request, refusal)
        raise
    _close_if_body_unread(request, response)
    return response


def _close_if_body_unread(request: web.Request, response: web.StreamResponse) -> None:
    """A request answered before its body was read to the end (a refusal by its
    headers: a wrong secret, a body too large) closes its connection. Kept open,
    the unread rest left the next request on it unanswered: a Telegram update
    sent after a refused one waited a minute (found by the fuzz suite)."""
    if request.body_exists and not request.content.at_eof():
        response.force_close()
