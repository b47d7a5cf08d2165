"""Refusing replayed callbacks: a timestamp window and the nonces already seen.

WeChat signs a callback's query (token, timestamp, nonce), and in plaintext
mode nothing else: whoever sees one signed query could post any message with
it. So a callback must be recent (its timestamp within `WINDOW_SECONDS` of our
clock), and a nonce, once used for one message, is refused for any other.
The same message under the same nonce is WeChat's own retry, which the
channel answers once (channel.py `Delivery`), so it is let through.

The nonces are kept in the gateways' shared state (bot/shared_state.py): a
replay sent to another gateway behind the load balancer is refused there too.
"""

from __future__ import annotations

import time

from bot.shared_state import SharedState, hashed

# WeChat's documented tolerance is minutes; five either way covers clock drift.
WINDOW_SECONDS = 300


def fresh(timestamp: str, now: float | None = None, window: float = WINDOW_SECONDS) -> bool:
    """Whether the callback's timestamp is within the window of our clock."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    return abs(current - sent) <= window


class Nonces:
    """The nonces seen in the window, each with the message it came with."""

    def __init__(self, state: SharedState, window: float = WINDOW_SECONDS) -> None:
        self._state = state
        # A nonce must be remembered as long as its timestamp could still pass.
        self._keep_seconds = 2 * window

    async def claim(self, nonce: str, message_key: str) -> bool:
        """True when `nonce` is new, or came before with this same message (a retry)."""
        mine = hashed(message_key)
        first = await self._state.first(f"wechat:nonce:{hashed(nonce)}", mine, self._keep_seconds)
        return first == mine
