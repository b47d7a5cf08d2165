"""The application's fields: their order, how they are read back, how people name them.

The words live in policy/intake_fields.yml. The form asks the fields in the
order of that file, reads them back in that order before submitting, and a
correction ("电话说错了") names a field by its words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from legal_aid.eligibility.answers import longest_match
from legal_aid.policy_data import load_policy_file

FIELDS_FILE = "intake_fields.yml"


@dataclass(frozen=True)
class Field:
    """One item of the application as the person sees it (a field may span slots)."""

    key: str
    label: str
    words: tuple[str, ...]
    slots: tuple[str, ...]


@cache
def _data() -> dict[str, Any]:
    return load_policy_file(FIELDS_FILE)


@cache
def fields() -> tuple[Field, ...]:
    """Every field, in the order it is read back."""
    return tuple(
        Field(key, spec["label"], tuple(spec["words"]), tuple(spec["slots"]))
        for key, spec in _data()["fields"].items()
    )


def field(key: str) -> Field:
    return next(f for f in fields() if f.key == key)


def consent_version() -> str:
    """Which wording of the consent notice the person agreed to (stored with the record)."""
    return str(_data()["consent_version"])


def field_named_in(text: str) -> Field | None:
    """The field a correction names: "身份证号说错了" → id_number."""
    key = longest_match(text, {f.key: list(f.words) for f in fields()})
    return field(key) if key else None


def parse_applying_for(text: str) -> str | None:
    """ "为自己申请" → self, "替我妈申请" → other."""
    return longest_match(text, _data()["applying_for"])


def parse_guardian_relation(text: str) -> str | None:
    """ "我是她妈妈" → 母亲."""
    return longest_match(text, _data()["guardian_relations"])


def value_label(kind: str, value: str) -> str:
    """How a stored value is said: ("contact_preference", "wechat") → 微信."""
    return _data()["value_labels"][kind].get(value, value)


def needs_words(needs: list[str] | tuple[str, ...]) -> str:
    """ "手语翻译、上门服务", or 不需要 for none."""
    return "、".join(value_label("accessibility_needs", n) for n in needs) or "不需要"
