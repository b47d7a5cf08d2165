"""The facts the eligibility engine accepts: names and types from the contract.

shared/spec/eligibility.md is public, so an unknown key or a value of the wrong
type is an error naming the key, never silently ignored: a typo would otherwise
turn a known fact into "not known" and change the assessment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import yaml

from legal_aid.places import resolve_place
from legal_aid.policy_data import DEFAULT_REGION, POLICY_DIR, available_regions
from legal_aid.times import china_today

# "date": an ISO date (YYYY-MM-DD) not in the future; "place": a region key or a
# place name of policy/places.yml.
KINDS = ("string", "bool", "int", "number", "string_list", "date", "place")
# Nobody alive was born longer ago; an older date is a typing mistake.
OLDEST_AGE_YEARS = 150


class FactError(ValueError):
    """The facts given to the engine do not follow the contract."""


@dataclass(frozen=True)
class FactSpec:
    """One fact of the contract: its kind, allowed values and plain meaning."""

    kind: str
    zh: str
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def allowed(self) -> tuple[str, ...] | None:
        """The allowed strings (or list items), resolved from data when needed."""
        return self.choices() if callable(self.choices) else self.choices


@cache
def matter_types() -> tuple[str, ...]:
    """The keys of policy/matter_types.yml, the public matter-type contract."""
    data = yaml.safe_load((POLICY_DIR / "matter_types.yml").read_text(encoding="utf-8"))
    return tuple(data)


def eligibility_regions() -> tuple[str, ...]:
    """A region is valid when the project ships its rule file: no code change."""
    return tuple(available_regions("eligibility"))


CRIMINAL_ROLES = (
    "suspect_or_defendant",
    "victim",
    "private_prosecutor",
    "incidental_civil_plaintiff",
)
DISABILITY_CATEGORIES = (
    "visual",
    "hearing",
    "speech",
    "physical",
    "intellectual",
    "mental",
    "multiple",
)
PROCEEDINGS = (
    "civil",
    "criminal",
    "administrative",
    "state_compensation",
    "non_litigation",
    "consultation",
)
CLAIMANTS = ("self", "child", "parent", "spouse", "other")
NOTARIZATION_SERVICES = (
    "basic_livelihood",
    "pension_or_compensation",
    "support_agreement",
    "will",
    "small_inheritance",
    "other",
)

FACTS: dict[str, FactSpec] = {
    "region": FactSpec("string", "地区", eligibility_regions),
    "matter_type": FactSpec("string", "事项类型", matter_types),
    "proceeding": FactSpec("string", "程序", PROCEEDINGS),
    "criminal_role": FactSpec("string", "刑事案件中的身份", CRIMINAL_ROLES),
    "has_lawyer": FactSpec("bool", "已委托律师"),
    "age": FactSpec("int", "年龄", minimum=0, maximum=150),
    "gender": FactSpec("string", "性别", ("female", "male", "other")),
    "disability_categories": FactSpec("string_list", "残疾类别", DISABILITY_CATEGORIES),
    "disability_grade": FactSpec("int", "残疾等级", minimum=1, maximum=4),
    "has_disability_certificate": FactSpec("bool", "持有残疾证"),
    "cannot_fully_understand_own_conduct": FactSpec("bool", "不能完全辨认自己行为"),
    "may_face_life_or_death_sentence": FactSpec("bool", "可能被判处无期徒刑、死刑"),
    "extreme_hardship_support": FactSpec("bool", "特困供养人员"),
    "minimum_living_allowance": FactSpec("bool", "低保、社会救助、司法救助或优抚对象"),
    "no_fixed_income": FactSpec("bool", "无固定生活来源"),
    "migrant_worker": FactSpec("bool", "进城务工人员"),
    "household_disabled_count": FactSpec("int", "家中残疾人人数", minimum=0, maximum=100),
    "elderly_and_disabled_household": FactSpec("bool", "老残一体家庭"),
    "orphan": FactSpec("bool", "孤儿或事实无人抚养"),
    "domestic_violence_victim": FactSpec("bool", "家庭暴力、虐待、遗弃的受害人"),
    "hero_martyr_relative": FactSpec("bool", "英雄烈士近亲属"),
    "good_samaritan": FactSpec("bool", "因见义勇为主张权益"),
    "retrial_acquitted": FactSpec("bool", "再审改判无罪"),
    "income_per_capita_monthly": FactSpec("number", "家庭人均月收入（元）", minimum=0),
    "local_minimum_living_standard_monthly": FactSpec(
        "number", "当地低保标准（元/人/月）", minimum=0
    ),
    "days_to_deadline": FactSpec("int", "距时效或期限届满的天数"),
    "needs_urgent_preservation": FactSpec("bool", "需要立即申请保全或先予执行"),
    "notarization_service": FactSpec("string", "公证事项", NOTARIZATION_SERVICES),
    "first_will": FactSpec("bool", "首次办理遗嘱公证"),
    "inheritance_amount": FactSpec("number", "继承金额（元）", minimum=0),
    "birth_date": FactSpec("date", "出生日期"),
    "death_penalty_review": FactSpec("bool", "死刑复核案件"),
    "absentee_trial": FactSpec("bool", "缺席审判案件"),
    "compulsory_medical_treatment": FactSpec("bool", "强制医疗案件的被申请人"),
    "detained": FactSpec("bool", "正被羁押"),
    "guardian_infringes": FactSpec("bool", "监护人侵害当事人的权益"),
    "claimant": FactSpec("string", "谁的请求", CLAIMANTS),
    "case_location": FactSpec("place", "案件办理地或者事情发生地"),
}


def check_facts(facts: object) -> dict[str, Any]:
    """The facts without unknowns (None), or FactError naming the first bad key."""
    if not isinstance(facts, dict):
        raise FactError(f"事实必须是一个 JSON 对象，收到的是 {type(facts).__name__}")
    unknown = sorted(str(key) for key in facts if key not in FACTS)
    if unknown:
        raise FactError(f"未知的事实：{', '.join(unknown)}（可用的有：{', '.join(FACTS)}）")
    # A dialogue slot that is not filled yet arrives as null: that is "not known".
    checked = {key: value for key, value in facts.items() if value is not None}
    for key, value in checked.items():
        check_value(key, value)
    checked.setdefault("region", DEFAULT_REGION)
    return checked


def check_value(name: str, value: object) -> None:
    """Raise FactError unless value has the kind, choices and range of fact `name`."""
    spec = FACTS[name]
    if not _has_kind(spec.kind, value):
        raise FactError(f"事实 {name}（{spec.zh}）应当是 {spec.kind}，收到的是 {value!r}")
    if spec.kind == "date":
        _check_date(name, spec, value)
    if spec.kind == "place":
        _check_place(name, spec, value)
    allowed = spec.allowed()
    items = value if spec.kind == "string_list" else [value]
    if allowed is not None:
        for item in items:
            if item not in allowed:
                raise FactError(
                    f"事实 {name}（{spec.zh}）不能取 {item!r}，可取：{', '.join(allowed)}"
                )
    if spec.kind in ("int", "number"):
        _check_range(name, spec, value)


def parse_date(value: str) -> date | None:
    """The date an ISO string (YYYY-MM-DD) names, or None."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def place_region(value: str) -> str:
    """The policy region whose rules apply at a `place` fact: a region key is
    itself; a place name is looked up in policy/places.yml (checked before)."""
    if value in eligibility_regions():
        return value
    place = resolve_place(value)
    return place.policy_region if place is not None else DEFAULT_REGION


def _check_date(name: str, spec: FactSpec, value: str) -> None:
    parsed = parse_date(value)
    if parsed is None or len(value) != len("YYYY-MM-DD"):
        raise FactError(f"事实 {name}（{spec.zh}）应当写成 YYYY-MM-DD，收到的是 {value!r}")
    today = china_today()
    if parsed > today or today.year - parsed.year > OLDEST_AGE_YEARS:
        raise FactError(f"事实 {name}（{spec.zh}）不可能是 {value!r}")


def _check_place(name: str, spec: FactSpec, value: str) -> None:
    if value not in eligibility_regions() and resolve_place(value) is None:
        raise FactError(
            f"事实 {name}（{spec.zh}）应当是地区（{', '.join(eligibility_regions())}）"
            f"或者 policy/places.yml 里的地名，收到的是 {value!r}"
        )


def _has_kind(kind: str, value: object) -> bool:
    # bool is a subclass of int in Python, and JSON true must not pass as 1.
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        )
    if kind in ("string", "date", "place"):
        return isinstance(value, str)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_range(name: str, spec: FactSpec, value: float) -> None:
    if spec.minimum is not None and value < spec.minimum:
        raise FactError(f"事实 {name}（{spec.zh}）不能小于 {spec.minimum:g}，收到的是 {value!r}")
    if spec.maximum is not None and value > spec.maximum:
        raise FactError(f"事实 {name}（{spec.zh}）不能大于 {spec.maximum:g}，收到的是 {value!r}")
