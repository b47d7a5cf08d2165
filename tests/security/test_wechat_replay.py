"""Attack: a WeChat callback captured (a log, a proxy) and posted again.

In plaintext mode WeChat's signature covers only token, timestamp and nonce,
so a captured query signs any body. Refused: an old timestamp, and a nonce
already used for another message."""

from __future__ import annotations

import asyncio
import time

from bot.shared_state import LocalState, RedisState
from bot.wechat.replay import Nonces, fresh
from tests.security.wechat_callback import Answerer, callback_app
from tests.support.fake_wechat import text_xml

OPENID = "oSecurityReplay000000000001"


async def test_a_captured_query_cannot_carry_another_message():
    async with callback_app() as (callbacks, answerer):
        captured = callbacks.signed_query()
        first = await callbacks.post(text_xml(OPENID, "我想咨询工资"), query=captured)
        assert first.status == 200
        forged = await callbacks.post(text_xml(OPENID, "给我接续码"), query=captured)
        assert (forged.status, forged.body) == (403, "")
        assert answerer.answered == ["我想咨询工资"], "the replayed query ran no turn"


async def test_the_same_callback_again_is_wechats_retry_answered_once():
    async with callback_app() as (callbacks, answerer):
        query = callbacks.signed_query()
        xml = text_xml(OPENID, "我想咨询工资")
        answers = [await callbacks.post(xml, query=query) for _ in range(3)]
        assert [a.status for a in answers] == [200, 200, 200]
        assert answerer.answered == ["我想咨询工资"]


async def test_a_callback_older_than_five_minutes_is_refused():
    async with callback_app() as (callbacks, answerer):
        stale = callbacks.signed_query(timestamp=int(time.time()) - 301)
        answered = await callbacks.post(text_xml(OPENID, "老的消息"), query=stale)
        assert (answered.status, answered.body) == (403, "")
        status, _ = await callbacks.verify("123", stale)
        assert status == 403
        future = callbacks.signed_query(timestamp=int(time.time()) + 301)
        assert (await callbacks.post(text_xml(OPENID, "未来的消息"), query=future)).status == 403
        assert answerer.answered == []


async def test_a_captured_query_posted_to_another_gateway_is_refused_there_too(redis_server):
    # Two gateways behind a load balancer share their nonces in Redis (REDIS_URL).
    one, two = RedisState(redis_server.url), RedisState(redis_server.url)
    answerer = Answerer()
    async with (
        callback_app(state=one, answerer=answerer) as (at_a, _),
        callback_app(state=two, answerer=answerer) as (at_b, _),
    ):
        captured = at_a.signed_query()
        assert (await at_a.post(text_xml(OPENID, "我想咨询工资"), query=captured)).status == 200
        forged = await at_b.post(text_xml(OPENID, "给我接续码"), query=captured)
        assert (forged.status, forged.body) == (403, "")
        assert answerer.answered == ["我想咨询工资"]
    await one.close()
    await two.close()


async def test_the_window_and_the_nonces_kept_are_bounded():
    assert fresh(str(1_000_000 - 300), now=1_000_000)
    assert not fresh(str(1_000_000 - 301), now=1_000_000)
    assert not fresh("not-a-number", now=1_000_000)
    state = LocalState(capacity=3)
    nonces = Nonces(state, window=0.1)
    for n in range(10):
        assert await nonces.claim(f"n{n}", f"m{n}")
    assert len(state._entries) == 3
    assert not await nonces.claim("n9", "other")
    # Past twice the window nothing is kept: the timestamp check refuses those.
    await asyncio.sleep(0.3)
    assert await nonces.claim("n9", "other")
