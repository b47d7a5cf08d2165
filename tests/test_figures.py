"""The centre's figures: the event broker in the real stack, the computation on
SQLite and PostgreSQL, and the page in Chromium (keyboard, screen-reader tables, axe)."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

import store
from bot.console.figures import question_label
from store.figures import (
    APPLIED,
    FORM,
    HANDED_OVER,
    LEFT,
    MATTER,
    QUESTION,
    TURN,
    DropOff,
    FigureEvent,
    compute,
    record,
    reduce_event,
)
from store.models import ConversationFigure, HandoffTicket
from tests.conftest import Conversation
from tests.support.browser_support import audit, focused, screenshot
from tests.support.gateway_api import API_HEADERS
from tests.test_console import (  # noqa: F401 - fixtures
    browser,
    centre,
    console_window,
    logged_in,
    tab_to,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


# What the broker keeps of an event ----------------------------------------------------


@pytest.mark.parametrize(
    ("event", "kept"),
    [
        (
            {"event": "user", "text": "我叫张三 13800138000", "input_channel": "rest"},
            (TURN, "rest"),
        ),
        (
            {"event": "user", "input_channel": "rest", "metadata": {"channel": "wechat"}},
            (TURN, "wechat"),
        ),
        (
            {"event": "user", "input_channel": "rest", "metadata": {"channel": "张三"}},
            (TURN, "other"),
        ),
        ({"event": "user", "input_channel": "voice"}, (TURN, "voice")),
        ({"event": "slot", "name": "requested_slot", "value": "phone"}, (QUESTION, "phone")),
        ({"event": "slot", "name": "requested_slot", "value": None}, (QUESTION, None)),
        ({"event": "slot", "name": "phone", "value": "13800138000"}, None),
        ({"event": "slot", "name": "applicant_name", "value": "张三"}, None),
        ({"event": "slot", "name": "matter_type", "value": "labor_wages"}, (MATTER, "labor_wages")),
        ({"event": "slot", "name": "matter_type", "value": "张三的事"}, None),
        ({"event": "slot", "name": "intake_left", "value": "stop"}, (LEFT, None)),
        ({"event": "slot", "name": "intake_reference", "value": "FY-2026-000001"}, (APPLIED, None)),
        ({"event": "active_loop", "name": "intake_form"}, (FORM, "intake_form")),
        ({"event": "pause"}, (HANDED_OVER, None)),
        ({"event": "bot", "text": "您的电话是 13800138000"}, None),
    ],
)
def test_the_broker_keeps_names_and_flags_never_what_was_said(event, kept):
    assert reduce_event(event) == kept


# The computation, on both databases -----------------------------------------------------


def events(conversation: str, start: datetime, *steps: tuple[int, str, str | None]):
    """(minutes after start, kind, value) of one conversation."""
    return [
        FigureEvent((f"k1:{conversation}",), start + timedelta(minutes=m), kind, value)
        for m, kind, value in steps
    ]


def ticket(created: datetime, status: str, waited_minutes: float | None) -> HandoffTicket:
    claimed = created + timedelta(minutes=waited_minutes) if waited_minutes is not None else None
    return HandoffTicket(
        status=status, created_at=created, claimed_at=claimed, channel="rest", region="national",
        matter_type="labor_wages", urgent=False, priority=0, sender_encrypted="x",
        priority_reasons_encrypted="x", summary_encrypted="x", transcript_encrypted="x",
        case_encrypted="x", sender_lookup=f"k1:{uuid.uuid4().hex}",
    )  # fmt: skip


ELIGIBILITY = [(0, TURN, "rest"), (0, MATTER, "labor_wages"), (1, FORM, "eligibility_form")]
CONVERSATIONS = {
    # stopped answering the eligibility question on region
    "silent": ELIGIBILITY + [(1, QUESTION, "region"), (2, TURN, "rest")],
    # said "不想填了" at the phone question of the application
    "left": [(0, TURN, "wechat"), (1, FORM, "intake_form"), (1, QUESTION, "phone"),
             (2, TURN, "wechat"), (2, LEFT, None), (2, QUESTION, None), (2, FORM, None)],
    # finished the eligibility questions, then went quiet: not at any question
    "done": ELIGIBILITY + [(1, QUESTION, "age"), (2, TURN, "rest"), (2, QUESTION, None)],
    "applied": [(0, TURN, "rest"), (1, FORM, "intake_form"), (1, QUESTION, "phone"),
                (3, TURN, "rest"), (3, APPLIED, None)],
    "handed": [(0, TURN, "telegram"), (0, MATTER, "family_violence"), (1, HANDED_OVER, None)],
    # still talking 10 minutes ago: not given up yet
    "recent": [(0, TURN, "rest"), (1, FORM, "eligibility_form"), (1, QUESTION, "age"),
               (50, TURN, "rest")],
}  # fmt: skip


def test_figures_for_a_period(migrated_url):
    engine = store.create_engine(migrated_url)
    try:
        start = NOW - timedelta(hours=1)
        for name, steps in CONVERSATIONS.items():
            record(engine, events(name, start, *steps))
        record(engine, events("last-week", NOW - timedelta(days=8), (0, TURN, "rest")))
        # A later batch of the same conversation lands on the same row.
        record(engine, events("silent", start, (3, TURN, "rest")))
        with engine.begin() as connection:
            for created, status, waited in [
                (start, "closed", 4), (start, "claimed", 10), (start, "returned", 2),
                (start, "claimed", 30), (start, "waiting", None),
                (NOW - timedelta(days=9), "closed", 500),
            ]:  # fmt: skip
                # Only the columns set: the rest take their defaults.
                made = ticket(created, status, waited)
                values = {
                    c.name: getattr(made, c.name)
                    for c in HandoffTicket.__table__.columns
                    if c.name != "id" and getattr(made, c.name) is not None
                }
                connection.execute(sa.insert(HandoffTicket), values)

        figures = compute(engine, NOW - timedelta(days=7), NOW, now=NOW)
    finally:
        engine.dispose()

    assert figures.conversations == 6
    assert figures.per_channel == {"rest": 4, "wechat": 1, "telegram": 1}
    assert figures.outcomes == {"applied": 1, "handed_over": 1, "neither": 4}
    assert figures.matter_types == {"labor_wages": 2, "": 3, "family_violence": 1}
    assert figures.abandoned == 3
    assert sorted(figures.drop_off, key=lambda d: d.channel + (d.question or "")) == [
        DropOff("rest", None, None, silent=1, left=0),
        DropOff("rest", "eligibility_form", "region", silent=1, left=0),
        DropOff("wechat", "intake_form", "phone", silent=0, left=1),
    ]
    assert figures.tickets == {"claimed": 2, "closed": 1, "returned": 1, "waiting": 1}
    waiting = figures.waiting
    assert (waiting.count, waiting.median, waiting.p90, waiting.still_waiting) == (4, 7, 30, 1)
    with store.create_engine(migrated_url).connect() as connection:
        turns = connection.execute(
            sa.select(ConversationFigure.turns).where(
                ConversationFigure.conversation_lookup == "k1:silent"
            )
        ).scalar_one()
    assert turns == 3


def test_questions_are_named_in_chinese():
    assert question_label("intake_form", "phone") == "申请登记：联系电话"
    assert question_label("eligibility_form", "migrant_worker") == "资格查询：进城务工人员"
    assert question_label("intake_form", "age") == "申请登记：年龄"
    assert question_label(None, None) == "还没有开始提问"
    assert question_label("intake_form", "some_new_slot") == "申请登记：some_new_slot"


# The broker in the real stack -------------------------------------------------------------


def requested_slot(stack, sender: str) -> str | None:
    tracker = requests.get(stack.rasa_api(f"/conversations/{sender}/tracker"), timeout=30).json()
    return tracker["slots"].get("requested_slot")


def figures_row(engine, stack_keys, sender: str, timeout: float = 20):
    from store.figures import FIGURES_LOOKUP

    lookups = stack_keys.lookup_hashes(sender, FIGURES_LOOKUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(ConversationFigure).where(
                    ConversationFigure.conversation_lookup.in_(lookups)
                )
            ).first()
        if row is not None and row.question_state == "asking":
            return row
        time.sleep(0.5)
    return row


def test_conversations_that_stop_in_the_questions_are_drop_offs_at_that_question(stack):
    from store.crypto import KeyRing

    env = stack.child_env()
    keys = KeyRing.from_env({n: env[n] for n in ("PII_KEY", "PII_KEY_FILE") if env.get(n)})
    engine = store.create_engine(env["DATABASE_URL"])
    try:
        checking = Conversation(stack)
        checking.say("包工头欠我工钱")
        checking.say("帮我查一查")
        eligibility_question = requested_slot(stack, checking.sender)
        assert eligibility_question

        applying = Conversation(stack)
        answer = requests.post(
            f"{stack.gateway_url}/api/chat",
            json={
                "sender": applying.sender,
                "message": "包工头拖欠我三个月工资不给",
                "metadata": {"channel": "wechat"},
            },
            headers=API_HEADERS,
            timeout=30,
        )
        answer.raise_for_status()
        applying.say("现在登记申请")
        intake_question = requested_slot(stack, applying.sender)
        assert intake_question

        row = figures_row(engine, keys, checking.sender)
        assert (row.channel, row.last_form, row.last_question) == (
            "rest", "eligibility_form", eligibility_question,
        )  # fmt: skip
        assert row.matter_type == "labor_wages" and row.turns == 2
        assert not row.applied and not row.handed_over
        row = figures_row(engine, keys, applying.sender)
        assert (row.channel, row.last_form, row.last_question) == (
            "wechat", "intake_form", intake_question,
        )  # fmt: skip

        # Half an hour later, nobody has answered: both are drop-offs at their question.
        now = datetime.now(timezone.utc)
        figures = compute(engine, now - timedelta(hours=1), now, now=now + timedelta(minutes=31))
        at = {(d.channel, d.form, d.question): d.silent for d in figures.drop_off}
        assert at[("rest", "eligibility_form", eligibility_question)] >= 1
        assert at[("wechat", "intake_form", intake_question)] >= 1
        # Nothing anybody said is in the figures table.
        with engine.connect() as connection:
            dumped = " ".join(
                str(value)
                for row in connection.execute(sa.select(ConversationFigure))
                for value in row
            )
        assert "工资" not in dumped and checking.sender not in dumped
    finally:
        engine.dispose()


# The tracker store hands the broker each new event once, rollovers included ------------


class Collecting:
    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


async def test_the_tracker_store_publishes_every_stored_event_once(tmp_path):
    from rasa_ext.tracker_store import RollingSessionTrackerStore
    from tests.test_tracker_store import DOMAIN, KEYS, talk

    broker = Collecting()
    tracker_store = RollingSessionTrackerStore(
        domain=DOMAIN,
        host=f"sqlite:///{tmp_path / 'tracker.db'}",
        max_session_turns=5,
        keys=KEYS,
        event_broker=broker,
    )
    await talk(tracker_store, "u1", 7)
    users = [e["text"] for e in broker.published if e["event"] == "user"]
    assert users == [f"第{n}句" for n in range(7)]
    assert {e["sender_id"] for e in broker.published} == {"u1"}
    assert sum(e["event"] == "session_started" for e in broker.published) == 1
    full = await tracker_store.retrieve_full_tracker("u1")
    assert len(broker.published) == len(full.events)


# The page -------------------------------------------------------------------------------------


def seed_drop_offs(centre_env: dict) -> None:
    """Conversations of yesterday: two gave up at the phone question on WeChat."""
    engine = store.create_engine(centre_env["DATABASE_URL"])
    start = datetime.now(timezone.utc) - timedelta(days=1)
    try:
        for _ in range(2):
            tag = uuid.uuid4().hex
            record(engine, events(tag, start, *CONVERSATIONS["left"]))
        record(engine, events(uuid.uuid4().hex, start, *CONVERSATIONS["silent"]))
    finally:
        engine.dispose()


def test_a_lawyer_may_not_see_the_figures(centre):  # noqa: F811
    lawyer = logged_in(centre, centre.wang)
    page = lawyer.get(f"{centre.url}/figures", timeout=30)
    assert page.status_code == 403 and "不能使用这个页面" in page.text
    assert "/console/figures" not in lawyer.get(f"{centre.url}/", timeout=30).text
    admin = logged_in(centre, centre.admin)
    assert admin.get(f"{centre.url}/figures", timeout=30).status_code == 200


def test_a_coordinator_reads_the_figures_by_keyboard(centre, browser):  # noqa: F811
    seed_drop_offs(centre.env)
    with console_window(browser, centre, centre.coord) as page:
        tab_to(page, lambda f: f["text"] == "数据统计")
        page.keyboard.press("Enter")
        page.wait_for_selector("h1 >> text=数据统计")
        audit(page, "figures")

        # Every chart is a figure with a caption, hidden from screen readers,
        # followed by the same numbers in a table.
        for name in ("channels", "outcomes", "drop-off"):
            chart = page.locator(f"#{name}")
            assert chart.locator("figcaption").inner_text()
            assert chart.locator("svg").get_attribute("aria-hidden") == "true"
        drop_off = page.get_by_role("table", name=re.compile("在哪里放弃"))
        rows = drop_off.locator("tbody tr").all_inner_texts()
        assert any("微信｜申请登记：联系电话" in row and "\t2" in row for row in rows), rows
        assert (
            page.get_by_role("table", name="各渠道的对话数").locator("th", has_text="微信").count()
        )
        assert page.get_by_role("table", name="等待时间").count() == 1

        # The period is chosen by keyboard too.
        tab_to(page, lambda f: f["id"] == "days")
        page.keyboard.press("ArrowDown")  # 最近 30 天
        page.keyboard.press("Tab")
        assert focused(page)["text"] == "查看"
        page.keyboard.press("Enter")
        page.wait_for_url("**/console/figures?days=30")
        assert "最近 30 天" in page.locator("main p").first.inner_text()
        audit(page, "figures for 30 days")
        screenshot(page, "console-figures.png")
