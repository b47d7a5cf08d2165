"""The handoff store against real databases: a SQLite file and a PostgreSQL server
(scripts/local_postgres.py, loopback; skipped with the reason where it is not installed)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from legal_aid.handoff.matching import NOBODY_ON_DUTY, REQUESTED_OFF_DUTY
from legal_aid.times import CHINA_TIME
from store import migrate
from store.handoff import (
    HandoffError,
    HandoffRequest,
    HandoffSummary,
    InvalidTicketTransition,
    LawyerDetails,
    NotAllowed,
)
from store.intake import IntakeStore, format_reference, seal
from store.models import Intake, utc_now
from store.staff import AccountLocked, InvalidCredentials, StaffAccounts, StaffError
from tests.support.handoff_stores import handoff_stores
from tests.test_handoff_matching import CAPITAL

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PII_KEY = f"h:{base64.b64encode(bytes([0x5A]) * 32).decode()}"
PASSWORD = "correct horse battery"

SENDER = "tg-chat-5550123"
NAME = "王小明"
PHONE = "13912345678"
STORY = "包工头拖欠我半年工资，一共三万二千元"
MESSAGE = "我的电话是13912345678，工地在昆都仑区"
REQUESTED = "李强"
PERSONAL = (SENDER, NAME, PHONE, STORY, "昆都仑区", REQUESTED)


# Databases: the fixtures database_url (SQLite and PostgreSQL) and migrated_url
# are in tests/conftest.py.


def raw_text(database_url: str) -> str:
    """Everything the handoff tables hold, as the database has it; for SQLite the
    file's bytes too (free pages and the journal included)."""
    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            rows = [
                str(list(row))
                for table in (
                    "handoff_tickets",
                    "handoff_messages",
                    "handoff_notes",
                    "audit_entries",
                )
                for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
            ]
    finally:
        engine.dispose()
    text = "\n".join(rows)
    if database_url.startswith("sqlite"):
        text += (
            open(database_url.removeprefix("sqlite:///"), "rb").read().decode("utf-8", "replace")
        )
    return text


# A small centre: a coordinator, an administrator, three lawyers -----------------------


class Centre:
    def __init__(self, url: str) -> None:
        env = {"DATABASE_URL": url, "PII_KEY": PII_KEY}
        self.url = url
        self.roster, self.tickets, self.relay, self.console = handoff_stores(env)
        self.accounts = StaffAccounts.from_env(env)
        self.accounts.create("admin", PASSWORD, "admin")
        self.accounts.create("coord", PASSWORD, "coordinator")
        now = utc_now()
        self.wang = self.lawyer("王丽", 2, 0, "wang", on_duty=True, specialities={"labor_wages"})
        self.li = self.lawyer("李强", 5, 1, "li", on_duty=True, disability_experience=True)
        self.zhao = self.lawyer("赵敏", 8, 6, "zhao", on_duty=False)
        self.zhao_next_shift = (now + timedelta(hours=20)).replace(microsecond=0)
        self.roster.add_shift(
            self.zhao.id, self.zhao_next_shift, self.zhao_next_shift + timedelta(hours=8), "coord"
        )

    def lawyer(self, name, years, criminal, username, on_duty, **profile):
        details = LawyerDetails(name, years, criminal, **{
            k: frozenset(v) if isinstance(v, set) else v for k, v in profile.items()
        })  # fmt: skip
        added = self.roster.add_lawyer(details, by="coord")
        self.accounts.create(username, PASSWORD, "lawyer", lawyer_id=added.id)
        if on_duty:
            now = utc_now()
            self.roster.add_shift(
                added.id, now - timedelta(hours=1), now + timedelta(hours=8), "coord"
            )
        return added

    def close(self) -> None:
        self.roster.close()  # the engine the others share
        self.accounts.close()


@pytest.fixture
def centre(migrated_url):
    opened = Centre(migrated_url)
    yield opened
    opened.close()


def request(conversation: str = SENDER, **changes) -> HandoffRequest:
    fields = dict(
        conversation_id=conversation,
        channel="telegram",
        summary=HandoffSummary(
            matter_type="labor_wages",
            who=f"{NAME}，本人，45岁，男",
            what_happened=STORY,
            eligibility_result="符合条件：进城务工人员追索劳动报酬，免予核查经济困难（第四十二条第（三）项）",
        ),
        facts={"region": "baotou", "age": 45, "gender": "male", "migrant_worker": True},
        transcript=(("person", STORY), ("assistant", "我帮您转给值班律师。")),
    )
    fields.update(changes)
    return HandoffRequest(**fields)


# Migrations -----------------------------------------------------------------------------


def test_migration_upgrades_from_0001_and_matches_the_models(database_url):
    migrate.upgrade(database_url, "0001")
    env = {"DATABASE_URL": database_url, "PII_KEY": PII_KEY}
    intakes = IntakeStore.from_env(env)
    from tests.test_store import application, head_revision, tables_and_revision

    reference = insert_as_0001_did(intakes, application())
    migrate.upgrade(database_url)
    migrate.check(database_url)  # `alembic check`: no drift between the migrations and the models
    tables, version = tables_and_revision(database_url)
    assert version == head_revision()
    assert {
        "lawyers",
        "duty_shifts",
        "staff_users",
        "handoff_tickets",
        "handoff_messages",
        "handoff_notes",
    } <= tables
    assert intakes.read(reference, "staff:t", "迁移后核对").name == application().name

    # A ticket may point at the application made in the same conversation.
    centre = Centre(database_url)
    made = centre.tickets.create_ticket(request(intake_reference=reference))
    view = centre.console.ticket(made.reference, "coord", "核对")
    assert view.intake_reference == reference
    centre.close()
    intakes.close()

    # And back down: 0002 removes only its own tables.
    engine = migrate.store.create_engine(database_url)
    try:
        with engine.begin() as connection:
            config = migrate.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert "handoff_tickets" not in sa.inspect(engine).get_table_names()
        assert "intakes" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def insert_as_0001_did(intakes: IntakeStore, details) -> str:
    """An application written with 0001's columns only (later revisions add some
    the store now writes, such as 0007's conversation_encrypted)."""
    row = {**seal(intakes.keys, details)}
    row.pop("conversation_encrypted")
    now = utc_now()
    reference = format_reference(now, 1)
    values = dict(
        row, reference=reference, application_key=details.application_key, status="new",
        created_at=now, updated_at=now, channel=details.channel, region=details.region,
        matter_type=details.matter_type, advance_aid=details.advance_aid, urgent=details.urgent,
    )  # fmt: skip
    with intakes.engine.begin() as connection:
        connection.execute(Intake.__table__.insert().values(id=1, **values))
    return reference


# Tickets ----------------------------------------------------------------------------------


def test_one_open_ticket_per_conversation(centre):
    first = centre.tickets.create_ticket(request())
    again = centre.tickets.create_ticket(request())
    assert first.created and not again.created
    assert again.reference == first.reference
    assert centre.tickets.open_ticket_for(SENDER) == first.reference

    centre.tickets.cancel(first.reference)
    assert centre.tickets.open_ticket_for(SENDER) is None
    later = centre.tickets.create_ticket(request())
    assert later.created and later.reference != first.reference


def test_concurrent_requests_make_one_ticket(centre):
    results, errors = [], []

    def ask() -> None:
        try:
            results.append(centre.tickets.create_ticket(request("tg-race")))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({result.reference for result in results}) == 1
    assert sum(result.created for result in results) == 1


def test_invalid_requests_are_refused_without_echoing_them(centre):
    with pytest.raises(HandoffError, match="channel") as caught:
        centre.tickets.create_ticket(request(channel="fax"))
    assert SENDER not in str(caught.value)
    with pytest.raises(HandoffError, match="facts"):
        centre.tickets.create_ticket(request(facts={"age": "老"}))
    with pytest.raises(HandoffError, match="transcript"):
        centre.tickets.create_ticket(request(transcript=(("bot", "hi"),)))


def test_queue_by_priority_then_waiting_time(centre):
    t0 = utc_now() - timedelta(minutes=30)
    asks = [  # conversation, facts, minutes after t0
        ("ordinary-early", {"region": "baotou", "age": 40, "gender": "male"}, 0),
        ("elderly", {"region": "baotou", "age": 70, "gender": "male"}, 1),
        ("disabled-urgent", {"region": "baotou", "age": 50, "gender": "male",
                             "disability_categories": ["visual"], "days_to_deadline": 2}, 2),
        ("ordinary-late", {"region": "baotou", "age": 41, "gender": "male"}, 3),
        ("elderly-late", {"region": "baotou", "age": 61, "gender": "male"}, 4),
    ]  # fmt: skip
    references = {}
    for conversation, facts, minutes in asks:
        made = centre.tickets.create_ticket(
            request(conversation, facts=facts), now=t0 + timedelta(minutes=minutes)
        )
        references[made.reference] = conversation
    queue = centre.console.queue("wang")
    assert [references[entry.reference] for entry in queue] == [
        "disabled-urgent",
        "elderly",
        "elderly-late",
        "ordinary-early",
        "ordinary-late",
    ]
    assert [entry.position for entry in queue] == [1, 2, 3, 4, 5]
    assert queue[0].urgent and queue[0].priority == 1010
    assert centre.tickets.queue_position(queue[3].reference) == 4
    with pytest.raises(NotAllowed):
        centre.console.queue("admin")


# Authorization and audit --------------------------------------------------------------------


def test_claim_and_read_authorization(centre):
    ticket = centre.tickets.create_ticket(request()).reference
    centre.relay.add_person_message(SENDER, MESSAGE)  # left while waiting

    # An administrator manages accounts and reads no conversation.
    with pytest.raises(NotAllowed):
        centre.console.ticket(ticket, "admin", "看看")
    # Off duty: may neither read a waiting ticket nor take it.
    with pytest.raises(NotAllowed, match="not on duty"):
        centre.console.claim(ticket, "zhao")
    with pytest.raises(NotAllowed):
        centre.console.ticket(ticket, "zhao", "看看")

    # A lawyer on duty may look before taking it, and takes it.
    assert centre.console.ticket(ticket, "wang", "决定是否接待").summary.what_happened == STORY
    claimed = centre.console.claim(ticket, "li")
    assert claimed.status == "claimed" and claimed.assigned_lawyer_id == centre.li.id
    assert centre.console.claim(ticket, "li").status == "claimed"  # again: harmless

    # Another lawyer can now neither read, nor claim, nor write, nor end it.
    for attempt in (
        lambda: centre.console.ticket(ticket, "wang", "好奇"),
        lambda: centre.console.messages(ticket, "wang", "好奇"),
        lambda: centre.console.claim(ticket, "wang"),
        lambda: centre.console.send_message(ticket, "你好", by="wang"),
        lambda: centre.console.hand_back(ticket, "wang"),
        lambda: centre.console.close_ticket(ticket, "wang"),
    ):
        with pytest.raises(NotAllowed):
            attempt()

    # A coordinator reads everything, and the lawyer reads their own.
    assert [m.text for m in centre.console.messages(ticket, "coord", "质量检查")] == [MESSAGE]
    centre.console.send_message(ticket, "您好，我是李律师。", by="li")
    texts = [(m.sender_role, m.text) for m in centre.console.messages(ticket, "li", "接待")]
    assert texts == [("person", MESSAGE), ("lawyer", "您好，我是李律师。")]

    log = centre.console.audit_log(ticket)
    actions = [(entry.actor, entry.action) for entry in log]
    for expected in [
        ("staff:admin", "handoff_read_refused"),
        ("staff:zhao", "handoff_claim_refused"),
        ("staff:wang", "handoff_read"),
        ("staff:li", "handoff_claim"),
        ("staff:wang", "handoff_claim_refused"),
        ("staff:wang", "handoff_write_refused"),
        ("staff:coord", "handoff_messages"),
        ("staff:li", "handoff_messages"),
    ]:
        assert expected in actions, expected
    refused_reads = [a for a in actions if a == ("staff:wang", "handoff_read_refused")]
    assert len(refused_reads) == 2  # the ticket and its messages
    for entry in log:
        text = f"{entry.actor}{entry.action}{entry.purpose}{entry.detail}"
        assert not any(value in text for value in PERSONAL)


def test_a_capital_case_only_for_a_qualified_lawyer(centre):
    ticket = centre.tickets.create_ticket(
        request("tg-capital", facts={**CAPITAL}, summary=HandoffSummary(
            "criminal_defense", "家属代问", "儿子被刑事拘留，可能判死刑", "通知辩护"))
    ).reference  # fmt: skip
    with pytest.raises(NotAllowed, match="第二十六条"):
        centre.console.claim(ticket, "li")  # one year of criminal practice
    assert centre.console.claim_next("li") is None
    # Only 赵敏 qualifies, and she is off duty: the dialogue can say when she starts.
    result = centre.tickets.match_ticket(ticket)
    assert result.reason == NOBODY_ON_DUTY
    assert result.next_shift_at == centre.zhao_next_shift


def test_claim_next_takes_the_first_ticket_the_lawyer_may_take(centre):
    centre.tickets.create_ticket(request("tg-capital", facts={**CAPITAL}))
    ordinary = centre.tickets.create_ticket(request("tg-ordinary")).reference
    taken = centre.console.claim_next("wang")
    assert taken is not None and taken.reference == ordinary


def test_requested_lawyer_off_duty_is_said_honestly(centre):
    ticket = centre.tickets.create_ticket(request(requested_lawyer="赵敏")).reference
    result = centre.tickets.match_ticket(ticket)
    assert result.reason == REQUESTED_OFF_DUTY
    assert result.next_shift_at == centre.zhao_next_shift
    assert {lawyer.display_name for lawyer in result.alternatives} == {"王丽", "李强"}


# The conversation's life --------------------------------------------------------------------


def test_release_hand_back_and_close(centre):
    ticket = centre.tickets.create_ticket(request()).reference
    centre.console.claim(ticket, "wang")
    centre.console.release(ticket, "wang")  # back in the queue, keeping its place
    assert centre.tickets.queue_position(ticket) == 1
    centre.console.claim(ticket, "li")
    assert centre.relay.relay_target(ticket) == ("telegram", SENDER)
    centre.console.hand_back(ticket, "li")
    view = centre.console.ticket(ticket, "coord", "核对")
    assert view.status == "returned" and view.closed_at is not None
    with pytest.raises(InvalidTicketTransition):
        centre.relay.add_message(ticket, "person", "还在吗")
    assert centre.relay.add_person_message(SENDER, "还在吗") is None

    second = centre.tickets.create_ticket(request()).reference
    centre.console.close_ticket(second, "coord")
    with pytest.raises(InvalidTicketTransition):
        centre.tickets.cancel(second)


def test_callback(centre):
    ticket = centre.tickets.create_ticket(request()).reference
    at = datetime(2030, 1, 1, 9, tzinfo=CHINA_TIME)
    with pytest.raises(HandoffError):
        centre.tickets.request_callback(ticket, at)  # more than 30 days ahead
    with pytest.raises(HandoffError):
        centre.tickets.request_callback(ticket, utc_now() - timedelta(minutes=1))
    soon = (utc_now() + timedelta(hours=3)).replace(microsecond=0)
    centre.tickets.request_callback(ticket, soon, phone="+86 139-1234-5678")
    view = centre.console.ticket(ticket, "coord", "安排回电")
    assert (view.callback_at, view.callback_phone) == (soon, PHONE)
    assert centre.console.queue("coord")[0].callback_at == soon


def test_personal_data_is_encrypted_at_rest(centre):
    ticket = centre.tickets.create_ticket(request(requested_lawyer=REQUESTED)).reference
    centre.relay.add_person_message(SENDER, MESSAGE)
    soon = utc_now() + timedelta(hours=2)
    centre.tickets.request_callback(ticket, soon, phone=PHONE)
    # The lawyers' own names are in the roster table, in clear, by design (点援制);
    # the ticket's request for one is not.
    text = raw_text(centre.url)
    for value in PERSONAL:
        if value == REQUESTED and centre.url.startswith("sqlite"):
            continue  # the roster row in the same file names 李强
        assert value not in text, f"personal data in clear: {value!r}"
    view = centre.console.ticket(ticket, "coord", "核对")
    assert view.requested_lawyer == REQUESTED and view.transcript[0] == ("person", STORY)


def test_a_message_moved_to_another_ticket_does_not_decrypt(centre):
    first = centre.tickets.create_ticket(request("tg-a")).reference
    second = centre.tickets.create_ticket(request("tg-b")).reference
    centre.relay.add_message(first, "person", MESSAGE)
    engine = sa.create_engine(centre.url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE handoff_messages SET ticket_id = :t"),
                               {"t": int(second.removeprefix("HO-"))})  # fmt: skip
    finally:
        engine.dispose()
    from store.crypto import DecryptionError

    with pytest.raises(DecryptionError):
        centre.console.messages(second, "coord", "核对")


# Notes, own lists, the person's side ------------------------------------------------------


def test_notes_are_for_the_handling_lawyer_and_coordinators_encrypted_and_audited(centre):
    ticket = centre.tickets.create_ticket(request()).reference
    centre.console.claim(ticket, "wang")
    centre.console.add_note(ticket, f"当事人电话{PHONE}，明早再联系", "wang")
    centre.console.add_note(ticket, "已核对工资条", "coord")
    assert [n.text for n in centre.console.notes(ticket, "coord", "核对")] == [
        f"当事人电话{PHONE}，明早再联系",
        "已核对工资条",
    ]
    with pytest.raises(NotAllowed):
        centre.console.add_note(ticket, "我也看看", "li")  # not li's conversation
    with pytest.raises(NotAllowed):
        centre.console.notes(ticket, "li", "好奇")
    with pytest.raises(HandoffError):
        centre.console.add_note(ticket, "   ", "wang")
    actions = [(e.action, e.actor) for e in centre.console.audit_log(ticket)]
    assert ("handoff_notes", "staff:coord") in actions
    assert ("handoff_read_refused", "staff:li") in actions
    assert "明早再联系" not in raw_text(centre.url)


def test_a_lawyer_lists_their_own_conversations(centre):
    mine = centre.tickets.create_ticket(request("tg-mine")).reference
    ended = centre.tickets.create_ticket(request("tg-ended")).reference
    others = centre.tickets.create_ticket(request("tg-other")).reference
    centre.console.claim(ended, "wang")
    centre.console.close_ticket(ended, "wang")
    centre.console.claim(mine, "wang")
    centre.console.claim(others, "li")
    listed = centre.console.own_tickets("wang")
    assert [(t.reference, t.status) for t in listed] == [(mine, "claimed"), (ended, "closed")]
    with pytest.raises(NotAllowed):
        centre.console.own_tickets("coord")


def test_a_console_refresh_with_nothing_new_is_not_logged(centre):
    ticket = centre.tickets.create_ticket(request()).reference
    centre.relay.add_person_message(SENDER, MESSAGE)
    first = centre.console.messages(ticket, "coord", "接待")
    logged = len(centre.console.audit_log(ticket))
    assert centre.console.messages(ticket, "coord", "接待", after=first[-1].id) == []
    assert len(centre.console.audit_log(ticket)) == logged
    centre.relay.add_person_message(SENDER, "还有一件事")
    again = centre.console.messages(ticket, "coord", "接待", after=first[-1].id)
    assert [m.text for m in again] == ["还有一件事"]
    assert len(centre.console.audit_log(ticket)) == logged + 1


def test_lawyer_messages_reach_a_channel_that_cannot_poll_once(centre):
    ticket = centre.tickets.create_ticket(request()).reference
    centre.console.claim(ticket, "wang")
    centre.console.send_message(ticket, "您好，欠了多久？", "wang")
    assert [m.text for m in centre.relay.take_lawyer_messages(ticket)] == ["您好，欠了多久？"]
    assert centre.relay.take_lawyer_messages(ticket) == []  # a second delivery: nothing
    centre.console.send_message(ticket, "请拍下欠条", "wang")
    polled = centre.relay.lawyer_messages_for_person(ticket, 0)
    centre.relay.mark_relayed(ticket, polled[-1].id)  # a page fetched it itself
    assert centre.relay.take_lawyer_messages(ticket) == []


def test_the_end_is_told_once(centre):
    ticket = centre.tickets.create_ticket(request()).reference
    assert centre.relay.ended_untold(SENDER) is None  # open, not ended
    centre.console.claim(ticket, "wang")
    centre.console.hand_back(ticket, "wang")
    assert centre.relay.ended_untold(SENDER) == (ticket, "returned")
    again = centre.tickets.create_ticket(request()).reference  # asked again meanwhile
    assert centre.relay.relay_state(SENDER) == (again, (ticket, "returned"))
    centre.tickets.cancel(again)
    assert centre.relay.ended_untold("tg-someone-else") is None
    assert centre.relay.mark_end_told(ticket) is True
    assert centre.relay.mark_end_told(ticket) is False  # told already: say it once
    assert centre.relay.mark_end_told(again) is True
    assert centre.relay.ended_untold(SENDER) is None
    assert centre.relay.relay_state(SENDER) == (None, None)


def test_a_coordinator_edits_a_lawyer_profile(centre):
    changed = LawyerDetails("王丽", 4, 3, disability_experience=True, active=False)
    profile = centre.roster.update_lawyer(centre.wang.id, changed, "coord")
    assert (profile.years_of_practice, profile.criminal_practice_years) == (4, 3)
    assert profile.disability_experience and not profile.active
    with pytest.raises(HandoffError):
        centre.roster.update_lawyer(centre.wang.id, LawyerDetails("李强", 4), "coord")  # taken
    with pytest.raises(NotAllowed):
        centre.roster.update_lawyer(centre.wang.id, changed, "wang")
    assert ("lawyer_edit", "staff:coord") in [
        (e.action, e.actor) for e in centre.console.audit_log()
    ]


# Staff accounts -------------------------------------------------------------------------------


def test_login_and_lockout(centre, monkeypatch):
    # The account-wide count is 50 (a backstop; the console locks per address
    # after five): five here keeps the test fast, the rule is the same.
    monkeypatch.setattr("store.staff.MAX_FAILED_LOGINS", 5)
    accounts = centre.accounts
    assert accounts.authenticate("coord", PASSWORD).role == "coordinator"
    now = utc_now()
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            accounts.authenticate("coord", "wrong password!", now)
    with pytest.raises(AccountLocked) as locked:
        accounts.authenticate("coord", "wrong password!", now)
    assert locked.value.until == now + timedelta(minutes=15)
    with pytest.raises(AccountLocked):  # even the right password, while locked
        accounts.authenticate("coord", PASSWORD, now + timedelta(minutes=14))
    with pytest.raises(NotAllowed, match="locked"):  # and the store refuses the account
        centre.console.queue("coord")
    assert (
        accounts.authenticate("coord", PASSWORD, now + timedelta(minutes=16)).role == "coordinator"
    )
    with pytest.raises(InvalidCredentials):
        accounts.authenticate("nobody", PASSWORD)

    log = [(e.actor, e.action) for e in centre.console.audit_log() if e.purpose == "员工账号"]
    assert ("staff:coord", "locked") in log and ("staff:coord", "login_refused") in log
    assert ("anonymous", "login_failed") in log
    assert PASSWORD not in raw_text(centre.url)


def test_account_rules(centre):
    with pytest.raises(StaffError, match="密码"):
        centre.accounts.create("short", "1234", "coordinator")
    with pytest.raises(StaffError, match="已存在"):
        centre.accounts.create("coord", PASSWORD, "coordinator")
    with pytest.raises(StaffError):
        centre.accounts.create("lawyer2", PASSWORD, "lawyer")  # a lawyer account needs a lawyer
    with pytest.raises(StaffError):
        centre.accounts.create("Bad Name", PASSWORD, "admin")
    with pytest.raises(NotAllowed):
        centre.roster.add_lawyer(LawyerDetails("钱多", 3), by="wang")


def staff_cli(args: list[str], url: str, stdin: str, cwd) -> subprocess.CompletedProcess:
    """python -m store.staff, away from the project folder so no .env is read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PII_KEY", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "store.staff", *args],
        env={**env, "PYTHONPATH": PROJECT_DIR, "DATABASE_URL": url},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_create_admin_cli(migrated_url, tmp_path):
    result = staff_cli(["create-admin", "--username", "root", "--password-stdin"], migrated_url,
                       PASSWORD + "\n", tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    accounts = StaffAccounts.from_env({"DATABASE_URL": migrated_url})
    try:
        assert accounts.authenticate("root", PASSWORD).role == "admin"
    finally:
        accounts.close()

    again = staff_cli(["create-admin", "--username", "root", "--password-stdin"], migrated_url,
                      PASSWORD + "\n", tmp_path)  # fmt: skip
    assert again.returncode == 1 and "已存在" in again.stderr and "Traceback" not in again.stderr
    weak = staff_cli(["create-admin", "--username", "root2", "--password-stdin"], migrated_url,
                     "short\n", tmp_path)  # fmt: skip
    assert weak.returncode == 1 and "密码" in weak.stderr
