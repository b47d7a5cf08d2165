"""Several gateways and Rasa servers behind a load balancer, sharing their state
in a real Redis (REDIS_URL): a message that reaches two gateways is answered
once, and two turns of one conversation on two Rasa servers never interleave."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid

import pytest_asyncio
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

from bot.continuation import ATTEMPTS_PER_ADDRESS, AddressLimiter
from bot.limits import limits_middleware
from bot.shared_state import RedisState
from bot.turns import HeldMessage, HeldMessages
from rasa_ext.lock_store import LockStoreFromEnvironment
from scripts.model_cache import PROJECT_DIR
from store.crypto import KeyRing, new_key_entry
from tests.security.wechat_callback import Answerer, callback_app
from tests.support.fake_wechat import text_xml

OPENID = "oManyGateways00000000000001"


@pytest_asyncio.fixture
async def two_states(redis_server):
    states = RedisState(redis_server.url), RedisState(redis_server.url)
    yield states
    for state in states:
        await state.close()


async def test_a_wechat_message_and_its_retries_at_other_gateways_are_answered_once(two_states):
    answerer = Answerer()
    async with (
        callback_app(state=two_states[0], answerer=answerer) as (at_a, _),
        callback_app(state=two_states[1], answerer=answerer) as (at_b, _),
    ):
        query = at_a.signed_query()
        xml = text_xml(OPENID, "老板拖欠工资怎么办")
        # WeChat's first try reaches gateway A, its two retries B, then A again.
        first = await at_a.post(xml, query=query)
        retries = [await at_b.post(xml, query=query), await at_a.post(xml, query=query)]
    assert answerer.answered == ["老板拖欠工资怎么办"], "one turn, not three"
    assert first.text == "收到"
    assert [r.body for r in retries] == ["success", "success"], "the answer shown once"


# --- Rasa's lock store ------------------------------------------------------------


def test_without_redis_rasa_keeps_its_locks_in_memory(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(LockStoreFromEnvironment(), InMemoryLockStore)


async def test_two_rasa_servers_take_a_conversations_turns_one_at_a_time(redis_server, monkeypatch):
    """Two Rasa servers' lock stores on one Redis: a turn of a conversation
    waits while the other server holds it; another conversation does not."""
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    one, two = LockStoreFromEnvironment(), LockStoreFromEnvironment()
    assert isinstance(one, RedisLockStore)
    order: list[str] = []

    async def turn(store, conversation: str, name: str, seconds: float) -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.01):
            order.append(f"{name} start")
            await asyncio.sleep(seconds)
            order.append(f"{name} end")

    await asyncio.gather(
        turn(one, "conversation-a", "first", 0.3),
        turn(two, "conversation-a", "second", 0.0),
        turn(two, "conversation-b", "other", 0.0),
    )
    assert order.index("first end") < order.index("second start")
    assert order.index("other end") < order.index("first end"), "other conversations go on"


async def test_an_address_guessing_codes_is_stopped_across_gateways(two_states):
    """接续码 attempts per address: five in the window, however many gateways."""
    at_a, at_b = (AddressLimiter(state) for state in two_states)
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    allowed = [await limiter.allow(address) for limiter in [at_a, at_b] * 4]
    assert allowed == [True] * ATTEMPTS_PER_ADDRESS + [False] * (8 - ATTEMPTS_PER_ADDRESS)


async def test_messages_held_while_rasa_is_down_reach_the_next_gateway_encrypted(
    two_states, redis_server
):
    """A message Rasa never got, held by gateway A, is replayed by gateway B on the
    person's next turn (or by A after a restart); in Redis it cannot be read."""
    keys = KeyRing.parse(new_key_entry())
    at_a, at_b = (HeldMessages(state, keys) for state in two_states)
    said = HeldMessage("我叫李建国，电话13912876543", {"channel": "web"})
    await at_a.hold("web-person-1", [said])
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    stored = [raw.get(key) for key in raw.scan_iter("fayuan:turns:held:*")]
    assert stored and not any("李建国" in value or "1391287" in value for value in stored)
    assert await at_b.take("web-person-1") == [said]
    assert await at_a.take("web-person-1") == [], "replayed once"


async def test_an_address_gets_its_requests_a_minute_once_across_gateways(two_states):
    """RATE_LIMIT_CHAT per address: counted for all the gateways sharing Redis."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response([{"text": "好的"}])

    clients = []
    for state in two_states:
        app = web.Application(middlewares=[limits_middleware({"chat": 3}, state)])
        app.router.add_post("/api/chat", answer)
        clients.append(TestClient(TestServer(app)))
    async with clients[0] as at_a, clients[1] as at_b:
        # Counted per minute of the clock: not across its turn.
        if time.time() % 60 > 55:
            await asyncio.sleep(60 - time.time() % 60)
        statuses = [(await c.post("/api/chat", json={})).status for c in [at_a, at_b] * 3]
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_rasa_servers_in_separate_processes_never_run_one_conversations_turns_at_once(
    redis_server,
):
    """Three processes, as three Rasa servers, each taking one conversation's lock
    for 30 turns at the same time: every turn ends before the next begins.
    (Rasa's own RedisLockStore let two servers in at once: its tickets are read,
    changed and written back, and two servers could both take ticket 0.)"""
    marks_key = f"test:lock-marks:{uuid.uuid4().hex}"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.lock_worker",
                redis_server.url,
                marks_key,
                f"server{index}",
                "30",
            ],  # fmt: skip
            cwd=PROJECT_DIR,
        )
        for index in range(3)
    ]
    assert [worker.wait(timeout=300) for worker in workers] == [0, 0, 0]
    marks = redis.Redis.from_url(redis_server.url, decode_responses=True).lrange(marks_key, 0, -1)
    assert len(marks) == 3 * 30 * 2
    for start, end in zip(marks[::2], marks[1::2], strict=True):
        assert start.startswith("start ") and end == "end " + start.removeprefix("start "), marks
