"""Evaluates a region's eligibility rules over facts: `assess(facts) -> assessment`.

Facts may be missing, so every condition is three-valued: true, false or unknown
(Kleene logic), and an unknown condition remembers the missing facts behind it.
The rules answer six yes/no questions ("groups"): is the person barred (already
has a lawyer), must the authorities notify (art. 25/28), is the matter in scope,
is the economic review waived, is the economic test met, and is a duty lawyer
the fallback. The decision is a fixed function of those answers; everything
that differs between regions and documents is in the data files.

While facts are missing, the rules with the same decision effects are taken
together as one unknown (so an art. 32 rule, which both brings a matter into
scope and waives the review, stays one unknown). One is worth asking about only
when some answer to the other unknowns makes its own answer change the
decision or route; the missing facts behind those, in the data's
`question_order`, are `missing_facts`.

Whose rules apply (art. 38): the application goes to the legal-aid centre where
the case is (`case_location`), and a region's own documents are applied by its
centres. So the rules are those of the case's place; while it is unknown, those
of the person's region (`region`), unless a case elsewhere (under the national
rules) could end differently: then `case_location` is one of the missing facts.
A region file can say its rules follow the residence instead (`where_to_apply:
rules_follow`), one data change.

A date of birth, where given, decides the age: `age` is worked out from it
(whole 周岁 reached today), and date conditions compare anniversaries.

Beside the decision, the rules that look at it name the forms of aid (art. 22,
`forms_of_aid`), the services the documents promise and the ways an
application reaches the centre (arts. 39, 40) (`benefits`), each with its rule's
words and source; `apply_at` says where to apply once the place is known.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import product
from typing import Any

from legal_aid.eligibility.facts import check_facts, parse_date, place_region
from legal_aid.eligibility.ruleset import (
    DECISION_EFFECTS,
    EXTRA_EFFECTS,
    FORMS_OF_AID,
    Rule,
    Ruleset,
    load_ruleset,
    uses_outcome,
)
from legal_aid.places import resolve_place
from legal_aid.policy_data import DEFAULT_REGION
from legal_aid.times import china_today

# Group -> the effect whose rules answer it (any true rule makes it true).
GROUP_EFFECTS = {
    "bar": "bar",
    "notify": "route",
    "scope": "scope",
    "exempt": "economic_review",
    "fallback": "fallback_route",
}
HARDSHIP = "hardship"
# The order reasons are told in: why not, then why yes, then what else helps.
REASON_ORDER = DECISION_EFFECTS + EXTRA_EFFECTS
# When several answers remain possible, say the one that asks the least of the person.
REVIEW_PREFERENCE = ("required", "exempt", "not_applicable")
CASE_LOCATION = "case_location"
# benefit_facts: the place of the case, asked to say where to apply (art. 38).
APPLY_AT = "apply_at"
# Effects collected into `benefits`: services, and how the application reaches the centre.
BENEFIT_LIST_EFFECTS = ("benefit", "apply_channel")


@dataclass(frozen=True)
class Status:
    """A three-valued truth: value None means unknown, because of `missing`."""

    value: bool | None
    missing: frozenset[str] = frozenset()


TRUE = Status(True)
FALSE = Status(False)


@dataclass(frozen=True)
class Outcome:
    """The decision for one combination of group answers."""

    decision: str
    route: str
    economic_review: str


@dataclass(frozen=True)
class Evaluation:
    """One ruleset's answer for the facts: the decision and what it rests on."""

    ruleset: Ruleset
    known: dict[str, Any]
    statuses: dict[str, Status]
    hardship: Status
    multiplier: float
    outcome: Outcome
    missing: frozenset[str]
    # Every outcome still possible, with its economic review.
    outcomes: frozenset[Outcome]

    @property
    def possible(self) -> frozenset[tuple[str, str]]:
        """Every (decision, route) still possible."""
        return frozenset((o.decision, o.route) for o in self.outcomes)


def assess(facts: dict[str, Any]) -> dict[str, Any]:
    """The assessment of shared/spec/eligibility.md for one facts object.

    Raises FactError for facts that break the contract and PolicyDataError for
    a broken rule file.
    """
    given = check_facts(facts)
    evaluation = _evaluation(given)
    ruleset, outcome = evaluation.ruleset, evaluation.outcome
    applied = _applied(evaluation)
    assessment: dict[str, Any] = {
        "decision": outcome.decision,
        "route": outcome.route,
        "economic_review": outcome.economic_review,
        "hardship_threshold_monthly": _threshold(
            ruleset, evaluation.known, outcome, evaluation.multiplier
        ),
        "advance_aid": any("advance_aid" in rule.effect for rule in applied),
        "priority_channel": any("priority_channel" in rule.effect for rule in applied),
        "missing_facts": _missing_facts(evaluation),
        "fee_reductions": _fee_reductions(applied),
        "forms_of_aid": _forms_of_aid(applied),
        "benefits": _benefits(applied),
    }
    if CASE_LOCATION in given:
        assessment["apply_at"] = _apply_at(given, load_ruleset(given["region"]), evaluation)
    assessment["reasons"] = _reasons(evaluation, applied)
    return assessment


def reasons_to_apply(facts: dict[str, Any]) -> list[dict[str, str]]:
    """The rules by which the person can surely apply while the decision is still
    open only on money: whatever the questions left bring, the matter is one legal
    aid covers and nothing bars it; what stays open is whether the income is
    checked and, if so, whether it is low enough (arts. 31, 34, 41, 42).

    Empty when that is not sure yet, or once the decision is made. The answer to
    "能不能申请" the dialogue can give before the questions about money (issue 25).
    """
    evaluation = _evaluation(check_facts(facts))
    if evaluation.outcome.decision != "needs_more_facts" or not all(
        (o.decision, o.route) == ("eligible", "application")
        or (o.decision, o.economic_review) == ("not_eligible", "required")
        for o in evaluation.outcomes
    ):
        return []
    scope = [r for r in _applied(evaluation) if "scope" in r.effect]
    return [{"rule": r.id, "zh": r.zh, "citation": r.citation} for r in scope]


def _evaluation(given: dict[str, Any]) -> Evaluation:
    """The checked facts evaluated under the rules that apply, waiting for the
    place of the case where it could change the outcome."""
    home = load_ruleset(given["region"])
    known = known_facts(given)
    evaluation = _evaluate(rules_for(given), known)
    elsewhere = _case_elsewhere(given, home, known)
    if elsewhere is not None and elsewhere.possible != evaluation.possible:
        evaluation = _open_on_location(evaluation, elsewhere)
    return _after_decision(evaluation)


def known_facts(given: dict[str, Any]) -> dict[str, Any]:
    """The checked facts as the rules see them: the region's assumptions under
    what was said, and the age worked out from a date of birth."""
    known = {**rules_for(given).assume, **given}
    born = given.get("birth_date")
    if born is not None:
        known["age"] = _completed_years(parse_date(born), china_today())
    return known


def rules_for(given: dict[str, Any]) -> Ruleset:
    """The rules that apply: those of the case's place once known (art. 38),
    else those of the person's region."""
    home = load_ruleset(given["region"])
    place = given.get(CASE_LOCATION)
    if place is None or home.where_to_apply.rules_follow != CASE_LOCATION:
        return home
    return load_ruleset(place_region(place))


def condition_holds(name: str, facts: dict[str, Any]) -> bool | None:
    """Whether the region's named condition holds for these facts; None while a
    fact it reads is not known.

    The named conditions (`minor`, `elderly`, `severely_disabled`,
    `deadline_under_seven_days`, …) are written once, with their source, in
    policy/eligibility/<region>.yml. Whoever needs to know "is this person a
    minor" or "is the deadline close enough for art. 44" asks here rather than
    restating the line in code, so the dialogue, the queue and the application
    cannot drift apart from the rules. Raises KeyError for a name the region
    does not define (a programming error, not a fact the person did not give).
    """
    given = check_facts(facts)
    ruleset = rules_for(given)
    if name not in ruleset.conditions:
        raise KeyError(f"policy/eligibility/{ruleset.region}.yml defines no condition {name!r}")
    condition = ruleset.conditions[name]
    outcome = None
    if uses_outcome(condition, ruleset.conditions):
        assessment = assess(facts)
        outcome = {"decision": assessment["decision"], "route": assessment["route"]}
    return _holds(condition, known_facts(given), ruleset.conditions, outcome).value


# Effects that help a person who qualifies (or not) without changing the decision.
BENEFIT_EFFECTS = ("advance_aid", "fee_reduction")


def benefit_facts(
    facts: dict[str, Any],
    effects: tuple[str, ...] = BENEFIT_EFFECTS,
    unanswerable: frozenset[str] = frozenset(),
    assessment: dict[str, Any] | None = None,
) -> list[str]:
    """The unknown facts that could still bring a benefit of these effects.

    `missing_facts` names only what changes the decision; whether aid can start
    at once (art. 44), a fee is reduced or the application can go through the
    custody authority (art. 39) depends on further facts, worth asking once
    the decision is known. A benefit already granted needs no more, and a rule
    that needs a fact the person could not give (`unanswerable`) cannot be
    settled by asking the others. APPLY_AT among the effects asks the place of
    the case, to say where to apply (art. 38), last. Pass the facts'
    `assessment` when it is at hand, so it is not worked out again.
    """
    given = check_facts(facts)
    ruleset = rules_for(given)
    known = known_facts(given)
    assessment = assessment or assess(facts)
    outcome = {"decision": assessment["decision"], "route": assessment["route"]}
    open_rules: list[frozenset[str]] = []
    for rules in _benefit_groups(ruleset, effects):
        statuses = [_rule_status(r, known, ruleset.conditions, outcome) for r in rules]
        if any(status.value is True for status in statuses):
            continue
        open_rules += [
            status.missing
            for status in statuses
            if status.value is None and not status.missing & unanswerable
        ]
    # The rule nearest to applying first: a deadline is asked before the gender
    # that a narrower rule about the same deadline would also need.
    ordered: list[str] = []
    for missing in sorted(open_rules, key=len):
        ordered += _in_question_order(set(missing) - set(ordered), ruleset.question_order)
    if APPLY_AT in effects and "apply_at" not in assessment and CASE_LOCATION not in unanswerable:
        ordered.append(CASE_LOCATION)
    return ordered


def _benefit_groups(ruleset: Ruleset, effects: tuple[str, ...]) -> list[list[Rule]]:
    """The rules of each benefit: one effect, and one kind where the effect has
    kinds (the custody transfer of art. 39 is not settled by art. 40's)."""
    groups: dict[tuple[str, str | None], list[Rule]] = {}
    for effect in effects:
        for rule in ruleset.rules:
            if effect in rule.effect:
                value = rule.effect[effect]
                kind = value.get("kind") if isinstance(value, dict) else None
                groups.setdefault((effect, kind), []).append(rule)
    return list(groups.values())


# --- three-valued conditions -------------------------------------------------


def _rule_status(
    rule: Rule, facts: dict[str, Any], conditions: dict[str, Any], outcome: dict[str, str] | None
) -> Status:
    return _conditions_status(rule.when, facts, conditions, outcome)


def _conditions_status(
    when: tuple[dict[str, Any], ...],
    facts: dict[str, Any],
    conditions: dict[str, Any],
    outcome: dict[str, str] | None,
) -> Status:
    return _all([_holds(c, facts, conditions, outcome) for c in when])


def _holds(
    condition: dict[str, Any],
    facts: dict[str, Any],
    conditions: dict[str, Any],
    outcome: dict[str, str] | None,
) -> Status:
    if "fact" in condition:
        return _compare(condition, facts)
    if "outcome" in condition:
        # Checked at load: only rules evaluated after the decision get here.
        assert outcome is not None
        return Status(outcome[condition["outcome"]] in condition["in"])
    operator, operand = next(iter(condition.items()))
    if operator == "all":
        return _all([_holds(c, facts, conditions, outcome) for c in operand])
    if operator == "any":
        return _any([_holds(c, facts, conditions, outcome) for c in operand])
    if operator == "not":
        inner = _holds(operand, facts, conditions, outcome)
        return inner if inner.value is None else Status(not inner.value)
    if operator == "ref":
        return _holds(conditions[operand], facts, conditions, outcome)
    return Status(operand in facts)  # known: never unknown itself


def _all(statuses: list[Status]) -> Status:
    if any(s.value is False for s in statuses):
        return FALSE
    return _unknown_or(statuses, TRUE)


def _any(statuses: list[Status]) -> Status:
    if any(s.value is True for s in statuses):
        return TRUE
    return _unknown_or(statuses, FALSE)


def _unknown_or(statuses: list[Status], otherwise: Status) -> Status:
    unknown = [s.missing for s in statuses if s.value is None]
    return Status(None, frozenset().union(*unknown)) if unknown else otherwise


def _compare(condition: dict[str, Any], facts: dict[str, Any]) -> Status:
    name = condition["fact"]
    if name not in facts:
        return Status(None, frozenset({name}))
    return Status(compare_fact(condition, facts[name]))


def compare_fact(condition: Mapping[str, Any], value: Any) -> bool:
    """Whether a known fact's value meets a condition such as {fact: age, gte: 60}.

    The one reading of the rule files' comparisons (the handoff rules use it too)."""
    operator, operand = next((k, v) for k, v in condition.items() if k != "fact")
    if operator in ("anniversary_passed", "anniversary_reached"):
        return _anniversary_compare(operator, value, operand)
    comparisons = {
        "eq": lambda: value == operand,
        "ne": lambda: value != operand,
        "in": lambda: value in operand,
        "lt": lambda: value < operand,
        "lte": lambda: value <= operand,
        "gt": lambda: value > operand,
        "gte": lambda: value >= operand,
        "contains_any": lambda: any(item in value for item in operand),
        "min_items": lambda: len(value) >= operand,
    }
    return bool(comparisons[operator]())


def _anniversary_compare(operator: str, born: str, years: int) -> bool:
    """超过 n 周岁 (passed) from the day after the n-th birthday; n 周岁以上
    (reached) from the birthday itself (民法典 第一千二百五十九条)."""
    anniversary = _anniversary(parse_date(born), years)
    today = china_today()
    return anniversary < today if operator == "anniversary_passed" else anniversary <= today


def _anniversary(born: date | None, years: int) -> date:
    assert born is not None  # checked by check_facts
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        # Born on 29 February: in a common year the anniversary is 1 March,
        # the first day the whole years are complete.
        return born.replace(year=born.year + years, day=28) + timedelta(days=1)


def _completed_years(born: date | None, today: date) -> int:
    """Whole 周岁 reached today: the anniversaries that have come."""
    assert born is not None
    years = today.year - born.year
    return years if _anniversary(born, years) <= today else years - 1


# --- one ruleset's evaluation ------------------------------------------------


def _evaluate(ruleset: Ruleset, known: dict[str, Any]) -> Evaluation:
    """The decision under one ruleset (the rules that look at the outcome come later)."""
    statuses = {
        rule.id: _rule_status(rule, known, ruleset.conditions, None)
        for rule in ruleset.rules
        if not rule.after_decision
    }
    hardship, multiplier = _hardship(ruleset, known, statuses)
    unknowns = _unknowns(ruleset, statuses)
    unknowns[HARDSHIP] = hardship
    outcome, missing, outcomes = _decide(unknowns)
    return Evaluation(
        ruleset=ruleset,
        known=known,
        statuses=statuses,
        hardship=hardship,
        multiplier=multiplier,
        outcome=outcome,
        missing=frozenset(missing),
        outcomes=outcomes,
    )


def _after_decision(evaluation: Evaluation) -> Evaluation:
    """The rules that look at the decision, evaluated once it is made."""
    ruleset, outcome = evaluation.ruleset, evaluation.outcome
    values = {"decision": outcome.decision, "route": outcome.route}
    statuses = dict(evaluation.statuses)
    for rule in ruleset.rules:
        if rule.after_decision:
            statuses[rule.id] = _rule_status(rule, evaluation.known, ruleset.conditions, values)
    return replace(evaluation, statuses=statuses)


def _applied(evaluation: Evaluation) -> list[Rule]:
    return [r for r in evaluation.ruleset.rules if evaluation.statuses[r.id].value is True]


def _case_elsewhere(
    given: dict[str, Any], home: Ruleset, known: dict[str, Any]
) -> Evaluation | None:
    """While the place of the case is unknown and the person's region has rules
    of its own: the decision for a case elsewhere (national rules), to compare."""
    if CASE_LOCATION in given or home.where_to_apply.rules_follow != CASE_LOCATION:
        return None
    if home.region == DEFAULT_REGION:
        return None
    return _evaluate(load_ruleset(DEFAULT_REGION), known)


def _open_on_location(here: Evaluation, elsewhere: Evaluation) -> Evaluation:
    """The decision waits for the place of the case: it is asked with what
    either place would still need."""
    outcomes = here.outcomes | elsewhere.outcomes
    eligible_routes = {o.route for o in outcomes if o.decision == "eligible"}
    route = (
        _preferred(eligible_routes, ("application", "notification")) if eligible_routes else "none"
    )
    review = _preferred(
        {here.outcome.economic_review, elsewhere.outcome.economic_review}, REVIEW_PREFERENCE
    )
    return replace(
        here,
        outcome=Outcome("needs_more_facts", route, review),
        missing=here.missing | elsewhere.missing | {CASE_LOCATION},
        outcomes=outcomes,
    )


# --- groups and the decision -------------------------------------------------


def _unknowns(ruleset: Ruleset, statuses: dict[str, Status]) -> dict[object, Status]:
    """The decision rules taken together by their decision effects (any one true suffices)."""
    grouped: dict[object, list[Status]] = {}
    for rule in ruleset.rules:
        signature = frozenset(GROUP_EFFECTS.values()) & set(rule.effect)
        if signature and rule.id in statuses:
            grouped.setdefault(signature, []).append(statuses[rule.id])
    return {signature: _any(found) for signature, found in grouped.items()}


def _hardship(
    ruleset: Ruleset, facts: dict[str, Any], statuses: dict[str, Status]
) -> tuple[Status, float]:
    """Is income within the hardship line, and the multiplier surely applied.

    A multiplier rule still unknown (e.g. Shanxi 2× for women, gender not
    given) matters only while the income could fall between the two lines, so
    its facts are asked once both numbers are known and put the income there:
    most people do not know their local 低保 line, and then the sex changes
    nothing (issue 25).
    """
    multipliers = [
        (float(rule.effect["hardship_multiplier"]), statuses[rule.id])
        for rule in ruleset.rules
        if "hardship_multiplier" in rule.effect and rule.id in statuses
    ]
    surely = max((m for m, s in multipliers if s.value is True), default=1.0)
    maybe = [(m, s.missing) for m, s in multipliers if s.value is None and m > surely]
    test = ruleset.economic_test
    income, standard = facts.get(test["income"]), facts.get(test["standard"])
    if income is None or standard is None:
        unknown = {test[k] for k in ("income", "standard") if facts.get(test[k]) is None}
        return Status(None, frozenset(unknown)), surely
    if income <= surely * standard:
        return TRUE, surely
    higher = [missing for m, missing in maybe if income <= m * standard]
    return (Status(None, frozenset().union(*higher)) if higher else FALSE), surely


def _outcome(answers: dict[object, bool]) -> Outcome:
    """The decision once every unknown is answered (arts. 23-25, 28, 31, 32, 42)."""
    group = {
        name: any(answer for key, answer in answers.items() if key != HARDSHIP and effect in key)
        for name, effect in GROUP_EFFECTS.items()
    }
    if not (group["notify"] or group["scope"]):
        return Outcome("consultation_only", "none", "not_applicable")
    if group["bar"]:
        return Outcome("not_eligible", "none", "not_applicable")
    if group["notify"]:
        return Outcome("eligible", "notification", "not_applicable")
    if group["exempt"]:
        return Outcome("eligible", "application", "exempt")
    if answers[HARDSHIP]:
        return Outcome("eligible", "application", "required")
    return Outcome("not_eligible", "duty_lawyer" if group["fallback"] else "none", "required")


def _completions(
    unknowns: dict[object, Status], fixed: dict[object, bool]
) -> Iterator[dict[object, bool]]:
    """Every way the still-unknown ones (other than `fixed`) could be answered."""
    open_ = [k for k, s in unknowns.items() if s.value is None and k not in fixed]
    settled = {k: s.value for k, s in unknowns.items() if s.value is not None}
    for answers in product((True, False), repeat=len(open_)):
        yield {**settled, **fixed, **dict(zip(open_, answers, strict=True))}


def _decide(
    unknowns: dict[object, Status],
) -> tuple[Outcome, set[str], frozenset[Outcome]]:
    """The outcome, the facts worth asking, and every outcome still possible."""
    possible = frozenset(_outcome(answers) for answers in _completions(unknowns, {}))
    decisions = frozenset((o.decision, o.route) for o in possible)
    review = _preferred({o.economic_review for o in possible}, REVIEW_PREFERENCE)
    if len(decisions) == 1:
        decision, route = next(iter(decisions))
        return Outcome(decision, route, review), set(), possible
    missing: set[str] = set()
    for key, status in unknowns.items():
        if status.value is None and _matters(key, unknowns):
            missing |= status.missing
    eligible_routes = {route for decision, route in decisions if decision == "eligible"}
    route = (
        _preferred(eligible_routes, ("application", "notification")) if eligible_routes else "none"
    )
    return Outcome("needs_more_facts", route, review), missing, possible


def _matters(key: object, unknowns: dict[object, Status]) -> bool:
    """Could answering this one change the decision or route?"""
    for others in _completions(unknowns, {key: True}):
        yes = _outcome(others)
        no = _outcome({**others, key: False})
        if (yes.decision, yes.route) != (no.decision, no.route):
            return True
    return False


def _preferred(values: set[str], preference: tuple[str, ...]) -> str:
    if len(values) == 1:
        return next(iter(values))
    return next(v for v in preference if v in values)


# --- the assessment's parts --------------------------------------------------


def _threshold(
    ruleset: Ruleset, facts: dict[str, Any], outcome: Outcome, multiplier: float
) -> float | None:
    """The income line applied: only when the economic review applies at all."""
    standard = facts.get(ruleset.economic_test["standard"])
    if outcome.economic_review != "required" or standard is None:
        return None
    return round(multiplier * standard, 2)


def _in_question_order(missing: set[str], order: tuple[str, ...]) -> list[str]:
    return sorted(missing, key=lambda name: (order.index(name), name))


def _missing_facts(evaluation: Evaluation) -> list[str]:
    """The facts to ask, with any framing fact ("whose claim is it") first in order."""
    missing = set(evaluation.missing)
    ruleset = evaluation.ruleset
    if evaluation.outcome.decision == "needs_more_facts":
        for name, when in ruleset.framing_facts.items():
            status = _conditions_status(when, evaluation.known, ruleset.conditions, None)
            if name not in evaluation.known and status.value is True:
                missing.add(name)
    return _in_question_order(missing, ruleset.question_order)


def _fee_reductions(applied: list[Rule]) -> list[dict[str, Any]]:
    reductions: list[dict[str, Any]] = []
    for rule in applied:
        reduction = rule.effect.get("fee_reduction")
        if reduction is not None and reduction not in reductions:
            reductions.append(dict(reduction))
    return reductions


def _forms_of_aid(applied: list[Rule]) -> list[str]:
    """The forms of aid (art. 22) the applied rules name, in the article's order."""
    named = {form for rule in applied for form in rule.effect.get("forms_of_aid", ())}
    return [form for form in FORMS_OF_AID if form in named]


def _benefits(applied: list[Rule]) -> list[dict[str, str]]:
    """One entry per kind of service: the first rule's words, every rule's source."""
    benefits: dict[str, dict[str, str]] = {}
    for rule in applied:
        for effect in BENEFIT_LIST_EFFECTS:
            if effect not in rule.effect:
                continue
            kind = rule.effect[effect]["kind"]
            if kind not in benefits:
                benefits[kind] = {"kind": kind, "zh": rule.zh, "citation": rule.citation}
            elif rule.citation not in benefits[kind]["citation"]:
                benefits[kind]["citation"] += f"；{rule.citation}"
    return list(benefits.values())


def _apply_at(given: dict[str, Any], home: Ruleset, evaluation: Evaluation) -> dict[str, Any]:
    """Where to apply (art. 38), and the person's own region's rules that a case
    elsewhere leaves behind."""
    ruleset = evaluation.ruleset
    place = _place_words(given[CASE_LOCATION], ruleset)
    where = home.where_to_apply
    sentence = where.sentences[_proceeding_kind(evaluation)]
    apply_at: dict[str, Any] = {
        "zh": sentence["zh"].format(place=place, home=home.name_zh, documents=""),
        "citation": sentence["citation"],
        "place": place,
        "rules_region": ruleset.region,
    }
    if ruleset.region != home.region and home.sources:
        left = where.sentences["rules_elsewhere"]
        apply_at["home_rules_not_applied"] = {
            "zh": left["zh"].format(
                place=place, home=home.name_zh, documents="、".join(home.sources)
            ),
            "citation": left["citation"],
            "rules": _home_rules_left_behind(home, evaluation),
        }
    return apply_at


def _proceeding_kind(evaluation: Evaluation) -> str:
    """Litigation (the 办案机关's place), non-litigation (the dispute's place), or
    not yet known (both said)."""
    where = evaluation.ruleset.where_to_apply
    for kind, when in (
        ("litigation", where.litigation_when),
        ("non_litigation", where.non_litigation_when),
    ):
        status = _conditions_status(when, evaluation.known, evaluation.ruleset.conditions, None)
        if status.value is True:
            return kind
    return "either"


def _place_words(case_location: str, ruleset: Ruleset) -> str:
    """The place as said back: 北京市, 太原市, 包头市固阳县 (a county with its city,
    as county names repeat), or a region's name."""
    place = resolve_place(case_location)
    if place is None:
        return ruleset.name_zh
    if place.level == "county":
        return "".join(place.path[1:])
    return place.name


def _home_rules_left_behind(home: Ruleset, evaluation: Evaluation) -> list[dict[str, str]]:
    """The rules of the person's region that would have applied to a case there."""
    at_home = _after_decision(_evaluate(home, evaluation.known))
    elsewhere = {rule.id for rule in evaluation.ruleset.rules}
    return [
        {"rule": rule.id, "zh": rule.zh, "citation": rule.citation}
        for rule in _applied(at_home)
        if rule.id not in elsewhere
    ]


def _reasons(evaluation: Evaluation, applied: list[Rule]) -> list[dict[str, str]]:
    ruleset, outcome = evaluation.ruleset, evaluation.outcome
    hardship, multiplier = evaluation.hardship, evaluation.multiplier
    told: list[tuple[float, int, dict[str, str]]] = []
    for position, rule in enumerate(applied):
        relevant = [
            e for e in REASON_ORDER if e in rule.effect and _tells(e, rule, outcome, multiplier)
        ]
        if relevant:
            reason = {"rule": rule.id, "zh": rule.zh, "citation": rule.citation}
            told.append((REASON_ORDER.index(relevant[0]), position, reason))
    after_line = REASON_ORDER.index("hardship_multiplier") + 0.5
    if outcome.economic_review == "required" and hardship.value is not None:
        key = "met" if hardship.value else "not_met"
        told.append((after_line, 0, {"rule": f"economic_test.{key}", **ruleset.economic_test[key]}))
    if outcome.decision == "needs_more_facts":
        last = len(REASON_ORDER)
        told.append((last, 0, {"rule": "needs_more_facts", **ruleset.needs_more_facts}))
        if CASE_LOCATION in evaluation.missing:
            ask = ruleset.where_to_apply.sentences["ask"]
            told.append((last, 1, {"rule": "where_to_apply.ask", **ask}))
    return [reason for _, _, reason in sorted(told, key=lambda item: item[:2])]


def _tells(effect: str, rule: Rule, outcome: Outcome, multiplier: float) -> bool:
    """Is this rule's effect part of the answer given (not moot)?"""
    if effect == "bar":
        return outcome.decision == "not_eligible"
    if effect == "route":
        return outcome.route == "notification"
    if effect == "economic_review":
        return outcome.economic_review == "exempt"
    if effect == "hardship_multiplier":
        same = float(rule.effect["hardship_multiplier"]) == multiplier
        return outcome.economic_review == "required" and same
    if effect == "fallback_route":
        return outcome.route == "duty_lawyer"
    if effect == "consultation":
        return outcome.decision in ("consultation_only", "not_eligible")
    # Forms of aid and benefits carry their own words and sources in their lists.
    return effect not in ("forms_of_aid", *BENEFIT_LIST_EFFECTS)
