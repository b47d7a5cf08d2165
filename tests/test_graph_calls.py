"""DIET and TED answer the same when their traced graphs are called directly
(rasa_ext/graph_calls.py), on the trained model, loaded in this process."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from rasa.core.agent import Agent
from rasa.utils.tensorflow.models import RasaModel

from rasa_ext import graph_calls
from scripts.model_cache import model_path

# Needs the trained model, as the running stack does.
pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MESSAGES = ["你好", "老板欠我工资三个月不给", "能申请法律援助吗", "山西太原", "没有", "谢谢"]


@pytest.fixture(scope="module")
def batches() -> list[tuple[RasaModel, tuple[np.ndarray, ...]]]:
    """Every (model, batch) the models predicted on in a short conversation."""
    seen: list[tuple[RasaModel, tuple[np.ndarray, ...]]] = []
    rasas = RasaModel._rasa_predict

    def recording(self: RasaModel, batch_in: tuple[np.ndarray, ...]) -> dict:
        seen.append((self, batch_in))
        return rasas(self, batch_in)

    RasaModel._rasa_predict = recording  # type: ignore[method-assign]
    try:
        agent = Agent.load(str(model_path()))
        for text in MESSAGES:
            asyncio.run(agent.handle_text(text, sender_id="graph-calls"))
    finally:
        RasaModel._rasa_predict = rasas  # type: ignore[method-assign]
    return seen


def assert_same_outputs(ours: dict, rasas: dict) -> None:
    assert ours.keys() == rasas.keys()
    for key, value in rasas.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(ours[key], value, rtol=1e-5, atol=1e-6)
        else:
            assert type(ours[key]) is type(value)


def test_both_models_were_asked(batches):
    names = {type(model).__name__ for model, _ in batches}
    assert {"DIET", "TED"} <= names


def test_the_direct_call_gives_rasas_outputs(batches):
    for model, batch_in in batches:
        assert_same_outputs(
            graph_calls.rasa_predict(model, batch_in), RasaModel._rasa_predict(model, batch_in)
        )


def test_a_batch_the_graph_was_not_traced_for_goes_the_rasa_way(batches):
    # tf.function casts inputs of another dtype to its signature's; the graph
    # called directly would not, so such a batch takes Rasa's own call.
    model, batch_in = next((m, b) for m, b in batches if type(m).__name__ == "TED")
    graph_calls.rasa_predict(model, batch_in)  # the graph is kept from here on
    as_doubles = tuple(np.asarray(a, dtype=np.float64) for a in batch_in)
    assert graph_calls._GRAPHS[model].fits(batch_in)
    assert not graph_calls._GRAPHS[model].fits(as_doubles)
    assert_same_outputs(
        graph_calls.rasa_predict(model, as_doubles), RasaModel._rasa_predict(model, batch_in)
    )
