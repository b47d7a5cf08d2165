"""Per-client-address limits: request rates and body sizes, route by route.

No rate-limiting library is installed with the project, and aiohttp has no
well-kept one; this is one small token bucket per (kind, address), kept in a
bounded most-recently-used map so that a flood of addresses costs bounded
memory. Each gateway instance counts on its own; with several gateways sharing
Redis (REDIS_URL), each request is also counted in the shared state, so that
an address gets its requests a minute once, not once per gateway (a fixed
minute there: the bucket here still smooths bursts).

    kind     routes                                         per minute (burst = the same)
    chat     POST /api/chat, POST /chat                     RATE_LIMIT_CHAT   (default 60)
    polls    GET /api/chat/updates, GET /api/voice/updates  RATE_LIMIT_POLLS  (default 120)
    voice    POST /api/voice/turn, /api/voice/say,          RATE_LIMIT_VOICE  (default 30)
             GET /api/voice/stream
    login    POST /console/login                            RATE_LIMIT_LOGIN  (default 10)

0 turns a kind off. Too many: 429 with `Retry-After` and RATE_LIMITED (bot/messages.py).

The client's address is the connection's, or, when the connection comes from
one of TRUSTED_PROXIES, the last address in X-Forwarded-For that the proxy added.

Body sizes (413 above them, before the body is read): the voice upload
(POST /api/voice/turn) MAX_VOICE_UPLOAD_BYTES, a minute of 48 kHz stereo WAV;
every other route MAX_REQUEST_BYTES. (/wechat reads at most its own 32 kB.)
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.appkeys import CONFIG
from bot.messages import RATE_LIMITED
from bot.recent import Recent
from bot.shared_state import SharedState, hashed
from voice.audio import MAX_INPUT_BYTES

MAX_REQUEST_BYTES = 256 * 1024
MAX_VOICE_UPLOAD_BYTES = MAX_INPUT_BYTES  # 16 MiB
# Addresses remembered per kind; the longest unused are forgotten first.
ADDRESSES_KEPT = 50_000

# (method, path) -> kind. Only these routes are limited.
LIMITED_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/chat"): "chat",
    ("POST", "/chat"): "chat",
    ("GET", "/api/chat/updates"): "polls",
    ("GET", "/api/voice/updates"): "polls",
    ("POST", "/api/voice/turn"): "voice",
    ("POST", "/api/voice/say"): "voice",
    ("GET", "/api/voice/stream"): "voice",
    ("POST", "/console/login"): "login",
}
BODY_LIMITS: dict[tuple[str, str], int] = {("POST", "/api/voice/turn"): MAX_VOICE_UPLOAD_BYTES}


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """At most `per_minute` requests a minute per key, in bursts of up to that many."""

    def __init__(self, per_minute: int, kept: int = ADDRESSES_KEPT) -> None:
        self.per_minute = per_minute
        self._buckets: Recent[Bucket] = Recent(kept)

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may go ahead; else the seconds until it may."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key) or Bucket(float(self.per_minute), now)
        rate = self.per_minute / 60.0
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        self._buckets.put(key, bucket)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate


def from_trusted_proxy(request: web.Request) -> bool:
    """The connection comes from one of TRUSTED_PROXIES, whose forwarded headers
    (X-Forwarded-For, X-Forwarded-Proto) are believed; anyone else's are not."""
    config = request.config_dict.get(CONFIG)
    return config is not None and (request.remote or "") in config.trusted_proxies


def client_address(request: web.Request) -> str:
    """The connection's address, or the one a trusted proxy says it forwarded."""
    remote = request.remote or ""
    if not from_trusted_proxy(request):
        return remote
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    for candidate in reversed(forwarded):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return remote


def too_many(request: web.Request, retry_after: float) -> web.Response:
    """429 in the shape the route's client reads: the chat API's message list, else text."""
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
    if request.path.startswith("/api/"):
        return web.json_response([{"text": RATE_LIMITED}], status=429, headers=headers)
    return web.Response(text=RATE_LIMITED, status=429, headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def limits_middleware(
    per_minute: dict[str, int], shared: SharedState | None = None
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """The gateway's middleware: rate per address, and the body limit of the route.
    `shared`: the state several gateways share, counting for all of them."""
    limiters = {kind: RateLimiter(rate) for kind, rate in per_minute.items()}

    async def wait_for(kind: str, address: str) -> float:
        wait = limiters[kind].take(address)
        if wait or shared is None or limiters[kind].per_minute <= 0:
            return wait
        window = f"limits:{kind}:{hashed(address)}:{int(time.time() // 60)}"
        if await shared.count(window, 60.0) > limiters[kind].per_minute:
            return 60.0 - time.time() % 60
        return 0.0

    @web.middleware
    async def limits(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = (request.method, request.path)
        kind = LIMITED_ROUTES.get(route)
        if kind is not None and kind in limiters:
            wait = await wait_for(kind, client_address(request))
            if wait:
                return too_many(request, wait)
        body_limit = BODY_LIMITS.get(route, MAX_REQUEST_BYTES)
        if (request.content_length or 0) > body_limit:
            # Said up front: refused before a byte of it is read.
            raise web.HTTPRequestEntityTooLarge(body_limit, request.content_length or 0)
        if route in BODY_LIMITS:
            # The request object is made by the root application, with its
            # limit: a sub-application's own client_max_size never applies.
            request = request.clone(client_max_size=body_limit)
        return await handler(request)

    return limits
