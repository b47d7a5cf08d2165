"""What every store shares (store/encrypted_columns.py, store/audit.py): the one
declaration of each encrypted column, and the one audit writer."""

from __future__ import annotations

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
from store.models import Base, HandoffMessage, HandoffNote, HandoffTicket, Intake
from tests.test_store import KEY_A


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
