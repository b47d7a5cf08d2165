"""The intake store: what the dialogue and the gateway call to record and read
applications for legal aid (申请登记).

Personal data is encrypted before it reaches SQLAlchemy (store.crypto), so no
SQL statement, parameter dump or database file holds it in clear. Every staff
read, search and export writes an audit entry in the same transaction as the
read. Logs name applications by reference only. All methods are synchronous: the
action server calls them in a thread.
"""

from __future__ import annotations

import base64
import csv
import hmac
import io
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legal_aid.channels import RECORDED
from legal_aid.times import CHINA_TIME
from store.audit import write_audit
from store.crypto import CONVERSATION_LOOKUP, DOCUMENT_TOKEN, PHONE_LOOKUP, KeyRing
from store.encrypted_columns import (
    decrypt_field,
    encrypt_field,
    normalise_phone,
)
from store.encrypted_store import EncryptedStore
from store.models import (
    ALLOWED_TRANSITIONS,
    STATUSES,
    Intake,
    IntakeStatus,
    utc_now,
)

logger = logging.getLogger(__name__)

CHANNELS = RECORDED  # the channels an application may come from (legal_aid/channels.py)
CONTACT_PREFERENCES = frozenset({"phone", "wechat", "telegram"})
ACCESSIBILITY_NEEDS = frozenset(
    {"voice_call", "large_print", "sign_language", "braille", "home_visit"}
)
APPLYING_FOR = frozenset({"self", "other"})
EXPORT_FORMATS = ("csv", "json")
# Personal information of a child under 14 needs a guardian's consent (个人信息保护法 art. 31).
GUARDIAN_CONSENT_AGE = 14
# References and the export's --since date count in China Standard Time (no DST).

POLICY_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
REFERENCE = re.compile(r"^FY-\d{4}-\d{6,}$")
# The reader of an audited action: a staff id such as "staff:wang" or "cli:root".
ACTOR = re.compile(r"^[\w.:@-]{1,64}$")
APPLICANT = "applicant"
# read() cannot give back the conversation id: only its keyed hash is stored.
CONVERSATION_NOT_STORED = ""


class InvalidApplication(ValueError):
    """A field of ApplicationDetails is missing or wrong; the message names the
    field, never its value (messages end up in logs)."""


class UnknownReference(LookupError):
    """No application has this reference."""


class InvalidTransition(ValueError):
    """A status change the workflow does not allow."""


@dataclass(frozen=True)
class ApplicationDetails:
    application_key: str  # idempotency key from the conversation; opaque, not personal
    channel: str  # one of legal_aid.channels.RECORDED
    conversation_id: str  # stored only as a keyed hash; read() returns ""
    name: str
    phone: str  # digits only
    region: str  # policy region key: national / shanxi / baotou
    county: str  # e.g. "内蒙古自治区/包头市/固阳县" or free text
    matter_type: str  # key of shared/spec/matter_types.yml
    description: str
    contact_preference: str  # "phone" | "wechat" | "telegram"
    consent_version: str
    consent_given_at: datetime
    id_number: str | None = None
    disability_certificate: str | None = None
    accessibility_needs: tuple[str, ...] = ()  # voice_call, large_print, sign_language, …
    applying_for: str = "self"  # "self" | "other"
    applicant_age: int | None = None
    guardian: dict | None = None  # {"name": ..., "relation": ...} for a child under 14
    deadline_within_7_days: bool | None = None
    urgent_preservation: bool | None = None
    advance_aid: bool = False
    eligibility: dict = field(default_factory=dict)  # outcome, reasons with citations

    @property
    def urgent(self) -> bool:
        return bool(self.deadline_within_7_days or self.urgent_preservation)


@dataclass(frozen=True)
class SubmitResult:
    reference: str
    created: bool  # False when this application_key was already stored


@dataclass(frozen=True)
class StatusChange:
    status: str
    changed_at: datetime
    changed_by: str
    note: str


# Validation -----------------------------------------------------------------


def validate(details: ApplicationDetails) -> None:
    """Raise InvalidApplication for the first field that is wrong."""
    _require(
        bool(details.application_key) and len(details.application_key) <= 128, "application_key"
    )
    _require(details.channel in CHANNELS, "channel")
    _require(bool(details.conversation_id), "conversation_id")
    _require(bool(details.name.strip()), "name")
    _require(
        details.phone.isascii() and details.phone.isdigit() and 5 <= len(details.phone) <= 20,
        "phone",
    )
    _require(bool(POLICY_KEY.match(details.region)), "region")
    _require(bool(POLICY_KEY.match(details.matter_type)), "matter_type")
    _require(bool(details.description.strip()), "description")
    _require(details.contact_preference in CONTACT_PREFERENCES, "contact_preference")
    _require(bool(details.consent_version), "consent_version")
    _require(isinstance(details.consent_given_at, datetime), "consent_given_at")
    _require(set(details.accessibility_needs) <= ACCESSIBILITY_NEEDS, "accessibility_needs")
    _require(details.applying_for in APPLYING_FOR, "applying_for")
    _require(details.applicant_age is None or 0 <= details.applicant_age <= 150, "applicant_age")
    _require(details.guardian is None or _is_guardian(details.guardian), "guardian")
    if details.applicant_age is not None and details.applicant_age < GUARDIAN_CONSENT_AGE:
        _require(details.guardian is not None, "guardian")
    _require(_is_json(details.eligibility), "eligibility")


def _require(condition: bool, field_name: str) -> None:
    if not condition:
        raise InvalidApplication(f"application field {field_name!r} is missing or invalid")


def _is_guardian(guardian: object) -> bool:
    return (
        isinstance(guardian, dict)
        and isinstance(guardian.get("name"), str)
        and bool(guardian["name"].strip())
        and isinstance(guardian.get("relation"), str)
        and bool(guardian["relation"].strip())
    )


def _is_json(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return False
    return isinstance(value, dict)


def format_reference(created_at: datetime, intake_id: int) -> str:
    return f"FY-{created_at.astimezone(CHINA_TIME).year}-{intake_id:06d}"


# Sealing: ApplicationDetails <-> encrypted row ---------------------------------


def _details_blob(details: ApplicationDetails) -> dict[str, Any]:
    """The personal fields without a column of their own."""
    return {
        "county": details.county,
        "contact_preference": details.contact_preference,
        "accessibility_needs": list(details.accessibility_needs),
        "applying_for": details.applying_for,
        "applicant_age": details.applicant_age,
        "guardian": details.guardian,
        "consent_version": details.consent_version,
        "consent_given_at": details.consent_given_at.isoformat(),
        "eligibility": details.eligibility,
        "deadline_within_7_days": details.deadline_within_7_days,
        "urgent_preservation": details.urgent_preservation,
    }


def seal(keys: KeyRing, details: ApplicationDetails) -> dict[str, Any]:
    """The encrypted columns and lookup hashes of an application."""
    plain = {
        "name_encrypted": details.name,
        "phone_encrypted": details.phone,
        "id_number_encrypted": details.id_number,
        "disability_certificate_encrypted": details.disability_certificate,
        "description_encrypted": details.description,
        "details_encrypted": json.dumps(_details_blob(details), ensure_ascii=False),
        "conversation_encrypted": details.conversation_id,
    }
    sealed: dict[str, Any] = {
        column: encrypt_field(keys, Intake, column, value) for column, value in plain.items()
    }
    sealed["phone_lookup"] = keys.lookup_hash(normalise_phone(details.phone), PHONE_LOOKUP)
    sealed["conversation_lookup"] = keys.lookup_hash(details.conversation_id, CONVERSATION_LOOKUP)
    return sealed


def unseal(keys: KeyRing, intake: Intake) -> ApplicationDetails:
    """Decrypt a stored application (raises crypto.DecryptionError if tampered with)."""

    def plain(column: str) -> str | None:
        return decrypt_field(keys, intake, column)

    blob = json.loads(plain("details_encrypted") or "{}")
    return ApplicationDetails(
        application_key=intake.application_key,
        channel=intake.channel,
        conversation_id=CONVERSATION_NOT_STORED,
        name=plain("name_encrypted") or "",
        phone=plain("phone_encrypted") or "",
        region=intake.region,
        county=blob["county"],
        matter_type=intake.matter_type,
        description=plain("description_encrypted") or "",
        contact_preference=blob["contact_preference"],
        consent_version=blob["consent_version"],
        consent_given_at=datetime.fromisoformat(blob["consent_given_at"]),
        id_number=plain("id_number_encrypted"),
        disability_certificate=plain("disability_certificate_encrypted"),
        accessibility_needs=tuple(blob["accessibility_needs"]),
        applying_for=blob["applying_for"],
        applicant_age=blob["applicant_age"],
        guardian=blob["guardian"],
        deadline_within_7_days=blob["deadline_within_7_days"],
        urgent_preservation=blob["urgent_preservation"],
        advance_aid=intake.advance_aid,
        eligibility=blob["eligibility"],
    )


# Export -------------------------------------------------------------------------

EXPORT_FIELDS = (
    "reference", "status", "created_at", "channel", "region", "county", "matter_type",
    "name", "phone", "id_number", "disability_certificate", "description",
    "contact_preference", "accessibility_needs", "applying_for", "applicant_age",
    "guardian", "advance_aid", "urgent", "deadline_within_7_days", "urgent_preservation",
    "consent_version", "consent_given_at", "eligibility",
)  # fmt: skip


def export_record(intake: Intake, details: ApplicationDetails) -> dict[str, Any]:
    record: dict[str, Any] = {
        "reference": intake.reference,
        "status": intake.status,
        "created_at": intake.created_at.isoformat(),
        "urgent": intake.urgent,
    }
    for name in EXPORT_FIELDS:
        if name not in record:
            record[name] = getattr(details, name)
    record["accessibility_needs"] = list(details.accessibility_needs)
    record["consent_given_at"] = details.consent_given_at.isoformat()
    return record


def render_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


def render_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({name: _csv_cell(value) for name, value in record.items()})
    return out.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    # An applicant's text opened in Excel or WPS must not run as a formula
    # (CSV injection): such cells get a leading apostrophe.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


# The store ------------------------------------------------------------------------


class IntakeStore(EncryptedStore):
    """Applications for legal aid, encrypted at rest, every staff read audited."""

    # Applicant side ------------------------------------------------------------

    def submit(self, details: ApplicationDetails) -> SubmitResult:
        """Store an application once per application_key, with status "new".

        A retry, even one running at the same moment, finds the first one: the
        unique application_key lets only one insert commit, and the loser reads
        the winner's reference.
        """
        validate(details)
        existing = self._reference_for_key(details.application_key)
        if existing is not None:
            logger.info("intake %s: submitted again, already stored", existing)
            return SubmitResult(existing, created=False)
        try:
            reference = self._insert(details)
        except IntegrityError:
            existing = self._reference_for_key(details.application_key)
            if existing is None:
                raise
            logger.info("intake %s: concurrent retry, already stored", existing)
            return SubmitResult(existing, created=False)
        logger.info("intake %s stored (channel %s)", reference, details.channel)
        return SubmitResult(reference, created=True)

    def _insert(self, details: ApplicationDetails) -> str:
        now = utc_now()
        with self._sessions.begin() as session:
            intake = Intake(
                application_key=details.application_key,
                status="new",
                created_at=now,
                updated_at=now,
                channel=details.channel,
                region=details.region,
                matter_type=details.matter_type,
                advance_aid=details.advance_aid,
                urgent=details.urgent,
                **seal(self.keys, details),
            )
            session.add(intake)
            session.flush()  # the id, which the reference is made of
            intake.reference = format_reference(now, intake.id)
            session.add(
                IntakeStatus(
                    intake_id=intake.id,
                    status="new",
                    changed_at=now,
                    changed_by=f"{APPLICANT}:{details.channel}",
                )
            )
            write_audit(session, APPLICANT, "submit", intake.reference, "申请法律援助")
            return intake.reference

    def _reference_for_key(self, application_key: str) -> str | None:
        with self._sessions() as session:
            return session.execute(
                sa.select(Intake.reference).where(Intake.application_key == application_key)
            ).scalar_one_or_none()

    def document_token(self, reference: str) -> str:
        """The token of the applicant's download link: an HMAC of the reference."""
        with self._sessions() as session:
            self._intake(session, reference)
        return self._token(reference, self.keys.current_id)

    def _token(self, reference: str, kid: str) -> str:
        digest = hmac.digest(
            self.keys.derived_key(DOCUMENT_TOKEN, kid), reference.encode("ascii"), "sha256"
        )
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def read_for_applicant(self, reference: str, token: str) -> ApplicationDetails | None:
        """The applicant's own download: the record, or None for a wrong token.

        Tokens made before a key rotation stay valid while the old key is kept.
        """
        if not REFERENCE.match(reference or "") or not isinstance(token, str):
            return None
        # Compare with every key's token, each in constant time, with no early exit.
        matches = [
            hmac.compare_digest(token.encode("utf-8"), self._token(reference, kid).encode("ascii"))
            for kid in self.keys.key_ids
        ]
        with self._sessions.begin() as session:
            intake = self._find(session, reference)
            if intake is None or not any(matches):
                write_audit(session, APPLICANT, "download_refused", reference, "申请人下载")
                logger.warning("intake %s: download with a wrong token refused", reference)
                return None
            details = unseal(self.keys, intake)
            write_audit(session, APPLICANT, "download", reference, "申请人下载本人申请")
        return details

    # Staff side ----------------------------------------------------------------

    def read(self, reference: str, reader: str, purpose: str) -> ApplicationDetails:
        """A staff member reads one application; audited with their reason."""
        _require_accountability(reader, purpose)
        with self._sessions.begin() as session:
            intake = self._intake(session, reference)
            details = unseal(self.keys, intake)
            write_audit(session, reader, "read", reference, purpose)
        return details

    def find_by_phone(self, phone: str, reader: str, purpose: str) -> list[str]:
        """References of the applications with this phone number, oldest first."""
        hashes = self.keys.lookup_hashes(normalise_phone(phone), PHONE_LOOKUP)
        return self._find_by_lookup(Intake.phone_lookup, hashes, "find_by_phone", reader, purpose)

    def find_by_conversation(self, conversation_id: str, reader: str, purpose: str) -> list[str]:
        """References of the applications made in this conversation, oldest first."""
        hashes = self.keys.lookup_hashes(conversation_id, CONVERSATION_LOOKUP)
        return self._find_by_lookup(
            Intake.conversation_lookup, hashes, "find_by_conversation", reader, purpose
        )

    def _find_by_lookup(
        self, column: Any, hashes: list[str], action: str, reader: str, purpose: str
    ) -> list[str]:
        _require_accountability(reader, purpose)
        with self._sessions.begin() as session:
            references = list(
                session.execute(
                    sa.select(Intake.reference).where(column.in_(hashes)).order_by(Intake.id)
                ).scalars()
            )
            _audit_each(session, reader, action, references, purpose, f"{len(references)} found")
        logger.info("%s by %s: %d found", action, reader, len(references))
        return references

    def set_status(self, reference: str, status: str, by: str, note: str = "") -> None:
        """Move an application on in its workflow; raises InvalidTransition."""
        _require_accountability(by, "status change")
        if status not in STATUSES:
            raise InvalidTransition(f"unknown status {status!r}; known: {', '.join(STATUSES)}")
        with self._sessions.begin() as session:
            intake = self._intake(session, reference, for_update=True)
            previous = intake.status
            if status not in ALLOWED_TRANSITIONS[previous]:
                raise InvalidTransition(f"{reference}: {previous} → {status} is not allowed")
            now = utc_now()
            intake.status = status
            intake.updated_at = now
            session.add(
                IntakeStatus(
                    intake_id=intake.id,
                    status=status,
                    changed_at=now,
                    changed_by=by,
                    note_encrypted=(
                        encrypt_field(self.keys, IntakeStatus, "note_encrypted", note)
                        if note
                        else None
                    ),
                )
            )
            write_audit(
                session, by, "set_status", reference, "status change", f"{previous} → {status}"
            )
        logger.info("intake %s: %s → %s by %s", reference, previous, status, by)

    def history(self, reference: str) -> list[StatusChange]:
        """Every status the application had, oldest first, notes decrypted."""
        with self._sessions() as session:
            intake = self._intake(session, reference)
            rows = session.execute(
                sa.select(IntakeStatus)
                .where(IntakeStatus.intake_id == intake.id)
                .order_by(IntakeStatus.id)
            ).scalars()
            return [
                StatusChange(
                    status=row.status,
                    changed_at=row.changed_at,
                    changed_by=row.changed_by,
                    note=decrypt_field(self.keys, row, "note_encrypted") or "",
                )
                for row in rows
            ]

    def export(self, since: date, fmt: str, reader: str, purpose: str = "导出申请") -> str:
        """Applications made since `since` (China time), decrypted, as csv or json.

        Each exported application gets its own audit entry, so that "who has seen
        this record" has a complete answer. CSV cells that would start a
        spreadsheet formula get a leading apostrophe.
        """
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"export format must be one of {EXPORT_FORMATS}, not {fmt!r}")
        _require_accountability(reader, purpose)
        start = datetime.combine(since, time.min, tzinfo=CHINA_TIME)
        with self._sessions.begin() as session:
            intakes = session.execute(
                sa.select(Intake).where(Intake.created_at >= start).order_by(Intake.id)
            ).scalars()
            records = [export_record(intake, unseal(self.keys, intake)) for intake in intakes]
            references = [record["reference"] for record in records]
            detail = f"since {since.isoformat()}, {fmt}, {len(records)} records"
            _audit_each(session, reader, "export", references, purpose, detail)
        logger.info("export by %s: %d applications as %s", reader, len(records), fmt)
        return render_csv(records) if fmt == "csv" else render_json(records)

    # Helpers -----------------------------------------------------------------------

    def _find(self, session: Session, reference: str, for_update: bool = False) -> Intake | None:
        if not REFERENCE.match(reference or ""):
            return None
        query = sa.select(Intake).where(Intake.reference == reference)
        if for_update:
            query = query.with_for_update()
        return session.execute(query).scalar_one_or_none()

    def _intake(self, session: Session, reference: str, for_update: bool = False) -> Intake:
        intake = self._find(session, reference, for_update)
        if intake is None:
            raise UnknownReference(f"no application {reference!r}")
        return intake


def _audit_each(
    session: Session,
    actor: str,
    action: str,
    references: list[str],
    purpose: str,
    detail: str = "",
) -> None:
    """One entry per application touched (a search, an export), so that "who has
    seen this record" has a complete answer; one without a reference when none was."""
    for reference in references or [None]:
        write_audit(session, actor, action, reference, purpose, detail)


def _require_accountability(reader: str, purpose: str) -> None:
    """Every staff access names who and why (the audit log is useless otherwise)."""
    if not isinstance(reader, str) or not ACTOR.match(reader):
        raise ValueError("reader must be a staff id (letters, digits, . : @ _ -), at most 64")
    if not isinstance(purpose, str) or not purpose.strip():
        raise ValueError("purpose must say why the data is accessed")
