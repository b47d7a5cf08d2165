"""Attack: read what was promised deleted (期满删除). Purge deletes every kind of
record past its period, Rasa's conversations included, and nothing younger;
one audit entry says how many of each, and holds nothing personal."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

import store
from store.models import utc_now
from store.purge import purge
from store.retention import RetentionPeriods
from tests.support.records import (
    OLD_KEY,
    SAID,
    SENDER,
    all_text,
    count,
    make_person,
    talk,
    tracker_store,
    user_texts,
)
from tests.test_handoff_store import Centre


def age_everything(url: str, days: int) -> None:
    """Move every time of every record `days` into the past."""
    past = utc_now() - timedelta(days=days)
    engine = store.create_engine(url)
    with engine.begin() as connection:
        for table, columns in {
            "intakes": ("created_at", "updated_at"),
            "handoff_tickets": ("created_at", "closed_at"),
            "conversation_links": ("linked_at", "last_turn_at"),
            "continuation_codes": ("created_at", "expires_at"),
            "audit_entries": ("at",),
        }.items():
            values = {column: past for column in columns}
            connection.execute(sa.table(table, *map(sa.column, columns)).update().values(values))
        connection.execute(sa.text("UPDATE events SET timestamp = :t"), {"t": past.timestamp()})
    engine.dispose()


async def test_purge_deletes_past_retention_rows_and_tracker_events(migrated_url):
    centre = Centre(migrated_url)
    person = make_person(migrated_url, centre, status="under_review")
    centre.console.close_ticket(person.ticket, "wang")
    # Withdrawn: the application's period starts.
    from store.intake import IntakeStore

    intakes = IntakeStore.from_env({"DATABASE_URL": migrated_url, "PII_KEY": OLD_KEY})
    intakes.set_status(person.reference, "withdrawn", "staff:wang")
    centre.close()
    tracker = tracker_store(migrated_url, OLD_KEY)
    await talk(tracker, SENDER, SAID)
    age_everything(migrated_url, days=4000)
    await talk(tracker, "web-recent", "最近的对话")  # within its 30 days: kept

    engine = store.create_engine(migrated_url)
    dry = purge(engine, engine, RetentionPeriods(), dry_run=True)
    assert dry.rows["intakes"] == 1 and dry.rows["events"] > 0
    assert count(migrated_url, "intakes") == 1  # a dry run deletes nothing

    report = purge(engine, engine, RetentionPeriods())
    assert report.rows["intakes"] == 1 and report.rows["handoff_tickets"] == 1
    assert report.rows["handoff_messages"] >= 2 and report.rows["handoff_notes"] == 1
    assert report.rows["conversations"] == 1 and report.rows["conversation_links"] == 1
    for table in (
        "intakes", "intake_statuses", "handoff_tickets", "handoff_messages", "handoff_notes",
        "conversation_links", "continuation_codes",
    ):  # fmt: skip
        assert count(migrated_url, table) == 0, table
    assert await tracker.retrieve(SENDER) is None
    assert user_texts(await tracker.retrieve("web-recent")) == ["最近的对话"]
    tracker.engine.dispose()

    entries = all_text(migrated_url, ["audit_entries"])
    assert "purge" in entries and "intakes 1" in entries
    assert "王小明" not in entries and "13912345678" not in entries and SENDER not in entries
    # The old entries went with their period (5 years); the purge's own stays.
    assert count(migrated_url, "audit_entries") == 1
    assert purge(engine, engine, RetentionPeriods()).total == 0  # nothing left to do
    engine.dispose()
    intakes.close()


async def test_nothing_younger_than_its_period_and_no_open_application_is_purged(migrated_url):
    centre = Centre(migrated_url)
    person = make_person(migrated_url, centre)  # open: new, ticket claimed
    centre.close()
    tracker = tracker_store(migrated_url, OLD_KEY)
    await talk(tracker, SENDER, SAID)
    age_everything(migrated_url, days=20)

    engine = store.create_engine(migrated_url)
    report = purge(engine, engine, RetentionPeriods())
    assert report.rows.get("intakes", 0) == 0 and report.rows.get("handoff_tickets", 0) == 0
    assert report.rows.get("conversations", 0) == 0
    assert count(migrated_url, "intakes") == 1 and count(migrated_url, "conversation_links") == 1
    assert user_texts(await tracker.retrieve(SENDER)) == [SAID]

    # An open application is kept however old; its idle conversation is not.
    age_everything(migrated_url, days=4000)
    report = purge(engine, engine, RetentionPeriods())
    assert count(migrated_url, "intakes") == 1 and report.rows["conversations"] == 1
    assert person.reference
    tracker.engine.dispose()
    engine.dispose()
