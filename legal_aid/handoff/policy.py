"""Loads policy/handoff/<region>.yml and checks it before any rule is used.

The file says who is served first (先行援助的急事, then the 四优先 groups) and
which lawyers may or should take a case. A file that breaks the schema is
refused at load time, naming the file and the entry: a silently skipped rule
would put someone in the wrong place in the queue or with the wrong lawyer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from legal_aid.eligibility.facts import FACTS
from legal_aid.eligibility.ruleset import load_ruleset
from legal_aid.policy_data import POLICY_DIR, PolicyDataError, load_region

KIND = "handoff"
STRENGTHS = ("required", "preferred")
# What a lawyer rule may ask of a lawyer, and the type of each value.
REQUIREMENTS: dict[str, type] = {
    "years_of_practice_min": int,
    "criminal_practice_years_min": int,
    "disability_experience": bool,
    "sign_language": bool,
    "speciality_matches_matter": bool,
    "speaks_case_language": bool,
}
# The needs `{need: …}` may name: the intake's accessibility needs, and "language"
# (the person asked for a language other than Mandarin).
NEEDS = frozenset(
    {"voice_call", "large_print", "sign_language", "braille", "home_visit", "language"}
)
COMBINATORS = ("all", "any", "not")
# The yes/no answers of the eligibility assessment `{assessment: …}` may name: the
# queue asks the engine whether advance aid applies rather than restating art. 44.
ASSESSMENT_FLAGS = ("advance_aid", "priority_channel")
FACT_OPERATORS = ("eq", "ne", "in", "lt", "lte", "gt", "gte", "contains_any", "min_items")


@dataclass(frozen=True)
class Citation:
    """A sentence for the person or the lawyer, and where the rule comes from."""

    key: str
    zh: str
    citation: str


@dataclass(frozen=True)
class Category:
    """One 四优先 group: recognised by a named eligibility condition."""

    key: str
    condition: str
    weight: int
    zh: str
    citation: str


@dataclass(frozen=True)
class LawyerRule:
    key: str
    applies_when: Mapping[str, Any]
    strength: str  # "required" | "preferred"
    weight: int  # ranks lawyers by the preferred rules they meet
    requires: Mapping[str, Any]
    zh: str
    citation: str

    @property
    def required(self) -> bool:
        return self.strength == "required"

    def as_citation(self) -> Citation:
        return Citation(self.key, self.zh, self.citation)


@dataclass(frozen=True)
class HandoffPolicy:
    region: str
    urgency_weight: int
    urgency_when: Mapping[str, Any]
    urgency: Citation
    categories: tuple[Category, ...]
    lawyer_rules: tuple[LawyerRule, ...]
    named_lawyer: Citation
    conversations_per_lawyer: int
    average_conversation_minutes: int
    # The region's named eligibility conditions (minor, elderly, disabled, …).
    conditions: Mapping[str, Any]


class _Problem(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@cache
def load_policy(region: str = "national") -> HandoffPolicy:
    """The checked handoff rules of a region; PolicyDataError names the file and entry."""
    data = load_region(KIND, region)
    conditions = load_ruleset(region).conditions
    try:
        return _build(region, data, conditions)
    except _Problem as problem:
        path = POLICY_DIR / KIND / f"{region}.yml"
        raise PolicyDataError(
            f"{path}（或它继承的文件）: {problem.where}: {problem.message}"
        ) from None


def clear_cache() -> None:
    load_policy.cache_clear()


def _build(region: str, data: dict[str, Any], conditions: Mapping[str, Any]) -> HandoffPolicy:
    urgency = _mapping(data.get("urgency"), "urgency")
    _check_condition(urgency.get("when"), "urgency.when", conditions, categories=frozenset())
    categories = tuple(
        _category(key, body, conditions)
        for key, body in _mapping(data.get("priority_categories"), "priority_categories").items()
    )
    category_keys = frozenset(category.key for category in categories)
    rules = tuple(
        _lawyer_rule(key, body, conditions, category_keys)
        for key, body in _mapping(data.get("lawyer_rules"), "lawyer_rules").items()
    )
    service = _mapping(data.get("service"), "service")
    return HandoffPolicy(
        region=region,
        urgency_weight=_positive_int(urgency.get("weight"), "urgency.weight"),
        urgency_when=urgency["when"],
        urgency=_citation("urgency", urgency, "urgency"),
        categories=categories,
        lawyer_rules=rules,
        named_lawyer=_citation(
            "named_lawyer", _mapping(data.get("named_lawyer"), "named_lawyer"), "named_lawyer"
        ),
        conversations_per_lawyer=_positive_int(
            service.get("conversations_per_lawyer"), "service.conversations_per_lawyer"
        ),
        average_conversation_minutes=_positive_int(
            service.get("average_conversation_minutes"), "service.average_conversation_minutes"
        ),
        conditions=conditions,
    )


def _category(key: str, body: object, conditions: Mapping[str, Any]) -> Category:
    where = f"priority_categories.{key}"
    body = _mapping(body, where)
    condition = body.get("condition")
    if condition not in conditions:
        raise _Problem(
            where, f"condition 必须是资格规则 conditions 里的命名条件，收到 {condition!r}"
        )
    return Category(
        key=key,
        condition=condition,
        weight=_positive_int(body.get("weight"), f"{where}.weight"),
        zh=_text(body.get("zh"), f"{where}.zh"),
        citation=_text(body.get("citation"), f"{where}.citation"),
    )


def _lawyer_rule(
    key: str, body: object, conditions: Mapping[str, Any], categories: frozenset[str]
) -> LawyerRule:
    where = f"lawyer_rules.{key}"
    body = _mapping(body, where)
    _check_condition(body.get("applies_when"), f"{where}.applies_when", conditions, categories)
    strength = body.get("strength")
    if strength not in STRENGTHS:
        raise _Problem(where, f"strength 必须是 {' / '.join(STRENGTHS)}，收到 {strength!r}")
    requires = _mapping(body.get("requires"), f"{where}.requires")
    if not requires:
        raise _Problem(where, "requires 不能为空")
    for name, value in requires.items():
        expected = REQUIREMENTS.get(name)
        if expected is None:
            raise _Problem(where, f"未知的要求 {name!r}；可以写：{', '.join(REQUIREMENTS)}")
        if type(value) is not expected or (expected is bool and value is not True):
            raise _Problem(where, f"要求 {name} 的值必须是{'true' if expected is bool else '整数'}")
    weight = body.get("weight", 0)
    if strength == "preferred":
        weight = _positive_int(weight, f"{where}.weight")
    return LawyerRule(
        key=key,
        applies_when=body["applies_when"],
        strength=strength,
        weight=weight,
        requires=requires,
        zh=_text(body.get("zh"), f"{where}.zh"),
        citation=_text(body.get("citation"), f"{where}.citation"),
    )


def _check_condition(
    condition: object, where: str, conditions: Mapping[str, Any], categories: frozenset[str]
) -> None:
    if not isinstance(condition, dict) or len(condition) == 0:
        raise _Problem(where, f"条件必须是非空映射，收到 {condition!r}")
    if "fact" in condition:
        _check_fact_condition(condition, where)
        return
    if len(condition) != 1:
        raise _Problem(where, f"条件 {condition!r} 必须正好有一个运算")
    operator, operand = next(iter(condition.items()))
    if operator in ("all", "any"):
        if not isinstance(operand, list) or not operand:
            raise _Problem(where, f"{operator} 必须是非空的条件列表")
        for index, child in enumerate(operand):
            _check_condition(child, f"{where}.{operator}[{index}]", conditions, categories)
    elif operator == "not":
        _check_condition(operand, f"{where}.not", conditions, categories)
    elif operator == "ref":
        if operand not in conditions:
            raise _Problem(where, f"没有名为 {operand!r} 的资格命名条件")
    elif operator == "known":
        if operand not in FACTS:
            raise _Problem(where, f"known 引用了未知的事实 {operand!r}")
    elif operator == "category":
        if operand not in categories:
            raise _Problem(where, f"没有名为 {operand!r} 的优先人群")
    elif operator == "need":
        if operand not in NEEDS:
            raise _Problem(where, f"未知的需要 {operand!r}；可以写：{', '.join(sorted(NEEDS))}")
    elif operator == "assessment":
        if operand not in ASSESSMENT_FLAGS:
            raise _Problem(
                where, f"assessment 只能是 {' / '.join(ASSESSMENT_FLAGS)}，收到 {operand!r}"
            )
    elif operator == "always":
        if operand is not True:
            raise _Problem(where, "always 只能写 true")
    else:
        raise _Problem(where, f"未知的运算 {operator!r}")


def _check_fact_condition(condition: dict[str, Any], where: str) -> None:
    name = condition["fact"]
    if name not in FACTS:
        raise _Problem(where, f"未知的事实 {name!r}")
    operators = [key for key in condition if key != "fact"]
    if len(operators) != 1 or operators[0] not in FACT_OPERATORS:
        raise _Problem(where, f"事实 {name} 的条件必须正好有一个比较：{', '.join(FACT_OPERATORS)}")


def _citation(key: str, body: Mapping[str, Any], where: str) -> Citation:
    return Citation(
        key, _text(body.get("zh"), f"{where}.zh"), _text(body.get("citation"), f"{where}.citation")
    )


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Problem(where, f"必须是映射，收到 {value!r}")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem(where, "必须是非空文字（每条规则都要写明说法和出处）")
    return value


def _positive_int(value: object, where: str) -> int:
    if type(value) is not int or value <= 0:
        raise _Problem(where, f"必须是正整数，收到 {value!r}")
    return value
