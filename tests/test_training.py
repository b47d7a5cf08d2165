"""Learning from the centre's own conversations (issue 21): a message the
assistant did not understand is kept masked, and only with the person's
agreement; a coordinator labels it in the console; the export is training data
Rasa reads; erasure and retention remove it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import store
from actions import learning, slots
from actions.conversation import ActionTwoStageFallback
from actions.matters import ActionAcknowledgeMatter
from legal_aid.masking import mask
from scripts.launcher import Ports, Stack
from store import settings
from store.erasure import Erasure
from store.models import TrainingMessage, utc_now
from store.purge import purge
from store.retention import RetentionPeriods
from store.staff import StaffAccounts
from store.training import TrainingError, TrainingStore, intents, main
from tests.conftest import Conversation
from tests.support.actions import action_server_stores
from tests.support.browser_support import audit, focused, screenshot
from tests.support.records import OLD_KEY
from tests.test_console import (  # noqa: F401 - the browser fixture
    Centre,
    browser,
    console_window,
    logged_in,
    tab_to,
)

PHONE = "13912345678"
NAME = "张建国"
PLACE = "固阳县"
SAID = f"我叫{NAME}，电话{PHONE}，在{PLACE}，那个事情怎么弄啊"
IN_CLEAR = (NAME, PHONE, "1391234", PLACE)


def fallback_tracker(sender: str, text: str = SAID, **slot_values: Any) -> Tracker:
    """A message below the fallback threshold: Rasa names it nlu_fallback and
    keeps its own guesses in the ranking."""
    parse = {
        "text": text,
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.3},
            {"name": "where_to_apply", "confidence": 0.21},
        ],
        "entities": [],
    }
    return Tracker(
        sender_id=sender,
        slots=slot_values,
        latest_message=parse,
        events=[
            {
                "event": "user",
                "text": text,
                "input_channel": "rest",
                "metadata": {"channel": "wechat"},
                "parse_data": parse,
            }
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def not_understood(sender: str, **slot_values: Any) -> None:
    await ActionTwoStageFallback().run(
        CollectingDispatcher(), fallback_tracker(sender, **slot_values), {}
    )
    await learning.settled()


@pytest.fixture
def training(migrated_url, monkeypatch):
    with action_server_stores(migrated_url, monkeypatch):
        opened = TrainingStore.from_env({"DATABASE_URL": migrated_url, "PII_KEY": OLD_KEY})
        yield opened
        opened.close()


def stored_columns(training: TrainingStore) -> str:
    with training.engine.connect() as connection:
        rows = connection.execute(sa.select(TrainingMessage.__table__)).all()
    return repr(rows)


# Masking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "hidden", "kept"),
    [
        (SAID, IN_CLEAR, ("我叫", "电话", "怎么弄")),
        ("身份证 150203198001011234 老板欠我9000元", ("150203198001011234",), ("9000元",)),
        ("电话一三九 一二三四 五六七八，欠了3个月", ("一三九",), ("3个月",)),
        ("我姓欧阳，王先生不给钱", ("欧阳", "王先生"), ("先生不给钱",)),
        ("在包头市打工", ("包头",), ("打工",)),
        ("叫什么名字我也不知道", (), ("叫什么名字",)),
    ],
)
def test_masking_hides_numbers_names_and_places_and_keeps_the_rest(said, hidden, kept):
    masked = mask(said)
    assert not [word for word in hidden if word in masked], masked
    assert all(word in masked for word in kept), masked
    assert "[" not in masked  # Rasa would read [ ] as an entity annotation


# Collecting -----------------------------------------------------------------------------


async def test_a_consenting_persons_message_is_kept_masked_and_no_one_elses(training):
    agreed, not_asked, refused = (f"web-{uuid.uuid4().hex[:8]}" for _ in range(3))
    await not_understood(agreed, **{slots.LEARNING_CONSENT: True})
    await not_understood(not_asked)
    await not_understood(refused, **{slots.LEARNING_CONSENT: False})

    listed, waiting = training.unlabelled("staff:coord")
    assert len(listed) == 1 and waiting == 0
    (message,) = listed
    assert message.text == "我叫〔人名〕，电话〔号码〕，在〔地点〕，那个事情怎么弄啊"
    assert (message.intent, message.confidence) == ("where_to_apply", 0.21)
    assert (message.channel, message.reason) == ("wechat", "not_understood")
    # Nothing in clear in the table, not even the sender.
    columns = stored_columns(training)
    assert not [word for word in (*IN_CLEAR, "怎么弄", agreed) if word in columns]
    # The read is audited, with no text.
    (entry,) = [e for e in training.audit_log() if e.action == "read_training"]
    assert (entry.actor, entry.detail) == ("staff:coord", "1 messages")


async def test_the_question_back_about_the_matter_is_kept_with_the_guesses(training):
    sender = f"web-{uuid.uuid4().hex[:8]}"
    tracker = fallback_tracker(
        sender, text="我在工地摔了 老板说没钱", **{slots.LEARNING_CONSENT: True}
    )
    choices = ["work_injury", "labor_wages"]
    entity = {"entity": "matter_type", "value": "other", "choices": choices}
    tracker.latest_message = {
        **tracker.latest_message,
        "intent": {"name": "describe_problem", "confidence": 0.9},
        "entities": [entity],
    }
    dispatcher = CollectingDispatcher()
    await ActionAcknowledgeMatter().run(dispatcher, tracker, {})
    await learning.settled()
    assert dispatcher.messages[0]["buttons"]  # the question back was asked
    (message,) = training.unlabelled("staff:coord")[0]
    assert (message.reason, message.intent, message.matter) == (
        "asked_back",
        "describe_problem",
        "work_injury",
    )


def conversation_tracker(sender: str, events: list[dict[str, Any]], **slot_values: Any) -> Tracker:
    """A conversation so far: `events` of fallback messages (fell_back) and replies (replied)."""
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender_id=sender,
        slots=slot_values,
        latest_message=latest["parse_data"],
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def fell_back(text: str, intent: str = "nlu_fallback") -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.3}, "entities": []}
    return {"event": "user", "text": text, "input_channel": "rest", "parse_data": parse}


def replied(response: str) -> dict[str, Any]:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


MISSED = [
    fell_back("那个事情怎么弄啊"),
    replied("utter_please_rephrase"),
    fell_back(SAID),
]


async def fallback_turn(tracker: Tracker) -> tuple[list[str], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionTwoStageFallback().run(dispatcher, tracker, {})
    return [m["response"] for m in dispatcher.messages], events


async def test_the_learning_question_comes_once_after_the_second_miss():
    first, events = await fallback_turn(conversation_tracker("web-q", MISSED[:1]))
    assert first == ["utter_please_rephrase"] and events == []
    second, events = await fallback_turn(conversation_tracker("web-q", MISSED))
    assert second == ["utter_fallback_offer_human"]
    assert events == [
        {"event": "followup", "timestamp": None, "name": "action_ask_learning_consent"}
    ]
    # Asked already (and not answered), or answered: never again.
    asked = [*MISSED, replied("utter_fallback_offer_human"), replied(learning.ASK_CONSENT)]
    later = [*asked, fell_back("呃"), replied("utter_fallback_last"), fell_back("啊")]
    assert (await fallback_turn(conversation_tracker("web-q", later)))[1] == []
    refused = conversation_tracker("web-q", MISSED, **{slots.LEARNING_CONSENT: False})
    assert (await fallback_turn(refused))[1] == []


async def test_a_yes_keeps_the_messages_not_understood_so_far_masked(training):
    sender = f"web-{uuid.uuid4().hex[:8]}"
    asked = [*MISSED, replied("utter_fallback_offer_human"), replied(learning.ASK_CONSENT)]
    dispatcher = CollectingDispatcher()
    tracker = conversation_tracker(sender, [*asked, fell_back("可以", "affirm")])
    events = await learning.ActionLearningConsent().run(dispatcher, tracker, {})
    await learning.settled()
    assert dispatcher.messages[0]["response"] == "utter_learning_consent_given"
    assert events == [
        {"event": "slot", "timestamp": None, "name": "learning_consent", "value": True}
    ]
    listed, _ = training.unlabelled("staff:coord")
    assert sorted(m.text for m in listed) == sorted(["那个事情怎么弄啊", mask(SAID)])
    assert not [word for word in IN_CLEAR if word in stored_columns(training)]


async def test_a_no_keeps_nothing_whatever_the_model_made_of_it(training):
    asked = [*MISSED, replied("utter_fallback_offer_human"), replied(learning.ASK_CONSENT)]
    dispatcher = CollectingDispatcher()
    # "不可以" taken for a yes by the intent model is still a no.
    tracker = conversation_tracker("web-n", [*asked, fell_back("不可以", "affirm")])
    events = await learning.ActionLearningConsent().run(dispatcher, tracker, {})
    await learning.settled()
    assert dispatcher.messages[0]["response"] == "utter_learning_consent_refused"
    assert events[0]["value"] is False
    assert training.unlabelled("staff:coord")[0] == []


async def test_a_button_is_not_a_message_to_learn_from(training):
    await ActionTwoStageFallback().run(
        CollectingDispatcher(),
        fallback_tracker("web-b", text="/choose_option", **{slots.LEARNING_CONSENT: True}),
        {},
    )
    await learning.settled()
    assert training.unlabelled("staff:coord")[0] == []


# The question, on the real stack ---------------------------------------------------------

# Two messages the assistant cannot make out (their masking is tested above).
MUDDLED = ("阿巴阿巴阿巴", "呃呃呃")


def test_after_two_misses_a_person_is_asked_and_a_yes_keeps_both(stack):
    before = kept_texts(stack)
    person = Conversation(stack)
    assert "没听明白" in person.reply_text(MUDDLED[0])
    second = person.reply_text(MUDDLED[1])
    assert "请值班律师" in second and "还想请您帮个忙" in second and "删除我的信息" in second
    assert "谢谢您" in person.reply_text("可以")
    # Written after the reply, without the turn waiting for it.
    for _ in range(50):
        kept = kept_texts(stack)[len(before) :]
        if len(kept) >= len(MUDDLED):
            break
        time.sleep(0.1)
    assert sorted(kept) == sorted(MUDDLED)


def test_a_no_to_the_question_keeps_nothing_and_it_is_not_asked_again(stack):
    before = kept_texts(stack)
    person = Conversation(stack)
    person.say(MUDDLED[0])
    assert "还想请您帮个忙" in person.reply_text(MUDDLED[1])
    assert "不留" in person.reply_text("不可以")
    for _ in range(2):
        assert "还想请您帮个忙" not in person.reply_text(MUDDLED[0])
    assert kept_texts(stack) == before


def kept_texts(stack: Stack) -> list[str]:
    """Every message kept for labelling by the stack's action server, oldest first."""
    with stack_training_store(stack) as training:
        listed, _ = training.unlabelled("staff:coord")
    return [m.text for m in sorted(listed, key=lambda m: m.id)]


@contextmanager
def stack_training_store(stack: Stack) -> Iterator[TrainingStore]:
    """The store the stack's action server keeps the messages in."""
    env = stack.child_env()
    keys = {name: env[name] for name in ("PII_KEY", "PII_KEY_FILE") if env.get(name)}
    opened = TrainingStore.from_env({"DATABASE_URL": env["DATABASE_URL"], **keys})
    try:
        yield opened
    finally:
        opened.close()


# Labelling and export ------------------------------------------------------------------


def make_coordinator(url: str) -> str:
    name = f"coord-{uuid.uuid4().hex[:6]}"
    StaffAccounts(store.create_engine(url)).create(
        name, "correct horse battery staple", "coordinator"
    )
    return name


async def test_labelled_messages_export_as_training_data_rasa_reads_once(
    training, migrated_url, monkeypatch, tmp_path
):
    from rasa.shared.nlu.training_data.loading import load_data

    for n in range(3):
        await not_understood(f"web-{n}-{uuid.uuid4().hex[:6]}", **{slots.LEARNING_CONSENT: True})
    first, second, third = training.unlabelled("staff:coord")[0]
    with pytest.raises(TrainingError):
        training.label(first.id, "no_such_intent", None, "staff:coord")
    training.label(first.id, "describe_problem", "labor_wages", "staff:coord")
    training.label(second.id, "where_to_apply", None, "staff:coord")
    training.discard(third.id, "staff:coord")
    assert training.unlabelled("staff:coord") == ([], 2)

    coordinator = make_coordinator(migrated_url)
    out = tmp_path / "labelled.yml"
    assert main(["export", "--staff", coordinator, "--out", str(out)]) == 0

    data = load_data(str(out))
    assert {m.get("intent") for m in data.intent_examples} == {"describe_problem", "where_to_apply"}
    problem = next(m for m in data.intent_examples if m.get("intent") == "describe_problem")
    assert problem.get("text") == "我叫某某，电话某号码，在某地，那个事情怎么弄啊"
    assert problem.get("metadata") == {"example": {"matter_type": "labor_wages"}}
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["version"] == "3.1"
    assert out.stat().st_mode & 0o077 == 0
    assert not [word for word in IN_CLEAR if word in out.read_text(encoding="utf-8")]

    # Exported once: a second export finds nothing and leaves the file alone.
    again = tmp_path / "again.yml"
    assert main(["export", "--staff", coordinator, "--out", str(again)]) == 0
    assert not again.exists()
    with pytest.raises(TrainingError):
        training.label(first.id, "greet", None, "staff:coord")  # exported: not relabelled
    exports = [e for e in training.audit_log() if e.action == "export_training"]
    assert [(e.actor, e.detail) for e in exports] == [(f"staff:{coordinator}", "2 messages")]
    assert {"label_training", "discard_training"} <= {e.action for e in training.audit_log()}


def test_only_a_coordinator_exports_and_never_into_nlu_data(migrated_url, monkeypatch, tmp_path):
    with action_server_stores(migrated_url, monkeypatch):
        name = f"lawyer-{uuid.uuid4().hex[:6]}"
        assert main(["export", "--staff", name, "--out", str(tmp_path / "x.yml")]) == 2
        into = Path(__file__).resolve().parent.parent / "nlu_data" / "labelled.yml"
        assert main(["export", "--staff", name, "--out", str(into)]) == 2
        assert not into.exists()


def test_every_label_is_an_intent_of_the_domain():
    assert "describe_problem" in intents() and "nlu_fallback" not in intents()


# Erasure and retention ---------------------------------------------------------------------


async def test_erasure_and_retention_remove_the_messages(training, migrated_url):
    erased, refused, old = (f"web-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for sender in (erased, refused, old):
        await not_understood(sender, **{slots.LEARNING_CONSENT: True})
    erasure = Erasure(training.engine, training.keys)

    report = erasure.erase_conversation(erased)  # "删除我的信息"
    assert report.deleted.rows.get("training_messages") == 1
    assert erasure.forget_refused(refused).deleted.rows.get("training_messages") == 1
    assert len(training.unlabelled("staff:coord")[0]) == 1

    periods = RetentionPeriods()
    assert settings.retention_periods({"RETENTION_TRAINING_DAYS": "7"}).training == 7
    kept = purge(training.engine, None, periods, now=utc_now())
    assert "training_messages" not in kept.rows
    later = utc_now() + periods.period("training") + timedelta(days=1)
    gone = purge(training.engine, None, periods, now=later)
    assert gone.rows["training_messages"] == 1
    assert training.unlabelled("staff:coord")[0] == []


# The console page, on the real gateway -------------------------------------------------

OTHER_SAID = "我不同意的人说的话 13800001111"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """The gateway alone, console included: the console needs neither Rasa nor
    the action server, so none is started (the model path is never read)."""
    running = Stack(
        ports=Ports.free(),
        var_dir=tmp_path_factory.mktemp("var"),
        model=Path(__file__),
        env={f"RATE_LIMIT_{kind}": "0" for kind in ("CHAT", "POLLS", "VOICE", "LOGIN")},
    )
    running.start(("gateway",))
    try:
        yield running
    finally:
        running.stop(("gateway",))


@pytest.fixture(scope="module")
def centre(gateway):
    opened = Centre(gateway)
    yield opened
    opened.close()


@pytest.fixture
def assistant_on_the_centres_store(centre, monkeypatch):
    """The action server's store is the gateway's database, with its key file."""
    from store import encrypted_store

    monkeypatch.setenv("DATABASE_URL", centre.env["DATABASE_URL"])
    monkeypatch.delenv("PII_KEY", raising=False)
    monkeypatch.setenv("PII_KEY_FILE", centre.env["PII_KEY_FILE"])
    encrypted_store._shared.cache_clear()
    yield
    encrypted_store._shared.cache_clear()


def test_only_coordinators_see_the_messages(centre):
    for username in (centre.wang, centre.admin):
        browser_session = logged_in(centre, username)
        page = browser_session.get(f"{centre.url}/training", timeout=30)
        assert page.status_code == 403 and "不能使用这个页面" in page.text
        assert "/console/training" not in browser_session.get(f"{centre.url}/", timeout=30).text
        form = browser_session.get(f"{centre.url}/", timeout=30).text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        posted = browser_session.post(
            f"{centre.url}/training/1/discard", data={"csrf": csrf}, timeout=30
        )
        assert posted.status_code == 403
    anonymous = requests.get(f"{centre.url}/training", allow_redirects=False, timeout=30)
    assert anonymous.status_code == 303  # no session: to the login page


async def seed_messages() -> None:
    """Two people who agreed and one who did not, each not understood once."""
    for _ in range(2):
        await not_understood(f"web-{uuid.uuid4().hex[:8]}", **{slots.LEARNING_CONSENT: True})
    await ActionTwoStageFallback().run(
        CollectingDispatcher(), fallback_tracker("web-no", text=OTHER_SAID), {}
    )
    await learning.settled()


def test_a_coordinator_labels_and_discards_by_keyboard(
    centre,
    browser,  # noqa: F811
    assistant_on_the_centres_store,
    tmp_path,
):
    training = TrainingStore.from_env(centre.env)
    try:
        # The actions run on an event loop of their own: Playwright's sync API owns this thread's.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, seed_messages()).result()
        reads_before = sum(e.action == "read_training" for e in training.audit_log())
        with console_window(browser, centre, centre.coord) as page:
            label_and_discard(page)
        reads = [e for e in training.audit_log() if e.action == "read_training"]
        assert len(reads) - reads_before == 3  # every view: opening, and after each change
        assert reads[-1].actor == f"staff:{centre.coord}"

        out = tmp_path / "labelled.yml"
        assert main(["export", "--staff", centre.coord, "--out", str(out)]) == 0
        exported = yaml.safe_load(out.read_text(encoding="utf-8"))["nlu"]
        assert exported == [
            {
                "intent": "describe_problem",
                "examples": [
                    {
                        "text": "我叫某某，电话某号码，在某地，那个事情怎么弄啊",
                        "metadata": {"matter_type": "labor_wages"},
                    }
                ],
            }
        ]
    finally:
        training.close()


def label_and_discard(page) -> None:
    tab_to(page, lambda f: f["text"] == "未听懂的消息")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1 >> text=未听懂的消息")
    audit(page, "messages to label")
    screenshot(page, "console-training-list.png")
    shown = page.locator("main").inner_text()
    assert shown.count("我叫〔人名〕，电话〔号码〕，在〔地点〕") == 2
    assert not [word for word in (*IN_CLEAR, "13800001111", "不同意") if word in page.content()]
    assert "助手没听懂" in shown and "去哪里申请" in shown  # the assistant's guess

    # Label the first: intent and matter type from the lists, saved by Enter.
    intent_id = page.locator("section.training select[name=intent]").first.get_attribute("id")
    tab_to(page, lambda f: f["id"] == intent_id)
    page.locator(f"#{intent_id}").select_option("describe_problem")
    page.keyboard.press("Tab")
    matter_id = focused(page)["id"]
    assert page.get_by_label("事项类型").first.get_attribute("id") == matter_id
    page.locator(f"#{matter_id}").select_option("labor_wages")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "保存标注（消息 1）"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=标注已保存")
    assert page.locator("section.training").count() == 1
    assert "等待导出的消息：1" in page.locator("main").inner_text()
    audit(page, "after labelling")

    # The other is not worth teaching: deleted, by keyboard.
    tab_to(page, lambda f: f["text"] == "删除消息 1")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=消息已删除")
    assert "现在没有待标注的消息" in page.locator("main").inner_text()
    audit(page, "empty list")
    screenshot(page, "console-training.png")
