"""The simulated people: generated from the templates (templates.yml, held_out.yml).

Each person has a goal (know whether they qualify, apply, reach a person,
learn the materials), a story with the facts to answer questions with, a way
of answering offers (press the button, type the option's words, say 好/是/嗯,
give the number, ask back, say the goal again in other words, make an
unrelated remark first), a way to open (the question alone, the story then
the question, both in one message) and a channel (text, or voice: the spoken
variants, and no buttons to press).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
TUNING = HERE / "templates.yml"
HELD_OUT = HERE / "held_out.yml"

GOALS = ("qualify", "apply", "human", "materials")
STYLES = ("button", "words", "yes", "number", "question", "rephrase", "remark")
OPENINGS = ("ask", "story", "together")
TEXT, VOICE = "text", "voice"
CHINESE_DIGITS = "零一二三四五六七八九"


@dataclass
class Person:
    goal: str
    style: str
    opening: str
    channel: str
    story: dict[str, Any]
    templates: dict[str, Any]
    seed: int
    random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    @property
    def everyone(self) -> dict[str, str]:
        """What anybody answers about their own life (the templates' `everyone`)."""
        return self.templates.get("everyone") or {}

    @property
    def about(self) -> dict[str, Any]:
        return self.templates["goals"][self.goal]

    def first_messages(self) -> list[str]:
        """What the person says before answering anything."""
        ask = self.random.choice(self.about["asks"])
        if self.opening == "together" and self.goal == "qualify":
            return [self.story["together"]]
        if self.opening in ("story", "together"):
            return [self.story["story"], ask]
        return [ask]

    def ask_again(self) -> str:
        return self.random.choice(self.about["asks"])

    def question(self) -> str:
        return self.random.choice(self.about["question"])

    def yes(self) -> str:
        return self.random.choice(self.templates["agree"])

    def remark(self) -> str:
        return self.random.choice(self.templates["remarks"])

    def number(self, n: int) -> str:
        form = self.random.choice(self.templates["numbers"][self.channel])
        return form.format(n=n, cn=CHINESE_DIGITS[n])

    def describe(self) -> str:
        return f"{self.goal}/{self.style}/{self.opening}/{self.channel}: {self.story['story']}"


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def people(path: Path, channel: str, count: int, seed: int) -> list[Person]:
    """`count` people on a channel, spread evenly over goals, styles and openings."""
    templates = load(path)
    rng = random.Random(seed)
    combinations = list(itertools.product(GOALS, STYLES, OPENINGS))
    rng.shuffle(combinations)
    chosen = list(itertools.islice(itertools.cycle(combinations), count))
    return [
        Person(
            goal=goal,
            # Nobody presses a button they only hear.
            style="words" if channel == VOICE and style == "button" else style,
            opening=opening,
            channel=channel,
            story=rng.choice(templates["people"]),
            templates=templates,
            seed=rng.randrange(1 << 30),
        )
        for goal, style, opening in chosen
    ]
