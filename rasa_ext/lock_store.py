"""Rasa's lock store, chosen by REDIS_URL like the gateways' shared state.

A conversation's turns must run one at a time: Rasa takes a lock per
conversation before it loads the tracker and releases it after saving. One
Rasa server can keep those locks in its memory (the embedded default); several
behind a load balancer must share them, or two turns of one conversation on
two servers interleave and one overwrites the other's events. With REDIS_URL
set, every Rasa server uses Rasa's own RedisLockStore on that Redis.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

# Rasa requires an alphanumeric prefix; it keeps the locks apart from the gateways' keys.
KEY_PREFIX = "fayuanrasa"


def lock_store_for(redis_url: str) -> LockStore:
    """Rasa's Redis lock store on `redis_url` (redis:// or rediss://), or in memory without one."""
    if not redis_url:
        return InMemoryLockStore()
    url = urlparse(redis_url)
    if url.scheme not in ("redis", "rediss"):
        raise ValueError("REDIS_URL must start with redis:// or rediss://")
    return RedisLockStore(
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
