"""The fuzz figures: how many inputs each target got, what it answered, how slowly.

Recorded by the fuzz tests as they run and printed at the end of the session
by conftest.py (pytest_terminal_summary), whatever `-s` or `-q` says.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# A clear Chinese message has Chinese characters in it (CJK ideographs and punctuation).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@dataclass
class Figures:
    """One target's figures."""

    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    slowest_seconds: float = 0.0

    def note(self, outcome: str | int, seconds: float = 0.0) -> None:
        self.inputs += 1
        self.outcomes[str(outcome)] += 1
        self.slowest_seconds = max(self.slowest_seconds, seconds)


FIGURES: dict[str, Figures] = {}
# What issue 19 asks of every target in a whole run.
MINIMUM_INPUTS = 10_000


def figures(target: str) -> Figures:
    return FIGURES.setdefault(target, Figures())


def is_chinese(text: str) -> bool:
    return bool(CJK.search(text))


def report() -> list[str]:
    """One line per target, for the terminal summary."""
    lines = []
    for target, seen in sorted(FIGURES.items()):
        outcomes = ", ".join(f"{k}×{v}" for k, v in sorted(seen.outcomes.items()))
        short = "  (fewer than 10,000)" if seen.inputs < MINIMUM_INPUTS and seen.outcomes else ""
        lines.append(
            f"{target:<28} inputs={seen.inputs:<6} slowest={seen.slowest_seconds * 1000:.0f} ms"
            f"  [{outcomes}]{short}"
        )
    return lines
