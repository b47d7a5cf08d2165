"""The store's tables. Personal data is only ever in the `*_encrypted` columns.

Tables for later features (handoff tickets, lawyers, roster) go here too, on the
same `Base`, each with its own Alembic revision.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base, relationship

# Explicit constraint names: Alembic can then alter or drop them on every
# database, and the migration names them exactly as the models do.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))

# Status of an application and the changes staff may make. A refusal after
# review (不予法律援助) closes an application without assigning it; the
# applicant may withdraw at any time until it is closed.
STATUSES = ("new", "under_review", "assigned", "closed", "withdrawn")
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"under_review", "withdrawn"}),
    "under_review": frozenset({"assigned", "closed", "withdrawn"}),
    "assigned": frozenset({"closed", "withdrawn"}),
    "closed": frozenset(),
    "withdrawn": frozenset(),
}

STATUS_CHECK = "status IN ('new', 'under_review', 'assigned', 'closed', 'withdrawn')"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every database.

    SQLite keeps no time zone and hands back naive values; they are stored as UTC
    here, so they are read back as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.engine.Dialect) -> object:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: sa.engine.Dialect) -> object:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Intake(Base):
    """An application for legal aid (申请登记)."""

    __tablename__ = "intakes"
    __table_args__ = (sa.CheckConstraint(STATUS_CHECK, name="status"),)

    id = sa.Column(sa.Integer, primary_key=True)
    # FY-<year>-<id, 6 digits>; set in the same transaction as the insert, once
    # the id is known (hence nullable).
    reference = sa.Column(sa.String(24), unique=True)
    # Chosen by the dialogue so that a retried submit stores nothing twice. It
    # must be opaque (a random id), never a phone number or a sender id.
    application_key = sa.Column(sa.String(128), nullable=False, unique=True)
    status = sa.Column(sa.String(16), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)

    # Not personal: what staff lists sort and filter by.
    channel = sa.Column(sa.String(16), nullable=False)
    region = sa.Column(sa.String(32), nullable=False)
    matter_type = sa.Column(sa.String(64), nullable=False)
    advance_aid = sa.Column(sa.Boolean, nullable=False)
    urgent = sa.Column(sa.Boolean, nullable=False)

    # Personal data, encrypted (store.crypto), each bound to its column.
    name_encrypted = sa.Column(sa.Text, nullable=False)
    phone_encrypted = sa.Column(sa.Text, nullable=False)
    id_number_encrypted = sa.Column(sa.Text)
    disability_certificate_encrypted = sa.Column(sa.Text)
    description_encrypted = sa.Column(sa.Text, nullable=False)
    # Everything else personal, as one encrypted JSON object (see store.intake).
    details_encrypted = sa.Column(sa.Text, nullable=False)

    # Keyed hashes (`<kid>:<hex>`), to find applications without decrypting.
    phone_lookup = sa.Column(sa.String(80), nullable=False, index=True)
    conversation_lookup = sa.Column(sa.String(80), nullable=False, index=True)

    statuses = relationship(
        "IntakeStatus", back_populates="intake", order_by="IntakeStatus.id", lazy="raise"
    )


# The encrypted columns of `intakes`, named as the associated data binds them.
INTAKE_ENCRYPTED_COLUMNS = (
    "name_encrypted",
    "phone_encrypted",
    "id_number_encrypted",
    "disability_certificate_encrypted",
    "description_encrypted",
    "details_encrypted",
)


class IntakeStatus(Base):
    """One status an application was given: its history, newest last."""

    __tablename__ = "intake_statuses"
    __table_args__ = (sa.CheckConstraint(STATUS_CHECK, name="status"),)

    id = sa.Column(sa.Integer, primary_key=True)
    intake_id = sa.Column(sa.Integer, sa.ForeignKey("intakes.id"), nullable=False, index=True)
    status = sa.Column(sa.String(16), nullable=False)
    changed_at = sa.Column(UTCDateTime, nullable=False)
    changed_by = sa.Column(sa.String(64), nullable=False)
    # Staff notes may name people: encrypted like the record itself.
    note_encrypted = sa.Column(sa.Text)

    intake = relationship("Intake", back_populates="statuses", lazy="raise")


class AuditEntry(Base):
    """Who did what to which application, and why. Never personal data."""

    __tablename__ = "audit_entries"

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(UTCDateTime, nullable=False, index=True)
    actor = sa.Column(sa.String(64), nullable=False)
    action = sa.Column(sa.String(32), nullable=False)
    reference = sa.Column(sa.String(24), index=True)
    purpose = sa.Column(sa.String(200), nullable=False)
    # What else the action touched, without personal data: "3 records", "csv".
    detail = sa.Column(sa.String(200), nullable=False, default="")
