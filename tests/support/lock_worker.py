"""One Rasa server's turns of one conversation, as a separate process: each
turn takes the conversation's lock from the lock store REDIS_URL calls for
(rasa_ext/lock_store.py) and marks its start and end in a Redis list.

    python -m tests.support.lock_worker <redis url> <list key> <name> <turns>
"""

from __future__ import annotations

import asyncio
import sys

import redis

from rasa_ext.lock_store import lock_store_for


async def turns(url: str, marks_key: str, name: str, count: int) -> None:
    store = lock_store_for(url)
    marks = redis.Redis.from_url(url)
    for _ in range(count):
        async with store.lock(marks_key, wait_time_in_seconds=0.005):
            marks.rpush(marks_key, f"start {name}")
            await asyncio.sleep(0.003)
            marks.rpush(marks_key, f"end {name}")


if __name__ == "__main__":
    url, marks_key, name, count = sys.argv[1:5]
    asyncio.run(turns(url, marks_key, name, int(count)))
