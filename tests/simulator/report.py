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
    median_to_reference: float | None
    repeats: int
    dead_ends: int


def _median(outcomes: list[Outcome], goal: str) -> float | None:
    turns = [o.turns for o in outcomes if o.person.goal == goal and o.reached]
    return statistics.median(turns) if turns else None


def row(name: str, outcomes: list[Outcome]) -> Row:
    return Row(
        name=name,
        conversations=len(outcomes),
        reached=100 * sum(o.reached for o in outcomes) / max(len(outcomes), 1),
        median_to_result=_median(outcomes, "qualify"),
        median_to_reference=_median(outcomes, "apply"),
        repeats=sum(o.repeats for o in outcomes),
        dead_ends=sum(o.dead_ends for o in outcomes),
    )


def table(rows: list[Row]) -> str:
    header = (
        "| set | conversations | goal reached | median turns to eligibility result "
        "| median turns to reference number | identical consecutive replies | dead ends |"
    )
    lines = [header, "|" + " --- |" * 7]
    for r in rows:
        result = "–" if r.median_to_result is None else f"{r.median_to_result:g}"
        reference = "–" if r.median_to_reference is None else f"{r.median_to_reference:g}"
        lines.append(
            f"| {r.name} | {r.conversations} | {r.reached:.1f} % | {result} | {reference} "
            f"| {r.repeats} | {r.dead_ends} |"
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
