"""The intent ensemble corrects DIET's lean towards describe_problem, and the
danger override and the fallback still have the last word."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import requests
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.intent_ensemble import IntentEnsemble
from scripts.launcher import Stack
from scripts.model_cache import PROJECT_DIR

# Not in the training data nor in tests/nlu_holdout.
CLOSING_WITH_EXTRA_WORDS = "好的 都清楚了 那我先去做饭了 拜拜"


def parse(stack: Stack, text: str) -> dict:
    response = requests.post(stack.rasa_api("/model/parse"), json={"text": text}, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory) -> IntentEnsemble:
    storage = LocalModelStorage(Path(tmp_path_factory.mktemp("storage")))
    component = IntentEnsemble({}, storage, Resource("intent_ensemble"))
    component.train(load_data(str(PROJECT_DIR / "nlu_data" / "nlu")))
    return component


def message_ranked_by_diet(text: str, ranking: dict[str, float]) -> Message:
    diet = [{"name": name, "confidence": confidence} for name, confidence in ranking.items()]
    return Message(data={"text": text, "intent": diet[0], "intent_ranking": diet})


def test_a_closing_remark_diet_takes_for_a_problem_is_a_goodbye(ensemble):
    message = message_ranked_by_diet(
        CLOSING_WITH_EXTRA_WORDS, {"describe_problem": 0.8, "goodbye": 0.15, "thank": 0.05}
    )
    ensemble.process([message])
    assert message.get("intent")["name"] == "goodbye"
    ranking = message.get("intent_ranking")
    assert [r["confidence"] for r in ranking] == sorted(
        (r["confidence"] for r in ranking), reverse=True
    )
    assert len(ranking) <= 10


def test_a_confident_diet_keeps_its_intent_on_an_ordinary_problem(ensemble):
    text = "老板拖欠了我半年的工资 一直不给"
    message = message_ranked_by_diet(text, {"describe_problem": 0.95, "cost": 0.05})
    ensemble.process([message])
    assert message.get("intent")["name"] == "describe_problem"


def test_weights_laid_out_for_speed_rank_every_message_the_same(ensemble):
    # The component lays the weights out column by column (with_column_major_weights);
    # the ranking a person's message gets must be the one of scikit-learn's own layout.
    texts = ["老板拖欠了我半年的工资 一直不给", CLOSING_WITH_EXTRA_WORDS, "法援怎么申请"]
    fast = ensemble._classifier
    plain = copy.deepcopy(fast)
    plain.steps[-1][1].coef_ = np.ascontiguousarray(plain.steps[-1][1].coef_)
    assert fast.steps[-1][1].coef_.T.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(fast.predict_proba(texts), plain.predict_proba(texts))


def test_the_trained_model_understands_a_closing_remark_with_extra_words(stack):
    assert parse(stack, CLOSING_WITH_EXTRA_WORDS)["intent"]["name"] == "goodbye"


def test_a_danger_pattern_still_wins_after_the_ensemble(stack):
    result = parse(stack, "我老公正在打我 快来救我")
    assert result["intent"] == {"name": "report_danger", "confidence": 1.0}
    assert [r["name"] for r in result["intent_ranking"]] == ["report_danger"]
    assert any(e["entity"] == "danger" for e in result["entities"])
