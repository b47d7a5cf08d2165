"""The intake store against real databases: a SQLite file and a PostgreSQL server.

PostgreSQL is started by the tests on loopback (scripts/local_postgres.py); where it is
not installed those parametrizations are skipped with the reason.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from hypothesis import given, settings
from hypothesis import strategies as st

from legal_aid.times import CHINA_TIME
from scripts.launcher import PROJECT_DIR, Ports, Stack
from store import crypto, migrate
from store.crypto import DecryptionError, KeyFormatError, KeyMissingError, KeyRing
from store.intake import (
    ApplicationDetails,
    IntakeStore,
    InvalidApplication,
    InvalidTransition,
    UnknownReference,
)
from tests.support.sqlite_files import bytes_on_disk


def fixed_key(kid: str, byte: int) -> str:
    return f"{kid}:{base64.b64encode(bytes([byte]) * 32).decode()}"


KEY_A = fixed_key("a", 0xA1)
KEY_B = fixed_key("b", 0xB2)

NAME = "王小明"
PHONE = "13912345678"
ID_NUMBER = "15020719800101123X"
CERTIFICATE = "残证15020742"
DESCRIPTION = "包工头拖欠我半年工资，一共三万二千元，他不接电话"
GUARDIAN_NAME = "李秀兰"
PERSONAL_VALUES = (NAME, PHONE, ID_NUMBER, CERTIFICATE, DESCRIPTION, GUARDIAN_NAME)


def application(key: str = "app-1", **changes: object) -> ApplicationDetails:
    details = ApplicationDetails(
        application_key=key,
        channel="voice",
        conversation_id="conv-42",
        name=NAME,
        phone=PHONE,
        region="baotou",
        county="内蒙古自治区/包头市/固阳县",
        matter_type="labor_wages",
        description=DESCRIPTION,
        contact_preference="phone",
        consent_version="2026-10",
        consent_given_at=datetime(2026, 11, 2, 9, 30, tzinfo=CHINA_TIME),
        id_number=ID_NUMBER,
        disability_certificate=CERTIFICATE,
        accessibility_needs=("voice_call", "large_print"),
        applying_for="other",
        applicant_age=12,
        guardian={"name": GUARDIAN_NAME, "relation": "母亲"},
        deadline_within_7_days=True,
        urgent_preservation=False,
        advance_aid=True,
        eligibility={
            "outcome": "eligible",
            "reasons": [{"text": "农民工追索劳动报酬免予经济困难审查", "citation": "art. 42(3)"}],
        },
    )
    return dataclasses.replace(details, **changes)


def as_read_back(details: ApplicationDetails) -> ApplicationDetails:
    """What read() gives: the conversation id is stored only as a keyed hash."""
    return dataclasses.replace(details, conversation_id="")


# Databases: the fixtures database_url (SQLite and PostgreSQL) and migrated_url
# are in tests/conftest.py.


def open_store(database_url: str, pii_key: str = KEY_A) -> IntakeStore:
    return IntakeStore.from_env({"DATABASE_URL": database_url, "PII_KEY": pii_key})


@pytest.fixture
def intake_store(migrated_url):
    opened = open_store(migrated_url)
    yield opened
    opened.close()


def raw_rows(database_url: str, table: str) -> list[dict]:
    """A table's rows exactly as the database holds them, no decryption."""
    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            return [
                dict(row._mapping) for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
            ]
    finally:
        engine.dispose()


def raw_execute(database_url: str, statement: str, **params: object) -> None:
    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def assert_no_personal_data(text: str) -> None:
    for value in PERSONAL_VALUES:
        assert value not in text, f"personal data in clear: {value!r}"


# Migrations ------------------------------------------------------------------------


def tables_and_revision(database_url: str) -> tuple[set[str], str]:
    """The database's tables, and the revision Alembic says it is at."""
    engine = sa.create_engine(database_url, future=True)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            version = connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).scalar()
    finally:
        engine.dispose()
    return tables, version


def head_revision() -> str:
    """The latest revision, whichever it is: later revisions must not break a test."""
    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def test_migrations_create_the_tables_on_an_empty_database(database_url):
    migrate.upgrade(database_url)
    migrate.upgrade(database_url)  # a second run changes nothing
    tables, version = tables_and_revision(database_url)
    assert {"intakes", "intake_statuses", "audit_entries"} <= tables
    assert version == head_revision()
    migrate.check(database_url)  # the hand-written revision matches the models


# Submit and read -----------------------------------------------------------------------


def test_submit_gives_a_reference_and_reads_back_equal(intake_store):
    result = intake_store.submit(application())
    assert result.created
    year = datetime.now(CHINA_TIME).year
    assert re.fullmatch(rf"FY-{year}-\d{{6}}", result.reference)
    assert result.reference.endswith("000001")
    assert intake_store.read(result.reference, "staff:wang", "审查申请") == as_read_back(
        application()
    )


def test_optional_fields_round_trip_as_none(intake_store):
    minimal = application(
        id_number=None,
        disability_certificate=None,
        accessibility_needs=(),
        applying_for="self",
        applicant_age=None,
        guardian=None,
        deadline_within_7_days=None,
        urgent_preservation=None,
        advance_aid=False,
        eligibility={},
    )
    reference = intake_store.submit(minimal).reference
    assert intake_store.read(reference, "staff:wang", "审查申请") == as_read_back(minimal)


def test_the_same_application_key_is_stored_once(intake_store, migrated_url):
    first = intake_store.submit(application())
    again = intake_store.submit(application(name="另一个名字"))
    assert again == dataclasses.replace(first, created=False)
    other = intake_store.submit(application(key="app-2"))
    assert other.created and other.reference != first.reference
    assert len(raw_rows(migrated_url, "intakes")) == 2


def test_concurrent_retries_store_one_application(migrated_url):
    # Separate stores, as two action-server workers would be.
    stores = [open_store(migrated_url) for _ in range(4)]
    start = threading.Barrier(len(stores))
    results, errors = [], []

    def submit(one_store: IntakeStore) -> None:
        start.wait()
        try:
            results.append(one_store.submit(application()))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=submit, args=(one,)) for one in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for one in stores:
        one.close()
    assert not errors
    assert len({result.reference for result in results}) == 1
    assert sum(result.created for result in results) == 1
    assert len(raw_rows(migrated_url, "intakes")) == 1
    assert len(raw_rows(migrated_url, "intake_statuses")) == 1


def test_losing_the_insert_race_returns_the_winner(intake_store, monkeypatch):
    """Both retries passed the look-up before either inserted: the unique key decides."""
    winner = intake_store.submit(application())
    looked_up = []
    real_lookup = intake_store._reference_for_key

    def lookup_that_missed_the_winner(key: str):
        looked_up.append(key)
        return None if len(looked_up) == 1 else real_lookup(key)

    monkeypatch.setattr(intake_store, "_reference_for_key", lookup_that_missed_the_winner)
    assert intake_store.submit(application()) == dataclasses.replace(winner, created=False)
    assert len(looked_up) == 2


def test_invalid_applications_are_refused_without_echoing_the_data(intake_store):
    with pytest.raises(InvalidApplication) as refused:
        intake_store.submit(application(guardian=None))  # a 12-year-old without a guardian
    assert "guardian" in str(refused.value)
    with pytest.raises(InvalidApplication) as refused:
        intake_store.submit(application(phone="139-1234 5678"))
    assert "phone" in str(refused.value) and "139" not in str(refused.value)
    for bad in (
        {"channel": "fax"},
        {"contact_preference": "email"},
        {"accessibility_needs": ("telepathy",)},
        {"applying_for": "neighbour"},
        {"matter_type": "Labor Wages"},
        {"eligibility": {"when": date(2026, 1, 1)}},
    ):
        with pytest.raises(InvalidApplication):
            intake_store.submit(application(**bad))


# Encryption at rest -----------------------------------------------------------------


def test_no_personal_data_in_clear_in_the_database(intake_store, migrated_url):
    reference = intake_store.submit(application()).reference
    intake_store.set_status(reference, "under_review", "staff:wang", note=f"已联系{NAME}")
    intake_store.read(reference, "staff:wang", "审查申请")
    for table in ("intakes", "intake_statuses", "audit_entries"):
        assert_no_personal_data(repr(raw_rows(migrated_url, table)))
    if migrated_url.startswith("sqlite"):
        # The file itself, every page of it, as UTF-8 (and so ASCII digits too).
        raw = bytes_on_disk(migrated_url)
        for value in PERSONAL_VALUES:
            assert value.encode("utf-8") not in raw, value


def test_tampered_ciphertext_fails_to_decrypt(intake_store, migrated_url):
    reference = intake_store.submit(application()).reference
    stored = raw_rows(migrated_url, "intakes")[0]["name_encrypted"]
    version, kid, body = stored.split(".")
    flipped = "B" if body[20] != "B" else "C"
    tampered = f"{version}.{kid}.{body[:20]}{flipped}{body[21:]}"
    raw_execute(migrated_url, "UPDATE intakes SET name_encrypted = :v", v=tampered)
    with pytest.raises(DecryptionError):
        intake_store.read(reference, "staff:wang", "审查申请")


def test_a_value_moved_to_another_column_fails_to_decrypt(intake_store, migrated_url):
    reference = intake_store.submit(application()).reference
    raw_execute(migrated_url, "UPDATE intakes SET name_encrypted = id_number_encrypted")
    with pytest.raises(DecryptionError):
        intake_store.read(reference, "staff:wang", "审查申请")


@settings(max_examples=200, deadline=None)
@given(plaintext=st.text(), column=st.text(min_size=1, max_size=40))
def test_encryption_round_trips_any_unicode(plaintext, column):
    keys = KeyRing.parse(KEY_A)
    token = keys.encrypt(plaintext, column)
    assert token.startswith("v1.a.") and token.isascii()
    assert keys.decrypt(token, column) == plaintext
    with pytest.raises(DecryptionError):
        keys.decrypt(token, column + "x")


@settings(max_examples=100, deadline=None)
@given(plaintext=st.text(min_size=1), data=st.data())
def test_any_changed_byte_is_detected(plaintext, data):
    keys = KeyRing.parse(KEY_A)
    version, kid, body = keys.encrypt(plaintext, "intakes.name_encrypted").split(".")
    blob = bytearray(base64.urlsafe_b64decode(body))
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] ^= data.draw(st.integers(1, 255))
    tampered = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(blob)).decode()}"
    with pytest.raises(DecryptionError):
        keys.decrypt(tampered, "intakes.name_encrypted")


def test_two_encryptions_of_one_value_differ():
    keys = KeyRing.parse(KEY_A)
    assert keys.encrypt(NAME, "c") != keys.encrypt(NAME, "c")


def test_pii_key_format_errors_are_clear_and_secret_free():
    for bad in (
        "",
        "nokid",
        "a:notbase64!!",
        "a:" + base64.b64encode(b"short").decode(),
        f"{KEY_A},{KEY_A}",
    ):
        with pytest.raises(KeyFormatError) as refused:
            KeyRing.parse(bad)
        assert "PII_KEY" in str(refused.value)
    assert "xa1" not in repr(KeyRing.parse(KEY_A)).lower()  # no key in a repr or traceback
    assert KeyRing.parse(f"{KEY_B}, {KEY_A}").key_ids == ("b", "a")


# Keys: files, rotation -------------------------------------------------------------


def test_key_file_is_private_and_never_overwritten(tmp_path):
    path = crypto.generate_key_file(tmp_path / "var" / "pii.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = KeyRing.from_env({"PII_KEY_FILE": str(path)})
    assert keys.decrypt(keys.encrypt(NAME, "c"), "c") == NAME
    with pytest.raises(FileExistsError):
        crypto.generate_key_file(path)
    assert crypto.ensure_local_key({"PII_KEY_FILE": str(path)}) is None
    # PII_KEY wins: no file is made for it, and the file is not read.
    assert crypto.ensure_local_key({"PII_KEY": KEY_A, "PII_KEY_FILE": str(tmp_path / "x")}) is None
    assert not (tmp_path / "x").exists()
    assert KeyRing.from_env({"PII_KEY": KEY_B, "PII_KEY_FILE": str(path)}).key_ids == ("b",)


def test_a_missing_key_is_a_clear_error_in_chinese_and_english(tmp_path):
    with pytest.raises(KeyMissingError) as missing:
        KeyRing.from_env({"PII_KEY_FILE": str(tmp_path / "absent.key")})
    message = str(missing.value)
    assert "PII_KEY" in message and "密钥" in message and "absent.key" in message
    assert "No encryption key" in message


def test_key_rotation(intake_store, migrated_url):
    reference = intake_store.submit(application()).reference
    intake_store.set_status(reference, "under_review", "staff:wang", note=f"已联系{NAME}")
    token_before = intake_store.document_token(reference)

    rotating = open_store(migrated_url, f"{KEY_B},{KEY_A}")
    assert rotating.read(reference, "staff:wang", "核对") == as_read_back(application())
    assert rotating.find_by_phone(PHONE, "staff:wang", "查重") == [reference]
    new_reference = rotating.submit(application(key="app-2")).reference
    report = rotating.rotate_keys()
    assert (report.key_id, report.intakes, report.notes) == ("b", 1, 1)
    assert rotating.rotate_keys().intakes == 0  # done: nothing left to rotate
    rotating.close()

    row = next(row for row in raw_rows(migrated_url, "intakes") if row["reference"] == reference)
    encrypted = [row[column] for column in row if column.endswith("_encrypted")]
    assert all(value.startswith("v1.b.") for value in encrypted)
    assert row["phone_lookup"].startswith("b:")

    only_b = open_store(migrated_url, KEY_B)
    assert only_b.read(reference, "staff:wang", "核对") == as_read_back(application())
    assert only_b.history(reference)[-1].note == f"已联系{NAME}"
    assert only_b.find_by_phone(PHONE, "staff:wang", "查重") == [reference, new_reference]
    assert only_b.read_for_applicant(reference, token_before) is None  # key A is gone
    only_b.close()
    with pytest.raises(DecryptionError):
        intake_store.read(reference, "staff:wang", "核对")  # key A alone: unknown key b


# Finding, statuses, tokens, audit ------------------------------------------------------


def test_find_by_phone_through_the_keyed_hash(intake_store, migrated_url):
    first = intake_store.submit(application()).reference
    intake_store.submit(application(key="app-2", phone="13800000000"))
    third = intake_store.submit(application(key="app-3")).reference
    assert intake_store.find_by_phone(PHONE, "staff:wang", "查重") == [first, third]
    assert intake_store.find_by_phone("+86 139-1234-5678", "staff:wang", "查重") == [first, third]
    assert intake_store.find_by_phone("13700000000", "staff:wang", "查重") == []
    assert intake_store.find_by_conversation("conv-42", "staff:wang", "查重") == [
        first,
        intake_store.find_by_phone("13800000000", "staff:wang", "查重")[0],
        third,
    ]
    lookups = {row["phone_lookup"] for row in raw_rows(migrated_url, "intakes")}
    assert all(PHONE not in lookup for lookup in lookups) and len(lookups) == 2


def test_status_workflow_rejects_invalid_transitions(intake_store):
    reference = intake_store.submit(application()).reference
    for invalid in ("assigned", "closed", "new", "lost"):
        with pytest.raises(InvalidTransition):
            intake_store.set_status(reference, invalid, "staff:wang")
    intake_store.set_status(reference, "under_review", "staff:wang")
    with pytest.raises(InvalidTransition):
        intake_store.set_status(reference, "new", "staff:wang")
    intake_store.set_status(reference, "assigned", "staff:li", note="指派给张律师")
    intake_store.set_status(reference, "closed", "staff:li")
    for after_closing in ("withdrawn", "under_review", "assigned"):
        with pytest.raises(InvalidTransition):
            intake_store.set_status(reference, after_closing, "staff:li")
    history = intake_store.history(reference)
    assert [change.status for change in history] == ["new", "under_review", "assigned", "closed"]
    assert history[2].note == "指派给张律师" and history[2].changed_by == "staff:li"
    assert all(change.changed_at.tzinfo is not None for change in history)
    with pytest.raises(UnknownReference):
        intake_store.set_status("FY-2026-999999", "under_review", "staff:wang")

    withdrawn = intake_store.submit(application(key="app-2")).reference
    intake_store.set_status(withdrawn, "withdrawn", "applicant")
    assert [change.status for change in intake_store.history(withdrawn)] == ["new", "withdrawn"]


def test_document_token(intake_store, migrated_url):
    reference = intake_store.submit(application()).reference
    other = intake_store.submit(application(key="app-2")).reference
    token = intake_store.document_token(reference)
    assert len(token) >= 43 and token == intake_store.document_token(reference)
    assert intake_store.read_for_applicant(reference, token) == as_read_back(application())
    assert intake_store.read_for_applicant(other, token) is None
    assert (
        intake_store.read_for_applicant(reference, token[:-1] + ("A" if token[-1] != "A" else "B"))
        is None
    )
    assert intake_store.read_for_applicant(reference, "") is None
    assert intake_store.read_for_applicant("FY-2026-999999", token) is None
    assert intake_store.read_for_applicant("../etc/passwd", token) is None
    with pytest.raises(UnknownReference):
        intake_store.document_token("FY-2026-999999")
    # A new key first, the old one kept: links already sent keep working.
    rotated = open_store(migrated_url, f"{KEY_B},{KEY_A}")
    assert rotated.read_for_applicant(reference, token) is not None
    assert rotated.document_token(reference) != token
    rotated.close()


def test_every_access_is_audited_without_personal_data(intake_store, migrated_url):
    reference = intake_store.submit(application()).reference
    token = intake_store.document_token(reference)
    intake_store.read(reference, "staff:wang", "审查申请")
    intake_store.find_by_phone(PHONE, "staff:zhao", "来电查询")
    intake_store.find_by_phone("13700000000", "staff:zhao", "来电查询")
    intake_store.export(date(2000, 1, 1), "json", "staff:chen", purpose="月度统计")
    intake_store.read_for_applicant(reference, token)
    intake_store.read_for_applicant(reference, "wrong")
    intake_store.set_status(reference, "under_review", "staff:wang", note=f"{NAME}来电")

    entries = [(e.actor, e.action, e.reference, e.purpose) for e in intake_store.audit_log()]
    assert entries == [
        ("applicant", "submit", reference, "申请法律援助"),
        ("staff:wang", "read", reference, "审查申请"),
        ("staff:zhao", "find_by_phone", reference, "来电查询"),
        ("staff:zhao", "find_by_phone", None, "来电查询"),
        ("staff:chen", "export", reference, "月度统计"),
        ("applicant", "download", reference, "申请人下载本人申请"),
        ("applicant", "download_refused", reference, "申请人下载"),
        ("staff:wang", "set_status", reference, "status change"),
    ]
    assert all(entry.at.tzinfo is not None for entry in intake_store.audit_log())
    assert_no_personal_data(repr(raw_rows(migrated_url, "audit_entries")))

    with pytest.raises(ValueError):
        intake_store.read(reference, "", "审查申请")  # who reads must be known…
    with pytest.raises(ValueError):
        intake_store.find_by_phone(PHONE, "staff:wang", " ")  # …and why


def test_logs_never_contain_personal_data(intake_store, caplog):
    caplog.set_level(logging.DEBUG)
    reference = intake_store.submit(application()).reference
    intake_store.submit(application())
    intake_store.read(reference, "staff:wang", "审查申请")
    intake_store.find_by_phone(PHONE, "staff:wang", "查重")
    intake_store.set_status(reference, "under_review", "staff:wang", note=NAME)
    intake_store.read_for_applicant(reference, "wrong")
    intake_store.export(date(2000, 1, 1), "csv", "staff:wang")
    assert reference in caplog.text
    assert_no_personal_data(caplog.text)


# Export and the command line ------------------------------------------------------------


def test_export_selects_by_date_and_guards_against_formulas(intake_store):
    intake_store.submit(application(description='=HYPERLINK("http://x")'))
    tomorrow = datetime.now(CHINA_TIME).date() + timedelta(days=1)
    assert json.loads(intake_store.export(tomorrow, "json", "staff:wang")) == []
    rows = list(
        csv.DictReader(io.StringIO(intake_store.export(date(2000, 1, 1), "csv", "staff:wang")))
    )
    assert rows[0]["description"] == '\'=HYPERLINK("http://x")'
    with pytest.raises(ValueError):
        intake_store.export(date(2000, 1, 1), "xlsx", "staff:wang")


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """python -m store, away from the project folder so no .env is read."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PII_KEY", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "store", *args],
        env={**base, "PYTHONPATH": str(PROJECT_DIR), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_export_csv_and_json(intake_store, migrated_url, tmp_path):
    reference = intake_store.submit(application()).reference
    env = {"DATABASE_URL": migrated_url, "PII_KEY": KEY_A}
    since = ["export", "--since", "2000-01-01"]

    result = cli([*since, "--format", "csv", "--reader", "staff:cli"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = csv.DictReader(io.StringIO(result.stdout))
    assert (row["reference"], row["name"], row["phone"]) == (reference, NAME, PHONE)
    assert (row["id_number"], row["disability_certificate"]) == (ID_NUMBER, CERTIFICATE)
    assert row["description"] == DESCRIPTION and row["status"] == "new"
    assert row["accessibility_needs"] == "voice_call;large_print"
    assert json.loads(row["guardian"]) == {"name": GUARDIAN_NAME, "relation": "母亲"}

    output = tmp_path / "export.json"
    result = cli([*since, "--format", "json", "--output", str(output)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    (record,) = json.loads(output.read_text(encoding="utf-8"))
    assert record["reference"] == reference and record["name"] == NAME
    assert record["eligibility"] == application().eligibility
    assert record["consent_given_at"] == "2026-11-02T09:30:00+08:00"

    readers = [(e.actor, e.action) for e in intake_store.audit_log(reference)]
    assert ("staff:cli", "export") in readers
    assert any(actor.startswith("cli:") and action == "export" for actor, action in readers)


def test_cli_without_a_key_says_so_in_chinese(migrated_url, tmp_path):
    env = {"DATABASE_URL": migrated_url, "PII_KEY_FILE": str(tmp_path / "missing.key")}
    result = cli(["export", "--since", "2026-11-01", "--format", "csv"], env, tmp_path)
    assert result.returncode != 0
    assert "没有找到个人信息加密密钥" in result.stderr and "PII_KEY" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_rotate_key(intake_store, migrated_url, tmp_path):
    reference = intake_store.submit(application()).reference
    result = cli(
        ["rotate-key"], {"DATABASE_URL": migrated_url, "PII_KEY": f"{KEY_B},{KEY_A}"}, tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "1" in result.stdout and "b" in result.stdout
    only_b = open_store(migrated_url, KEY_B)
    assert only_b.read(reference, "staff:wang", "核对").name == NAME
    only_b.close()


# Start-up ----------------------------------------------------------------------------


def test_the_launcher_migrates_and_keeps_the_key_with_its_var_dir(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "PII_KEY", "PII_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env with a PII_KEY
    stack = Stack(ports=Ports.free(), model=tmp_path / "model.tar.gz", var_dir=tmp_path / "var")
    assert stack.child_env()["PII_KEY_FILE"] == str(tmp_path / "var" / "pii.key")
    stack.prepare_store()
    stack.prepare_store()  # a restart keeps the key it made
    key_file = tmp_path / "var" / "pii.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    child_store = IntakeStore.from_env(stack.child_env())
    assert child_store.submit(application()).created
    child_store.close()
