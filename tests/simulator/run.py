"""Runs simulated people against a stack, concurrently a few at a time.

`python -m tests.simulator.run RASA_URL [count]` talks to a running stack
(tuning uses templates.yml only).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.simulator.people import TEXT, TUNING, VOICE, people
from tests.simulator.report import by_goal, row, table
from tests.simulator.talk import Outcome, converse

# Two cores shared with the rest of the suite: a few conversations at a time.
AT_ONCE = 3


def simulate(
    rasa_url: str, token: str, path: Path, channel: str, count: int, seed: int
) -> list[Outcome]:
    crowd = people(path, channel, count, seed)
    with ThreadPoolExecutor(AT_ONCE) as pool:
        return list(pool.map(lambda person: converse(rasa_url, token, person), crowd))


def main() -> None:
    rasa_url, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40
    token = os.environ.get("RASA_TOKEN", "")  # the running Rasa's (var/rasa.token)
    outcomes = {
        channel: simulate(rasa_url, token, TUNING, channel, count, seed=25)
        for channel in (TEXT, VOICE)
    }
    print(table([row(f"tuning {c}", o) for c, o in outcomes.items()]))
    for channel, group in outcomes.items():
        print(f"\n{channel}\n{by_goal(group)}")
        for outcome in group:
            if not outcome.reached or outcome.repeats or outcome.dead_ends:
                print("\n--", outcome.person.describe(), outcome.turns)
                print("\n".join(outcome.transcript[-12:]))


if __name__ == "__main__":
    main()
