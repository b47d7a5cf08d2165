"""What the gateway remembers between requests, shared by every gateway that runs.

One gateway can keep it in its own memory (the embedded default: `./dev run`
needs nothing more). Several gateways behind a load balancer must share it,
or a WeChat retry that reaches a second gateway is answered a second time:
with `REDIS_URL` set, it lives in Redis (redis-py's asyncio client) and every
gateway sees what any of them wrote.

Everything here expires (`ttl` seconds): duplicates are only duplicates within
a channel's retry window. Values are short strings, and what people said is
never one of them in the clear (the messages held while Rasa is down are
encrypted with the store's key, bot/turns.py). Keys name what they hold; the
part of a key that could identify someone (a sender id, a WeChat openid) is
hashed with `hashed` first.

The one primitive that decides who goes first is `first`: it stores a value
only when the key has none, atomically (Redis SET NX GET), and returns the
value that is stored. A duplicate check is `is_first(state, key, ttl)`.

News between gateways (`announce`, `wait_for`): a ticket opened through one
gateway wakes the staff consoles connected to every other one at once (Redis
pub/sub), instead of at their next periodic check.
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
# Announced when the lawyers' queue changes (a ticket opened by a turn, one
# claimed in the console): every gateway's consoles read the queue again at once.
QUEUE_NEWS = "handoff:queue"
# An in-process state forgets its oldest entries beyond this many.
LOCAL_CAPACITY = 100_000


class SharedState(Protocol):
    async def first(self, key: str, value: str, ttl: float) -> str:
        """Stores `value` if `key` has none; the value stored (the first one's)."""

    async def put(self, key: str, value: str, ttl: float) -> None: ...

    async def get(self, key: str) -> str | None: ...

    async def pop(self, key: str) -> str | None:
        """The value, removed: whoever pops it has it, nobody else."""

    async def count(self, key: str, ttl: float) -> int:
        """One more for `key`; how many so far. The count starts at its first
        and is forgotten `ttl` seconds after it (a fixed window)."""

    def lock(self, key: str, ttl: float) -> contextlib.AbstractAsyncContextManager[None]:
        """One holder at a time across every gateway; released after `ttl` at the
        latest, so a gateway that dies holding it does not block the others."""

    async def announce(self, topic: str) -> None:
        """Wakes everyone waiting for `topic`, in every gateway."""

    async def wait_for(self, topic: str, timeout: float) -> bool:
        """True when `topic` was announced within `timeout` seconds."""

    async def close(self) -> None: ...


class LocalState:
    """In this process's memory: for one gateway (the default)."""

    def __init__(self, capacity: int = LOCAL_CAPACITY) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._capacity = capacity
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting = _Waiting()

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

    async def count(self, key: str, ttl: float) -> int:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            self._store(key, "1", ttl)
            return 1
        counted = int(entry[1]) + 1
        self._entries[key] = (entry[0], str(counted))
        return counted

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

    async def announce(self, topic: str) -> None:
        self._waiting.wake(topic)

    async def wait_for(self, topic: str, timeout: float) -> bool:
        return await self._waiting.wait(topic, timeout)

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
        self._waiting = _Waiting()
        self._listener: asyncio.Task[None] | None = None

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

    async def count(self, key: str, ttl: float) -> int:
        async with self._redis.pipeline(transaction=True) as steps:
            # The expiry is set by the first count only (NX): a fixed window.
            steps.incr(_key(key)).pexpire(_key(key), _ms(ttl), nx=True)
            counted, _ = await steps.execute()
        return int(counted)

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

    async def announce(self, topic: str) -> None:
        await self._redis.publish(_key(f"topic:{topic}"), "1")

    async def wait_for(self, topic: str, timeout: float) -> bool:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.ensure_future(self._listen())
        return await self._waiting.wait(topic, timeout)

    async def _listen(self) -> None:
        """One subscription per gateway, to every topic: news wakes the waiters here."""
        prefix = _key("topic:")
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(prefix + "*")
                    async for message in pubsub.listen():
                        if message.get("type") == "pmessage":
                            self._waiting.wake(str(message["channel"]).removeprefix(prefix))
            except redis_asyncio.ConnectionError:
                # Redis restarting: the waiters fall back on their timeout meanwhile.
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.close()


async def is_first(state: SharedState, key: str, ttl: float) -> bool:
    """True for the first to ask within `ttl`, in any gateway: the others have a duplicate."""
    mine = uuid.uuid4().hex
    return await state.first(key, mine, ttl) == mine


def open_shared_state(redis_url: str) -> SharedState:
    """Redis when `redis_url` is set, else this process's memory."""
    return RedisState(redis_url) if redis_url else LocalState()


class _Waiting:
    """Who waits for which topic, in this process."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}

    async def wait(self, topic: str, timeout: float) -> bool:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(topic, set()).add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(topic, set())
            waiters.discard(waiter)
            if not waiters:
                self._waiters.pop(topic, None)

    def wake(self, topic: str) -> None:
        for waiter in self._waiters.pop(topic, set()):
            if not waiter.done():
                waiter.set_result(None)


def hashed(part: str) -> str:
    """A key part that reveals nothing of what it was made from, the same in every gateway."""
    return hashlib.sha256(part.encode()).hexdigest()[:32]


def _key(key: str) -> str:
    return KEY_PREFIX + key


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
