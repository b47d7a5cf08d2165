"""The audit log: who did what to which record, and why. Never personal data.

Every store writes its entries here, so that one rule decides what fits: each
text is cut to its column's length. A refused login, an export of three
hundred applications and a lawyer's read of one ticket all look alike to
whoever later asks "who has seen this record".
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import AuditEntry, utc_now


def write_audit(
    session: Session,
    actor: str,
    action: str,
    reference: str | None,
    purpose: str,
    detail: str = "",
) -> None:
    """One entry, in the caller's transaction: it commits with what it records.

    `actor` names an account ("staff:wang", "cli:root", "applicant"), `reference`
    a record (an application, a ticket) or None; `purpose` says why and `detail`
    what else was touched ("3 records", "waiting → claimed"), never a value of it.
    """
    session.add(
        AuditEntry(
            at=utc_now(),
            actor=_fit(actor, "actor"),
            action=_fit(action, "action"),
            reference=None if reference is None else _fit(reference, "reference"),
            purpose=_fit(purpose, "purpose"),
            detail=_fit(detail, "detail"),
        )
    )


def audit_entries(session: Session, reference: str | None = None) -> list[AuditEntry]:
    """Entries oldest first; of one record when `reference` is given."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id)
    if reference is not None:
        query = query.where(AuditEntry.reference == reference)
    return list(session.execute(query).scalars())


def _fit(text: str, column: str) -> str:
    # PostgreSQL refuses a value longer than its column (SQLite would keep it):
    # an entry that does not fit must not undo the action it records.
    return text[: AuditEntry.__table__.c[column].type.length]
