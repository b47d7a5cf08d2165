"""What every store shares (store/encrypted_columns.py, store/audit.py): the one
declaration of each encrypted column, and the one audit writer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.audit import audit_entries, write_audit
from store.crypto import DecryptionError, KeyRing
from store.encrypted_columns import (
    ENCRYPTED_COLUMNS,
    REHASHED_LOOKUPS,
    decrypt_field,
    encrypt_field,
    encrypted_column,
)
from store.intake import IntakeStore
from store.links import ConversationLinks
from store.models import Base, HandoffMessage, HandoffNote, HandoffTicket, Intake, utc_now
from store.rotation import rotate_keys
from store.training import Misunderstood, TrainingStore
from tests.support.handoff_stores import handoff_stores
from tests.support.links import continue_elsewhere
from tests.test_handoff_store import (
    MESSAGE,
    PHONE,
    PII_KEY,
    REQUESTED,
    SENDER,
    STORY,
    Centre,
    request,
)
from tests.test_store import KEY_A, KEY_B, NAME, application


def test_every_encrypted_column_is_declared_once():
    in_tables = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_encrypted")
    }
    declared = [(column.table, column.name) for column in ENCRYPTED_COLUMNS]
    assert sorted(declared) == sorted(in_tables)
    for column in ENCRYPTED_COLUMNS:
        if column.scope is not None:
            assert column.scope in column.model.__table__.columns
    for lookup in REHASHED_LOOKUPS:
        assert lookup.name in lookup.model.__table__.columns
        assert (lookup.model, lookup.source) in {(c.model, c.name) for c in ENCRYPTED_COLUMNS}


def test_bindings_are_the_ones_stored_values_were_made_with():
    # Changing one would make every value already stored in that column unreadable.
    assert encrypted_column(Intake, "name_encrypted").binding() == "intakes.name_encrypted"
    assert (
        encrypted_column(HandoffTicket, "summary_encrypted").binding()
        == "handoff_tickets.summary_encrypted"
    )
    assert (
        encrypted_column(HandoffMessage, "text_encrypted").binding(42)
        == "handoff_messages.text_encrypted#42"
    )
    assert encrypted_column(HandoffNote, "text_encrypted").binding(7) == (
        "handoff_notes.text_encrypted#7"
    )


def test_a_value_is_bound_to_its_column_and_its_ticket():
    keys = KeyRing.parse(KEY_A)
    token = encrypt_field(keys, HandoffMessage, "text_encrypted", "欠了半年工资", 1)
    stored = HandoffMessage(ticket_id=1, text_encrypted=token)
    assert decrypt_field(keys, stored, "text_encrypted") == "欠了半年工资"
    with pytest.raises(DecryptionError):  # moved to another ticket
        decrypt_field(keys, HandoffMessage(ticket_id=2, text_encrypted=token), "text_encrypted")
    with pytest.raises(ValueError):  # a message without its ticket
        encrypt_field(keys, HandoffMessage, "text_encrypted", "欠了半年工资")
    with pytest.raises(KeyError):  # a column nobody declared is not encrypted in passing
        encrypt_field(keys, Intake, "region", "baotou")
    assert encrypt_field(keys, Intake, "id_number_encrypted", None) is None


def test_the_audit_writer_cuts_every_text_to_its_column(migrated_url):
    engine = sa.create_engine(migrated_url, future=True)
    try:
        with Session(engine, future=True) as session, session.begin():
            write_audit(session, "staff:" + "w" * 100, "a" * 50, None, "为什么" * 100, "d" * 300)
        with Session(engine, future=True) as session:
            (entry,) = audit_entries(session)
    finally:
        engine.dispose()
    assert (len(entry.actor), len(entry.action)) == (64, 32)
    assert (len(entry.purpose), len(entry.detail)) == (200, 200)


# Key rotation over every declared column ----------------------------------------------


def raw_values(database_url: str) -> dict[str, list[str]]:
    """Every encrypted value and rehashed lookup as stored, by table.column."""
    engine = sa.create_engine(database_url, future=True)
    found: dict[str, list[str]] = {}
    try:
        with engine.connect() as connection:
            for declared in (*ENCRYPTED_COLUMNS, *REHASHED_LOOKUPS):
                table = declared.model.__tablename__
                query = sa.text(f"SELECT {declared.name} FROM {table}")
                values = [row[0] for row in connection.execute(query) if row[0] is not None]
                found[f"{table}.{declared.name}"] = values
    finally:
        engine.dispose()
    return found


def test_rotation_reencrypts_every_table_so_the_old_key_can_go(migrated_url):
    old_env = {"DATABASE_URL": migrated_url, "PII_KEY": PII_KEY}
    centre = Centre(migrated_url)
    intakes = IntakeStore.from_env(old_env)
    links = ConversationLinks.from_env(old_env)
    reference = intakes.submit(application()).reference
    intakes.set_status(reference, "under_review", "staff:wang", note=f"已联系{NAME}")
    ticket = centre.tickets.create_ticket(
        request(intake_reference=reference, requested_lawyer=REQUESTED)
    ).reference
    centre.relay.add_person_message(SENDER, MESSAGE)
    centre.console.claim(ticket, "wang")
    centre.console.send_message(ticket, "请把欠条拍下来", "wang")
    centre.console.add_note(ticket, f"当事人电话{PHONE}", "wang")
    waiting = centre.tickets.create_ticket(request("tg-callback")).reference
    centre.tickets.request_callback(waiting, utc_now() + timedelta(hours=2), phone=PHONE)
    continue_elsewhere(links, SENDER, "wechat:o6_5550123", "wechat")
    links.issue_code("web-not-yet-redeemed")
    training = TrainingStore.from_env(old_env)
    training.collect(Misunderstood(SENDER, f"我叫{NAME}，那个怎么弄", "web", "not_understood"))
    for store in (intakes, links, training):
        store.close()
    centre.close()

    rotating = IntakeStore.from_env({"DATABASE_URL": migrated_url, "PII_KEY": f"{KEY_B},{PII_KEY}"})
    try:
        report = rotate_keys(rotating.engine, rotating.keys, batch=1)  # one row per commit
        assert report.key_id == "b"
        assert report.rows == {
            "intakes": 1,
            "intake_statuses": 1,
            "handoff_tickets": 2,
            "handoff_messages": 2,
            "handoff_notes": 1,
            "continuation_codes": 1,  # the used one went when the next was issued
            "conversation_links": 1,
            "pending_links": 1,  # confirmed, until the new channel's next turn
            "training_messages": 1,
        }
        # Run again (after an interruption, say): what is done is not done twice.
        assert set(rotating.rotate_keys().rows.values()) == {0}
        assert ("key-rotation", "rotate_keys") in [
            (entry.actor, entry.action) for entry in rotating.audit_log()
        ]
    finally:
        rotating.close()

    for column, values in raw_values(migrated_url).items():
        assert values, f"nothing stored in {column}"
        prefix = "b:" if column.endswith("_lookup") else "v1.b."
        assert all(value.startswith(prefix) for value in values), column

    # Key h is gone: every table reads back, and lookups find their rows.
    only_b = {"DATABASE_URL": migrated_url, "PII_KEY": KEY_B}
    intakes, links = IntakeStore.from_env(only_b), ConversationLinks.from_env(only_b)
    roster, _, relay, console = handoff_stores(only_b)
    try:
        assert intakes.read(reference, "staff:wang", "核对").name == NAME
        assert intakes.history(reference)[-1].note == f"已联系{NAME}"
        assert intakes.find_by_phone(PHONE, "staff:wang", "查重") == [reference]
        view = console.ticket(ticket, "coord", "核对")
        assert (view.requested_lawyer, view.summary.what_happened) == (REQUESTED, STORY)
        assert view.intake_reference == reference
        assert console.ticket(waiting, "coord", "安排回电").callback_phone == PHONE
        said = [m.text for m in console.messages(ticket, "coord", "核对")]
        assert said == [MESSAGE, "请把欠条拍下来"]
        assert [n.text for n in console.notes(ticket, "coord", "核对")] == [f"当事人电话{PHONE}"]
        assert relay.open_ticket_for(SENDER) == ticket
        assert relay.relay_route(ticket) == (SENDER, "wechat", "wechat:o6_5550123")
        assert links.conversation_of("wechat:o6_5550123") == SENDER
    finally:
        for store in (intakes, links, roster):
            store.close()
