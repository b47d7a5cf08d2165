"""aiohttp's own refusals of a request, said in Chinese.

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
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        refused = json_response({"error": REQUEST_TOO_LARGE}, status=413)
        # The rest of the body is never read: the connection closes rather
        # than carry it into the next request.
        refused.force_close()
        return refused
