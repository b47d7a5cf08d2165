"""The simulator's report: one row per set and channel, the issue's goals as columns."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from tests.simulator.talk import Outcome


@dataclass
class Row:
    name: str
    conversations: int
    reached: float
    median_to_result: float | None
    median_to_check_end: float | None
    median_to_reference: float | None
    repeats: int
    dead_ends: int


def _median(turns: list[int | None]) -> float | None:
    known = [t for t in turns if t is not None]
    return statistics.median(known) if known else None


def _to_goal(outcomes: list[Outcome], goal: str) -> list[int | None]:
    return [o.turns_to_goal for o in outcomes if o.person.goal == goal]


def row(name: str, outcomes: list[Outcome]) -> Row:
    return Row(
        name=name,
        conversations=len(outcomes),
        reached=100 * sum(o.reached for o in outcomes) / max(len(outcomes), 1),
        median_to_result=_median(_to_goal(outcomes, "qualify")),
        median_to_check_end=_median(
            [o.check_ended for o in outcomes if o.person.goal == "qualify"]
        ),
        median_to_reference=_median(_to_goal(outcomes, "apply")),
        repeats=sum(o.repeats for o in outcomes),
        dead_ends=sum(o.dead_ends for o in outcomes),
    )


def table(rows: list[Row]) -> str:
    header = (
        "| set | conversations | goal reached | median turns to eligibility result "
        "| median turns to the end of the eligibility questions "
        "| median turns to reference number | identical consecutive replies | dead ends |"
    )
    lines = [header, "|" + " --- |" * 8]
    for r in rows:
        figures = [r.median_to_result, r.median_to_check_end, r.median_to_reference]
        result, check_end, reference = ("–" if f is None else f"{f:g}" for f in figures)
        lines.append(
            f"| {r.name} | {r.conversations} | {r.reached:.1f} % | {result} | {check_end} "
            f"| {reference} | {r.repeats} | {r.dead_ends} |"
        )
    return "\n".join(lines)


def by_goal(outcomes: list[Outcome]) -> str:
    """Goal reached per goal and answering style: where the failures are."""
    lines = []
    for key in sorted({(o.person.goal, o.person.style) for o in outcomes}):
        group = [o for o in outcomes if (o.person.goal, o.person.style) == key]
        reached = sum(o.reached for o in group)
        lines.append(f"{key[0]:<10}{key[1]:<10}{reached}/{len(group)}")
    return "\n".join(lines)
