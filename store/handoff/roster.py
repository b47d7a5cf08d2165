"""The lawyers and their duty roster (排班), as coordinators keep them in the
console (bot/console/roster.py). Lawyers' names and profiles are professional
facts, not an applicant's personal data: nothing here is encrypted."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legal_aid.handoff.matching import LawyerProfile, Shift
from store.audit import write_audit
from store.handoff._shared import HandoffBase, actor_of, is_text, profile_of, require_role
from store.handoff.values import HandoffError, LawyerDetails
from store.intake import POLICY_KEY
from store.models import DutyShift, Lawyer, utc_now

ROSTER_KEEPERS = ("coordinator", "admin")


class Roster(HandoffBase):
    """Lawyers and shifts; coordinators and administrators change them."""

    def add_lawyer(self, details: LawyerDetails, by: str) -> LawyerProfile:
        """A roster entry; coordinators and administrators only."""
        _check_lawyer(details)
        with self._transaction() as session:
            staff = self._staff(session, by)
            require_role(staff, ROSTER_KEEPERS, "add lawyers")
            lawyer = Lawyer(**_lawyer_columns(details), created_at=utc_now())
            session.add(lawyer)
            _flush_lawyer(session)
            write_audit(session, actor_of(staff), "lawyer_add", None, "排班", f"lawyer {lawyer.id}")
            return profile_of(lawyer)

    def update_lawyer(self, lawyer_id: int, details: LawyerDetails, by: str) -> LawyerProfile:
        """A changed profile (more years, a new speciality, inactive on leave)."""
        _check_lawyer(details)
        with self._transaction() as session:
            staff = self._staff(session, by)
            require_role(staff, ROSTER_KEEPERS, "edit lawyers")
            lawyer = session.get(Lawyer, lawyer_id, with_for_update=True)
            if lawyer is None:
                raise HandoffError(f"no lawyer with id {lawyer_id}")
            for column, value in _lawyer_columns(details).items():
                setattr(lawyer, column, value)
            _flush_lawyer(session)
            write_audit(
                session, actor_of(staff), "lawyer_edit", None, "排班", f"lawyer {lawyer.id}"
            )
            return profile_of(lawyer)

    def add_shift(self, lawyer_id: int, starts_at: datetime, ends_at: datetime, by: str) -> None:
        if not (starts_at.tzinfo and ends_at.tzinfo and ends_at > starts_at):
            raise HandoffError("a shift needs aware start and end times, end after start")
        with self._transaction() as session:
            staff = self._staff(session, by)
            require_role(staff, ROSTER_KEEPERS, "edit the roster")
            if session.get(Lawyer, lawyer_id) is None:
                raise HandoffError(f"no lawyer with id {lawyer_id}")
            session.add(DutyShift(lawyer_id=lawyer_id, starts_at=starts_at, ends_at=ends_at))
            write_audit(session, actor_of(staff), "shift_add", None, "排班", f"lawyer {lawyer_id}")

    def end_duty(self, lawyer_id: int, by: str, now: datetime | None = None) -> int:
        """A lawyer goes off duty now (ill, called away): the shift under way ends
        and later ones are dropped. Returns how many shifts changed."""
        now = now or utc_now()
        with self._transaction() as session:
            staff = self._staff(session, by)
            require_role(staff, ROSTER_KEEPERS, "edit the roster")
            shifts = session.execute(
                sa.select(DutyShift).where(
                    DutyShift.lawyer_id == lawyer_id, DutyShift.ends_at > now
                )
            ).scalars()
            changed = 0
            for shift in shifts:
                if shift.starts_at >= now:
                    session.delete(shift)
                else:
                    shift.ends_at = now
                changed += 1
            write_audit(session, actor_of(staff), "shift_end", None, "排班", f"lawyer {lawyer_id}")
            return changed

    def lawyers(self) -> list[LawyerProfile]:
        with self._sessions() as session:
            rows = session.execute(sa.select(Lawyer).order_by(Lawyer.id)).scalars()
            return [profile_of(row) for row in rows]

    def shifts(self, since: datetime, until: datetime) -> list[Shift]:
        """Shifts that overlap [since, until)."""
        with self._sessions() as session:
            return self._shifts(session, since, until)


def _lawyer_columns(details: LawyerDetails) -> dict[str, Any]:
    """A roster entry's profile as its row stores it (the same for a new and a changed one)."""
    return {
        "display_name": details.display_name.strip(),
        "years_of_practice": details.years_of_practice,
        "criminal_practice_years": details.criminal_practice_years,
        "specialities": json.dumps(sorted(details.specialities)),
        "disability_experience": details.disability_experience,
        "sign_language": details.sign_language,
        "languages": json.dumps(sorted(details.languages)),
        "active": details.active,
    }


def _flush_lawyer(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise HandoffError("a lawyer with this display name exists") from None


def _check_lawyer(details: LawyerDetails) -> None:
    if not is_text(details.display_name, 64):
        raise HandoffError("lawyer field 'display_name' is missing or invalid")
    years, criminal = details.years_of_practice, details.criminal_practice_years
    if not (isinstance(years, int) and isinstance(criminal, int) and 0 <= criminal <= years <= 70):
        raise HandoffError("lawyer years of practice: 0 ≤ criminal ≤ total ≤ 70")
    if not all(POLICY_KEY.match(key) for key in details.specialities):
        raise HandoffError("lawyer specialities must be matter-type keys")
