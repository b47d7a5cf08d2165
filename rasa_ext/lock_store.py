"""Rasa's lock store, chosen by REDIS_URL like the gateways' shared state.

A conversation's turns must run one at a time: Rasa takes a lock per
conversation before it loads the tracker and releases it after saving. One
Rasa server can keep those locks in its memory (the embedded default); several
behind a load balancer must share them, or two turns of one conversation on
two servers interleave and one overwrites the other's events. With REDIS_URL
set, every Rasa server uses Rasa's RedisLockStore on that Redis, made safe for
several servers (`AtomicRedisLockStore`).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlparse

from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore, RedisLockStore

# Rasa requires an alphanumeric prefix; it keeps the locks apart from the gateways' keys.
KEY_PREFIX = "fayuanrasa"
# The longest one change of a conversation's tickets may take (milliseconds of
# work): a server that dies holding the mutex blocks the others no longer.
MUTEX_SECONDS = 10


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's RedisLockStore, with its ticket changes made one at a time.

    Rasa changes a conversation's tickets by reading the lock, changing it and
    writing it back. Two Rasa servers issuing tickets at the same moment both
    read "nobody waiting", both write ticket 0, and both run their turn at
    once: one turn's events interleave with the other's (seen in the cluster
    test under load). Here every such change holds a short Redis mutex for the
    conversation.
    """

    def _mutex(self, conversation_id: str) -> Any:
        return self.red.lock(
            f"{self.key_prefix}mutex:{conversation_id}",
            timeout=MUTEX_SECONDS,
            blocking_timeout=MUTEX_SECONDS,
        )

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)


def lock_store_for(redis_url: str) -> LockStore:
    """Rasa's Redis lock store on `redis_url` (redis:// or rediss://), or in memory without one."""
    if not redis_url:
        return InMemoryLockStore()
    url = urlparse(redis_url)
    if url.scheme not in ("redis", "rediss"):
        raise ValueError("REDIS_URL must start with redis:// or rediss://")
    return AtomicRedisLockStore(
        host=url.hostname or "localhost",
        port=url.port or 6379,
        db=int(url.path.lstrip("/") or 0),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_ssl=url.scheme == "rediss",
        key_prefix=KEY_PREFIX,
    )


class LockStoreFromEnvironment(LockStore):
    """endpoints.yml's `lock_store`: Rasa makes it with the endpoint's settings,
    and gets the store REDIS_URL calls for instead."""

    def __new__(cls, *args: Any, **kwargs: Any) -> LockStore:  # type: ignore[misc]
        return lock_store_for(os.environ.get("REDIS_URL", "").strip())
