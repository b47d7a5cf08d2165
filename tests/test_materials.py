"""legal_aid/intake/materials.py: the checklist of what to bring, from facts and assessment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from legal_aid.eligibility import assess
from legal_aid.intake.materials import MaterialItem, checklist, evidence_items, matter_name
from legal_aid.policy_data import POLICY_DIR, load_region

SPEC = Path("/work/shared/spec/matter_types.yml")
POLICY_DOCS = Path("/work/shared/policy-docs")
# The repository's own copy of the matter keys (policy/matter_types.yml mirrors the spec).
MATTER_TYPES = list(yaml.safe_load((POLICY_DIR / "matter_types.yml").read_text(encoding="utf-8")))

COMMITMENT = "hardship_commitment"


def items_for(facts: dict, **intake) -> list[MaterialItem]:
    region = facts.get("region", "national")
    return checklist(facts.get("matter_type"), {**facts, **intake}, assess(facts), region)


def keys(items: list[MaterialItem]) -> list[str]:
    return [item.key for item in items]


def titles(items: list[MaterialItem]) -> str:
    return "\n".join(item.title for item in items)


def test_unpaid_migrant_worker_in_shanxi_needs_no_income_pledge():
    facts = {"matter_type": "labor_wages", "region": "shanxi", "migrant_worker": True}
    assert assess(facts)["economic_review"] == "exempt"
    items = items_for(facts)
    assert COMMITMENT not in keys(items)
    assert "诚信承诺" not in titles(items)
    assert "劳动合同" in titles(items)
    assert "工资条" in titles(items)
    proof = next(item for item in items if item.key == "migrant_worker_proof")
    assert proof.citation == "《法律援助法》第四十二条第（三）项"


def test_income_checked_case_has_the_pledge_with_its_citation():
    facts = {
        "matter_type": "traffic_accident",
        "age": 40,
        "income_per_capita_monthly": 600,
        "local_minimum_living_standard_monthly": 800,
    }
    assert assess(facts)["economic_review"] == "required"
    pledge = next(item for item in items_for(facts) if item.key == COMMITMENT)
    assert "诚信承诺" in pledge.title
    assert "第四十一条" in pledge.citation
    assert "交通事故认定书" in titles(items_for(facts))


def test_shanxi_pledge_also_cites_the_provincial_document():
    facts = {
        "matter_type": "labor_wages",
        "region": "shanxi",
        "migrant_worker": False,
        "income_per_capita_monthly": 600,
        "local_minimum_living_standard_monthly": 800,
    }
    pledge = next(item for item in items_for(facts) if item.key == COMMITMENT)
    assert "第四十一条" in pledge.citation and "晋司通〔2022〕57号" in pledge.citation


def test_disabled_person_brings_the_certificate():
    facts = {
        "matter_type": "traffic_accident",
        "disability_categories": ["physical"],
        "disability_grade": 3,
        "has_disability_certificate": True,
        "income_per_capita_monthly": 600,
        "local_minimum_living_standard_monthly": 800,
    }
    assert "残疾人证" in titles(items_for(facts))


def test_disabled_person_without_certificate_is_told_where_to_get_one():
    facts = {"matter_type": "traffic_accident", "disability_categories": ["visual"]}
    item = next(i for i in items_for(facts, has_disability_certificate=False) if "残疾" in i.title)
    assert "残联" in item.detail


def test_severely_disabled_in_shanxi_certificate_replaces_income_check():
    facts = {
        "matter_type": "inheritance",
        "region": "shanxi",
        "disability_categories": ["visual"],
        "disability_grade": 1,
        "has_disability_certificate": True,
    }
    assessment = assess(facts)
    assert assessment["economic_review"] == "exempt"
    items = items_for(facts)
    certificates = [item for item in items if item.key == "disability_certificate"]
    assert len(certificates) == 1  # replaced in place, not listed twice
    assert certificates[0].citation == "晋司通〔2022〕35号"
    assert "不用审查收入" in certificates[0].detail
    assert COMMITMENT not in keys(items)


def test_baotou_certificate_does_not_waive_the_income_check():
    facts = {
        "matter_type": "labor_wages",
        "region": "baotou",
        "migrant_worker": False,
        "disability_categories": ["physical"],
        "disability_grade": 1,
        "has_disability_certificate": True,
        "income_per_capita_monthly": 600,
        "local_minimum_living_standard_monthly": 800,
    }
    items = items_for(facts)
    assert COMMITMENT in keys(items)
    certificate = next(item for item in items if item.key == "disability_certificate")
    assert "包头" in certificate.citation


def test_domestic_violence_victim_needs_no_pledge_and_brings_police_receipts():
    facts = {"matter_type": "domestic_violence", "domestic_violence_victim": True}
    items = items_for(facts)
    assert COMMITMENT not in keys(items)
    assert "报警回执" in titles(items) and "伤情照片" in titles(items)


def test_notification_case_needs_no_pledge():
    facts = {"matter_type": "criminal_defense", "criminal_role": "suspect_or_defendant", "age": 16}
    assert assess(facts)["economic_review"] != "required"
    items = items_for(facts, applying_for="other")
    assert COMMITMENT not in keys(items)
    assert "拘留通知书" in titles(items)


def test_applying_for_a_child_brings_guardian_id_and_proof_of_guardianship():
    facts = {"matter_type": "family_support", "age": 9}
    items = items_for(facts, applying_for="other", guardian={"name": "李梅", "relation": "mother"})
    assert keys(items)[:3] == ["identity", "guardian_identity", "guardianship_proof_child"]
    proof = items[2]
    assert "户口簿" in proof.detail and "出生" in proof.detail
    assert proof.citation == "《法律援助法》第四十条"


def test_deadline_within_seven_days_asks_for_the_notice():
    facts = {"matter_type": "labor_wages", "migrant_worker": True, "days_to_deadline": 3}
    item = next(i for i in items_for(facts) if i.key == "deadline_document")
    assert "传票" in item.detail
    assert item.citation == "《法律援助法》第四十四条第（一）项"
    later = {"matter_type": "labor_wages", "migrant_worker": True, "days_to_deadline": 30}
    assert "deadline_document" not in keys(items_for(later))


def test_every_matter_type_has_an_evidence_list():
    for matter in MATTER_TYPES:
        evidence = evidence_items(matter)
        assert evidence, matter
        assert all(item.title and item.detail for item in evidence), matter


@pytest.mark.skipif(not SPEC.is_file(), reason="shared spec not present")
def test_matter_names_and_keys_follow_the_spec():
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    assert set(spec) == set(MATTER_TYPES)
    for matter, entry in spec.items():
        assert matter_name(matter) == entry["zh"]


@pytest.mark.parametrize("region", ["national", "shanxi", "baotou"])
def test_every_item_is_complete_and_every_proof_exists(region):
    data = load_region("materials", region)
    for name, entry in data["items"].items():
        assert entry["title"] and entry["detail"], name
        assert "citation" in entry, name
    for rule, proofs in data["exemption_proofs"].items():
        for proof in proofs:
            assert proof in data["items"], (rule, proof)


@pytest.mark.parametrize("region", ["national", "shanxi", "baotou"])
def test_exemption_proofs_name_real_rules(region):
    rules = load_region("eligibility", region)["rules"]
    for rule in load_region("materials", region)["exemption_proofs"]:
        assert rule in rules, rule


@pytest.mark.skipif(not POLICY_DOCS.is_dir(), reason="policy documents not present")
def test_provincial_citations_come_from_the_policy_documents():
    documents = "".join(p.read_text(encoding="utf-8") for p in POLICY_DOCS.iterdir())
    compact = "".join(documents.split())
    for region in ("national", "shanxi", "baotou"):
        for entry in load_region("materials", region)["items"].values():
            citation = entry.get("citation") or ""
            for number in ("35号", "57号"):
                if number in citation:
                    assert f"〔2022〕{number}" in compact or f"〔2022〕{number[:2]}" in compact
            if "包头" in citation:
                assert "进一步加强残疾人法律服务工作的措施" in compact


def test_unknown_region_falls_back_to_national():
    facts = {"matter_type": "labor_wages", "migrant_worker": True}
    national = checklist("labor_wages", facts, assess(facts), "national")
    assert checklist("labor_wages", facts, assess(facts), "no_such_region") == national
