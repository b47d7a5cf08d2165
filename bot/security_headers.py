"""The security headers of every gateway response, as one middleware.

The pages (bot/static/) load only their own files: no inline script or style,
no other origin. So the Content-Security-Policy allows 'self' and nothing
else, plus the WebSocket of the voice stream on this same host (older browsers
do not count ws:/wss: as 'self'). Pages may not be framed (clickjacking a
conversation), nothing is sent on as a referrer (a conversation's address is
nobody's business), and content types are never guessed. HSTS is sent only
over HTTPS (directly, or as the trusted proxy says: bot/web_identity.py
is_https), since over plain HTTP it would be ignored or, worse, lock a
development host out.

A sub-application with its own headers (the staff console) keeps them: values
already set are left alone. Responses other than static files are not cached:
they carry personal data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.web_identity import is_https

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HSTS = "max-age=31536000; includeSubDomains"
STATIC_PREFIX = "/static/"


def content_security_policy(host: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "media-src 'self'",
            f"connect-src 'self' ws://{host} wss://{host}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as refused:  # redirects and error pages too
        add_headers(request, refused)
        raise
    if not response.prepared:  # a WebSocket or stream has sent its headers already
        add_headers(request, response)
    return response


def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(request.host))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith(STATIC_PREFIX):
        headers.setdefault("Cache-Control", "no-store")
    if is_https(request):
        headers.setdefault("Strict-Transport-Security", HSTS)
