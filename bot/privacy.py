"""What may appear in logs: pseudonyms, never identifiers or message text."""

from __future__ import annotations

import hashlib
import os

# A per-process key: pseudonyms link the log lines of one conversation while
# the gateway runs, but cannot be turned back into a phone number or WeChat id.
_LOG_KEY = os.urandom(16)


def pseudonym(sender_id: str) -> str:
    """A short stable stand-in for a sender id, safe to log."""
    return hashlib.blake2b(sender_id.encode(), key=_LOG_KEY, digest_size=5).hexdigest()
