"""The handoff rules as tables: who is served first, which lawyer takes a case.

Pure functions (legal_aid/handoff/matching.py) over the real policy files
(policy/handoff/*.yml); no database.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from legal_aid import policy_data
from legal_aid.eligibility import ruleset
from legal_aid.handoff import matching, policy
from legal_aid.handoff.matching import (
    ALL_BUSY,
    ASSIGNED,
    NO_QUALIFIED_LAWYER,
    NOBODY_ON_DUTY,
    REQUESTED_AMBIGUOUS,
    REQUESTED_ASSIGNED,
    REQUESTED_BUSY,
    REQUESTED_NOT_QUALIFIED,
    REQUESTED_OFF_DUTY,
    REQUESTED_UNKNOWN,
    Case,
    LawyerProfile,
    Shift,
    match,
    priority,
)
from legal_aid.policy_data import PolicyDataError

POLICY_DOCS = Path("/work/shared/policy-docs")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing

WANG = LawyerProfile(1, "王丽", years_of_practice=2, criminal_practice_years=0,
                     specialities=frozenset({"labor_wages"}))  # fmt: skip
LI = LawyerProfile(2, "李强", years_of_practice=5, criminal_practice_years=1,
                   disability_experience=True)  # fmt: skip
ZHAO = LawyerProfile(3, "赵敏", years_of_practice=8, criminal_practice_years=6,
                     specialities=frozenset({"criminal_defense"}))  # fmt: skip
CHEN = LawyerProfile(4, "陈静", years_of_practice=4, criminal_practice_years=0,
                     sign_language=True, languages=frozenset({"zh", "mn"}))  # fmt: skip
RETIRED = LawyerProfile(5, "周退", years_of_practice=30, criminal_practice_years=20, active=False)
ROSTER = (WANG, LI, ZHAO, CHEN, RETIRED)
BY_ID = {lawyer.id: lawyer for lawyer in ROSTER}

BLIND_IN_BAOTOU = {"region": "baotou", "age": 52, "disability_categories": ["visual"]}
CAPITAL = {"region": "national", "matter_type": "criminal_defense",
           "criminal_role": "suspect_or_defendant", "may_face_life_or_death_sentence": True}  # fmt: skip


def on_duty(*lawyers: LawyerProfile) -> list[Shift]:
    """Those given are on duty now; everyone on the roster has a shift tomorrow,
    an hour apart in roster order, so each one's next shift is predictable."""
    shifts = [Shift(x.id, NOW - timedelta(hours=1), NOW + timedelta(hours=3)) for x in lawyers]
    tomorrow = NOW + timedelta(hours=22)
    for offset, lawyer in enumerate(ROSTER):
        start = tomorrow + timedelta(hours=offset)
        shifts.append(Shift(lawyer.id, start, start + timedelta(hours=4)))
    return shifts


def next_shift_of(lawyer: LawyerProfile) -> datetime:
    return NOW + timedelta(hours=22 + ROSTER.index(lawyer))


# (id, facts, matter, needs, on duty, busy, requested, → reason, lawyer, next shift of,
#  citations that must be among the notes)
MATCH_TABLE = [
    ("baotou disability case: 5-year lawyer with disability experience, not the 2-year one",
     BLIND_IN_BAOTOU, "labor_wages", (), (WANG, LI), (), None,
     ASSIGNED, LI, None, ()),
    ("the same person outside Baotou: no such rule, the labour specialist first",
     {**BLIND_IN_BAOTOU, "region": "national"}, "labor_wages", (), (WANG, LI), (), None,
     ASSIGNED, WANG, None, ()),
    ("baotou disability case, only the 2-year lawyer on duty: served, and told why",
     BLIND_IN_BAOTOU, "labor_wages", (), (WANG,), (), None,
     ASSIGNED, WANG, None, ("包头市《进一步加强残疾人法律服务工作的措施》二（二）",)),
    ("capital case: three years of criminal practice (art. 26)",
     CAPITAL, "criminal_defense", (), (LI, ZHAO, WANG), (), None,
     ASSIGNED, ZHAO, None, ("《法律援助法》第二十六条",)),
    ("capital case, only unqualified lawyers on duty: the qualified one's next shift",
     CAPITAL, "criminal_defense", (), (LI, WANG), (), None,
     NOBODY_ON_DUTY, None, ZHAO, ("《法律援助法》第二十六条",)),
    ("sign language needed: the lawyer who signs",
     {"region": "national", "disability_categories": ["hearing"]}, "labor_wages",
     ("sign_language",), (LI, CHEN), (), None,
     ASSIGNED, CHEN, None, ()),
    ("nobody on duty: when the next shift starts",
     {"region": "national"}, "labor_wages", (), (), (), None,
     NOBODY_ON_DUTY, None, WANG, ()),
    ("everyone on duty is busy: a queue position",
     {"region": "national"}, "labor_wages", (), (WANG, LI), (1, 2), None,
     ALL_BUSY, None, None, ()),
    ("named lawyer on duty and free: that lawyer (spelt with a title and a space)",
     {"region": "national"}, "labor_wages", (), (WANG, LI), (), "李 强律师",
     REQUESTED_ASSIGNED, LI, None, ()),
    ("named lawyer off duty: honest, with the next shift and the alternatives",
     {"region": "national"}, "labor_wages", (), (WANG,), (), "赵敏",
     REQUESTED_OFF_DUTY, None, ZHAO, ()),
    ("named lawyer not qualified for a capital case: why, and who can",
     CAPITAL, "criminal_defense", (), (LI, ZHAO), (), "李强",
     REQUESTED_NOT_QUALIFIED, None, None, ("《法律援助法》第二十六条",)),
    ("named lawyer busy", {"region": "national"}, "labor_wages", (), (WANG, LI), (2,), "李强",
     REQUESTED_BUSY, None, None, ()),
    ("named by surname only, as people do: the one lawyer with it",
     {"region": "national"}, "labor_wages", (), (WANG, LI), (), "小李律师",
     REQUESTED_ASSIGNED, LI, None, ()),
    ("named by a surname nobody on the roster has",
     {"region": "national"}, "labor_wages", (), (WANG, LI), (), "孙律师",
     REQUESTED_UNKNOWN, None, None, ()),
    ("named lawyer not on the roster (or no longer active)",
     {"region": "national"}, "labor_wages", (), (WANG,), (), "周退",
     REQUESTED_UNKNOWN, None, None, ()),
    ("in Baotou the person's own choice beats the preference for experience",
     BLIND_IN_BAOTOU, "labor_wages", (), (WANG, LI), (), "王丽",
     REQUESTED_ASSIGNED, WANG, None, ("包头市《进一步加强残疾人法律服务工作的措施》二（二）",)),
    ("capital case and nobody qualified on the roster at all",
     CAPITAL, "criminal_defense", (), (WANG, LI), (), None,
     NO_QUALIFIED_LAWYER, None, None, ("《法律援助法》第二十六条",)),
]  # fmt: skip


@pytest.mark.parametrize(
    "facts, matter, needs, duty, busy, requested, reason, lawyer, next_of, citations",
    [row[1:] for row in MATCH_TABLE],
    ids=[row[0] for row in MATCH_TABLE],
)
def test_match(facts, matter, needs, duty, busy, requested, reason, lawyer, next_of, citations):
    roster = ROSTER if reason != NO_QUALIFIED_LAWYER else (WANG, LI, CHEN)
    case = Case(facts=facts, matter_type=matter, accessibility_needs=frozenset(needs))
    result = match(case, roster, on_duty(*duty), NOW, requested, busy=busy, queue_ahead=2)
    assert result.reason == reason
    assert result.lawyer == lawyer
    assert result.next_shift_at == (next_shift_of(next_of) if next_of else None)
    noted = [note.citation for note in result.notes]
    for citation in citations:
        assert any(citation in note for note in noted), noted
    if reason.startswith("requested_") and reason != REQUESTED_ASSIGNED:
        # The honest answer comes with who can take it now (never the one refused).
        assert all(alt.id not in busy and alt in duty for alt in result.alternatives)
        assert all(alt.display_name not in (requested or "") for alt in result.alternatives)


def test_a_surname_two_lawyers_share_asks_which_one():
    wang_ming = LawyerProfile(6, "王明", years_of_practice=6, criminal_practice_years=0)
    case = Case(facts={"region": "national"}, matter_type="labor_wages")
    roster = (*ROSTER, wang_ming)
    result = match(case, roster, on_duty(WANG, wang_ming), NOW, "王律师", queue_ahead=0)
    assert result.reason == REQUESTED_AMBIGUOUS and result.lawyer is None
    assert {lawyer.display_name for lawyer in result.namesakes} == {"王丽", "王明"}
    assert result.alternatives, "who is free now is still offered"


def test_requested_not_qualified_offers_the_qualified_lawyer():
    case = Case(facts=CAPITAL, matter_type="criminal_defense")
    result = match(case, ROSTER, on_duty(LI, ZHAO), NOW, "李强")
    assert result.alternatives == (ZHAO,)


def test_all_busy_gives_position_and_an_estimate():
    case = Case(facts={"region": "national"}, matter_type="labor_wages")
    result = match(case, ROSTER, on_duty(WANG, LI), NOW, busy={1, 2}, queue_ahead=2)
    assert (result.queue_position, result.expected_wait_minutes) == (3, 23)  # 3 × 15 / 2


def test_language_preference():
    case = Case(facts={"region": "baotou"}, matter_type="family_support", language="mn")
    assert match(case, ROSTER, on_duty(LI, CHEN), NOW).lawyer == CHEN


def test_eligible_lawyers_excludes_the_unqualified_and_inactive():
    case = Case(facts=CAPITAL, matter_type="criminal_defense")
    assert matching.eligible_lawyers(case, ROSTER) == [ZHAO]
    baotou = Case(facts=BLIND_IN_BAOTOU, matter_type="labor_wages")
    assert matching.eligible_lawyers(baotou, ROSTER)[0] == LI
    assert RETIRED not in matching.eligible_lawyers(baotou, ROSTER)


# Priority ------------------------------------------------------------------------------

# (id, facts, urgency given, → urgent, groups recognised)
PRIORITY_TABLE = [
    ("ordinary", {"region": "national", "age": 35, "gender": "male"}, None, False, ()),
    ("elderly: 60 and over", {"age": 60}, None, False, ("elderly",)),
    ("59 is not elderly", {"age": 59}, None, False, ()),
    ("unknown age is not a guess", {}, None, False, ()),
    ("minor", {"age": 15, "gender": "male"}, None, False, ("minors",)),
    ("woman", {"age": 30, "gender": "female"}, None, False, ("women",)),
    ("disabled by category", {"disability_categories": ["physical"]}, None, False, ("disabled",)),
    ("disabled by certificate grade", {"disability_grade": 2}, None, False, ("disabled",)),
    ("deadline in 3 days: advance-aid urgency", {"days_to_deadline": 3}, None, True, ()),
    ("deadline in 7 days is not", {"days_to_deadline": 7}, None, False, ()),
    ("no advance aid outside legal aid's matters, so no urgency",
     {"matter_type": "contract_debt", "days_to_deadline": 3}, None, False, ()),
    ("urgent preservation", {"needs_urgent_preservation": True}, None, True, ()),
    ("urgency from the assessment", {}, True, True, ()),
    ("an elderly disabled woman: three groups",
     {"age": 72, "gender": "female", "disability_categories": ["visual"]}, None, False,
     ("disabled", "women", "elderly")),
]  # fmt: skip


@pytest.mark.parametrize(
    "facts, urgency, urgent, groups",
    [row[1:] for row in PRIORITY_TABLE],
    ids=[row[0] for row in PRIORITY_TABLE],
)
def test_priority(facts, urgency, urgent, groups):
    result = priority(facts, urgency)
    keys = [reason.key for reason in result.reasons]
    assert result.urgent is urgent
    assert keys == (["urgency"] if urgent else []) + list(groups)
    assert result.score == (1000 if urgent else 0) + 10 * len(groups)
    assert all(reason.citation and reason.zh for reason in result.reasons)


def test_regional_citations():
    shanxi = {r.key: r.citation for r in priority({"region": "shanxi", "age": 15,
              "gender": "female", "disability_categories": ["visual"]}).reasons}  # fmt: skip
    assert shanxi == {
        "disabled": "晋司通〔2022〕35号 四",
        "women": "晋司通〔2022〕57号 二（五）",
        "minors": "晋司通〔2022〕57号 二（五）",
    }
    baotou = priority({"region": "baotou", "disability_grade": 1}).reasons
    assert baotou[0].citation == "包头市《进一步加强残疾人法律服务工作的措施》二（一）"


def test_queue_order_urgent_disabled_then_elderly_then_ordinary_ties_by_wait():
    t0 = NOW - timedelta(minutes=30)
    tickets = [  # (name, facts, urgency, asked at)
        ("ordinary, waited longest", {"age": 40, "gender": "male"}, None, t0),
        ("elderly", {"age": 75, "gender": "male"}, None, t0 + timedelta(minutes=5)),
        ("ordinary, later", {"age": 41, "gender": "male"}, None, t0 + timedelta(minutes=6)),
        ("disabled and urgent", {"age": 45, "gender": "male", "disability_grade": 3,
                                 "days_to_deadline": 2}, None, t0 + timedelta(minutes=20)),
        ("elderly, later", {"age": 66, "gender": "male"}, None, t0 + timedelta(minutes=21)),
    ]  # fmt: skip
    ordered = sorted(
        tickets,
        key=lambda t: matching.queue_order_key(priority(t[1], t[2]).score, t[3], 0),
    )
    assert [t[0] for t in ordered] == [
        "disabled and urgent",
        "elderly",
        "elderly, later",
        "ordinary, waited longest",
        "ordinary, later",
    ]


# The policy files ----------------------------------------------------------------------


def _citations(region: str) -> list[str]:
    loaded = policy.load_policy(region)
    return [
        loaded.urgency.citation,
        loaded.named_lawyer.citation,
        *(c.citation for c in loaded.categories),
        *(r.citation for r in loaded.lawyer_rules),
    ]


@pytest.mark.parametrize("region", ["national", "shanxi", "baotou"])
def test_every_citation_names_a_document_we_hold(region):
    """Each citation is the Legal Aid Law (an article the key-articles file lists),
    a document in policy-docs (found by its number or title), or says plainly that
    it is the service's own rule."""
    key_articles = (POLICY_DOCS / "legal-aid-law-key-articles.md").read_text(encoding="utf-8")
    documents = "".join(p.read_text(encoding="utf-8") for p in POLICY_DOCS.glob("*.txt"))
    chinese_numbers = {"二十六": 26, "四十四": 44}
    for citation in _citations(region):
        for number in re.findall(r"《法律援助法》第(.+?)条", citation):
            assert f"第{chinese_numbers[number]}条" in key_articles, citation
        for number in re.findall(r"晋司通〔2022〕(\d+)号", citation):
            assert f"〔2022〕{number}" in documents.replace(" ", ""), citation
        for title in re.findall(r"《([^》]+)》", citation):
            if title not in ("法律援助法", "老年人权益保障法"):
                assert title in documents, citation
        assert re.search(r"《|晋司通|法援助手服务规则", citation), citation


def test_the_queue_asks_the_assessment_whether_aid_may_start_at_once():
    """Art. 44's lines are the eligibility rules'; the queue only refers to them."""
    for region in ("national", "shanxi", "baotou"):
        assert policy.load_policy(region).urgency_when == {"assessment": "advance_aid"}


def _break_urgency(data: dict) -> None:
    data["urgency"] = {**data.get("urgency", {}), "when": {"assessment": "decision"}}


def _break_lawyer_rule(data: dict) -> None:
    data["lawyer_rules"]["disability_case"]["requires"] = {"years_min": 3}


@pytest.mark.parametrize(
    "change, says",
    [
        (_break_lawyer_rule, r"lawyer_rules\.disability_case.*years_min"),
        (_break_urgency, r"urgency\.when.*assessment.*decision"),
    ],
)
def test_a_broken_policy_file_is_refused_naming_the_entry(tmp_path, monkeypatch, change, says):
    copy = tmp_path / "policy"
    shutil.copytree(policy_data.POLICY_DIR, copy)
    broken = yaml.safe_load((copy / "handoff" / "baotou.yml").read_text(encoding="utf-8"))
    change(broken)
    (copy / "handoff" / "baotou.yml").write_text(yaml.safe_dump(broken, allow_unicode=True))
    monkeypatch.setattr(policy_data, "POLICY_DIR", copy)
    for clear in (policy.clear_cache, ruleset.clear_cache):
        clear()
    try:
        with pytest.raises(PolicyDataError, match=says):
            policy.load_policy("baotou")
    finally:
        monkeypatch.undo()
        for clear in (policy.clear_cache, ruleset.clear_cache):
            clear()
