"""Loads policy/eligibility/<region>.yml and checks it before any rule is used.

A region file is merged over the region it `extends` by legal_aid.policy_data, so
`rules` is a mapping from rule id to rule: a region adds a rule under a new id
and overrides one under the same id (key by key; `when` is a list, so it is
replaced whole). A file that breaks the schema is refused at load time with the
file and the rule named, because a silently skipped rule would give someone a
wrong answer about their rights.

The condition language (no Python is ever evaluated):

    {all: [c, ...]}  {any: [c, ...]}  {not: c}   combine conditions
    {ref: name}                                    a named condition of `conditions:`
    {known: fact}                                  the fact was given (never unknown)
    {fact: f, eq|ne: v}                            equality
    {fact: f, in: [v, ...]}                        one of the values
    {fact: f, lt|lte|gt|gte: n}                    numbers
    {fact: f, contains_any: [v, ...]}              list facts (disability_categories)
    {fact: f, min_items: n}                        list facts: at least n items
    {fact: f, anniversary_passed: n}               date facts: today is after the n-th
                                                   anniversary ("超过 n 周岁")
    {fact: f, anniversary_reached: n}              date facts: today is the n-th
                                                   anniversary or later ("n 周岁以上")
    {outcome: decision|route, in: [v, ...]}        the assessment's own decision/route

A rule's `when` is a list of conditions that must all hold ([] always holds).
Rules that look at `outcome` are evaluated after the decision and so may only
have effects that do not change it.

Besides the rules, a region file holds (national.yml has them all; a region
overrides what differs):

    forms_of_aid      the forms of aid of art. 22: the contract's keys, each with
                      its words and item, for the result to say
    where_to_apply    art. 38: whose rules apply to a case elsewhere
                      (`rules_follow: case_location | residence`), which
                      proceedings are litigation, and the sentences that say
                      where to apply ({place}, {home}, {documents} filled in)
    framing_facts     facts that say whose circumstances the other facts are
                      (抚养费 is the child's claim): asked first while the
                      decision is open and their `when` holds
    sources           the documents a region adds, named when its rules do not
                      apply to a case elsewhere
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from legal_aid import policy_data
from legal_aid.eligibility.facts import FACTS, FactError, check_value
from legal_aid.policy_data import PolicyDataError, load_region

KIND = "eligibility"

# Effects that decide eligibility, and those that only add to the answer.
DECISION_EFFECTS = (
    "bar",
    "route",
    "scope",
    "economic_review",
    "hardship_multiplier",
    "fallback_route",
)
EXTRA_EFFECTS = (
    "advance_aid",
    "priority_channel",
    "fee_reduction",
    "note",
    "consultation",
    "forms_of_aid",
    "benefit",
    "apply_channel",
)
# The forms of aid of art. 22, as the contract names them (shared/spec/eligibility.md).
FORMS_OF_AID = (
    "consultation",
    "document_drafting",
    "criminal_defense",
    "criminal_representation",
    "civil_representation",
    "administrative_representation",
    "state_compensation_representation",
    "duty_lawyer",
    "labor_arbitration_representation",
    "other",
)
FIXED_EFFECT_VALUES: dict[str, object] = {
    "bar": True,
    "route": "notification",
    "scope": "in",
    "economic_review": "exempt",
    "fallback_route": "duty_lawyer",
    "advance_aid": True,
    "priority_channel": True,
    "note": True,
    "consultation": True,
}
TOP_LEVEL_KEYS = {
    "region",
    "name_zh",
    "sources",
    "assume",
    "question_order",
    "economic_test",
    "needs_more_facts",
    "conditions",
    "rules",
    "forms_of_aid",
    "where_to_apply",
    "framing_facts",
}
WHERE_TO_APPLY_SENTENCES = ("litigation", "non_litigation", "either", "rules_elsewhere", "ask")
# The blanks a where-to-apply sentence may have.
WHERE_TO_APPLY_BLANKS = {"place": "某地", "home": "某地", "documents": "某文件"}
RULES_FOLLOW = ("case_location", "residence")
COMBINATORS = ("all", "any", "not", "ref", "known")
FACT_OPERATORS = (
    "eq",
    "ne",
    "in",
    "lt",
    "lte",
    "gt",
    "gte",
    "contains_any",
    "min_items",
    "anniversary_passed",
    "anniversary_reached",
)
OUTCOMES = {
    "decision": ("eligible", "not_eligible", "needs_more_facts", "consultation_only"),
    "route": ("application", "notification", "duty_lawyer", "none"),
}


@dataclass(frozen=True)
class Rule:
    """One rule of a region file, checked."""

    id: str
    when: tuple[dict[str, Any], ...]
    effect: dict[str, Any]
    zh: str
    citation: str
    after_decision: bool


@dataclass(frozen=True)
class WhereToApply:
    """Art. 38 as data: whose rules a case elsewhere follows, and what to say."""

    rules_follow: str
    litigation_when: tuple[dict[str, Any], ...]
    non_litigation_when: tuple[dict[str, Any], ...]
    sentences: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Ruleset:
    """A region's rules, merged over the regions it extends, checked."""

    region: str
    name_zh: str
    rules: tuple[Rule, ...]
    conditions: dict[str, Any]
    question_order: tuple[str, ...]
    assume: dict[str, Any]
    economic_test: dict[str, Any]
    needs_more_facts: dict[str, str]
    forms_of_aid: dict[str, dict[str, str]]
    where_to_apply: WhereToApply
    framing_facts: dict[str, tuple[dict[str, Any], ...]]
    sources: tuple[str, ...]


class _Problem(Exception):
    """A schema problem, located by section (and rule id) before the file is named."""

    def __init__(self, where: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@cache
def load_ruleset(region: str) -> Ruleset:
    """The checked rules of a region; PolicyDataError names the file and rule."""
    try:
        data = load_region(KIND, region)
    except yaml.YAMLError as error:
        raise PolicyDataError(f"{_region_path(region)}: 不是合法的 YAML：{error}") from error
    try:
        return _build(region, data)
    except _Problem as problem:
        path = _defining_file(region, problem.where)
        where = " ".join(_describe(problem.where))
        raise PolicyDataError(f"{path}: {where}: {problem.message}") from None


def clear_cache() -> None:
    """Forget loaded files (tests point policy_data.POLICY_DIR at a copy)."""
    load_ruleset.cache_clear()
    load_region.cache_clear()


def validate_all() -> list[str]:
    """Load every shipped region file; the regions checked."""
    regions = policy_data.available_regions(KIND)
    for region in regions:
        load_ruleset(region)
    return regions


def _build(region: str, data: dict[str, Any]) -> Ruleset:
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise _Problem(
            (unknown[0],), f"未知的顶层键（可用的有：{', '.join(sorted(TOP_LEVEL_KEYS))}）"
        )
    conditions = _mapping(data.get("conditions", {}), ("conditions",))
    _check_named_conditions(conditions)
    rules = tuple(_check_rule(rule_id, body, conditions) for rule_id, body in _rules(data).items())
    ruleset = Ruleset(
        region=region,
        name_zh=_text(data.get("name_zh"), ("name_zh",)),
        rules=rules,
        conditions=conditions,
        question_order=_check_question_order(data.get("question_order")),
        assume=_check_assume(data.get("assume", {})),
        economic_test=_check_economic_test(data.get("economic_test")),
        needs_more_facts=_check_reason(data.get("needs_more_facts"), ("needs_more_facts",)),
        forms_of_aid=_check_forms_of_aid(data.get("forms_of_aid")),
        where_to_apply=_check_where_to_apply(data.get("where_to_apply"), conditions),
        framing_facts=_check_framing_facts(data.get("framing_facts", {}), conditions),
        sources=_check_sources(data.get("sources", [])),
    )
    _check_every_fact_is_ordered(ruleset)
    return ruleset


def _rules(data: dict[str, Any]) -> dict[str, Any]:
    rules = _mapping(data.get("rules"), ("rules",))
    if not rules:
        raise _Problem(("rules",), "至少要有一条规则")
    return rules


def _check_rule(rule_id: object, body: object, conditions: dict[str, Any]) -> Rule:
    where = ("rules", str(rule_id))
    if (
        not isinstance(rule_id, str)
        or not rule_id.replace("_", "").isalnum()
        or not rule_id.isascii()
    ):
        raise _Problem(where, "规则 id 只能用英文字母、数字和下划线")
    body = _mapping(body, where)
    missing = [key for key in ("when", "effect", "zh", "citation") if key not in body]
    if missing:
        raise _Problem(where, f"缺少 {', '.join(missing)}")
    extra = sorted(set(body) - {"when", "effect", "zh", "citation"})
    if extra:
        raise _Problem(where, f"未知的键 {', '.join(extra)}")
    when = body["when"]
    if not isinstance(when, list):
        raise _Problem((*where, "when"), "when 必须是条件的列表（都成立时规则适用）")
    for index, condition in enumerate(when):
        _check_condition(condition, (*where, f"when[{index}]"), conditions)
    after_decision = any(uses_outcome(condition, conditions) for condition in when)
    effect = _check_effect(body["effect"], (*where, "effect"), after_decision)
    return Rule(
        id=rule_id,
        when=tuple(when),
        effect=effect,
        zh=_text(body["zh"], (*where, "zh")),
        citation=_text(body["citation"], (*where, "citation")),
        after_decision=after_decision,
    )


def _check_effect(effect: object, where: tuple[str, ...], after_decision: bool) -> dict[str, Any]:
    effect = _mapping(effect, where)
    if not effect:
        raise _Problem(where, "effect 不能为空")
    for key, value in effect.items():
        if key not in DECISION_EFFECTS and key not in EXTRA_EFFECTS:
            known = ", ".join(DECISION_EFFECTS + EXTRA_EFFECTS)
            raise _Problem(where, f"未知的作用 {key}（可用的有：{known}）")
        if after_decision and key in DECISION_EFFECTS:
            raise _Problem(where, f"条件用到了 outcome 的规则不能有改变结论的作用 {key}")
        _check_effect_value(key, value, (*where, key))
    return effect


def _check_effect_value(key: str, value: object, where: tuple[str, ...]) -> None:
    if key in FIXED_EFFECT_VALUES:
        if value != FIXED_EFFECT_VALUES[key] or type(value) is not type(FIXED_EFFECT_VALUES[key]):
            raise _Problem(where, f"{key} 只能是 {FIXED_EFFECT_VALUES[key]!r}")
    elif key == "hardship_multiplier":
        if not _is_number(value) or value <= 0:
            raise _Problem(where, "hardship_multiplier 必须是大于 0 的数")
    elif key == "fee_reduction":
        _check_fee_reduction(value, where)
    elif key == "forms_of_aid":
        if not isinstance(value, list) or not value or any(v not in FORMS_OF_AID for v in value):
            raise _Problem(where, f"forms_of_aid 必须是非空列表，取值：{', '.join(FORMS_OF_AID)}")
    elif key in ("benefit", "apply_channel"):
        value = _mapping(value, where)
        kind = value.get("kind")
        if set(value) != {"kind"} or not isinstance(kind, str) or not kind.isidentifier():
            raise _Problem(where, f"{key} 必须正好有 kind（英文标识，如 home_visit）")


def _check_fee_reduction(value: object, where: tuple[str, ...]) -> None:
    value = _mapping(value, where)
    if set(value) != {"service", "min_percent"}:
        raise _Problem(where, "fee_reduction 必须正好有 service 和 min_percent")
    _text(value["service"], (*where, "service"))
    percent = value["min_percent"]
    if not isinstance(percent, int) or isinstance(percent, bool) or not 0 < percent <= 100:
        raise _Problem((*where, "min_percent"), "min_percent 必须是 1 到 100 的整数")


def _check_named_conditions(conditions: dict[str, Any]) -> None:
    for name, condition in conditions.items():
        _check_condition(condition, ("conditions", str(name)), conditions)
    for name in conditions:
        _check_no_cycle(name, conditions, ())


def _check_no_cycle(name: str, conditions: dict[str, Any], seen: tuple[str, ...]) -> None:
    if name in seen:
        raise _Problem(("conditions", name), f"命名条件循环引用：{' → '.join((*seen, name))}")
    for referenced in _refs(conditions[name]):
        _check_no_cycle(referenced, conditions, (*seen, name))


def _check_condition(condition: object, where: tuple[str, ...], conditions: dict[str, Any]) -> None:
    if not isinstance(condition, dict) or not condition:
        raise _Problem(where, f"条件必须是非空映射，收到的是 {condition!r}")
    if "fact" in condition:
        _check_fact_condition(condition, where)
    elif "outcome" in condition:
        _check_outcome_condition(condition, where)
    else:
        _check_combinator(condition, where, conditions)


def _check_combinator(
    condition: dict[str, Any], where: tuple[str, ...], conditions: dict[str, Any]
) -> None:
    if len(condition) != 1 or next(iter(condition)) not in COMBINATORS:
        raise _Problem(
            where,
            f"条件 {condition!r} 必须正好有一个运算：{', '.join(COMBINATORS)}，或 fact/outcome 加一个比较",
        )
    operator, operand = next(iter(condition.items()))
    if operator in ("all", "any"):
        if not isinstance(operand, list) or not operand:
            raise _Problem(where, f"{operator} 必须是非空的条件列表")
        for index, child in enumerate(operand):
            _check_condition(child, (*where[:-1], f"{where[-1]}.{operator}[{index}]"), conditions)
    elif operator == "not":
        _check_condition(operand, (*where[:-1], f"{where[-1]}.not"), conditions)
    elif operator == "ref":
        if not _names(operand, conditions):
            raise _Problem(where, f"没有名为 {operand!r} 的命名条件（conditions）")
    elif not _names(operand, FACTS):
        raise _Problem(where, f"known 引用了未知的事实 {operand!r}")


def _check_fact_condition(condition: dict[str, Any], where: tuple[str, ...]) -> None:
    name = condition["fact"]
    if not _names(name, FACTS):
        raise _Problem(where, f"未知的事实 {name!r}")
    operators = [key for key in condition if key != "fact"]
    if len(operators) != 1 or operators[0] not in FACT_OPERATORS:
        raise _Problem(where, f"事实 {name} 的条件必须正好有一个比较：{', '.join(FACT_OPERATORS)}")
    operator = operators[0]
    _check_operand(name, FACTS[name].kind, operator, condition[operator], where)


def _check_operand(
    name: str, kind: str, operator: str, operand: object, where: tuple[str, ...]
) -> None:
    is_list = kind == "string_list"
    if operator in ("lt", "lte", "gt", "gte"):
        if kind not in ("int", "number") or not _is_number(operand):
            raise _Problem(where, f"{operator} 只能用于数字事实并和数字比较（{name}）")
    elif operator in ("anniversary_passed", "anniversary_reached"):
        if kind != "date" or not isinstance(operand, int) or isinstance(operand, bool):
            raise _Problem(where, f"{operator} 只能用于日期事实，且是整数年（{name}）")
    elif kind == "date":
        raise _Problem(where, f"日期事实 {name} 请用 anniversary_passed 或 anniversary_reached")
    elif operator == "min_items":
        if not is_list or not isinstance(operand, int) or isinstance(operand, bool) or operand < 0:
            raise _Problem(where, f"min_items 只能用于列表事实，且是非负整数（{name}）")
    elif operator == "contains_any":
        if not is_list or not isinstance(operand, list) or not operand:
            raise _Problem(where, f"contains_any 只能用于列表事实，且是非空列表（{name}）")
        _check_fact_value(name, operand, where)
    elif is_list:
        raise _Problem(where, f"列表事实 {name} 请用 contains_any 或 min_items")
    elif operator == "in":
        if not isinstance(operand, list) or not operand:
            raise _Problem(where, f"in 必须是非空列表（{name}）")
        for value in operand:
            _check_fact_value(name, value, where)
    else:
        _check_fact_value(name, operand, where)


def _check_fact_value(name: str, value: object, where: tuple[str, ...]) -> None:
    try:
        check_value(name, value)
    except FactError as error:
        raise _Problem(where, str(error)) from None


def _check_outcome_condition(condition: dict[str, Any], where: tuple[str, ...]) -> None:
    name = condition["outcome"]
    if not _names(name, OUTCOMES) or set(condition) != {"outcome", "in"}:
        raise _Problem(
            where,
            f"outcome 条件的写法是 {{outcome: decision|route, in: [...]}}，收到 {condition!r}",
        )
    values = condition["in"]
    if not isinstance(values, list) or not values or any(v not in OUTCOMES[name] for v in values):
        raise _Problem(where, f"outcome {name} 只能取 {', '.join(OUTCOMES[name])}")


def _check_question_order(order: object) -> tuple[str, ...]:
    where = ("question_order",)
    if not isinstance(order, list) or not order:
        raise _Problem(where, "question_order 必须是事实名的非空列表")
    for name in order:
        if not _names(name, FACTS):
            raise _Problem(where, f"未知的事实 {name!r}")
    if len(set(order)) != len(order):
        raise _Problem(where, "question_order 里有重复的事实")
    return tuple(order)


def _check_assume(assume: object) -> dict[str, Any]:
    assume = _mapping(assume, ("assume",))
    for name, value in assume.items():
        if not _names(name, FACTS):
            raise _Problem(("assume",), f"未知的事实 {name!r}")
        _check_fact_value(name, value, ("assume",))
    return assume


def _check_economic_test(test: object) -> dict[str, Any]:
    where = ("economic_test",)
    test = _mapping(test, where)
    if set(test) != {"income", "standard", "met", "not_met"}:
        raise _Problem(where, "economic_test 必须正好有 income、standard、met、not_met")
    for key in ("income", "standard"):
        if not _names(test[key], FACTS) or FACTS[test[key]].kind != "number":
            raise _Problem((*where, key), f"{test[key]!r} 不是数字事实")
    for key in ("met", "not_met"):
        _check_reason(test[key], (*where, key))
    return test


def _check_reason(reason: object, where: tuple[str, ...]) -> dict[str, str]:
    reason = _mapping(reason, where)
    if set(reason) != {"zh", "citation"}:
        raise _Problem(where, "必须正好有 zh 和 citation")
    return {"zh": _text(reason["zh"], where), "citation": _text(reason["citation"], where)}


def _check_forms_of_aid(labels: object) -> dict[str, dict[str, str]]:
    where = ("forms_of_aid",)
    labels = _mapping(labels, where)
    if set(labels) != set(FORMS_OF_AID):
        raise _Problem(where, f"必须正好给出这些形式的说法：{', '.join(FORMS_OF_AID)}")
    return {form: _check_reason(labels[form], (*where, form)) for form in FORMS_OF_AID}


def _check_where_to_apply(section: object, conditions: dict[str, Any]) -> WhereToApply:
    where = ("where_to_apply",)
    section = _mapping(section, where)
    expected = {"rules_follow", "litigation_when", "non_litigation_when", *WHERE_TO_APPLY_SENTENCES}
    if set(section) != expected:
        raise _Problem(where, f"必须正好有 {', '.join(sorted(expected))}")
    if section["rules_follow"] not in RULES_FOLLOW:
        raise _Problem((*where, "rules_follow"), f"只能是 {' 或 '.join(RULES_FOLLOW)}")
    whens = {}
    for key in ("litigation_when", "non_litigation_when"):
        whens[key] = _check_fact_conditions(section[key], (*where, key), conditions)
    sentences = {}
    for name in WHERE_TO_APPLY_SENTENCES:
        sentence = _check_reason(section[name], (*where, name))
        try:
            sentence["zh"].format(**WHERE_TO_APPLY_BLANKS)
        except (KeyError, IndexError, ValueError):
            blanks = ", ".join(f"{{{b}}}" for b in WHERE_TO_APPLY_BLANKS)
            raise _Problem((*where, name), f"只能留这些空：{blanks}") from None
        sentences[name] = sentence
    return WhereToApply(
        section["rules_follow"],
        whens["litigation_when"],
        whens["non_litigation_when"],
        sentences,
    )


def _check_fact_conditions(
    when: object, where: tuple[str, ...], conditions: dict[str, Any]
) -> tuple[dict[str, Any], ...]:
    """A list of conditions on facts only (evaluated before any decision)."""
    if not isinstance(when, list):
        raise _Problem(where, "必须是条件的列表")
    for index, condition in enumerate(when):
        _check_condition(condition, (*where[:-1], f"{where[-1]}[{index}]"), conditions)
        if uses_outcome(condition, conditions):
            raise _Problem(where, "这里的条件不能用 outcome")
    return tuple(when)


def _check_framing_facts(
    framing: object, conditions: dict[str, Any]
) -> dict[str, tuple[dict[str, Any], ...]]:
    framing = _mapping(framing, ("framing_facts",))
    checked = {}
    for name, body in framing.items():
        where = ("framing_facts", str(name))
        if not _names(name, FACTS):
            raise _Problem(where, f"未知的事实 {name!r}")
        body = _mapping(body, where)
        if set(body) != {"when"}:
            raise _Problem(where, "必须正好有 when（条件的列表）")
        checked[name] = _check_fact_conditions(body["when"], (*where, "when"), conditions)
    return checked


def _check_sources(sources: object) -> tuple[str, ...]:
    if not isinstance(sources, list):
        raise _Problem(("sources",), "必须是文件名称的列表")
    return tuple(_text(source, ("sources",)) for source in sources)


def _check_every_fact_is_ordered(ruleset: Ruleset) -> None:
    # A fact that a rule reads but the dialogue never asks would be reported as
    # missing without a place in the order: refuse the file instead.
    for rule in ruleset.rules:
        for condition in rule.when:
            for name in _facts_in(condition, ruleset.conditions):
                if name not in ruleset.question_order:
                    raise _Problem(("rules", rule.id), f"事实 {name} 不在 question_order 里")
    for name in ruleset.framing_facts:
        if name not in ruleset.question_order:
            raise _Problem(("framing_facts", name), f"事实 {name} 不在 question_order 里")
    for key in ("income", "standard"):
        if ruleset.economic_test[key] not in ruleset.question_order:
            raise _Problem(
                ("economic_test",), f"事实 {ruleset.economic_test[key]} 不在 question_order 里"
            )


def _facts_in(condition: dict[str, Any], conditions: dict[str, Any]) -> set[str]:
    """The facts a checked condition reads, through named conditions."""
    if "fact" in condition:
        return {condition["fact"]}
    if "outcome" in condition:
        return set()
    operator, operand = next(iter(condition.items()))
    if operator in ("all", "any"):
        return set().union(*(_facts_in(child, conditions) for child in operand))
    if operator == "not":
        return _facts_in(operand, conditions)
    if operator == "ref":
        return _facts_in(conditions[operand], conditions)
    return {operand}


def uses_outcome(condition: dict[str, Any], conditions: dict[str, Any]) -> bool:
    """Whether a checked condition reads the assessment's own decision or route,
    itself or through a named condition: it can only be evaluated after the decision."""
    if "outcome" in condition:
        return True
    if "fact" in condition:
        return False
    operator, operand = next(iter(condition.items()))
    if operator in ("all", "any"):
        return any(uses_outcome(child, conditions) for child in operand)
    if operator == "not":
        return uses_outcome(operand, conditions)
    return operator == "ref" and uses_outcome(conditions[operand], conditions)


def _refs(condition: object) -> set[str]:
    if not isinstance(condition, dict) or "fact" in condition or "outcome" in condition:
        return set()
    operator, operand = next(iter(condition.items()))
    if operator in ("all", "any"):
        return set().union(*(_refs(child) for child in operand))
    if operator == "not":
        return _refs(operand)
    return {operand} if operator == "ref" else set()


def _names(value: object, names: dict[str, Any]) -> bool:
    """value is a string naming one of `names` (YAML may give a list or a number)."""
    return isinstance(value, str) and value in names


def _mapping(value: object, where: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Problem(where, f"必须是映射，收到的是 {value!r}")
    return value


def _text(value: object, where: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem(where, "必须是非空文字")
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _region_path(region: str) -> Path:
    return policy_data.POLICY_DIR / KIND / f"{region}.yml"


def _defining_file(region: str, where: tuple[str, ...]) -> Path:
    """The file of the region chain that wrote the faulty entry, nearest first.

    Only used to name the file in an error: the data itself is loaded by
    legal_aid.policy_data.load_region.
    """
    path = _region_path(region)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or _holds(raw, where[:2]):
        return path
    parent = raw.get("extends")
    if not isinstance(parent, str) or parent == region or not _region_path(parent).is_file():
        return path
    return _defining_file(parent, where)


def _holds(raw: dict[str, Any], keys: tuple[str, ...]) -> bool:
    node: object = raw
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _describe(where: tuple[str, ...]) -> list[str]:
    if where[0] == "rules" and len(where) > 1:
        return [f"规则 {where[1]}", *where[2:]]
    if where[0] == "conditions" and len(where) > 1:
        return [f"命名条件 {where[1]}", *where[2:]]
    return list(where)
