"""The eligibility engine against the Legal Aid Law and the regional documents.

Each case names the rule it exercises (a rule id of policy/eligibility/*.yml,
or economic_test.met / economic_test.not_met) and the document it comes from.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from legal_aid import policy_data
from legal_aid.eligibility import FactError, assess, condition_holds, reasons_to_apply
from legal_aid.eligibility.answers import is_own_claim
from legal_aid.eligibility.conditions import ASKED_BY_CODE
from legal_aid.eligibility.engine import benefit_facts
from legal_aid.eligibility.facts import FACTS, eligibility_regions
from legal_aid.eligibility.ruleset import (
    TOP_LEVEL_KEYS,
    clear_cache,
    load_ruleset,
    validate_all,
)
from legal_aid.policy_data import PolicyDataError
from legal_aid.times import china_today

ROOT = Path(__file__).resolve().parents[1]
INCOME = "income_per_capita_monthly"
STANDARD = "local_minimum_living_standard_monthly"
# Every national exemption answered "no", for an adult who is not disabled.
NO_EXEMPTION = {
    "age": 40,
    "disability_categories": [],
    "minimum_living_allowance": False,
    "extreme_hardship_support": False,
    "no_fixed_income": False,
    "domestic_violence_victim": False,
    "good_samaritan": False,
    "migrant_worker": False,
    "retrial_acquitted": False,
    "hero_martyr_relative": False,
}
ADULT_SUSPECT = {
    "matter_type": "criminal_defense",
    "criminal_role": "suspect_or_defendant",
    "age": 35,
    "disability_categories": [],
    "cannot_fully_understand_own_conduct": False,
    "may_face_life_or_death_sentence": False,
    # 第二十五条第一款第（五）、（六）项和第二十八条的程序：都不是。
    "death_penalty_review": False,
    "absentee_trial": False,
    "compulsory_medical_treatment": False,
}
POOR = {INCOME: 500, STANDARD: 700}
NOT_POOR = {INCOME: 3000, STANDARD: 700}


@dataclass(frozen=True)
class Birthday:
    """The date of birth of someone whose `years`-th birthday was `days_after` days
    ago, worked out when a test runs (`on_the_day`), not when the tests are
    collected: a run that crossed midnight in China compared yesterday's dates
    with today's."""

    years: int
    days_after: int = 0

    def iso(self) -> str:
        day = china_today() - timedelta(days=self.days_after)
        try:
            return day.replace(year=day.year - self.years).isoformat()
        except ValueError:  # 29 February
            return day.replace(year=day.year - self.years, day=28).isoformat()


def birthday(years: int, days_after: int = 0) -> Birthday:
    return Birthday(years, days_after)


def on_the_day(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts with every Birthday as a date of birth as of today."""
    return {key: v.iso() if isinstance(v, Birthday) else v for key, v in facts.items()}


DISABLED_IN_BAOTOU = {"region": "baotou", "disability_categories": ["visual"]}


@dataclass
class Case:
    name: str
    rule: str
    facts: dict[str, Any]
    expect: dict[str, Any]
    fired: bool = True  # the rule is among the reasons (False: must not be)
    also: list[str] = field(default_factory=list)  # further rules among the reasons


CASES = [
    # ---- 第三十一条：事项范围，经济困难审查 --------------------------------
    Case(
        "labor wages, nothing else known: ask exemptions first, then income",
        "art31_labor",
        {"matter_type": "labor_wages"},
        {
            "decision": "needs_more_facts",
            "route": "application",
            "missing_facts": [
                "migrant_worker",
                "age",
                "disability_categories",
                "minimum_living_allowance",
                "extreme_hardship_support",
                "no_fixed_income",
                INCOME,
                STANDARD,
            ],
        },
    ),
    Case(
        "traffic accident, no exemption: only the two income facts are missing",
        "art31_injury_compensation",
        {"matter_type": "traffic_accident", **NO_EXEMPTION},
        {"decision": "needs_more_facts", "missing_facts": [INCOME, STANDARD]},
    ),
    Case(
        "traffic accident, income below the 低保 line",
        "economic_test.met",
        {"matter_type": "traffic_accident", **NO_EXEMPTION, **POOR},
        {
            "decision": "eligible",
            "route": "application",
            "economic_review": "required",
            "hardship_threshold_monthly": 700.0,
            "missing_facts": [],
        },
        also=["art31_injury_compensation", "hardship_line"],
    ),
    Case(
        "income exactly at the line is within it (不高于)",
        "economic_test.met",
        {"matter_type": "medical_dispute", **NO_EXEMPTION, INCOME: 700, STANDARD: 700},
        {"decision": "eligible", "hardship_threshold_monthly": 700.0},
    ),
    Case(
        "income above the line: not eligible, consultation still free",
        "economic_test.not_met",
        {"matter_type": "environmental_damage", **NO_EXEMPTION, **NOT_POOR},
        {
            "decision": "not_eligible",
            "route": "none",
            "economic_review": "required",
            "hardship_threshold_monthly": 700.0,
            "missing_facts": [],
        },
        also=["art31_environment", "art23_consultation"],
    ),
    Case(
        "social insurance claim is in scope",
        "art31_social_insurance",
        {"matter_type": "social_insurance", **NO_EXEMPTION, **POOR},
        {"decision": "eligible"},
    ),
    Case(
        "pension (抚恤金) claim is in scope",
        "art31_pension",
        {"matter_type": "pension_benefits", **NO_EXEMPTION, **POOR},
        {"decision": "eligible"},
    ),
    Case(
        "civil capacity, 特困 person: exempt from the review",
        "art42_extreme_hardship",
        {"matter_type": "civil_capacity", "extreme_hardship_support": True},
        {"decision": "eligible", "economic_review": "exempt", "hardship_threshold_monthly": None},
        also=["art31_civil_capacity"],
    ),
    # ---- 第四十二条：免予核查经济困难状况 ----------------------------------
    Case(
        "migrant worker owed wages: no income facts needed",
        "art42_migrant_worker",
        {"matter_type": "labor_wages", "migrant_worker": True},
        {"decision": "eligible", "economic_review": "exempt", "missing_facts": []},
    ),
    Case(
        "migrant worker with a work injury",
        "art42_migrant_worker",
        {"matter_type": "work_injury", "migrant_worker": True},
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "migrant worker in a traffic accident: art. 42(3) does not reach it",
        "art42_migrant_worker",
        {"matter_type": "traffic_accident", **NO_EXEMPTION, "migrant_worker": True},
        {"decision": "needs_more_facts", "missing_facts": [INCOME, STANDARD]},
        fired=False,
    ),
    Case(
        "低保 recipient claiming child support",
        "art42_minimum_living_allowance",
        {"matter_type": "family_support", "minimum_living_allowance": True},
        {"decision": "eligible", "economic_review": "exempt", "missing_facts": []},
        also=["art31_family_support"],
    ),
    Case(
        "elderly person without fixed income claiming 赡养费",
        "art42_no_fixed_income",
        {"matter_type": "family_support", "age": 72, "no_fixed_income": True},
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "no fixed income alone (adult, not disabled) does not waive the review",
        "art42_no_fixed_income",
        {
            "matter_type": "family_support",
            "claimant": "self",
            **NO_EXEMPTION,
            "no_fixed_income": True,
        },
        {"decision": "needs_more_facts", "missing_facts": [INCOME, STANDARD]},
        fired=False,
    ),
    # ---- 第三十二条：不受经济困难条件限制 ----------------------------------
    Case(
        "domestic-violence victim: no income facts needed",
        "art32_domestic_violence",
        {"matter_type": "domestic_violence", "domestic_violence_victim": True},
        {"decision": "eligible", "economic_review": "exempt", "missing_facts": []},
    ),
    Case(
        "domestic violence named but victim not said: ask that first",
        "art32_domestic_violence",
        {"matter_type": "domestic_violence"},
        {"decision": "needs_more_facts", "missing_facts": ["domestic_violence_victim"]},
        fired=False,
    ),
    Case(
        "divorce of a domestic-violence victim (national)",
        "art32_domestic_violence",
        {"matter_type": "marriage_family", "domestic_violence_victim": True},
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "criminal victim of 虐待 (private prosecutor)",
        "art32_domestic_violence",
        {
            "matter_type": "criminal_defense",
            "criminal_role": "private_prosecutor",
            "domestic_violence_victim": True,
        },
        {"decision": "eligible", "route": "application", "economic_review": "exempt"},
        also=["art29_victim_application"],
    ),
    Case(
        "hero's relative protecting the hero's reputation",
        "art32_hero_martyr",
        {"matter_type": "other", "hero_martyr_relative": True},
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "good samaritan injured while helping",
        "art32_good_samaritan",
        {"matter_type": "personal_injury", "good_samaritan": True},
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "acquitted on retrial, claiming state compensation",
        "art32_retrial_acquitted",
        {"matter_type": "state_compensation", "retrial_acquitted": True},
        {"decision": "eligible", "economic_review": "exempt", "missing_facts": []},
        also=["art31_state_compensation"],
    ),
    # ---- 第二十三条：咨询人人可得 ------------------------------------------
    Case(
        "loan dispute is out of scope: consultation only, nothing to ask",
        "art23_consultation",
        {"matter_type": "contract_debt"},
        {
            "decision": "consultation_only",
            "route": "none",
            "economic_review": "not_applicable",
            "missing_facts": [],
            "advance_aid": False,
        },
    ),
    Case(
        "divorce without domestic violence, outside Shanxi: consultation only",
        "art23_consultation",
        {"matter_type": "marriage_family", "domestic_violence_victim": False},
        {"decision": "consultation_only", "missing_facts": []},
    ),
    Case(
        "other personal injury: consultation, with the food/drug exception told",
        "art31_food_drug_note",
        {
            "matter_type": "personal_injury",
            "proceeding": "civil",
            "domestic_violence_victim": False,
            "good_samaritan": False,
        },
        {"decision": "consultation_only"},
        also=["art23_consultation"],
    ),
    Case(
        "out-of-scope matter with a lawyer is still consultation, not a bar",
        "already_has_lawyer",
        {"matter_type": "housing_property", "domestic_violence_victim": False, "has_lawyer": True},
        {"decision": "consultation_only"},
        fired=False,
    ),
    Case(
        "already has a lawyer: no legal aid lawyer is assigned",
        "already_has_lawyer",
        {"matter_type": "labor_wages", "migrant_worker": True, "has_lawyer": True},
        {"decision": "not_eligible", "route": "none", "economic_review": "not_applicable"},
    ),
    # ---- 刑事：第二十四、二十五、二十八、二十九、三十条 ---------------------
    Case(
        "minor suspect: the authorities must notify",
        "art25_minor",
        {"matter_type": "criminal_defense", "criminal_role": "suspect_or_defendant", "age": 16},
        {
            "decision": "eligible",
            "route": "notification",
            "economic_review": "not_applicable",
            "missing_facts": [],
        },
    ),
    Case(
        "deaf defendant: notification",
        "art25_sensory_disability",
        {**ADULT_SUSPECT, "disability_categories": ["hearing"]},
        {"decision": "eligible", "route": "notification"},
    ),
    Case(
        "blind defendant: notification",
        "art25_sensory_disability",
        {**ADULT_SUSPECT, "disability_categories": ["visual", "physical"]},
        {"decision": "eligible", "route": "notification"},
    ),
    Case(
        "adult who cannot fully understand own conduct: notification",
        "art25_cannot_understand_conduct",
        {**ADULT_SUSPECT, "cannot_fully_understand_own_conduct": True},
        {"decision": "eligible", "route": "notification"},
    ),
    Case(
        "possible death sentence: notification",
        "art25_life_or_death",
        {**ADULT_SUSPECT, "may_face_life_or_death_sentence": True},
        {"decision": "eligible", "route": "notification", "economic_review": "not_applicable"},
    ),
    Case(
        # Issue 22: art. 28 was approximated by mental disability; the procedure decides.
        "第二十八条: the subject of a compulsory-medical application is notified",
        "art28_compulsory_medical",
        {
            **ADULT_SUSPECT,
            "disability_categories": ["mental"],
            "compulsory_medical_treatment": True,
        },
        {"decision": "eligible", "route": "notification"},
    ),
    Case(
        "physically disabled adult suspect is not a notification case",
        "art25_sensory_disability",
        {**ADULT_SUSPECT, **NO_EXEMPTION, **POOR, "disability_categories": ["physical"]},
        {"decision": "eligible", "route": "application", "economic_review": "required"},
        fired=False,
        also=["art24_suspect_application"],
    ),
    Case(
        "adult suspect on 低保 applies; exempt from review",
        "art24_suspect_application",
        {**ADULT_SUSPECT, "minimum_living_allowance": True},
        {"decision": "eligible", "route": "application", "economic_review": "exempt"},
    ),
    Case(
        "suspect on 低保 of unknown age: ask the notification facts (route differs)",
        "art24_suspect_application",
        {
            "matter_type": "criminal_defense",
            "criminal_role": "suspect_or_defendant",
            "minimum_living_allowance": True,
        },
        {
            "decision": "needs_more_facts",
            "route": "application",
            "missing_facts": [
                "age",
                "cannot_fully_understand_own_conduct",
                "may_face_life_or_death_sentence",
                "death_penalty_review",
                "absentee_trial",
                "compulsory_medical_treatment",
                "disability_categories",
            ],
        },
    ),
    Case(
        "suspect above the line: no assigned defender, but a duty lawyer",
        "art30_duty_lawyer",
        {**ADULT_SUSPECT, **NO_EXEMPTION, **NOT_POOR},
        {"decision": "not_eligible", "route": "duty_lawyer"},
        also=["economic_test.not_met"],
    ),
    Case(
        "suspect with a lawyer: neither notification nor duty lawyer",
        "already_has_lawyer",
        {**ADULT_SUSPECT, "age": 16, "has_lawyer": True},
        {"decision": "not_eligible", "route": "none"},
    ),
    Case(
        "crime victim below the line",
        "art29_victim_application",
        {"matter_type": "criminal_defense", "criminal_role": "victim", **NO_EXEMPTION, **POOR},
        {"decision": "eligible", "route": "application", "economic_review": "required"},
    ),
    Case(
        "criminal matter, role unknown: the role is the first question",
        "art24_suspect_application",
        {"matter_type": "criminal_defense"},
        {"decision": "needs_more_facts"},
        fired=False,
    ),
    # ---- 第四十四条：先行提供法律援助 --------------------------------------
    Case(
        "migrant worker, limitation period ends in 3 days",
        "art44_deadline",
        {"matter_type": "labor_wages", "migrant_worker": True, "days_to_deadline": 3},
        {"decision": "eligible", "advance_aid": True},
    ),
    Case(
        "7 days left is not 'less than seven days'",
        "art44_deadline",
        {"matter_type": "labor_wages", "migrant_worker": True, "days_to_deadline": 7},
        {"advance_aid": False},
        fired=False,
    ),
    Case(
        "urgent preservation while income is still being checked",
        "art44_urgent_preservation",
        {"matter_type": "traffic_accident", "needs_urgent_preservation": True},
        {"decision": "needs_more_facts", "advance_aid": True},
    ),
    Case(
        "no advance aid for a matter outside scope",
        "art44_deadline",
        {"matter_type": "contract_debt", "days_to_deadline": 2},
        {"decision": "consultation_only", "advance_aid": False},
        fired=False,
    ),
    Case(
        "national rules give no priority channel",
        "art31_social_insurance",
        {
            "matter_type": "social_insurance",
            "disability_categories": ["physical"],
            "gender": "female",
        },
        {"priority_channel": False},
    ),
    # ---- 山西：晋司通〔2022〕35号（残疾人） --------------------------------
    Case(
        "Shanxi: inheritance of a disabled person is in scope; priority",
        "sx35_disabled_scope",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "inheritance",
            "disability_categories": ["physical"],
            "disability_grade": 3,
            "has_disability_certificate": True,
            **POOR,
            "gender": "male",
        },
        {"decision": "eligible", "priority_channel": True},
        also=["sx35_disabled_priority"],
    ),
    Case(
        "national: inheritance is consultation only even for a disabled person",
        "sx35_disabled_scope",
        {
            "matter_type": "inheritance",
            "domestic_violence_victim": False,
            "disability_categories": ["physical"],
        },
        {"decision": "consultation_only", "priority_channel": False},
        fired=False,
    ),
    Case(
        "Shanxi: severe disability (grade 2) with 残疾证 → direct aid",
        "sx35_severe_disability",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "demolition_compensation",
            "disability_categories": ["physical"],
            "disability_grade": 2,
            "has_disability_certificate": True,
        },
        {"decision": "eligible", "economic_review": "exempt", "priority_channel": True},
        also=["sx35_disabled_scope"],
    ),
    Case(
        "Shanxi: severe disability without the certificate: review stays",
        "sx35_severe_disability",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "social_insurance",
            **NO_EXEMPTION,
            "gender": "male",
            "disability_categories": ["physical"],
            "disability_grade": 1,
            "has_disability_certificate": False,
        },
        {"decision": "needs_more_facts", "missing_facts": [INCOME, STANDARD]},
        fired=False,
    ),
    Case(
        "Shanxi: multiple disability",
        "sx35_multiple_disability",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "work_injury",
            "disability_categories": ["visual", "physical"],
            "disability_grade": 3,
            "has_disability_certificate": True,
        },
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "Shanxi: two disabled people in the household (一户多残)",
        "sx35_household_multiple_disabled",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "family_support",
            "disability_categories": ["intellectual"],
            "disability_grade": 4,
            "has_disability_certificate": True,
            "household_disabled_count": 2,
        },
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "Shanxi: 老残一体",
        "sx35_elderly_and_disabled",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "social_insurance",
            "disability_categories": ["physical"],
            "disability_grade": 3,
            "has_disability_certificate": True,
            "elderly_and_disabled_household": True,
        },
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "Shanxi: orphaned disabled child (孤残儿童)",
        "sx35_orphan_disabled_child",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "inheritance",
            "age": 10,
            "orphan": True,
            "disability_categories": ["hearing"],
            "disability_grade": 3,
            "has_disability_certificate": True,
        },
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "Shanxi: 特困 disabled person",
        "sx35_extreme_hardship_disabled",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "labor_wages",
            "extreme_hardship_support": True,
            "disability_categories": ["speech"],
            "has_disability_certificate": True,
        },
        {"decision": "eligible", "economic_review": "exempt"},
        also=["art42_extreme_hardship"],
    ),
    # ---- 山西：晋司通〔2022〕57号（妇女、未成年人） -------------------------
    Case(
        "Shanxi: a woman's divorce is in scope; line is twice 低保",
        "sx57_double_hardship_line",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "marriage_family",
            "gender": "female",
            INCOME: 1200,
            STANDARD: 700,
        },
        {
            "decision": "eligible",
            "economic_review": "required",
            "hardship_threshold_monthly": 1400.0,
            "priority_channel": True,
        },
        also=["sx57_family_matters_scope", "sx57_priority", "economic_test.met"],
    ),
    Case(
        "Shanxi: adult man uses the ordinary line",
        "sx57_double_hardship_line",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "social_insurance",
            **NO_EXEMPTION,
            "gender": "male",
            INCOME: 1200,
            STANDARD: 700,
        },
        {
            "decision": "not_eligible",
            "hardship_threshold_monthly": 700.0,
            "priority_channel": False,
        },
        fired=False,
    ),
    Case(
        "Shanxi: income between 1× and 2× — gender and age decide it",
        "sx57_double_hardship_line",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "social_insurance",
            "minimum_living_allowance": False,
            "extreme_hardship_support": False,
            "no_fixed_income": False,
            "disability_categories": [],
            INCOME: 1200,
            STANDARD: 700,
        },
        {"decision": "needs_more_facts", "missing_facts": ["age", "gender"]},
        fired=False,
    ),
    Case(
        "Shanxi: income below 1× — gender does not matter",
        "economic_test.met",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "social_insurance",
            INCOME: 600,
            STANDARD: 700,
        },
        {"decision": "eligible", "missing_facts": [], "hardship_threshold_monthly": 700.0},
    ),
    Case(
        "Shanxi: a minor's protection case is in scope",
        "sx57_minor_protection_scope",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "minor_protection",
            "age": 12,
            "minimum_living_allowance": True,
        },
        {"decision": "eligible", "priority_channel": True},
    ),
    Case(
        "national: minor protection without abuse is consultation only",
        "sx57_minor_protection_scope",
        {
            "matter_type": "minor_protection",
            "proceeding": "civil",
            "age": 12,
            "domestic_violence_victim": False,
        },
        {"decision": "consultation_only"},
        fired=False,
    ),
    Case(
        "Shanxi: urgent case of a woman is taken first",
        "sx57_urgent_first",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "domestic_violence",
            "gender": "female",
            "domestic_violence_victim": True,
            "days_to_deadline": 3,
        },
        {"decision": "eligible", "advance_aid": True},
        also=["art44_deadline"],
    ),
    Case(
        "Shanxi: a woman asking about a loan still gets priority answering",
        "sx57_priority",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "contract_debt",
            "gender": "female",
        },
        {"decision": "consultation_only", "priority_channel": True},
    ),
    Case(
        "Shanxi: a man's divorce (not disabled, no violence) is consultation only",
        "sx57_family_matters_scope",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "marriage_family",
            "gender": "male",
            "age": 40,
            "disability_categories": [],
            "domestic_violence_victim": False,
        },
        {"decision": "consultation_only", "missing_facts": []},
        fired=False,
    ),
    # ---- 包头市《进一步加强残疾人法律服务工作的措施》 ------------------------
    Case(
        "Baotou: severely disabled, basic-livelihood notarization ≥ 50 %",
        "bt_fee_basic_livelihood",
        {
            "region": "baotou",
            "matter_type": "other",
            "disability_categories": ["physical"],
            "disability_grade": 1,
            "notarization_service": "basic_livelihood",
        },
        {
            "fee_reductions": [{"service": "notarization", "min_percent": 50}],
            "priority_channel": True,
        },
        also=["bt_disabled_priority"],
    ),
    Case(
        "Baotou: grade 3 gets no basic-livelihood reduction",
        "bt_fee_basic_livelihood",
        {
            "region": "baotou",
            "matter_type": "contract_debt",
            "disability_categories": ["physical"],
            "disability_grade": 3,
            "notarization_service": "basic_livelihood",
        },
        {"fee_reductions": []},
        fired=False,
    ),
    Case(
        "Baotou: disabled, not eligible, pension notarization ≥ 40 %",
        "bt_fee_pension_or_support",
        {
            "region": "baotou",
            "matter_type": "social_insurance",
            **NO_EXEMPTION,
            "disability_categories": ["physical"],
            "notarization_service": "pension_or_compensation",
            **NOT_POOR,
        },
        {
            "decision": "not_eligible",
            "fee_reductions": [{"service": "notarization", "min_percent": 40}],
        },
    ),
    Case(
        "Baotou: support-agreement notarization for a disabled person out of scope",
        "bt_fee_pension_or_support",
        {
            "region": "baotou",
            "matter_type": "contract_debt",
            "disability_categories": ["visual"],
            "notarization_service": "support_agreement",
        },
        {
            "decision": "consultation_only",
            "fee_reductions": [{"service": "notarization", "min_percent": 40}],
        },
    ),
    Case(
        # 《公证法》第三十四条: who qualifies for legal aid gets at least what
        # those who do not get (issue 22: the rule was inverted).
        "Baotou: eligible for legal aid, at least the 40 % too",
        "bt_fee_pension_or_support",
        {
            "region": "baotou",
            "matter_type": "family_support",
            "disability_categories": ["physical"],
            "minimum_living_allowance": True,
            "notarization_service": "support_agreement",
        },
        {
            "decision": "eligible",
            "fee_reductions": [{"service": "notarization", "min_percent": 40}],
        },
    ),
    Case(
        "Baotou: the 40 % needs no legal-aid decision (the notarization path asks none)",
        "bt_fee_pension_or_support",
        {
            "region": "baotou",
            "disability_categories": ["physical"],
            "notarization_service": "pension_or_compensation",
        },
        {"fee_reductions": [{"service": "notarization", "min_percent": 40}]},
    ),
    Case(
        "Baotou: first will of a disabled person aged 75 is free",
        "bt_fee_first_will",
        {
            "region": "baotou",
            "matter_type": "inheritance",
            "age": 75,
            "disability_categories": ["visual"],
            "notarization_service": "will",
            "first_will": True,
        },
        {"fee_reductions": [{"service": "notarization", "min_percent": 100}]},
    ),
    Case(
        # Issue 22: aged 70 was refused outright; now the date of birth decides.
        "Baotou: aged 70 in whole years: not settled until the date of birth is known",
        "bt_fee_first_will",
        {
            "region": "baotou",
            "matter_type": "inheritance",
            "age": 70,
            "disability_categories": ["visual"],
            "notarization_service": "will",
            "first_will": True,
        },
        {"fee_reductions": []},
        fired=False,
    ),
    Case(
        "Baotou: inheritance of 5000 yuan is free to notarize",
        "bt_fee_small_inheritance",
        {
            "region": "baotou",
            "matter_type": "inheritance",
            "domestic_violence_victim": False,
            "disability_categories": ["mental"],
            "notarization_service": "small_inheritance",
            "inheritance_amount": 5000,
        },
        {
            "decision": "consultation_only",
            "fee_reductions": [{"service": "notarization", "min_percent": 100}],
        },
    ),
    Case(
        "Baotou: 5001 yuan is above the small-inheritance limit",
        "bt_fee_small_inheritance",
        {
            "region": "baotou",
            "matter_type": "inheritance",
            "disability_categories": ["mental"],
            "notarization_service": "small_inheritance",
            "inheritance_amount": 5001,
        },
        {"fee_reductions": []},
        fired=False,
    ),
    Case(
        "Baotou: lawyers help disabled people with 信访",
        "bt_petition_note",
        {
            "region": "baotou",
            "matter_type": "administrative",
            "disability_categories": ["physical"],
        },
        {"decision": "consultation_only", "priority_channel": True},
    ),
    Case(
        "Baotou is not Shanxi: a woman's divorce is not widened there",
        "sx57_family_matters_scope",
        {
            "region": "baotou",
            "matter_type": "marriage_family",
            "gender": "female",
            "domestic_violence_victim": False,
        },
        {"decision": "consultation_only", "priority_channel": False},
        fired=False,
    ),
    Case(
        "Baotou: no fee reduction for someone not disabled",
        "bt_fee_small_inheritance",
        {
            "region": "baotou",
            "matter_type": "inheritance",
            "disability_categories": [],
            "notarization_service": "small_inheritance",
            "inheritance_amount": 1000,
        },
        {"fee_reductions": [], "priority_channel": False},
        fired=False,
    ),
    # ---- issue 22: answers a lawyer would dispute, each with its article ------
    Case(
        "包头 第四部分 超过70周岁: the day after the 70th birthday, the first will is free",
        "bt_fee_first_will",
        {
            **DISABLED_IN_BAOTOU,
            "birth_date": birthday(70, days_after=1),
            "notarization_service": "will",
            "first_will": True,
        },
        {"fee_reductions": [{"service": "notarization", "min_percent": 100}]},
    ),
    Case(
        "包头 第四部分 超过70周岁 (民法典 第一千二百五十九条): on the 70th birthday, not yet",
        "bt_fee_first_will",
        {
            **DISABLED_IN_BAOTOU,
            "birth_date": birthday(70),
            "notarization_service": "will",
            "first_will": True,
        },
        {"fee_reductions": []},
        fired=False,
    ),
    Case(
        "包头 第四部分 超过70周岁: 71 in whole years is over 70 without a date",
        "bt_fee_first_will",
        {**DISABLED_IN_BAOTOU, "age": 71, "notarization_service": "will", "first_will": True},
        {"fee_reductions": [{"service": "notarization", "min_percent": 100}]},
    ),
    Case(
        "包头 第四部分: severely disabled, basic-livelihood notarization, eligible too: 50 %",
        "bt_fee_basic_livelihood",
        {
            **DISABLED_IN_BAOTOU,
            "disability_grade": 1,
            "matter_type": "social_insurance",
            "minimum_living_allowance": True,
            "notarization_service": "basic_livelihood",
        },
        {
            "decision": "eligible",
            "fee_reductions": [{"service": "notarization", "min_percent": 50}],
        },
    ),
    Case(
        "第二十五条第一款第（二）项: 多重残疾 without the categories named is notified",
        "art25_sensory_disability",
        {**ADULT_SUSPECT, "disability_categories": ["multiple"]},
        {"decision": "eligible", "route": "notification"},
    ),
    Case(
        "第二十五条第一款第（二）项: 多重残疾 with hearing among them is notified",
        "art25_sensory_disability",
        {**ADULT_SUSPECT, "disability_categories": ["multiple", "hearing", "physical"]},
        {"decision": "eligible", "route": "notification"},
    ),
    Case(
        "第二十五条第一款第（二）项: 多重残疾 named as physical and intellectual is not",
        "art25_sensory_disability",
        {
            **ADULT_SUSPECT,
            **NO_EXEMPTION,
            **POOR,
            "disability_categories": ["multiple", "physical", "intellectual"],
        },
        {"decision": "eligible", "route": "application"},
        fired=False,
    ),
    Case(
        "第四十二条第（三）项: a migrant worker's wage claim is exempt, and told severance is not",
        "art42_migrant_worker_other_labor_claims",
        {"matter_type": "labor_wages", "migrant_worker": True},
        {"decision": "eligible", "economic_review": "exempt"},
        also=["art42_migrant_worker"],
    ),
    Case(
        "第四十二条第（三）项: a migrant worker's work injury is exempt, other claims told apart",
        "art42_migrant_worker_injury_scope",
        {"matter_type": "work_injury", "migrant_worker": True},
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "第三十二条第（四）项 相关权益: housing lost through domestic violence",
        "art32_domestic_violence",
        {"matter_type": "housing_property", "domestic_violence_victim": True},
        {"decision": "eligible", "economic_review": "exempt", "missing_facts": []},
    ),
    Case(
        "第三十二条第（四）项 相关权益: inheritance of an abused or abandoned person",
        "art32_domestic_violence",
        {"matter_type": "inheritance", "domestic_violence_victim": True},
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "第三十二条第（四）项: a housing dispute asks about violence first",
        "art32_domestic_violence",
        {"matter_type": "housing_property"},
        {"decision": "needs_more_facts", "missing_facts": ["domestic_violence_victim"]},
        fired=False,
    ),
    Case(
        "第三十二条第（一）项: a martyr's relative, whatever the matter is filed under",
        "art32_hero_martyr",
        {"matter_type": "administrative", "hero_martyr_relative": True},
        {"decision": "eligible", "economic_review": "exempt"},
    ),
    Case(
        "第三十二条第（一）项: not asked about a loan",
        "art32_hero_martyr",
        {"matter_type": "contract_debt"},
        {"decision": "consultation_only", "missing_facts": []},
        fired=False,
    ),
    Case(
        "第三十四条: outside Shanxi the line is an estimate, and the centre decides",
        "hardship_line",
        {"matter_type": "traffic_accident", **NO_EXEMPTION, **POOR},
        {"decision": "eligible", "hardship_threshold_monthly": 700.0},
    ),
    Case(
        "第三十四条; 57号 第二部分第（四）项: a man in Shanxi is held to the 低保 line",
        "hardship_line",
        {
            "region": "shanxi",
            "case_location": "shanxi",
            "matter_type": "social_insurance",
            **NO_EXEMPTION,
            "gender": "male",
            **POOR,
        },
        {"decision": "eligible", "hardship_threshold_monthly": 700.0},
    ),
    Case(
        "第三十一条第（四）项、第四十条: child support is the child's claim, judged on the child",
        "art31_child_support_claim",
        {
            "matter_type": "family_support",
            "claimant": "child",
            "age": 8,
            "no_fixed_income": True,
        },
        {"decision": "eligible", "economic_review": "exempt", "missing_facts": []},
        also=["art42_no_fixed_income", "art31_family_support"],
    ),
    # ---- issue 22: routes the law gives that were never offered --------------
    Case(
        "第二十五条第一款第（五）项: a 死刑复核 defendant who does not 'face' death is notified",
        "art25_death_penalty_review",
        {**ADULT_SUSPECT, "death_penalty_review": True},
        {"decision": "eligible", "route": "notification", "economic_review": "not_applicable"},
    ),
    Case(
        "第二十五条第一款第（六）项: the defendant of a trial in absentia is notified",
        "art25_absentee_trial",
        {**ADULT_SUSPECT, "absentee_trial": True},
        {"decision": "eligible", "route": "notification"},
    ),
    Case(
        "第二十五条第二款: an adult defendant who applies is told the court may notify",
        "art25_2_court_may_notify",
        {**ADULT_SUSPECT, "minimum_living_allowance": True},
        {"decision": "eligible", "route": "application"},
    ),
    Case(
        "第二十九条: a sexually abused 14-year-old is a crime victim, not consultation only",
        "art29_victim_application",
        {
            "matter_type": "minor_protection",
            "proceeding": "criminal",
            "criminal_role": "victim",
            "age": 14,
            "no_fixed_income": True,
        },
        {"decision": "eligible", "route": "application", "economic_review": "exempt"},
        also=["art42_no_fixed_income"],
    ),
    Case(
        "第二十九条: an assaulted woman whose case is criminal applies as a victim",
        "art29_victim_application",
        {
            "matter_type": "personal_injury",
            "proceeding": "criminal",
            "criminal_role": "victim",
            **NO_EXEMPTION,
            **POOR,
        },
        {"decision": "eligible", "route": "application", "economic_review": "required"},
    ),
    Case(
        "第二十九条: a personal injury asks whether it is a criminal case",
        "art29_victim_application",
        {
            "matter_type": "personal_injury",
            "domestic_violence_victim": False,
            "good_samaritan": False,
        },
        {"decision": "needs_more_facts"},
        fired=False,
    ),
]


def reason_rules(result: dict[str, Any]) -> list[str]:
    return [reason["rule"] for reason in result["reasons"]]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case: Case):
    result = assess(on_the_day(case.facts))
    for key, expected in case.expect.items():
        assert result[key] == expected, f"{case.rule}: {key}"
    fired = reason_rules(result)
    assert (case.rule in fired) is case.fired, f"{case.rule} in {fired}"
    for rule in case.also:
        assert rule in fired, f"{rule} in {fired}"
    for reason in result["reasons"]:
        assert reason["zh"].strip() and reason["citation"].strip(), reason


def test_case_table_is_large_and_names_real_rules():
    assert len(CASES) >= 40
    rule_ids = {rule.id for region in eligibility_regions() for rule in load_ruleset(region).rules}
    rule_ids |= {"economic_test.met", "economic_test.not_met"}
    assert {case.rule for case in CASES} <= rule_ids


def test_the_date_of_birth_is_asked_only_where_it_decides():
    """超过70周岁: only a person of exactly 70 in whole years is asked the date."""
    will = {**DISABLED_IN_BAOTOU, "notarization_service": "will", "first_will": True}
    assert benefit_facts({**will, "age": 70}, ("fee_reduction",)) == ["birth_date"]
    assert benefit_facts({**will, "age": 69}, ("fee_reduction",)) == []
    assert benefit_facts({**will, "age": 72}, ("fee_reduction",)) == []


def benefit_kinds(facts: dict[str, Any]) -> list[str]:
    return [benefit["kind"] for benefit in assess(facts)["benefits"]]


def test_benefits_are_cited_services_of_the_documents():
    for facts in (
        {"region": "shanxi", "case_location": "shanxi", **SHANXI_WOMAN_DIVORCE},
        {**DISABLED_IN_BAOTOU, "matter_type": "contract_debt"},
    ):
        for benefit in assess(facts)["benefits"]:
            assert set(benefit) == {"kind", "zh", "citation"} and benefit["citation"], benefit


def test_a_severely_disabled_person_in_shanxi_is_told_the_services_of_35():
    facts = {
        "region": "shanxi",
        "case_location": "太原市",
        "matter_type": "inheritance",
        "disability_categories": ["physical"],
        "disability_grade": 1,
        "has_disability_certificate": True,
    }
    assert set(benefit_kinds(facts)) == {
        "proxy_acceptance",
        "mediation_link",
        "accessible_formats",
        "one_to_one",
    }
    accessible = next(b for b in assess(facts)["benefits"] if b["kind"] == "accessible_formats")
    # One entry for one service, with every document that promises it.
    assert "第四十五条" in accessible["citation"] and "35号 第五部分" in accessible["citation"]


def test_a_woman_in_shanxi_who_qualifies_is_told_the_services_of_57():
    facts = {**SHANXI_WOMAN_DIVORCE, "case_location": "太原市"}
    kinds = benefit_kinds(facts)
    for kind in ("proxy_acceptance", "one_trip", "home_visit", "notarization_and_forensic_aid"):
        assert kind in kinds


def test_baotou_lawyer_fees_for_a_disabled_person_without_legal_aid():
    facts = {**DISABLED_IN_BAOTOU, "matter_type": "contract_debt"}
    assert "lawyer_fee_reduction" in benefit_kinds(facts)
    qualifies = {**DISABLED_IN_BAOTOU, "matter_type": "family_support"}
    qualifies |= {"minimum_living_allowance": True, "notarization_service": "support_agreement"}
    assert {"choose_lawyer", "notarization_legal_aid"} <= set(benefit_kinds(qualifies))
    assert "lawyer_fee_reduction" not in benefit_kinds(qualifies)


def test_a_personal_injury_asks_first_whether_it_is_a_criminal_case():
    """第二十九条: the victim's route opens only if the case is criminal."""
    facts = {"matter_type": "personal_injury", "domestic_violence_victim": False}
    facts |= {"good_samaritan": False}
    missing = assess(facts)["missing_facts"]
    assert missing[0] == "proceeding" and "criminal_role" not in missing
    # Who comes about an injury is the injured: a victim once the case is criminal.
    reported = assess({**facts, "proceeding": "criminal", **NO_EXEMPTION, **POOR})
    assert reported["decision"] == "eligible"
    assert "art29_victim_application" in reason_rules(reported)
    civil = assess({**facts, "proceeding": "civil"})
    assert civil["decision"] == "consultation_only" and civil["missing_facts"] == []


def test_a_detained_applicant_is_told_the_custody_transfer_art_39():
    applying = {**ADULT_SUSPECT, "minimum_living_allowance": True}
    assert benefit_facts(applying, ("apply_channel",)) == ["detained"]
    assert "custody_transfer" in benefit_kinds({**applying, "detained": True})
    assert "custody_transfer" not in benefit_kinds({**applying, "detained": False})


def test_relatives_apply_when_the_guardian_is_the_abuser_art_40():
    child = {"matter_type": "domestic_violence", "domestic_violence_victim": True, "age": 9}
    assert benefit_facts(child, ("apply_channel",)) == ["guardian_infringes"]
    assert benefit_kinds(child) == ["legal_representative"]
    assert benefit_kinds({**child, "guardian_infringes": True}) == ["relative_applies"]
    # Not asked where the guardian is not the usual suspect.
    injured = {"matter_type": "traffic_accident", "age": 9, "no_fixed_income": True}
    assert benefit_facts(injured, ("apply_channel",)) == []


def test_the_hardship_line_says_the_province_decides():
    """第三十四条 leaves the line to each province: no 'national line' is claimed."""
    result = assess({"matter_type": "traffic_accident", **NO_EXEMPTION, **POOR})
    line = next(r for r in result["reasons"] if r["rule"] == "hardship_line")
    assert "全国没有统一的标准" in line["zh"] and "法律援助机构" in line["zh"]


def test_notification_reason_is_not_narrowed_to_the_blind_deaf_and_mute():
    result = assess({**ADULT_SUSPECT, "disability_categories": ["visual"]})
    reason = next(r for r in result["reasons"] if r["rule"] == "art25_sensory_disability")
    assert "视力、听力、言语残疾人" in reason["zh"] and "盲" not in reason["zh"]


@pytest.mark.parametrize("region", ["shanxi", "baotou"])
def test_regional_citations_name_the_part(region):
    """A document number alone cannot be checked: the part is named in the reason."""
    national = load_ruleset("national").rules
    for rule in load_ruleset(region).rules:
        if rule not in national:
            assert "部分" in rule.citation, (rule.id, rule.citation)


# Words in policy/REVIEW.md's backticks that are not rule or condition ids.
REVIEW_OTHER_NAMES = {
    "known_facts",
    "residence",
    "rules_follow",
    "litigation_when",
    "non_litigation_when",
    "anniversary_passed",
    "anniversary_reached",
    "grouped_questions",
    "grouped_not_exclusive",
    "own_claim_unless",
    "labor_wages",
    "work_injury",
    "minor_protection",
    "notarization_service",
    "has_lawyer",
    "eligible",
    "notification",
    "when",
    "citation",
    "test_regional_citations_name_the_part",
}


def test_the_review_list_points_at_real_rules():
    """policy/REVIEW.md is where a centre changes a decision: every rule or named
    condition it points at must exist, or the change would land nowhere."""
    review = (ROOT / "policy" / "REVIEW.md").read_text(encoding="utf-8")
    quoted = re.findall(r"`([^`]+)`", review)
    # `conditions.elderly`, `rules.hardship_line`: the name after the section.
    names = [text.rsplit(".", 1)[-1] for text in quoted if not text.endswith((".yml", ".py"))]
    named = {name for name in names if re.fullmatch(r"[a-z][a-z0-9_]*", name)}
    known = set(REVIEW_OTHER_NAMES) | set(FACTS) | TOP_LEVEL_KEYS
    # The wording the centre confirms (a consent's) is a response of the domain.
    known |= set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"])
    for region in eligibility_regions():
        ruleset = load_ruleset(region)
        known |= {rule.id for rule in ruleset.rules} | set(ruleset.conditions)
    assert named - known == set()
    for rule_id in ("hardship_line", "over_seventy", "sensory_disability", "crime_reported"):
        assert rule_id in named


def test_every_reason_cites_a_document():
    for case in CASES:
        for reason in assess(on_the_day(case.facts))["reasons"]:
            assert "《" in reason["citation"] or "晋司通" in reason["citation"], reason


def test_assessment_has_the_contract_keys():
    result = assess({"matter_type": "labor_wages"})
    assert list(result) == [
        "decision",
        "route",
        "economic_review",
        "hardship_threshold_monthly",
        "advance_aid",
        "priority_channel",
        "missing_facts",
        "fee_reductions",
        "forms_of_aid",
        "benefits",
        "reasons",
    ]


def test_apply_at_is_there_once_the_place_of_the_case_is_known():
    result = assess({"matter_type": "labor_wages", "case_location": "北京市"})
    assert list(result)[-2:] == ["apply_at", "reasons"]
    assert result["apply_at"]["citation"] == "《法律援助法》第三十八条"


# 《民法典》第一千二百五十九条：“以上”包括本数，“超过”“不满”不包括本数。
# 年龄从出生日期算（整周岁），所以生日当天就满了。
BIRTH_DATE_LINES = [
    ("minor", birthday(18, days_after=-1), True),
    ("minor", birthday(18), False),
    ("elderly", birthday(60, days_after=-1), False),
    ("elderly", birthday(60), True),
]


@pytest.mark.parametrize(("name", "born", "holds"), BIRTH_DATE_LINES)
def test_a_date_of_birth_decides_the_age(name, born, holds):
    born = born.iso()
    assert condition_holds(name, {"birth_date": born}) is holds
    # A whole-years age said alongside does not override the date.
    assert condition_holds(name, {"birth_date": born, "age": 40}) is holds


def test_forms_of_aid_follow_art_22():
    """第二十二条: the form of aid follows the matter and the person's part in it."""
    wages = assess({"matter_type": "labor_wages", "migrant_worker": True})
    assert wages["forms_of_aid"] == [
        "consultation",
        "document_drafting",
        "civil_representation",
        "labor_arbitration_representation",
    ]
    minor_suspect = {"matter_type": "criminal_defense", "criminal_role": "suspect_or_defendant"}
    assert assess({**minor_suspect, "age": 16})["forms_of_aid"] == [
        "consultation",
        "criminal_defense",
    ]
    above_line = assess({**ADULT_SUSPECT, **NO_EXEMPTION, **NOT_POOR})
    assert above_line["forms_of_aid"] == ["consultation", "duty_lawyer"]
    victim = {"matter_type": "criminal_defense", "criminal_role": "victim", **NO_EXEMPTION, **POOR}
    assert assess(victim)["forms_of_aid"] == ["consultation", "criminal_representation"]
    retrial = {"matter_type": "state_compensation", "retrial_acquitted": True}
    assert "state_compensation_representation" in assess(retrial)["forms_of_aid"]
    assert assess({"matter_type": "contract_debt"})["forms_of_aid"] == ["consultation"]


SHANXI_WOMAN_DIVORCE = {
    "region": "shanxi",
    "matter_type": "marriage_family",
    "gender": "female",
    "domestic_violence_victim": False,
    "disability_categories": [],
    INCOME: 1200,
    STANDARD: 700,
}


def test_a_shanxi_resident_suing_in_beijing_is_sent_to_beijing():
    """第三十八条: the centre where the court sits; Shanxi's 57号 is not Beijing's rule."""
    result = assess({**SHANXI_WOMAN_DIVORCE, "case_location": "北京市", "proceeding": "civil"})
    assert result["decision"] == "consultation_only"
    apply_at = result["apply_at"]
    assert apply_at["place"] == "北京市" and apply_at["rules_region"] == "national"
    assert "办案机关所在地（北京市）" in apply_at["zh"]
    assert apply_at["citation"] == "《法律援助法》第三十八条"
    left = apply_at["home_rules_not_applied"]
    assert "晋司通〔2022〕57号" in left["zh"] and "不适用" in left["zh"]
    assert "sx57_family_matters_scope" in [rule["rule"] for rule in left["rules"]]


def test_the_same_case_in_taiyuan_follows_shanxi_rules():
    result = assess({**SHANXI_WOMAN_DIVORCE, "case_location": "太原市"})
    assert result["decision"] == "eligible"
    assert result["hardship_threshold_monthly"] == 1400.0
    assert result["apply_at"]["place"] == "太原市"
    assert "home_rules_not_applied" not in result["apply_at"]


def test_where_the_case_is_is_asked_when_it_decides():
    result = assess(SHANXI_WOMAN_DIVORCE)
    assert result["decision"] == "needs_more_facts"
    assert result["missing_facts"] == ["case_location"]
    assert "apply_at" not in result
    assert "where_to_apply.ask" in reason_rules(result)


def test_where_the_case_is_is_not_asked_when_every_place_gives_the_same_answer():
    beaten = {
        "region": "shanxi",
        "matter_type": "domestic_violence",
        "domestic_violence_victim": True,
    }
    result = assess(beaten)
    assert result["decision"] == "eligible" and result["missing_facts"] == []


def test_a_county_is_said_with_its_city():
    result = assess({"region": "baotou", "matter_type": "labor_wages", "case_location": "固阳县"})
    assert result["apply_at"]["place"] == "包头市固阳县"


def test_a_non_litigation_matter_goes_where_the_dispute_is():
    facts = {
        "matter_type": "labor_wages",
        "proceeding": "non_litigation",
        "case_location": "太原市",
    }
    assert "事由发生地（太原市）" in assess(facts)["apply_at"]["zh"]


def test_whose_claim_it_is_is_asked_first_for_support_payments():
    """抚养费 is the child's claim: the child's circumstances decide (第三十一条第（四）项)."""
    result = assess({"matter_type": "family_support"})
    assert result["missing_facts"][0] == "claimant"
    # Settled without it (a 低保 household): not asked.
    settled = assess({"matter_type": "family_support", "minimum_living_allowance": True})
    assert settled["missing_facts"] == []


def test_null_means_not_known():
    assert assess({"matter_type": "labor_wages", "migrant_worker": None}) == assess(
        {"matter_type": "labor_wages"}
    )


@pytest.mark.parametrize(
    ("facts", "named"),
    [
        ({"matter": "labor_wages"}, "matter"),
        ({"age": "16"}, "age"),
        ({"age": True}, "age"),
        ({"migrant_worker": 1}, "migrant_worker"),
        ({"gender": "unknown"}, "gender"),
        ({"matter_type": "parking_ticket"}, "matter_type"),
        ({"region": "atlantis"}, "region"),
        ({"disability_grade": 5}, "disability_grade"),
        ({"disability_categories": "visual"}, "disability_categories"),
        ({INCOME: -1}, INCOME),
        ({"birth_date": "1950-13-01"}, "birth_date"),
        ({"birth_date": "1950-1-1"}, "birth_date"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"claimant": "neighbour"}, "claimant"),
        ({"case_location": "Atlantis"}, "case_location"),
        ({"death_penalty_review": "yes"}, "death_penalty_review"),
    ],
)
def test_bad_facts_are_refused_by_name(facts, named):
    with pytest.raises(FactError, match=named):
        assess(facts)


# ---- the command ------------------------------------------------------------


def run_cli(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "actions.eligibility"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_cli_object_in_object_out():
    done = run_cli(
        json.dumps({"matter_type": "domestic_violence", "domestic_violence_victim": True})
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["decision"] == "eligible"
    assert "家庭暴力" in done.stdout  # ensure_ascii=False: Chinese as itself


def test_cli_list_in_list_out():
    facts = [
        {"matter_type": "contract_debt"},
        {"matter_type": "labor_wages", "migrant_worker": True},
    ]
    done = run_cli(json.dumps(facts))
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["decision"] for r in results] == ["consultation_only", "eligible"]


def test_cli_unknown_key_exits_2_naming_it():
    done = run_cli('{"matter_type": "labor_wages", "salary_owed": 5000}')
    assert done.returncode == 2
    assert "salary_owed" in done.stderr
    assert done.stdout == ""


def test_cli_wrong_type_exits_2():
    done = run_cli('[{"age": 30}, {"age": "thirty"}]')
    assert done.returncode == 2
    assert "age" in done.stderr and "第 2 项" in done.stderr


def test_cli_bad_json_exits_2():
    done = run_cli("{matter_type: labor_wages")
    assert done.returncode == 2
    assert "JSON" in done.stderr


def test_cli_non_object_exits_2():
    assert run_cli('"labor_wages"').returncode == 2


# ---- named conditions: each line written once, asked by the other consumers --------

# (condition, facts, holds): the lines on both sides, as the documents draw them.
NAMED_CONDITION_LINES = [
    ("minor", {"age": 17}, True),
    ("minor", {"age": 18}, False),
    ("elderly", {"age": 59}, False),
    ("elderly", {"age": 60}, True),
    # 第四十四条“不足七日”: six days are, seven are not.
    ("deadline_under_seven_days", {"days_to_deadline": 6}, True),
    ("deadline_under_seven_days", {"days_to_deadline": 7}, False),
    ("deadline_under_seven_days", {"days_to_deadline": 8}, False),
    ("urgent_preservation", {"needs_urgent_preservation": True}, True),
    ("urgent_preservation", {"needs_urgent_preservation": False}, False),
    ("severely_disabled", {"disability_grade": 2}, True),
    ("severely_disabled", {"disability_grade": 3}, False),
    ("minor", {}, None),
    ("deadline_under_seven_days", {"needs_urgent_preservation": True}, None),
]


@pytest.mark.parametrize(("name", "facts", "holds"), NAMED_CONDITION_LINES)
def test_named_condition_at_its_line(name, facts, holds):
    assert condition_holds(name, facts) is holds


def test_a_named_condition_on_the_outcome_is_evaluated_after_the_decision():
    in_scope = {"matter_type": "labor_wages", "migrant_worker": True}
    out_of_scope = {"matter_type": "contract_debt"}
    assert condition_holds("may_receive_aid_on_application", in_scope) is True
    assert condition_holds("may_receive_aid_on_application", out_of_scope) is False


def test_an_undefined_named_condition_is_a_programming_error():
    with pytest.raises(KeyError, match="teenager"):
        condition_holds("teenager", {"age": 15})


@pytest.mark.parametrize("region", eligibility_regions())
def test_every_region_defines_the_named_conditions_the_code_asks_about(region):
    assert set(ASKED_BY_CODE) <= set(load_ruleset(region).conditions)


@pytest.mark.parametrize("region", eligibility_regions())
def test_no_rule_restates_a_line_a_named_condition_draws(region):
    """A comparison a named condition makes (age < 18, days_to_deadline < 7,
    disability_grade <= 2) is written there only, and rules refer to it: a second
    copy is how the copies came to disagree (issue 18)."""
    ruleset = load_ruleset(region)
    lines = [leaf for condition in ruleset.conditions.values() for leaf in _leaves(condition)]
    restated = [
        (rule.id, leaf)
        for rule in ruleset.rules
        for condition in rule.when
        for leaf in _leaves(condition)
        if leaf in lines
    ]
    assert restated == []


def _leaves(condition: dict[str, Any]) -> list[dict[str, Any]]:
    """The fact comparisons a rule condition writes out itself (not through `ref`)."""
    if "fact" in condition:
        return [condition]
    operator, operand = next(iter(condition.items()))
    if operator in ("all", "any"):
        return [leaf for child in operand for leaf in _leaves(child)]
    if operator == "not":
        return _leaves(operand)
    return []


# ---- the data files -----------------------------------------------------------


def test_every_region_file_validates():
    assert validate_all() == ["baotou", "national", "shanxi"]
    counts = {region: len(load_ruleset(region).rules) for region in eligibility_regions()}
    assert counts["shanxi"] > counts["national"] and counts["baotou"] > counts["national"]


@pytest.fixture
def policy_copy(tmp_path, monkeypatch):
    """A copy of policy/ that a test may break; the engine reads it instead."""
    copy = tmp_path / "policy"
    shutil.copytree(policy_data.POLICY_DIR, copy)
    monkeypatch.setattr(policy_data, "POLICY_DIR", copy)
    clear_cache()
    yield copy / "eligibility"
    monkeypatch.undo()
    clear_cache()


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_broken_rule_names_file_and_rule(policy_copy):
    def break_it(data):
        data["rules"]["sx35_severe_disability"]["when"][1] = {
            "fact": "disability_grade",
            "lte": "二级",
        }

    edit(policy_copy / "shanxi.yml", break_it)
    with pytest.raises(PolicyDataError) as error:
        load_ruleset("shanxi")
    message = str(error.value)
    assert "shanxi.yml" in message and "sx35_severe_disability" in message and "lte" in message


def test_broken_inherited_rule_names_the_national_file(policy_copy):
    def break_it(data):
        data["rules"]["art31_labor"]["when"] = [{"fact": "salary", "eq": 1}]

    edit(policy_copy / "national.yml", break_it)
    with pytest.raises(PolicyDataError, match=r"national\.yml.*art31_labor.*salary"):
        load_ruleset("baotou")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda rule: rule.pop("citation"), "citation"),
        (lambda rule: rule.update(effect={"scope": "maybe"}), "scope"),
        (lambda rule: rule.update(effect={"refund": True}), "refund"),
        (lambda rule: rule.update(when=[{"all": []}]), "all"),
        (lambda rule: rule.update(when=[{"eval": "age < 18"}]), "eval"),
        (lambda rule: rule.update(when=[{"ref": "nobody"}]), "nobody"),
        (lambda rule: rule.update(when=[{"fact": "age", "lt": 18, "gt": 3}]), "age"),
        (lambda rule: rule.update(when=[{"outcome": "decision", "in": ["eligible"]}]), "outcome"),
        (lambda rule: rule.update(zh=""), "zh"),
    ],
)
def test_each_kind_of_broken_rule_is_refused(policy_copy, change, says):
    edit(policy_copy / "baotou.yml", lambda data: change(data["rules"]["bt_disabled_priority"]))
    # bt_disabled_priority has a priority effect; make the outcome case a decision effect.
    if says == "outcome":
        edit(
            policy_copy / "baotou.yml",
            lambda data: data["rules"]["bt_disabled_priority"].update(effect={"scope": "in"}),
        )
    with pytest.raises(PolicyDataError) as error:
        load_ruleset("baotou")
    message = str(error.value)
    assert "baotou.yml" in message and "bt_disabled_priority" in message and says in message


def test_bad_yaml_is_a_policy_error(policy_copy):
    (policy_copy / "baotou.yml").write_text("region: baotou\nrules: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyDataError, match="baotou.yml"):
        load_ruleset("baotou")


def test_new_region_is_a_new_file(policy_copy):
    """A city of Shanxi that triples the line and adds a rule: data only."""
    (policy_copy / "taiyuan.yml").write_text(
        """
region: taiyuan
extends: shanxi
name_zh: 太原市
rules:
  sx57_double_hardship_line:
    effect: {hardship_multiplier: 3}
    zh: 示例：太原把妇女、未成年人的经济困难标准放宽到低保线的3倍。
  ty_contract_debt_for_elderly:
    when:
      - {ref: elderly}
      - {fact: matter_type, eq: contract_debt}
    effect: {scope: in}
    zh: 示例：老年人的借贷纠纷纳入范围。
    citation: 示例文件
""",
        encoding="utf-8",
    )
    woman = {
        "region": "taiyuan",
        "case_location": "taiyuan",
        "matter_type": "marriage_family",
        "gender": "female",
    }
    result = assess({**woman, INCOME: 2000, STANDARD: 700})
    assert result["decision"] == "eligible"
    assert result["hardship_threshold_monthly"] == 2100.0
    elderly = assess(
        {"region": "taiyuan", "case_location": "taiyuan", "matter_type": "contract_debt", "age": 80}
        | POOR
    )
    assert elderly["decision"] == "eligible"
    assert "ty_contract_debt_for_elderly" in reason_rules(elderly)


def test_question_order_must_cover_every_fact_a_rule_reads(policy_copy):
    edit(policy_copy / "national.yml", lambda data: data["question_order"].remove("orphan"))
    with pytest.raises(PolicyDataError, match=r"shanxi\.yml.*sx35_orphan_disabled_child.*orphan"):
        load_ruleset("shanxi")


# ---- properties -------------------------------------------------------------


def fact_values(name: str) -> st.SearchStrategy[Any]:
    spec = FACTS[name]
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "int":
        low = -30 if spec.minimum is None else int(spec.minimum)
        high = 400 if spec.maximum is None else int(spec.maximum)
        return st.integers(low, high)
    if spec.kind == "number":
        return st.integers(0, 20000) | st.floats(0, 1e7, allow_nan=False, allow_infinity=False)
    if spec.kind == "string_list":
        return st.lists(st.sampled_from(spec.allowed()), unique=True, max_size=3)
    if spec.kind == "date":
        today = china_today()
        return st.dates(today.replace(year=today.year - 100), today).map(date.isoformat)
    if spec.kind == "place":
        return st.sampled_from([*eligibility_regions(), "北京市", "太原市", "固阳县"])
    return st.sampled_from(spec.allowed())


FACTS_STRATEGY = st.fixed_dictionaries({}, optional={name: fact_values(name) for name in FACTS})
EXEMPTIONS = [
    "domestic_violence_victim",
    "migrant_worker",
    "minimum_living_allowance",
    "extreme_hardship_support",
    "good_samaritan",
    "hero_martyr_relative",
    "retrial_acquitted",
]
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(FACTS_STRATEGY)
def test_never_crashes_and_keeps_the_contract(facts):
    result = assess(facts)
    assert result["decision"] in (
        "eligible",
        "not_eligible",
        "needs_more_facts",
        "consultation_only",
    )
    assert result["route"] in ("application", "notification", "duty_lawyer", "none")
    assert result["economic_review"] in ("exempt", "required", "not_applicable")
    assert bool(result["missing_facts"]) == (result["decision"] == "needs_more_facts")
    assert not set(result["missing_facts"]) & set(facts)
    assert all(reason["citation"] and reason["zh"] for reason in result["reasons"])
    json.dumps(result, ensure_ascii=False)


@PROPERTY_SETTINGS
@given(FACTS_STRATEGY, st.sampled_from(EXEMPTIONS))
def test_an_exemption_never_makes_someone_not_eligible(facts, exemption):
    before = assess(facts)
    after = assess({**facts, exemption: True})
    if before["decision"] == "eligible":
        assert after["decision"] == "eligible"


@PROPERTY_SETTINGS
@given(FACTS_STRATEGY)
def test_a_migrant_worker_owed_wages_is_never_refused_for_income(facts):
    result = assess(
        {**facts, "matter_type": "labor_wages", "migrant_worker": True, "has_lawyer": False}
    )
    assert result["decision"] == "eligible"
    assert result["economic_review"] == "exempt"


@PROPERTY_SETTINGS
@given(FACTS_STRATEGY)
def test_missing_facts_come_in_the_data_question_order(facts):
    result = assess(facts)
    order = load_ruleset(facts.get("region", "national")).question_order
    positions = [order.index(name) for name in result["missing_facts"]]
    assert positions == sorted(positions)


def test_an_elderly_parent_may_apply_before_the_questions_about_money():
    """ "能不能申请" for support payments in Shanxi: yes, by art. 31(4), while the
    questions left decide only whether the income is checked (issue 25)."""
    facts = {"region": "shanxi", "matter_type": "family_support", "age": 75}
    assert assess(facts)["decision"] == "needs_more_facts"
    reasons = reasons_to_apply(facts)
    assert [r["citation"] for r in reasons] == ["《法律援助法》第三十一条第（四）项"]


@pytest.mark.parametrize(
    "facts",
    [
        # Decided already: the decision itself is the answer.
        {"region": "shanxi", "matter_type": "labor_wages", "migrant_worker": True},
        # In scope only for a woman or a minor in Shanxi: not sure before the sex.
        {"region": "shanxi", "matter_type": "marriage_family"},
        # A defendant may get a lawyer by notification, not by applying.
        {"region": "shanxi", "matter_type": "criminal_defense"},
        # The matter not told yet.
        {"region": "shanxi"},
    ],
)
def test_no_early_yes_where_the_answer_is_not_sure_or_already_decided(facts):
    assert reasons_to_apply(facts) == []


# The start of a check: the place and the matter, sometimes a fact or two more.
OPENING_STRATEGY = st.fixed_dictionaries(
    {"region": fact_values("region"), "matter_type": fact_values("matter_type")},
    optional={name: fact_values(name) for name in ("age", "gender", "claimant")},
)


@PROPERTY_SETTINGS
@given(OPENING_STRATEGY, FACTS_STRATEGY)
def test_an_early_yes_is_never_taken_back_except_for_income(facts, later):
    """Whatever is answered after "you can apply", the person either gets aid on
    application or is refused only because the income is above the line. (Not
    what the rules assume until told otherwise, as every answer does: "已经请了律师".)"""
    assume(reasons_to_apply(facts))
    assumed = load_ruleset(facts["region"]).assume
    result = assess({**{k: v for k, v in later.items() if k not in assumed}, **facts})
    if result["decision"] == "not_eligible":
        assert result["economic_review"] == "required" and result["route"] != "notification"
    else:
        assert (result["decision"], result["route"]) in (
            ("eligible", "application"),
            ("needs_more_facts", "application"),
        ), result


def test_the_sex_is_asked_only_once_the_income_falls_between_the_lines():
    """Shanxi doubles the line for women: without the income and the 低保 line
    the sex decides nothing, so it is not asked before them (issue 25)."""
    before = {
        "region": "shanxi",
        "case_location": "shanxi",
        "matter_type": "social_insurance",
        **NO_EXEMPTION,
    }
    assert "gender" not in before
    assert assess(before)["missing_facts"] == [INCOME, STANDARD]
    assert assess({**before, INCOME: 1200, STANDARD: 700})["missing_facts"] == ["gender"]
    assert assess({**before, INCOME: 600, STANDARD: 700})["decision"] == "eligible"


@pytest.mark.parametrize(
    ("story", "own"),
    [
        ("我七十五了，女儿不管我", True),
        ("我七十二了，三个儿子都不给赡养费", True),
        ("我七十了，儿子不给孙子抚养费", False),
        ("我六十八了，想替我姐姐问问赡养费的事", False),
    ],
)
def test_an_elderly_persons_story_of_support_is_their_own_claim_unless_it_says_otherwise(
    story, own
):
    assert is_own_claim(story) is own
