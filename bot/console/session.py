"""Signed staff sessions and CSRF tokens for the console.

The session cookie holds `base64url(username|expiry|nonce).signature` and no
personal data. The signature is an HMAC with a key derived (HKDF, its own
purpose) from the store's KeyRing, not a per-process random key:

* every gateway instance behind the load balancer already has PII_KEY (or the
  key file), so a session made by one is accepted by the others, and a gateway
  restart logs nobody out;
* the key is already backed up and rotated; after `PII_KEY=new:…,old:…` the
  old key still verifies sessions made before the rotation (lookup_hashes);
* the derived key never equals the encryption key or any lookup-hash key, so a
  session signature says nothing about stored data and vice versa.

A CSRF token is an HMAC of the session's nonce (or, before login, of a nonce
in a short-lived login cookie), so it needs no server-side state: a form
posted from another site cannot know it, and SameSite=Strict keeps the cookie
off cross-site requests anyway.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from dataclasses import dataclass

from store.crypto import KeyRing

SESSION_COOKIE = "fayuan_staff"
LOGIN_COOKIE = "fayuan_staff_login"
COOKIE_PATH = "/console/"
# One working shift: long enough not to interrupt a lawyer, short enough that
# a session left open on a shared computer ends the same day.
SESSION_SECONDS = 8 * 3600
LOGIN_FORM_SECONDS = 30 * 60
SESSION_PURPOSE = "staff console session"
CSRF_PURPOSE = "staff console csrf"


@dataclass(frozen=True)
class Session:
    username: str
    expires: int  # Unix time
    nonce: str


class Signer:
    """HMACs for the console, with keys derived from the store's KeyRing."""

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def sign(self, value: str, purpose: str) -> str:
        return self.keys.lookup_hash(value, purpose)

    def valid(self, value: str, signature: str, purpose: str) -> bool:
        # Every key of the ring: signatures made before a rotation still count.
        return any(
            hmac.compare_digest(signature.encode(), expected.encode())
            for expected in self.keys.lookup_hashes(value, purpose)
        )

    # Sessions ------------------------------------------------------------------

    def new_session(self, username: str, now: float | None = None) -> tuple[Session, str]:
        """A fresh session and its cookie value."""
        now = time.time() if now is None else now
        session = Session(username, int(now) + SESSION_SECONDS, secrets.token_urlsafe(16))
        payload = _encode(f"{session.username}|{session.expires}|{session.nonce}")
        return session, f"{payload}.{self.sign(payload, SESSION_PURPOSE)}"

    def session_of(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session of a cookie this service signed and that has not expired."""
        payload, _, signature = (cookie or "").partition(".")
        if not payload or not signature or not self.valid(payload, signature, SESSION_PURPOSE):
            return None
        parts = _decode(payload).split("|")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        session = Session(parts[0], int(parts[1]), parts[2])
        if session.expires <= (time.time() if now is None else now):
            return None
        return session

    # Login form ----------------------------------------------------------------

    def new_login_nonce(self, now: float | None = None) -> str:
        """A login cookie value: a signed nonce with its own expiry."""
        now = time.time() if now is None else now
        payload = _encode(f"login|{int(now) + LOGIN_FORM_SECONDS}|{secrets.token_urlsafe(16)}")
        return f"{payload}.{self.sign(payload, SESSION_PURPOSE)}"

    def login_nonce_of(self, cookie: str | None, now: float | None = None) -> str | None:
        payload, _, signature = (cookie or "").partition(".")
        if not payload or not signature or not self.valid(payload, signature, SESSION_PURPOSE):
            return None
        parts = _decode(payload).split("|")
        if len(parts) != 3 or parts[0] != "login" or not parts[1].isdigit():
            return None
        if int(parts[1]) <= (time.time() if now is None else now):
            return None
        return parts[2]

    # CSRF ------------------------------------------------------------------------

    def csrf_token(self, nonce: str) -> str:
        return self.sign(nonce, CSRF_PURPOSE)

    def csrf_valid(self, nonce: str | None, token: str | None) -> bool:
        return bool(nonce and token) and self.valid(nonce, token, CSRF_PURPOSE)


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(payload: str) -> str:
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""
