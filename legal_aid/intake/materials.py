"""What to bring when applying for legal aid: the checklist for one person's case.

The materials and their wording are data (policy/materials/<region>.yml, merged
over national.yml like the eligibility rules). This module only decides which
of them apply, from the facts and the eligibility assessment:

* identity: the person's own, or for a child or an adult who cannot act alone
  the guardian's with proof of guardianship (法律援助法第四十条);
* a disability certificate when a disability was reported;
* the 经济困难状况个人诚信承诺 only when the assessment says income is checked
  (`economic_review == "required"`, art. 41) — never when exempt;
* the proof behind each exemption the assessment applied (art. 42 asks for
  材料证明; in Shanxi the certificate itself is that proof, 晋司通〔2022〕35号);
* the deadline or preservation papers when the matter is urgent (art. 44);
* the evidence for the matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from legal_aid.eligibility import condition_holds
from legal_aid.eligibility.conditions import DEADLINE_UNDER_SEVEN_DAYS, MINOR, URGENT_PRESERVATION
from legal_aid.eligibility.facts import FACTS
from legal_aid.policy_data import (
    DEFAULT_REGION,
    POLICY_DIR,
    PolicyDataError,
    load_region,
)

KIND = "materials"


# The key prefix of evidence items (the rest are documents about the person).
EVIDENCE = "evidence:"


@dataclass(frozen=True)
class MaterialItem:
    """One line of the checklist: what to bring, in plain words, and the rule behind it."""

    key: str
    title: str
    detail: str
    citation: str | None = None


@cache
def materials_data(region: str = DEFAULT_REGION) -> dict[str, Any]:
    """The region's materials file merged over national; national where it has none."""
    if not (POLICY_DIR / KIND / f"{region}.yml").is_file():
        region = DEFAULT_REGION
    return load_region(KIND, region)


def matter_name(matter_type: str) -> str:
    """The matter's name as printed on the application (spec/matter_types.yml's zh)."""
    matters = materials_data()["matters"]
    return matters[matter_type]["name"] if matter_type in matters else matter_type


def _item(data: Mapping[str, Any], name: str) -> MaterialItem:
    try:
        entry = data["items"][name]
    except KeyError as error:
        raise PolicyDataError(f"材料数据里没有条目“{name}”") from error
    return MaterialItem(
        key=entry.get("key", name),
        title=entry["title"],
        detail=entry["detail"],
        citation=entry.get("citation"),
    )


# ---- who the application is for --------------------------------------------


def _holds(condition: str, facts: Mapping[str, Any]) -> bool:
    """A named condition of the eligibility rules (minor, the art. 44 lines) on the
    facts; what the intake adds beside them (applying_for, guardian) is not a fact."""
    eligibility_facts = {name: value for name, value in facts.items() if name in FACTS}
    return condition_holds(condition, eligibility_facts) is True


def _is_minor(facts: Mapping[str, Any]) -> bool:
    return _holds(MINOR, facts)


def _applies_for_other(facts: Mapping[str, Any]) -> bool:
    return facts.get("applying_for") == "other" or bool(facts.get("guardian"))


def _identity_items(matter_type: str, facts: Mapping[str, Any]) -> list[str]:
    if _is_minor(facts):
        return ["identity_child", "guardian_identity", "guardianship_proof_child"]
    if facts.get("cannot_fully_understand_own_conduct") or matter_type == "civil_capacity":
        if _applies_for_other(facts):
            return ["identity_person_concerned", "guardian_identity", "guardianship_proof_adult"]
    if _applies_for_other(facts):
        if matter_type == "criminal_defense":
            return ["identity_person_concerned", "relationship_proof_criminal"]
        return ["identity_person_concerned", "relationship_proof"]
    return ["identity_self"]


# ---- disability, means, exemptions, urgency ---------------------------------


def _reported_disability(facts: Mapping[str, Any]) -> bool:
    return bool(
        facts.get("disability_categories")
        or facts.get("disability_grade") is not None
        or facts.get("has_disability_certificate")
    )


def _disability_items(facts: Mapping[str, Any]) -> list[str]:
    if not _reported_disability(facts):
        return []
    if facts.get("has_disability_certificate") is False:
        return ["disability_no_certificate"]
    return ["disability_certificate"]


def _means_items(assessment: Mapping[str, Any]) -> list[str]:
    """The honesty pledge only where income is actually checked (art. 41)."""
    return ["hardship_commitment"] if assessment.get("economic_review") == "required" else []


def _applied_rules(assessment: Mapping[str, Any]) -> list[str]:
    return [reason["rule"] for reason in assessment.get("reasons", []) if "rule" in reason]


def _exemption_items(data: Mapping[str, Any], assessment: Mapping[str, Any]) -> list[str]:
    """The proof for each exemption the assessment applied; none unless it is exempt."""
    if assessment.get("economic_review") != "exempt":
        return []
    proofs = data.get("exemption_proofs", {})
    return [item for rule in _applied_rules(assessment) for item in proofs.get(rule, [])]


def _urgency_items(facts: Mapping[str, Any]) -> list[str]:
    """The papers that prove an art. 44 circumstance, where the facts show one."""
    items = []
    if _holds(DEADLINE_UNDER_SEVEN_DAYS, facts):
        items.append("deadline_document")
    if _holds(URGENT_PRESERVATION, facts):
        items.append("preservation_reason")
    return items


# ---- evidence -----------------------------------------------------------------


def evidence_items(matter_type: str, region: str = DEFAULT_REGION) -> list[MaterialItem]:
    """The evidence to bring for a matter type (the "other" list when unknown).

    Evidence carries no citation: it is what proves the person's facts, and no
    rule in the policy documents lists it; the rules are cited on the lines above.
    """
    matters = materials_data(region)["matters"]
    matter = matter_type if matter_type in matters else "other"
    return [
        MaterialItem(key=f"{EVIDENCE}{title}", title=title, detail=detail)
        for title, detail in matters[matter]["evidence"].items()
    ]


# ---- the checklist ----------------------------------------------------------------


def _in_order(items: Iterable[MaterialItem]) -> list[MaterialItem]:
    """Each key once; a later item with the same key takes the earlier one's place.

    So Shanxi's "凭残疾证直接援助" replaces the general certificate line where
    it was, instead of the certificate being listed twice.
    """
    by_key: dict[str, MaterialItem] = {}
    for item in items:
        by_key[item.key] = item
    return list(by_key.values())


def checklist(
    matter_type: str,
    facts: Mapping[str, Any],
    assessment: Mapping[str, Any],
    region: str = DEFAULT_REGION,
) -> list[MaterialItem]:
    """The materials this person should bring, most pressing first.

    `facts` are the eligibility facts (shared/spec/eligibility.md); the intake's
    `applying_for` ("self"/"other") and `guardian` are understood too (records
    made before the urgency came from the facts also hold `deadline_within_7_days`
    and `urgent_preservation`: ignored, the facts decide). `assessment` is
    `assess(facts)`.
    """
    data = materials_data(region)
    names = [
        *_identity_items(matter_type, facts),
        *_urgency_items(facts),
        *_disability_items(facts),
        *_means_items(assessment),
        *_exemption_items(data, assessment),
    ]
    items = [_item(data, name) for name in names]
    return _in_order([*items, *evidence_items(matter_type, region)])


def checklist_notes(region: str = DEFAULT_REGION) -> list[tuple[str, str | None]]:
    """What to tell the person under the checklist: (text, citation)."""
    return [(note["text"], note.get("citation")) for note in materials_data(region)["notes"]]
