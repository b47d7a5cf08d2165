"""The relay on channels the gateway pushes to (Telegram, WeChat) and channels
that hear the lawyer only with their next turn (the kiosk): each lawyer message
arrives once, the end is told once, and a restarted gateway repeats nothing.

The store is real (SQLite and PostgreSQL); Rasa's resume is recorded, since the
stack-level story is in tests/test_handoff_dialogue.py and tests/test_console.py.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.continuation import Continuations
from bot.handoff_relay import HandoffRelay
from store.links import ConversationLinks
from tests.support.links import continue_elsewhere
from tests.test_handoff_store import Centre, request

SENDER = "telegram:4242"


class Person:
    """What a pushed-to person receives, and how often Rasa was resumed for them."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.resumed: list[str] = []

    async def deliver(self, sender: str, replies: list[dict]) -> None:
        self.received += [(sender, reply["text"]) for reply in replies]

    async def resume(self, sender: str) -> None:
        self.resumed.append(sender)


@pytest.fixture
def centre(migrated_url):
    opened = Centre(migrated_url)
    yield opened
    opened.close()


def relay_for(centre: Centre, person: Person) -> HandoffRelay:
    relay = HandoffRelay(centre.relay, person.resume)
    relay.deliverers["telegram"] = person.deliver
    return relay


def test_a_pushed_channel_gets_each_lawyer_message_and_the_end_once(centre):
    person = Person()
    relay = relay_for(centre, person)
    ticket = centre.tickets.create_ticket(request(SENDER)).reference
    centre.console.claim(ticket, "wang")

    centre.console.send_message(ticket, "您好，欠了多久？", "wang")
    asyncio.run(relay.push(ticket))
    asyncio.run(relay.push(ticket))  # pressed twice, or two console windows
    assert person.received == [(SENDER, "您好，欠了多久？")]

    # A gateway restarted between the lawyer's messages: nothing is said twice.
    restarted = relay_for(centre, person)
    answer = asyncio.run(restarted.intercept(SENDER, "半年了", "telegram"))
    assert answer.handled and all("欠了多久" not in r["text"] for r in answer.replies)

    centre.console.hand_back(ticket, "wang")
    asyncio.run(restarted.push(ticket))
    assert person.received[-1][1].startswith("律师已经结束了和您的对话")
    assert person.resumed == [SENDER]
    # The next message goes to the assistant, with no second notice.
    after = asyncio.run(restarted.intercept(SENDER, "法律援助要钱吗", "telegram"))
    assert not after.handled and after.replies == []
    assert person.resumed == [SENDER]


def test_a_channel_without_push_hears_the_lawyer_with_its_next_turn(centre):
    person = Person()
    relay = relay_for(centre, person)
    sender = "kiosk-7"
    ticket = centre.tickets.create_ticket(request(sender, channel="voice")).reference
    centre.console.claim(ticket, "wang")
    centre.console.send_message(ticket, "请把欠条带来", "wang")
    asyncio.run(relay.push(ticket))
    assert person.received == []  # nobody to push to
    heard = asyncio.run(relay.intercept(sender, "好的", "kiosk"))
    assert [r["text"] for r in heard.replies if r.get("speaker")] == ["请把欠条带来"]
    again = asyncio.run(relay.intercept(sender, "还有吗", "kiosk"))
    assert not [r for r in again.replies if r.get("speaker")]


def test_a_page_that_polls_is_not_repeated_on_its_spoken_turn(centre):
    person = Person()
    relay = relay_for(centre, person)
    sender = "web-page-1"
    ticket = centre.tickets.create_ticket(request(sender, channel="rest")).reference
    centre.console.claim(ticket, "wang")
    centre.console.send_message(ticket, "在吗", "wang")
    polled = asyncio.run(relay.updates(sender, 0, wait=0))
    assert [r["text"] for r in polled] == ["在吗"]
    spoken = asyncio.run(relay.intercept(sender, "在", "voice"))
    assert not [r for r in spoken.replies if r.get("speaker")]


def test_the_end_is_told_once_when_a_poll_and_a_turn_race(centre):
    person = Person()
    relay = relay_for(centre, person)
    sender = "web-page-2"
    ticket = centre.tickets.create_ticket(request(sender, channel="rest")).reference
    centre.console.claim(ticket, "wang")
    centre.console.close_ticket(ticket, "wang")

    async def both():
        return await asyncio.gather(
            relay.updates(sender, 0, wait=0), relay.intercept(sender, "你好", "web")
        )

    polled, turned = asyncio.run(both())
    notices = [r for r in polled + turned.replies if "律师已经结束了这次对话" in r.get("text", "")]
    assert len(notices) == 1


def test_starting_over_while_waiting_ends_the_wait_and_reaches_the_assistant(centre):
    person = Person()
    relay = relay_for(centre, person)
    ticket = centre.tickets.create_ticket(request(SENDER)).reference
    answer = asyncio.run(relay.intercept(SENDER, "/start_over", "telegram"))
    assert not answer.handled, "the assistant gets the restart"
    assert person.resumed == [SENDER] and centre.relay.ticket_status(ticket) == "cancelled"
    assert any("不再等律师" in r["text"] for r in answer.replies)


def test_a_person_who_moved_to_another_channel_gets_the_lawyer_there(centre):
    """接续码: the ticket was opened on the web chat; the person continued on
    Telegram with a code, so the lawyer's messages and the end are pushed there,
    and Rasa is resumed for the conversation itself."""
    person = Person()
    relay = relay_for(centre, person)
    web = "web-3c1e7f"
    ticket = centre.tickets.create_ticket(request(web, channel="rest")).reference
    centre.console.claim(ticket, "wang")
    links = ConversationLinks(centre.relay.engine, centre.relay.keys)
    continue_elsewhere(links, web, SENDER, "telegram")

    centre.console.send_message(ticket, "您好，欠了多久？", "wang")
    asyncio.run(relay.push(ticket))
    assert person.received == [(SENDER, "您好，欠了多久？")]

    centre.console.hand_back(ticket, "wang")
    asyncio.run(relay.push(ticket))
    assert person.received[-1][0] == SENDER
    assert person.received[-1][1].startswith("律师已经结束了和您的对话")
    assert person.resumed == [web]


def test_a_person_waiting_for_a_lawyer_can_ask_for_a_code(centre):
    """While a lawyer has the conversation Rasa hears nothing: the gateway gives
    the code itself, and the lawyer's conversation follows it."""
    relay = relay_for(centre, Person())
    links = ConversationLinks(centre.relay.engine, centre.relay.keys)
    continuations = Continuations(links, rasa=None, relay=relay)
    web = "web-77ab01"
    ask = continuations.code_during_handoff
    assert asyncio.run(ask(web, web, "给我接续码", False)) is None  # no lawyer: Rasa answers
    centre.tickets.create_ticket(request(web, channel="rest"))
    assert asyncio.run(ask(web, web, "欠了半年了", False)) is None  # for the lawyer

    given = asyncio.run(ask(web, web, "我想换到手机上，给我接续码", False))
    code = re.search(r"接续 (\d{8})", given[0]["text"]).group(1)
    spoken = asyncio.run(ask(web, web, "给我接续码", True))
    assert re.search(r"接续(?: \d){8}。", spoken[0]["text"])  # digit by digit

    said = asyncio.run(continuations.redeem(SENDER, code, "telegram"))
    assert "网页" in said[0]["text"]  # where to confirm
    number = re.search(r"确认接续 (\d{4})", said[0]["text"]).group(1)
    assert asyncio.run(continuations.conversation_of(SENDER)) == SENDER  # not yet
    confirmed = asyncio.run(continuations.answer_code(web, f"确认接续 {number}", "rest"))
    assert "Telegram" in confirmed[0]["text"]
    assert asyncio.run(continuations.conversation_of(SENDER)) == web
    linked = asyncio.run(continuations.greeting(SENDER, web))
    assert "律师的对话也转到了这里" in linked[0]["text"]
