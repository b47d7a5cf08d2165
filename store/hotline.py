"""Hotline call records and the overflow figures (calls answered, transferred,
callbacks, abandoned, average handling time). Nothing personal is stored or read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from store.models import CALL_OUTCOMES, HotlineCall


def record_call(
    engine: Engine, started_at: datetime, ended_at: datetime, outcome: str, turns: int
) -> None:
    if outcome not in CALL_OUTCOMES:
        raise ValueError(f"outcome must be one of {CALL_OUTCOMES}")
    with Session(engine, future=True) as session, session.begin():
        session.add(
            HotlineCall(
                started_at=started_at,
                ended_at=ended_at,
                duration_seconds=max(0.0, (ended_at - started_at).total_seconds()),
                outcome=outcome,
                turns=turns,
            )
        )


@dataclass(frozen=True)
class OverflowFigures:
    answered: int
    outcomes: dict[str, int] = field(default_factory=dict)  # every outcome, 0 when none
    average_seconds: float | None = None  # average handling time

    def of(self, outcome: str) -> int:
        return self.outcomes.get(outcome, 0)


def overflow_figures(engine: Engine, start: datetime, end: datetime) -> OverflowFigures:
    """The calls begun in [start, end)."""
    with Session(engine, future=True) as session:
        rows = session.execute(
            sa.select(HotlineCall.outcome, HotlineCall.duration_seconds).where(
                HotlineCall.started_at >= start, HotlineCall.started_at < end
            )
        ).all()
    outcomes = {name: sum(row.outcome == name for row in rows) for name in CALL_OUTCOMES}
    average = sum(row.duration_seconds for row in rows) / len(rows) if rows else None
    return OverflowFigures(answered=len(rows), outcomes=outcomes, average_seconds=average)
