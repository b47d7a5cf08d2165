"""Several gateways behind a load balancer, sharing their state in a real Redis
(REDIS_URL): a message that reaches two of them is still answered once."""

from __future__ import annotations

import pytest
import pytest_asyncio

from bot.shared_state import RedisState
from tests.security.wechat_callback import Answerer, callback_app
from tests.support.fake_wechat import text_xml

pytestmark = pytest.mark.asyncio

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
