"""The matter-type extractor decides only when it is likely right, and otherwise
names the likely matters for the question back (issue 21)."""

from __future__ import annotations

from pathlib import Path

import joblib
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.matter_model import (
    ASK,
    DECIDED,
    NONE,
    OPEN,
    MatterModel,
    near_duplicate_groups,
    unique_terms,
)
from rasa_ext.matter_type import MatterTypeExtractor
from scripts.model_cache import PROJECT_DIR

CONFIG = {"intent_matter_types": {"criminal_defense": "criminal_defense"}}


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> MatterTypeExtractor:
    storage = LocalModelStorage(Path(tmp_path_factory.mktemp("storage")))
    component = MatterTypeExtractor(CONFIG, storage, Resource("matter_type"))
    nlu = PROJECT_DIR / "nlu_data"
    component.train(load_data(str(nlu / "nlu")).merge(load_data(str(nlu / "problems"))))
    return component


@pytest.fixture(scope="module")
def model(extractor: MatterTypeExtractor) -> MatterModel:
    return extractor._classifier


def parse(extractor: MatterTypeExtractor, text: str, intent: str = "describe_problem") -> Message:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.9}})
    extractor.process([message])
    return message


def matter_entity(message: Message) -> dict | None:
    return next((e for e in message.get("entities") or [] if e["entity"] == "matter_type"), None)


def test_a_clear_story_is_decided(extractor):
    entity = matter_entity(parse(extractor, "老板拖了我三个月工资不给 打电话也不接"))
    assert entity["value"] == "labor_wages"
    assert "choices" not in entity


def test_every_problem_gets_a_matter_type_entity_with_the_ranking(extractor):
    message = parse(extractor, "对方一直拖着不给钱 我该怎么办")
    entity = matter_entity(message)
    assert entity is not None
    if entity["value"] == "other":
        assert len(entity["choices"]) in (0, 2, 3)
    ranking = message.get("matter_type_ranking")
    assert 1 <= len(ranking) <= 5
    assert [r["confidence"] for r in ranking] == sorted(
        (r["confidence"] for r in ranking), reverse=True
    )


def test_a_thanks_or_a_greeting_carries_no_matter(extractor):
    assert matter_entity(parse(extractor, "谢谢你", intent="thank")) is None
    assert matter_entity(parse(extractor, "你好", intent="greet")) is None
    assert matter_entity(parse(extractor, "法律援助是什么", intent="what_is_legal_aid")) is None


def test_a_problem_without_details_asks_what_happened(model):
    assert model.decide("我有个事想咨询一下", problem=True).kind == OPEN
    assert model.decide("我有个事想咨询一下", problem=False).kind == NONE


def test_an_uncertain_problem_offers_two_or_three_matters(model):
    decision = model.decide("他一直欠着不还 怎么办", problem=True)
    if decision.kind == ASK:
        assert 2 <= len(decision.choices) <= 3
    else:
        assert decision.kind == DECIDED


def test_two_problems_in_one_message_are_both_named(extractor):
    text = "老板拖欠了我半年工资一直不给。还有上个月在车间干活手被机器轧断了两根手指"
    entity = matter_entity(parse(extractor, text))
    assert entity["parts"] is True
    assert set(entity["choices"]) == {"labor_wages", "work_injury"}
    # A decision, when there is one, stays the value (the slot), and comes first.
    assert entity["value"] in ("other", entity["choices"][0])


def test_a_long_story_about_one_problem_is_not_cut_in_two(model):
    text = "2023年12月8号晚上我骑电动车下班 在路口被一辆闯红灯的小轿车撞了 左腿骨折住院二十天"
    assert model.parts(text) == []


def test_decisions_are_calibrated_on_out_of_fold_scores(model):
    calibration = model.calibration
    assert 0.3 < calibration.decide_at < 1.0
    assert 0.3 < calibration.decide_at_problem < 1.0
    assert calibration.temperature > 0


def test_the_model_survives_a_round_trip_through_joblib(model, tmp_path):
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    text = "单位不给我申请工伤认定 我自己能申请吗"
    assert loaded.decide(text, problem=True) == model.decide(text, problem=True)


def test_near_duplicates_share_a_fold():
    groups = near_duplicate_groups(
        ["公司拖欠工资三个月怎么办", "公司托欠工资三个月怎么办", "邻居家的狗咬了我"]
    )
    assert groups[0] == groups[1] != groups[2]


def test_a_term_claimed_by_two_matters_counts_for_neither():
    assert unique_terms({"a": ["看守所", "辩护"], "b": ["看守所", "国家赔偿"]}) == {
        "a": ["辩护"],
        "b": ["国家赔偿"],
    }
