"""A mapping that keeps only the most recently used entries.

The gateway remembers small things per conversation in memory (held
messages, speech being made, the chosen speech rate, the answers expected
next); each must stay bounded however many people talk to it, forgetting the
longest unused first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

Value = TypeVar("Value")


class Recent(Generic[Value]):
    """At most `limit` entries; putting one makes it the newest."""

    def __init__(self, limit: int) -> None:
        self._entries: OrderedDict[str, Value] = OrderedDict()
        self._limit = limit

    def put(self, key: str, value: Value) -> list[Value]:
        """Stores the value; returns the values forgotten to stay within the limit."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        forgotten = []
        while len(self._entries) > self._limit:
            forgotten.append(self._entries.popitem(last=False)[1])
        return forgotten

    def get(self, key: str) -> Value | None:
        return self._entries.get(key)

    def pop(self, key: str) -> Value | None:
        return self._entries.pop(key, None)
