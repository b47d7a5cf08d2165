"""Attack: drop the old key after `rotate-key` and find records unreadable, or
no longer found by phone or conversation (issue 19: only applications rotated).

Every table with personal data and Rasa's conversations are filled under the old
key, rotated, and then read with the new key alone; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import store
from rasa_ext.tracker_store import EVENT_COLUMN
from store.intake import IntakeStore
from store.links import ConversationLinks
from tests.support.handoff_stores import handoff_stores
from tests.support.records import (
    ALIAS,
    NEW_KEY,
    OLD_KEY,
    SAID,
    SENDER,
    all_text,
    make_person,
    talk,
    tracker_store,
    user_texts,
)
from tests.test_handoff_store import Centre
from tests.test_store import PHONE, application, as_read_back

ROTATED_TABLES = [
    "intakes", "intake_statuses", "handoff_tickets", "handoff_messages", "handoff_notes",
    "conversation_links", "events", "conversation_ids",
]  # fmt: skip


async def test_every_table_and_the_tracker_read_with_the_new_key_alone(migrated_url):
    centre = Centre(migrated_url)
    person = make_person(migrated_url, centre, status="under_review")
    centre.close()
    before = tracker_store(migrated_url, OLD_KEY)
    for said in (SAID, "还有一件事"):
        await talk(before, SENDER, said)
    before.engine.dispose()

    rotating = IntakeStore.from_env(
        {"DATABASE_URL": migrated_url, "PII_KEY": f"{NEW_KEY},{OLD_KEY}"}
    )
    tracker_engine = store.create_engine(migrated_url)
    report = rotating.rotate_keys(tracker_engine=tracker_engine)
    assert report.rows["intakes"] == 1 and report.rows["events"] > 0
    assert report.rows["conversations"] == 1 and report.unknown_conversations == 0
    again = rotating.rotate_keys(tracker_engine=tracker_engine)  # resumable: nothing left
    assert sum(again.rows.values()) == 0
    rotating.close()
    tracker_engine.dispose()

    old_kid = OLD_KEY.split(":")[0]
    raw = all_text(migrated_url, ROTATED_TABLES)
    assert f"v1.{old_kid}." not in raw and f"'{old_kid}:" not in raw

    env = {"DATABASE_URL": migrated_url, "PII_KEY": NEW_KEY}
    intakes = IntakeStore.from_env(env)
    assert intakes.read(person.reference, "staff:wang", "核对") == as_read_back(
        application(conversation_id=SENDER)
    )
    assert intakes.history(person.reference)[-1].note == "已联系王小明"
    assert intakes.find_by_phone(PHONE, "staff:wang", "查重") == [person.reference]
    assert intakes.find_by_conversation(SENDER, "staff:wang", "查重") == [person.reference]
    intakes.close()

    roster, _tickets, relay, console = handoff_stores(env)
    view = console.ticket(person.ticket, "wang", "核对")
    assert view.intake_reference == person.reference and view.summary.what_happened
    texts = [m.text for m in console.messages(person.ticket, "wang", "核对")]
    assert "王小明您好，请带上欠条" in texts and "我的电话是13912345678" in texts
    assert [n.text for n in console.notes(person.ticket, "wang", "核对")] == ["王小明有残疾证"]
    assert relay.relay_state(SENDER)[0] == person.ticket
    links = ConversationLinks(roster.engine, roster.keys)
    assert links.conversation_of(ALIAS) == SENDER
    assert links.delivery_target(SENDER) is not None
    roster.close()

    after = tracker_store(migrated_url, NEW_KEY)
    assert user_texts(await after.retrieve_full_tracker(SENDER)) == [SAID, "还有一件事"]
    await talk(after, SENDER, "第三句")  # the conversation goes on under the new hash
    assert user_texts(await after.retrieve_full_tracker(SENDER))[-1] == "第三句"
    with after.engine.connect() as connection:
        senders = connection.execute(sa.text("SELECT DISTINCT sender_id FROM events")).scalars()
        assert [s.split(":")[0] for s in senders] == ["n"]
    after.engine.dispose()
    assert EVENT_COLUMN == "events.data"


async def test_an_interrupted_rotation_finishes_when_run_again(migrated_url, monkeypatch):
    before = tracker_store(migrated_url, OLD_KEY)
    for turn in range(5):
        await talk(before, f"web-{turn}", SAID)
    before.engine.dispose()
    keys = IntakeStore.from_env({"DATABASE_URL": migrated_url, "PII_KEY": f"{NEW_KEY},{OLD_KEY}"})
    tracker_engine = store.create_engine(migrated_url)
    from store import tracker_events

    # One batch of two conversations moved, then the process "dies" in the second.
    move = tracker_events._move_conversation
    moved: list[int] = []

    def dies_on_the_third(*args):
        if len(moved) == 2:
            raise KeyboardInterrupt
        moved.append(1)
        move(*args)

    monkeypatch.setattr(tracker_events, "_move_conversation", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        tracker_events.rotate(tracker_engine, keys.keys, batch=2)
    monkeypatch.setattr(tracker_events, "_move_conversation", move)
    first = tracker_events.rotate(tracker_engine, keys.keys, batch=2)
    assert first.conversations == 3 and first.unknown_ids == 0
    assert tracker_events.rotate(tracker_engine, keys.keys) == tracker_events.TrackerRotation(
        0, 0, 0
    )
    keys.close()
    tracker_engine.dispose()
    after = tracker_store(migrated_url, NEW_KEY)
    for turn in range(5):
        assert user_texts(await after.retrieve(f"web-{turn}")) == [SAID]
    after.engine.dispose()
