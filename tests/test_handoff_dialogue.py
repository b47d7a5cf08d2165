"""转人工 as people go through it, against the real stack: the honest answer, the
ticket a lawyer reads, messages relayed both ways, and back to the assistant.

The roster is made here through the store, in the stack's database with its key,
as a coordinator would. The tests share one roster, so they run in this order:
first nobody is on duty, then 王明 is.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bot import web_identity
from legal_aid.times import said_time
from scripts.launcher import Stack
from store.handoff import LawyerDetails
from store.staff import StaffAccounts
from tests.conftest import Conversation
from tests.support.gateway_api import API_HEADERS
from tests.support.handoff_stores import handoff_stores
from tests.test_intake_dialogue import _key_env

PASSWORD = "a-long-test-password-42"
COORDINATOR = "handoff-coordinator"
ON_DUTY = "王明"
OFF_DUTY = "赵强"


class Roster:
    def __init__(self, stack: Stack, coordinator: str = COORDINATOR) -> None:
        env = stack.child_env()
        config = {"DATABASE_URL": env["DATABASE_URL"], **_key_env(env)}
        self.roster, self.tickets, self.relay, self.console = handoff_stores(config)
        self.accounts = StaffAccounts.from_env(config)
        # One coordinator account per test module: the session shares the database.
        self.coordinator = coordinator
        self.accounts.create(coordinator, PASSWORD, "coordinator")
        self.users: dict[str, str] = {}
        self.lawyer_ids: list[int] = []

    def off_duty(self) -> None:
        """The stack is shared by the whole session: later tests expect nobody on duty."""
        for lawyer_id in self.lawyer_ids:
            self.roster.end_duty(lawyer_id, self.coordinator)

    def lawyer(self, name: str, starts_in: timedelta, hours: int) -> str:
        """A lawyer with a staff account and one shift; returns the username."""
        profile = self.roster.add_lawyer(LawyerDetails(name, years_of_practice=8), self.coordinator)
        self.lawyer_ids.append(profile.id)
        username = f"lawyer-{uuid.uuid4().hex[:8]}"
        self.accounts.create(username, PASSWORD, "lawyer", lawyer_id=profile.id)
        start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + starts_in
        self.roster.add_shift(profile.id, start, start + timedelta(hours=hours), self.coordinator)
        self.users[name] = username
        return username

    def read(self, reference: str):
        return self.console.ticket(reference, self.coordinator, "测试：核对转人工摘要")


@pytest.fixture(scope="module")
def roster(stack: Stack) -> Iterator[Roster]:
    on_duty = Roster(stack)
    yield on_duty
    on_duty.off_duty()


def texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if r.get("text"))


def updates(stack: Stack, sender: str, after: int = 0) -> list[dict]:
    response = requests.get(
        f"{stack.gateway_url}/api/chat/updates",
        params={"sender": sender, "after": after},
        headers=API_HEADERS,
        timeout=40,
    )
    response.raise_for_status()
    return response.json()


def ask_for_lawyer(person: Conversation, request: str = "转人工") -> list[dict]:
    """转人工 and yes to passing the conversation on: the replies to the yes."""
    asked = texts(person.say(request))
    assert "您同意转给律师吗" in asked and "12348" in asked
    return person.say("同意")


def test_nothing_is_passed_to_a_lawyer_before_the_person_agrees(stack, roster):
    person = Conversation(stack)
    person.say("公司不给我交社保还把我辞退了")
    asked = texts(person.say("转人工"))
    assert "加密保存" in asked and "每次查看都有记录" in asked
    assert roster.tickets.open_ticket_for(person.sender) is None, "no ticket before the yes"

    refused = texts(person.say("不同意"))
    assert "不转交" in refused and "12348" in refused
    assert roster.tickets.open_ticket_for(person.sender) is None
    # Still with the assistant, and a later yes to something else hands nothing over.
    assert "免费" in texts(person.say("法律援助要钱吗"))
    person.say("好的")
    assert roster.tickets.open_ticket_for(person.sender) is None


def test_asked_once_per_conversation(stack, roster):
    person = Conversation(stack)
    person.say("老板拖欠工资")
    ask_for_lawyer(person)
    reference = roster.tickets.open_ticket_for(person.sender)
    assert reference is not None
    person.say("不等了")
    heard = texts(person.say("还是转人工吧"))
    assert "您同意转给律师吗" not in heard and "律师" in heard
    again = roster.tickets.open_ticket_for(person.sender)
    assert again is not None and again != reference
    roster.tickets.cancel(again)


def test_nobody_on_duty_says_the_next_shift_and_12348_and_books_a_callback(stack, roster):
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    roster.lawyer(OFF_DUTY, timedelta(hours=6), 8)
    person = Conversation(stack)
    person.say("儿子不给我生活费")
    heard = texts(ask_for_lawyer(person))
    assert "现在没有律师值班" in heard and "12348" in heard
    assert said_time(start + timedelta(hours=6), datetime.now(timezone.utc)) in heard

    asked = texts(person.say("约时间回电"))
    assert "方便回电的时间" in asked
    booked = texts(person.say("明天上午十点，13812345678"))
    assert "已经约好" in booked
    reference = roster.tickets.open_ticket_for(person.sender)
    view = roster.read(reference)
    assert view.callback_at is not None and view.callback_phone == "13812345678"
    assert view.summary.matter_type == "family_support"

    # Cancelling while waiting: back with the assistant, who answers again.
    assert "不再等律师" in texts(person.say("不等了"))
    assert roster.tickets.open_ticket_for(person.sender) is None
    assert "免费" in texts(person.say("法律援助要钱吗"))


def test_a_lawyer_on_duty_takes_over_and_hands_back(stack, roster):
    lawyer = roster.lawyer(ON_DUTY, timedelta(hours=-1), 4)
    person = Conversation(stack)
    person.say("包工头拖欠我三个月工资不给")
    replies = ask_for_lawyer(person)
    heard = texts(replies)
    assert "现在有值班律师有空" in heard and "不等了" in heard
    assert any((r.get("custom") or {}).get("handoff") for r in replies)

    # The ticket carries the summary a lawyer reads in ten seconds.
    reference = roster.tickets.open_ticket_for(person.sender)
    view = roster.read(reference)
    assert view.channel == "rest" and view.matter_type == "labor_wages"
    assert "拖欠" in view.summary.what_happened and view.summary.who.startswith("本人")
    assert ("person", "包工头拖欠我三个月工资不给") in view.transcript

    # While it waits, the person's words go to the ticket, not to the assistant.
    waiting = texts(person.say("什么是法律援助"))
    assert "已转给值班律师" in waiting and "法律援助是国家" not in waiting
    said = [m.text for m in roster.console.messages(reference, COORDINATOR, "测试")]
    assert "什么是法律援助" in said

    roster.console.claim(reference, lawyer)
    assert "律师已经接手" in texts(person.say("律师您好"))
    assert person.say("欠了一万二") == []  # acknowledged once only
    roster.console.send_message(reference, "您好，我是王律师。欠了多久了？", lawyer)
    got = updates(stack, person.sender)
    assert [(u["speaker"], u["text"]) for u in got] == [
        (f"{ON_DUTY}律师", "您好，我是王律师。欠了多久了？")
    ]

    roster.console.hand_back(reference, lawyer)
    ended = updates(stack, person.sender, after=got[-1]["id"])
    assert "法援助手在和您说话" in texts(ended)
    assert "法律援助是国家" in texts(person.say("什么是法律援助"))


def test_a_lawyer_asked_for_by_name_who_is_off_duty(stack, roster):
    person = Conversation(stack)
    heard = texts(ask_for_lawyer(person, f"我要找{OFF_DUTY}律师"))
    assert f"{OFF_DUTY}律师现在不在班" in heard
    assert f"{ON_DUTY}律师" in heard and "换一位律师" in heard
    reference = roster.tickets.open_ticket_for(person.sender)
    assert roster.read(reference).requested_lawyer == f"{OFF_DUTY}律师"
    assert "有空的律师接待您" in texts(person.say("换一位律师"))
    person.say("取消")
    assert roster.tickets.open_ticket_for(person.sender) is None


def test_the_handoff_answer_is_written_for_the_ear(stack, roster):
    sender = f"voice-{uuid.uuid4().hex[:12]}"
    spoken = []
    for message in ("转人工", "同意"):
        response = requests.post(
            f"{stack.rasa_url}/webhooks/voice/webhook",
            json={"sender": sender, "message": message},
            timeout=60,
        )
        response.raise_for_status()
        said = [m["text"] for m in response.json() if m.get("text")]
        assert said and "律师" in said[0]
        spoken += said
    for line in spoken:
        assert not re.search(r"[“”\"「」（）()\[\]]", line), line
        assert line.count("，") <= 6, line
    roster.tickets.cancel(roster.tickets.open_ticket_for(sender))


def test_the_page_without_javascript_shows_the_lawyers_replies(stack, roster):
    """The plain form redraws the conversation on each request: both sides of the
    handoff are on it, and a button looks for the lawyer's reply."""
    browser = requests.Session()

    def post(text: str) -> requests.Response:
        return browser.post(f"{stack.gateway_url}/chat", data={"message": text}, timeout=60)

    post("包工头拖欠我两个月工资")
    asked = post("转人工")
    assert "您同意转给律师吗" in asked.text
    post("/affirm")
    waiting = post("我在工地门口")
    assert "看看律师回复了没有" in waiting.text and "我在工地门口" in waiting.text
    sender = browser.cookies.get(web_identity.SENDER_COOKIE).rpartition(".")[
        0
    ]  # "sender.signature"
    reference = roster.tickets.open_ticket_for(sender)
    lawyer = roster.users[ON_DUTY]
    roster.console.claim(reference, lawyer)
    roster.console.send_message(reference, "请把工资条拍照发给我", lawyer)

    looked = browser.get(f"{stack.gateway_url}/chat", timeout=60).text
    assert f'{ON_DUTY}律师：</span><span class="text">请把工资条拍照发给我' in looked
    roster.console.hand_back(reference, lawyer)
    back = post("谢谢")
    assert "法援助手在和您说话" in back.text and "看看律师回复了没有" not in back.text
