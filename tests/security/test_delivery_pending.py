"""Attack (or plain bad luck): the channel refuses the push of a lawyer's
message. It must not be marked delivered: the console shows it pending, the
push is retried, and once the channel accepts it, it is delivered once."""

from __future__ import annotations

import asyncio

import pytest

import bot.handoff_relay as handoff_relay
from bot.console.pages import PENDING_MARK, message_items
from bot.handoff_relay import HandoffRelay
from tests.test_handoff_store import Centre, request

SENDER = "telegram:5151"


class FlakyChannel:
    """Refuses the first `refusals` pushes, as WeChat does when its API is down."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.received: list[str] = []

    async def deliver(self, sender: str, replies: list[dict]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("the channel did not accept it")
        self.received += [reply["text"] for reply in replies]

    async def resume(self, sender: str) -> None:
        return None


@pytest.fixture
def centre(tmp_path):
    from store import migrate

    url = f"sqlite:///{tmp_path / 'relay.db'}"
    migrate.upgrade(url)
    opened = Centre(url)
    yield opened
    opened.close()


def pending_in_console(centre: Centre, ticket: str) -> list[bool]:
    views = centre.console.messages(ticket, "wang", "test")
    return [view.pending for view in views if view.sender_role == "lawyer"]


async def test_a_refused_push_stays_pending_and_is_retried(centre, monkeypatch):
    monkeypatch.setattr(handoff_relay, "PUSH_RETRY_SECONDS", (0.1, 0.1, 0.1))
    channel = FlakyChannel(refusals=2)
    relay = HandoffRelay(centre.relay, channel.resume)
    relay.deliverers["telegram"] = channel.deliver  # the ticket of `request` is Telegram's
    ticket = centre.tickets.create_ticket(request(SENDER)).reference
    centre.console.claim(ticket, "wang")
    centre.console.send_message(ticket, "您好，请问欠了多久？", "wang")

    await relay.push(ticket)
    assert channel.received == []
    assert pending_in_console(centre, ticket) == [True], "not delivered: shown pending"
    views = centre.console.messages(ticket, "wang", "test")
    assert PENDING_MARK in message_items(views)

    await asyncio.sleep(0.5)  # the retries: refused once more, then accepted
    assert channel.received == ["您好，请问欠了多久？"]
    assert pending_in_console(centre, ticket) == [False]
    await relay.push(ticket)  # nothing left to send: not sent twice
    assert channel.received == ["您好，请问欠了多久？"]
    await relay.close()


async def test_wechat_send_failures_are_retried_and_then_raised(monkeypatch, caplog):
    from bot.wechat import channel as wechat_channel
    from bot.wechat.api import WeChatApiError

    monkeypatch.setattr(wechat_channel, "SEND_RETRY_SECONDS", (0.01, 0.01))
    tries: list[str] = []

    class DownApi:
        async def send_text(self, openid: str, text: str) -> None:
            tries.append(text)
            raise WeChatApiError("errcode=-1 errmsg=system error")

    with pytest.raises(WeChatApiError):
        await wechat_channel.send_texts(DownApi(), "oX", [{"text": "测试张三丰的回复"}])
    assert len(tries) == 3
    assert "测试张三丰" not in caplog.text and "wechat send failed" in caplog.text
