"""The gateway's shared state behaves the same in memory and in a real Redis:
the first writer wins, values expire, a pop is had once, and a lock is held
by one at a time — across two gateways' clients of the same Redis too."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio

from bot.shared_state import LocalState, RedisState, SharedState

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture(params=["memory", "redis"])
async def pair(request):
    """Two gateways' views of the state: the same object in memory, two clients of one Redis."""
    if request.param == "memory":
        state = LocalState()
        yield state, state
        await state.close()
        return
    url = request.getfixturevalue("redis_server").url
    one, two = RedisState(url), RedisState(url)
    yield one, two
    await one.close()
    await two.close()


def unique(name: str) -> str:
    return f"test:{name}:{uuid.uuid4().hex}"


async def test_the_first_writer_wins_and_everyone_learns_its_value(pair):
    one, two = pair
    key = unique("first")
    assert await one.first(key, "gateway-a", ttl=10) == "gateway-a"
    assert await two.first(key, "gateway-b", ttl=10) == "gateway-a"
    assert await two.get(key) == "gateway-a"


async def test_many_at_once_agree_on_one_winner(pair):
    one, two = pair
    key = unique("race")
    winners = await asyncio.gather(
        *(state.first(key, f"try-{i}", ttl=10) for i, state in enumerate([one, two] * 10))
    )
    assert len(set(winners)) == 1


async def test_values_expire(pair):
    one, two = pair
    key = unique("expiry")
    await one.put(key, "soon gone", ttl=0.2)
    assert await two.get(key) == "soon gone"
    await asyncio.sleep(0.4)
    assert await two.get(key) is None
    assert await two.first(key, "again", ttl=10) == "again"


async def test_a_popped_value_is_had_once(pair):
    one, two = pair
    key = unique("pop")
    await one.put(key, "held message", ttl=10)
    taken = await asyncio.gather(one.pop(key), two.pop(key))
    assert taken.count("held message") == 1 and taken.count(None) == 1


async def test_a_lock_is_held_by_one_at_a_time(pair):
    one, two = pair
    key = unique("lock")
    inside: list[str] = []
    overlaps: list[bool] = []

    async def turn(state: SharedState, name: str) -> None:
        async with state.lock(key, ttl=10):
            overlaps.append(bool(inside))
            inside.append(name)
            await asyncio.sleep(0.05)
            inside.remove(name)

    await asyncio.gather(*(turn(s, f"t{i}") for i, s in enumerate([one, two] * 4)))
    assert overlaps == [False] * 8


async def test_a_lock_left_by_a_dead_holder_expires(redis_server):
    # A gateway that dies holding a conversation's lock does not block the others for long.
    dead, alive = RedisState(redis_server.url), RedisState(redis_server.url)
    key = unique("abandoned")
    held = dead.lock(key, ttl=0.5)
    await held.__aenter__()  # never left: the gateway "died"
    async with alive.lock(key, ttl=10):
        pass
    await dead.close()
    await alive.close()


async def test_news_wakes_the_waiters_of_every_gateway(pair):
    one, two = pair
    topic = unique("news")
    # Redis: the subscription starts with the first wait, so the first news is
    # said until it is heard; once subscribed, one announcement is enough.
    first = asyncio.ensure_future(two.wait_for(topic, 10))
    while not first.done():
        await one.announce(topic)
        await asyncio.sleep(0.05)
    assert first.result() is True
    second = asyncio.ensure_future(two.wait_for(topic, 10))
    await asyncio.sleep(0.1)
    await one.announce(topic)
    assert await second is True
    assert await two.wait_for(unique("quiet"), 0.2) is False


async def test_counts_are_shared_and_start_again_after_their_window(pair):
    one, two = pair
    key = unique("count")
    counted = [await state.count(key, ttl=0.3) for state in (one, two, one)]
    assert counted == [1, 2, 3]
    await asyncio.sleep(0.5)
    assert await two.count(key, ttl=0.3) == 1
