"""What the gateway remembers between requests, shared by every gateway that runs.

One gateway can keep it in its own memory (the embedded default: `./dev run`
needs nothing more). Several gateways behind a load balancer must share it,
or a WeChat retry that reaches a second gateway is answered a second time:
with `REDIS_URL` set, it lives in Redis (redis-py's asyncio client) and every
gateway sees what any of them wrote.

Everything here expires (`ttl` seconds): duplicates are only duplicates within
a channel's retry window, and nothing personal is kept longer than a turn
needs it. Values are short strings; keys name what they hold, and the part of a key
that could identify someone (a WeChat openid in an event's key) is hashed
with `hashed` first.

The one primitive that decides who goes first is `first`: it stores a value
only when the key has none, atomically (Redis SET NX GET), and returns the
value that is stored. A duplicate check is `is_first(state, key, ttl)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as redis_asyncio
from redis.exceptions import LockError

# Every key of this project in a shared Redis starts with this.
KEY_PREFIX = "fayuan:"
# An in-process state forgets its oldest entries beyond this many.
LOCAL_CAPACITY = 100_000


class SharedState(Protocol):
    async def first(self, key: str, value: str, ttl: float) -> str:
        """Stores `value` if `key` has none; the value stored (the first one's)."""

    async def put(self, key: str, value: str, ttl: float) -> None: ...

    async def get(self, key: str) -> str | None: ...

    async def pop(self, key: str) -> str | None:
        """The value, removed: whoever pops it has it, nobody else."""

    def lock(self, key: str, ttl: float) -> contextlib.AbstractAsyncContextManager[None]:
        """One holder at a time across every gateway; released after `ttl` at the
        latest, so a gateway that dies holding it does not block the others."""

    async def close(self) -> None: ...


class LocalState:
    """In this process's memory: for one gateway (the default)."""

    def __init__(self, capacity: int = LOCAL_CAPACITY) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._capacity = capacity
        self._locks: dict[str, asyncio.Lock] = {}

    async def first(self, key: str, value: str, ttl: float) -> str:
        stored = self._live(key)
        if stored is not None:
            return stored
        self._store(key, value, ttl)
        return value

    async def put(self, key: str, value: str, ttl: float) -> None:
        self._store(key, value, ttl)

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def pop(self, key: str) -> str | None:
        value = self._live(key)
        self._entries.pop(key, None)
        return value

    @contextlib.asynccontextmanager
    async def lock(self, key: str, ttl: float) -> AsyncIterator[None]:
        # One process: an asyncio lock per key, dropped when nobody waits on it.
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def close(self) -> None:
        self._entries.clear()

    def _live(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= time.monotonic():
            del self._entries[key]
            return None
        return value

    def _store(self, key: str, value: str, ttl: float) -> None:
        self._entries[key] = (time.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


class RedisState:
    """In Redis (`REDIS_URL`): shared by every gateway."""

    # How long a gateway waits for a conversation's lock before it gives up.
    LOCK_WAIT_SECONDS = 60.0

    def __init__(self, url: str) -> None:
        self._redis = redis_asyncio.Redis.from_url(url, decode_responses=True)

    async def first(self, key: str, value: str, ttl: float) -> str:
        # SET NX GET: stores only when absent and answers the old value, in one step.
        previous = await self._redis.set(_key(key), value, nx=True, get=True, px=_ms(ttl))
        return value if previous is None else previous

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self._redis.set(_key(key), value, px=_ms(ttl))

    async def get(self, key: str) -> str | None:
        return await self._redis.get(_key(key))

    async def pop(self, key: str) -> str | None:
        return await self._redis.getdel(_key(key))

    @contextlib.asynccontextmanager
    async def lock(self, key: str, ttl: float) -> AsyncIterator[None]:
        # redis-py's lock: a token only its holder can release, expiring after ttl.
        lock = self._redis.lock(
            _key(f"lock:{key}"),
            timeout=ttl,
            blocking_timeout=self.LOCK_WAIT_SECONDS,
            thread_local=False,
        )
        if not await lock.acquire(token=uuid.uuid4().hex):
            raise TimeoutError("waited too long for a conversation's lock")
        try:
            yield
        finally:
            with contextlib.suppress(LockError):  # expired meanwhile: nothing to release
                await lock.release()

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.close()


async def is_first(state: SharedState, key: str, ttl: float) -> bool:
    """True for the first to ask within `ttl`, in any gateway: the others have a duplicate."""
    mine = uuid.uuid4().hex
    return await state.first(key, mine, ttl) == mine


def open_shared_state(redis_url: str) -> SharedState:
    """Redis when `redis_url` is set, else this process's memory."""
    return RedisState(redis_url) if redis_url else LocalState()


def hashed(part: str) -> str:
    """A key part that reveals nothing of what it was made from, the same in every gateway."""
    return hashlib.sha256(part.encode()).hexdigest()[:32]


def _key(key: str) -> str:
    return KEY_PREFIX + key


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
