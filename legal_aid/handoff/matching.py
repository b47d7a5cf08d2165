"""Who is served first, and which lawyer on duty takes the conversation.

Pure functions over plain values: no database, no clock of their own (the
caller passes `now`). The rules come from policy/handoff/<region>.yml
(legal_aid.handoff.policy); every reason carries the citation of its rule.

* `priority(facts, urgency)` — the score a ticket is queued by: the advance-aid
  urgency (art. 44) above everything, then the 四优先 groups.
* `eligible_lawyers(case, lawyers, policy)` — the lawyers who meet every
  required rule, best first by the preferred rules they meet.
* `match(case, lawyers, shifts, now, requested_name)` — the lawyer to offer the
  conversation to, or an honest reason why nobody can take it now.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from legal_aid.eligibility.engine import assess, compare_fact
from legal_aid.eligibility.facts import check_facts
from legal_aid.handoff.policy import Category, Citation, HandoffPolicy, LawyerRule, load_policy

# Why match() found nobody (or whom it found). The dialogue words each one.
ASSIGNED = "assigned"
REQUESTED_ASSIGNED = "requested_assigned"
NOBODY_ON_DUTY = "nobody_on_duty"
ALL_BUSY = "all_busy"
NO_QUALIFIED_LAWYER = "no_qualified_lawyer"
REQUESTED_UNKNOWN = "requested_unknown"
REQUESTED_AMBIGUOUS = "requested_ambiguous"  # "王律师", and two 王s on the roster
REQUESTED_NOT_QUALIFIED = "requested_not_qualified"
REQUESTED_OFF_DUTY = "requested_off_duty"
REQUESTED_BUSY = "requested_busy"


@dataclass(frozen=True)
class LawyerProfile:
    id: int
    display_name: str
    years_of_practice: int
    criminal_practice_years: int
    specialities: frozenset[str] = frozenset()  # matter-type keys
    disability_experience: bool = False
    sign_language: bool = False
    languages: frozenset[str] = frozenset({"zh"})
    active: bool = True


@dataclass(frozen=True)
class Shift:
    lawyer_id: int
    starts_at: datetime  # UTC, aware
    ends_at: datetime

    def covers(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


@dataclass(frozen=True)
class Case:
    """What the rules look at: the eligibility facts (shared/spec/eligibility.md,
    `region` among them), the matter and the person's needs."""

    facts: Mapping[str, Any]
    matter_type: str = "other"
    accessibility_needs: frozenset[str] = frozenset()
    language: str | None = None  # asked for a language other than Mandarin ("mn", "yue", …)

    @property
    def region(self) -> str:
        return self.facts.get("region") or "national"


@dataclass(frozen=True)
class Priority:
    score: int
    urgent: bool
    reasons: tuple[Citation, ...]  # urgency first, then the groups, in the file's order


@dataclass(frozen=True)
class Fit:
    """How one lawyer meets the rules that apply to a case."""

    lawyer: LawyerProfile
    unmet_required: tuple[LawyerRule, ...]
    met_preferred: tuple[LawyerRule, ...]
    unmet_preferred: tuple[LawyerRule, ...]

    @property
    def qualified(self) -> bool:
        return not self.unmet_required

    @property
    def preference(self) -> int:
        return sum(rule.weight for rule in self.met_preferred)


@dataclass(frozen=True)
class MatchResult:
    reason: str  # one of the constants above
    lawyer: LawyerProfile | None = None
    # Nobody on duty (or the requested lawyer is off duty): when a qualified
    # lawyer's (the requested lawyer's) next shift starts; None when none is rostered.
    next_shift_at: datetime | None = None
    queue_position: int | None = None  # everyone busy: 1 = next
    expected_wait_minutes: int | None = None  # an estimate, to be said as one
    # The requested lawyer cannot take it: who can, now, best first.
    alternatives: tuple[LawyerProfile, ...] = ()
    # What the person (and the lawyer) should be told, with citations: the
    # required rules applied, preferred rules the chosen lawyer does not meet,
    # why the requested lawyer is not qualified.
    notes: tuple[Citation, ...] = field(default_factory=tuple)
    # A surname that several lawyers share: who they are, to ask which one.
    namesakes: tuple[LawyerProfile, ...] = ()

    @property
    def found(self) -> bool:
        return self.lawyer is not None


# Priority ------------------------------------------------------------------------


def priority(
    facts: Mapping[str, Any], urgency: bool | None = None, policy: HandoffPolicy | None = None
) -> Priority:
    """The queue priority of a person. `urgency` True/False when the caller knows
    it (the eligibility assessment's `advance_aid`, the intake's `urgent`); None
    to recognise it from the facts by the policy's urgency condition (the
    assessment's advance aid: art. 44 as the eligibility rules decide it)."""
    known = check_facts(dict(facts))
    policy = policy or load_policy(known["region"])
    urgent = urgency if urgency is not None else holds(policy.urgency_when, known, policy)
    reasons: list[Citation] = [policy.urgency] if urgent else []
    score = policy.urgency_weight if urgent else 0
    for category in recognised_categories(known, policy):
        reasons.append(Citation(category.key, category.zh, category.citation))
        score += category.weight
    return Priority(score=score, urgent=bool(urgent), reasons=tuple(reasons))


def recognised_categories(facts: Mapping[str, Any], policy: HandoffPolicy) -> list[Category]:
    return [
        category
        for category in policy.categories
        if holds({"ref": category.condition}, facts, policy)
    ]


def queue_order_key(score: int, waiting_since: datetime, ticket_id: int) -> tuple:
    """Higher priority first; among equals, who has waited longest."""
    return (-score, waiting_since, ticket_id)


# Conditions ------------------------------------------------------------------------


def holds(
    condition: Mapping[str, Any],
    facts: Mapping[str, Any],
    policy: HandoffPolicy,
    case: Case | None = None,
) -> bool:
    """Two-valued reading of the eligibility condition language: a fact that is
    not known makes its comparison false (an unknown age is not "elderly"; the
    person is not put ahead on a guess). `case` is needed for {category}/{need}."""
    if "fact" in condition:
        return _compare(condition, facts)
    operator, operand = next(iter(condition.items()))
    if operator == "all":
        return all(holds(child, facts, policy, case) for child in operand)
    if operator == "any":
        return any(holds(child, facts, policy, case) for child in operand)
    if operator == "not":
        return not holds(operand, facts, policy, case)
    if operator == "ref":
        return holds(policy.conditions[operand], facts, policy, case)
    if operator == "known":
        return operand in facts
    if operator == "always":
        return True
    if operator == "category":
        return any(c.key == operand for c in recognised_categories(facts, policy))
    if operator == "need":
        return _needs(case, operand)
    if operator == "assessment":
        # The engine decides (advance aid, priority channel); the handoff rules
        # only ask, so the queue and the eligibility result cannot disagree.
        return assess(dict(facts))[operand] is True
    # An `outcome` condition: handoff rules ask `{assessment: …}` instead.
    raise ValueError(f"condition {condition!r} cannot be evaluated for a handoff")


def _needs(case: Case | None, need: str) -> bool:
    if case is None:
        return False
    if need == "language":
        return case.language is not None
    return need in case.accessibility_needs


def _compare(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    # An unknown fact is not true here: no queue priority or requirement on a guess.
    name = condition["fact"]
    return name in facts and compare_fact(condition, facts[name])


# Lawyers ---------------------------------------------------------------------------


def applicable_rules(case: Case, policy: HandoffPolicy) -> list[LawyerRule]:
    facts = check_facts(dict(case.facts))
    return [rule for rule in policy.lawyer_rules if holds(rule.applies_when, facts, policy, case)]


def meets(lawyer: LawyerProfile, rule: LawyerRule, case: Case) -> bool:
    """Whether a lawyer meets every requirement of a rule."""
    checks = {
        "years_of_practice_min": lambda minimum: lawyer.years_of_practice >= minimum,
        "criminal_practice_years_min": lambda minimum: lawyer.criminal_practice_years >= minimum,
        "disability_experience": lambda _: lawyer.disability_experience,
        "sign_language": lambda _: lawyer.sign_language,
        "speciality_matches_matter": lambda _: case.matter_type in lawyer.specialities,
        "speaks_case_language": lambda _: case.language in lawyer.languages,
    }
    return all(checks[name](value) for name, value in rule.requires.items())


def fit(lawyer: LawyerProfile, rules: Iterable[LawyerRule], case: Case) -> Fit:
    rules = list(rules)
    return Fit(
        lawyer=lawyer,
        unmet_required=tuple(r for r in rules if r.required and not meets(lawyer, r, case)),
        met_preferred=tuple(r for r in rules if not r.required and meets(lawyer, r, case)),
        unmet_preferred=tuple(r for r in rules if not r.required and not meets(lawyer, r, case)),
    )


def ranked_fits(
    case: Case, lawyers: Iterable[LawyerProfile], policy: HandoffPolicy | None = None
) -> list[Fit]:
    """Active lawyers meeting every required rule, best preferred fit first
    (ties: more years of practice, then name, so the order is stable)."""
    policy = policy or load_policy(case.region)
    rules = applicable_rules(case, policy)
    fits = [fit(lawyer, rules, case) for lawyer in lawyers if lawyer.active]
    qualified = [f for f in fits if f.qualified]
    return sorted(
        qualified,
        key=lambda f: (-f.preference, -f.lawyer.years_of_practice, f.lawyer.display_name),
    )


def eligible_lawyers(
    case: Case, lawyers: Iterable[LawyerProfile], policy: HandoffPolicy | None = None
) -> list[LawyerProfile]:
    """The lawyers who may take this case, best first."""
    return [f.lawyer for f in ranked_fits(case, lawyers, policy)]


def is_eligible(
    case: Case, lawyer: LawyerProfile, policy: HandoffPolicy | None = None
) -> tuple[bool, tuple[Citation, ...]]:
    """Whether one lawyer may take the case, and the required rules they miss."""
    policy = policy or load_policy(case.region)
    result = fit(lawyer, applicable_rules(case, policy), case)
    ok = result.qualified and lawyer.active
    return ok, tuple(rule.as_citation() for rule in result.unmet_required)


# Matching --------------------------------------------------------------------------


def named_lawyers(lawyers: Iterable[LawyerProfile], requested: str) -> tuple[LawyerProfile, ...]:
    """The active lawyers a name may mean: the one with that full name; else, for a
    surname as people say it ("王律师", "小王律师", "老李"), everyone with it."""
    active = [lawyer for lawyer in lawyers if lawyer.active]
    wanted = normalise_name(requested)
    exact = tuple(lawyer for lawyer in active if normalise_name(lawyer.display_name) == wanted)
    if exact:
        return exact[:1]
    surname = wanted[1:] if len(wanted) == 2 and wanted[0] in "小老" else wanted
    if len(surname) != 1:
        return ()
    return tuple(lawyer for lawyer in active if lawyer.display_name.startswith(surname))


def normalise_name(name: str) -> str:
    """Names as people type or say them: full-width folded, no spaces, no 律师 title."""
    folded = unicodedata.normalize("NFKC", name).replace(" ", "").strip()
    return folded.removesuffix("律师") or folded


def match(
    case: Case,
    lawyers: Iterable[LawyerProfile],
    shifts: Iterable[Shift],
    now: datetime,
    requested_name: str | None = None,
    *,
    busy: Collection[int] = (),
    queue_ahead: int = 0,
    policy: HandoffPolicy | None = None,
) -> MatchResult:
    """The lawyer to hand the conversation to now, or why nobody.

    `busy`: ids of lawyers already in as many conversations as the region allows;
    `queue_ahead`: tickets waiting before this one (for the queue position).
    """
    policy = policy or load_policy(case.region)
    lawyers, shifts = list(lawyers), list(shifts)
    on_duty = {shift.lawyer_id for shift in shifts if shift.covers(now)}
    fits = ranked_fits(case, lawyers, policy)
    free = [f for f in fits if f.lawyer.id in on_duty and f.lawyer.id not in busy]
    required_notes = tuple(r.as_citation() for r in applicable_rules(case, policy) if r.required)
    if requested_name:
        return _match_requested(
            case, lawyers, shifts, now, requested_name, free, on_duty, busy, policy
        )
    if free:
        best = free[0]
        notes = required_notes + tuple(r.as_citation() for r in best.unmet_preferred)
        return MatchResult(ASSIGNED, lawyer=best.lawyer, notes=notes)
    if not fits:
        return MatchResult(NO_QUALIFIED_LAWYER, notes=required_notes)
    qualified_on_duty = [f for f in fits if f.lawyer.id in on_duty]
    if qualified_on_duty:
        position = queue_ahead + 1
        wait = math.ceil(position * policy.average_conversation_minutes / len(qualified_on_duty))
        return MatchResult(
            ALL_BUSY, queue_position=position, expected_wait_minutes=wait, notes=required_notes
        )
    qualified_ids = {f.lawyer.id for f in fits}
    return MatchResult(
        NOBODY_ON_DUTY,
        next_shift_at=next_shift_start(shifts, now, qualified_ids),
        notes=required_notes,
    )


def next_shift_start(
    shifts: Iterable[Shift], now: datetime, lawyer_ids: Collection[int]
) -> datetime | None:
    """When the earliest shift of these lawyers after `now` starts."""
    starts = [s.starts_at for s in shifts if s.lawyer_id in lawyer_ids and s.starts_at > now]
    return min(starts, default=None)


def _match_requested(
    case: Case,
    lawyers: list[LawyerProfile],
    shifts: list[Shift],
    now: datetime,
    requested_name: str,
    free: list[Fit],
    on_duty: set[int],
    busy: Collection[int],
    policy: HandoffPolicy,
) -> MatchResult:
    """点援制: the requested lawyer when they can take it; else an honest reason and
    who can. Preferred rules give way to the person's own choice; required ones do not."""
    alternatives = tuple(f.lawyer for f in free)
    named = named_lawyers(lawyers, requested_name)
    if len(named) > 1:
        return MatchResult(REQUESTED_AMBIGUOUS, alternatives=alternatives, namesakes=named)
    if not named:
        return MatchResult(REQUESTED_UNKNOWN, alternatives=alternatives)
    requested = named[0]
    choice = (policy.named_lawyer,)
    qualified, unmet = is_eligible(case, requested, policy)
    if not qualified:
        return MatchResult(
            REQUESTED_NOT_QUALIFIED, lawyer=None, alternatives=alternatives, notes=unmet + choice
        )
    if requested.id not in on_duty:
        return MatchResult(
            REQUESTED_OFF_DUTY,
            next_shift_at=next_shift_start(shifts, now, {requested.id}),
            alternatives=alternatives,
            notes=choice,
        )
    if requested.id in busy:
        others = tuple(lawyer for lawyer in alternatives if lawyer.id != requested.id)
        return MatchResult(REQUESTED_BUSY, alternatives=others, notes=choice)
    return MatchResult(REQUESTED_ASSIGNED, lawyer=requested, notes=choice)
