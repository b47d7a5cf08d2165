"""Refusing replayed callbacks: a timestamp window and the nonces already seen.

WeChat signs a callback's query (token, timestamp, nonce), and in plaintext
mode nothing else: whoever sees one signed query could post any message with
it. So a callback must be recent (its timestamp within `WINDOW_SECONDS` of our
clock), and a nonce, once used for one message, is refused for any other.
The same message under the same nonce is WeChat's own retry, which the
channel answers once (channel.py `Delivery`), so it is let through.
"""

from __future__ import annotations

import time
from collections import OrderedDict

# WeChat's documented tolerance is minutes; five either way covers clock drift.
WINDOW_SECONDS = 300
# Only correctly signed callbacks get here, so only WeChat (or a replay of it)
# fills this; a busy account sends a few messages a second.
NONCE_CAPACITY = 20_000


def fresh(timestamp: str, now: float | None = None, window: float = WINDOW_SECONDS) -> bool:
    """Whether the callback's timestamp is within the window of our clock."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    return abs(current - sent) <= window


class Nonces:
    """The nonces seen in the window, each with the message it came with; bounded."""

    def __init__(self, capacity: int = NONCE_CAPACITY, window: float = WINDOW_SECONDS) -> None:
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._capacity = capacity
        # A nonce must be remembered as long as its timestamp could still pass.
        self._keep_seconds = 2 * window

    def claim(self, nonce: str, message_key: str, now: float | None = None) -> bool:
        """True when `nonce` is new, or came before with this same message (a retry)."""
        current = time.monotonic() if now is None else now
        self._forget_older_than(current - self._keep_seconds)
        seen = self._seen.get(nonce)
        if seen is not None:
            return seen[1] == message_key
        self._seen[nonce] = (current, message_key)
        while len(self._seen) > self._capacity:
            # Oldest first: by then its timestamp is the nearest to leaving the window.
            self._seen.popitem(last=False)
        return True

    def _forget_older_than(self, moment: float) -> None:
        while self._seen:
            nonce, (seen_at, _) = next(iter(self._seen.items()))
            if seen_at >= moment:
                return
            del self._seen[nonce]
