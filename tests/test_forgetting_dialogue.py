"""Forgetting, through the real stack: "删除我的信息" is asked, confirmed and
done; a refusal of consent deletes the conversation, which starts afresh."""

from __future__ import annotations

import sqlalchemy as sa

import store
from scripts.launcher import Stack
from store.crypto import CONVERSATION_LOOKUP, KeyRing
from store.tracker_events import events
from tests.test_intake_dialogue import chat


def stored_events(stack: Stack, sender: str) -> int:
    env = stack.child_env()
    lookups = KeyRing.from_env(env).lookup_hashes(sender, CONVERSATION_LOOKUP)
    engine = store.create_engine(env["TRACKER_STORE_URL"])
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).where(events.c.sender_id.in_(lookups))
            ).scalar()
    finally:
        engine.dispose()


def test_delete_my_data_asks_first_and_a_no_keeps_everything(stack):
    say = chat(stack)
    say("我的工资被拖欠了三个月")
    asked = "\n".join(say("删除我的信息"))
    assert "确定删除吗" in asked
    assert "不删除" in "\n".join(say("不删除"))
    assert stored_events(stack, say.sender) > 0


def test_delete_my_data_confirmed_deletes_the_conversation(stack):
    say = chat(stack)
    say("我的工资被拖欠了三个月，电话13912345678")
    assert "确定删除吗" in "\n".join(say("把我的信息都删了"))
    done = "\n".join(say("确定删除"))
    assert "已经删除" in done
    assert stored_events(stack, say.sender) == 0


def test_refusing_consent_deletes_the_conversation(stack):
    say = chat(stack)
    say("我的工资被拖欠了三个月")
    assert "您同意吗" in say("现在登记申请")[-1]
    assert "不保存" in "\n".join(say("不同意"))
    assert stored_events(stack, say.sender) == 0
    assert "法律援助" in "\n".join(say("什么是法律援助"))  # help goes on, afresh


def test_delete_my_data_works_in_the_middle_of_questions(stack):
    """The consent text promises "随时说‘删除我的信息’": while it is being asked,
    and during the eligibility questions, the request is taken, not misread."""
    say = chat(stack)
    say("我的工资被拖欠了三个月")
    assert "您同意吗" in say("现在登记申请")[-1]
    assert "确定删除吗" in "\n".join(say("删除我的信息"))
    say("不删除")
    say("帮我查一查能不能申请")
    assert "确定删除吗" in "\n".join(say("删除我的信息"))
