"""Who is speaking on the web: the gateway decides, never the client.

Every web entry point (POST /api/chat, GET /api/chat/updates, /api/voice/*, the
page without JavaScript at /chat) asks `speaker_of(request)` for the sender id
its turn belongs to:

* a browser's first request gets a new, unguessable id, `web-` and 128 random
  bits, in a signed HttpOnly cookie (`fayuan_chat`, Path=/, SameSite=Lax so
  that the page reached by a link still shows the conversation, Secure when the
  request came over HTTPS); every later request sends it back. It is a session
  cookie: on a shared computer the conversation is gone when the browser
  closes (接续码 carries it elsewhere on purpose);
* an app that keeps no cookies asks POST /api/session for the same signed value
  as `{"token": "…"}` and sends `Authorization: Bearer <token>`;
* a trusted server holding GATEWAY_API_TOKEN (`Authorization: Bearer <that>`)
  may name a `sender` in the body or query; nobody else may (403), and nobody
  may name a Telegram, WeChat or hotline sender (403): those ids are only ever
  made by their channel's verified callbacks, so the web API cannot be used to
  read or continue those people's conversations.

A cookie or token that does not verify is treated as none: the request gets a
new identity, never the one it claimed.

The signatures are HMACs with a key derived (HKDF, its own purpose) from the
store's key ring, the same on every gateway instance behind a load balancer
and across restarts (bot/console/session.py signs staff sessions the same
way). A gateway without a store key signs with a key of its own process and
says so in its log: its web conversations do not survive a restart, which
matters little since without the key nothing else is kept either.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass

from aiohttp import web

from bot import limits
from bot.appkeys import IDENTITY
from bot.console.session import Signer
from bot.messages import SENDER_FROM_ELSEWHERE, SENDER_NEEDS_TOKEN
from legal_aid.channels import CHANNELS
from store.crypto import KeyRing

log = logging.getLogger(__name__)

SENDER_COOKIE = "fayuan_chat"
SENDER_PREFIX = "web-"
# 128 random bits: no one can guess another person's id.
SENDER_RANDOM_BYTES = 16
IDENTITY_PURPOSE = "web chat identity"
# The ids only their own channel's verified callbacks may speak as.
OTHER_CHANNEL_PREFIXES = tuple(c.sender_prefix for c in CHANNELS if c.sender_prefix)


@dataclass(frozen=True)
class Speaker:
    sender: str
    # Issued by this request: the response must carry the cookie.
    new: bool = False


class WebIdentity:
    """Issues and verifies web sender ids, and recognises the API token."""

    def __init__(self, keys: KeyRing, api_token: str = "") -> None:
        self._signer = Signer(keys)
        self._api_token = api_token

    @classmethod
    def for_gateway(cls, keys: KeyRing | None, api_token: str) -> WebIdentity:
        """Signing with the store's key ring, or a key of this process without one."""
        if keys is None:
            log.warning("no store key: web identities are signed with a per-process key")
            encoded = base64.b64encode(os.urandom(32)).decode()
            keys = KeyRing.parse(f"process:{encoded}", source="per-process key")
        return cls(keys, api_token)

    def issue(self) -> str:
        return SENDER_PREFIX + secrets.token_hex(SENDER_RANDOM_BYTES)

    def sign(self, sender: str) -> str:
        """The cookie value (and app token) that proves `sender`."""
        return f"{sender}.{self._signer.sign(sender, IDENTITY_PURPOSE)}"

    def verified_sender(self, signed: str | None) -> str | None:
        """The sender id of a value this gateway signed, or None."""
        sender, _, signature = (signed or "").rpartition(".")
        if sender and signature and self._signer.valid(sender, signature, IDENTITY_PURPOSE):
            return sender
        return None

    def is_api_token(self, presented: str) -> bool:
        # Constant time: the comparison says nothing about how much was right.
        return bool(self._api_token) and hmac.compare_digest(
            presented.encode(), self._api_token.encode()
        )


def identity_of(request: web.Request) -> WebIdentity:
    return request.config_dict[IDENTITY]


def speaker_of(request: web.Request, named: str | None = None) -> Speaker:
    """Who speaks in this request: the sender a trusted caller named, the one
    its cookie or token proves, or a new one. Raises 403 for a name not allowed."""
    identity = identity_of(request)
    bearer = _bearer(request)
    if named is not None:
        return Speaker(_allowed_name(identity, named, bearer))
    proved = identity.verified_sender(bearer or request.cookies.get(SENDER_COOKIE))
    if proved is not None:
        return Speaker(proved)
    return Speaker(identity.issue(), new=True)


def _allowed_name(identity: WebIdentity, named: str, bearer: str) -> str:
    if named.startswith(OTHER_CHANNEL_PREFIXES):
        raise forbidden(SENDER_FROM_ELSEWHERE)
    if not identity.is_api_token(bearer):
        raise forbidden(SENDER_NEEDS_TOKEN)
    return named


def _bearer(request: web.Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def remember(request: web.Request, response: web.StreamResponse, speaker: Speaker) -> None:
    """Sets the identity cookie on the response when this request issued it."""
    if not speaker.new:
        return
    response.set_cookie(
        SENDER_COOKIE,
        identity_of(request).sign(speaker.sender),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=is_https(request),
    )


def forbidden(reason: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text=json.dumps({"error": reason}, ensure_ascii=False), content_type="application/json"
    )


async def new_session(request: web.Request) -> web.Response:
    """POST /api/session: a new identity for an app, as a bearer token (and the cookie)."""
    speaker = Speaker(identity_of(request).issue(), new=True)
    response = web.json_response({"token": identity_of(request).sign(speaker.sender)})
    remember(request, response, speaker)
    return response


# What the gateway believes about the connection ----------------------------------


def is_https(request: web.Request) -> bool:
    """HTTPS to this gateway, or, from one of TRUSTED_PROXIES, to the proxy."""
    if request.secure:
        return True
    if not limits.from_trusted_proxy(request):
        return False
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"


def routes() -> list[web.RouteDef]:
    return [web.post("/api/session", new_session)]
