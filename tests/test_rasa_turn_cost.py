"""The project's changes to how Rasa runs a turn (rasa_ext/server.py): the
action server's answers are still checked as Rasa checks them, stored events
read back as Rasa reads them, and the turn timings name each stage and read
back as written."""

from __future__ import annotations

import copy

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

from rasa_ext import action_calls, event_types, slot_copies, timings
from scripts.model_cache import PROJECT_DIR

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_well_formed_answer_of_the_action_server_is_accepted():
    answer = {
        "events": [{"event": "slot", "name": "region", "value": "山西省", "timestamp": None}],
        "responses": [{"response": "utter_greet"}],
    }
    action = RemoteAction("action_x", None)
    assert action_calls.validate_action_result(action, answer) is True


@pytest.mark.parametrize(
    "answer",
    [
        {"events": [{"event": "no_such_event"}]},
        {"events": "not a list"},
        {"events": [], "responses": "not a list"},
    ],
)
def test_a_malformed_answer_is_refused_as_rasa_refuses_it(answer):
    action = RemoteAction("action_x", None)
    with pytest.raises(ValidationError) as ours:
        action_calls.validate_action_result(action, answer)
    with pytest.raises(ValidationError) as rasas:
        RemoteAction._validate_action_result(action, answer)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


EVENT_NAMES = sorted({cls.type_name for cls in all_subclasses(Event)})


@pytest.mark.parametrize("type_name", EVENT_NAMES)
def test_every_stored_event_type_reads_back_as_the_class_rasa_finds(type_name):
    rasas = Event.resolve_by_type(type_name)
    assert event_types.resolve_by_type(type_name) is rasas
    assert event_types.resolve_by_type(type_name) is rasas  # remembered the same


def test_an_unknown_event_type_is_refused_or_defaulted_as_rasa_does():
    with pytest.raises(ValueError, match="Unknown event name"):
        event_types.resolve_by_type("no_such_event")
    assert event_types.resolve_by_type("no_such_event", default=Event) is Event
    assert event_types.resolve_by_type("topic") is None
    # A default given once is not remembered as the type's class.
    with pytest.raises(ValueError):
        event_types.resolve_by_type("no_such_event")


def test_a_slot_copied_without_pickling_is_the_copy_rasa_makes():
    domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    for slot in domain.slots:
        slot.value = ["a list", "shared as copy.copy shares it"]
        rasas, ours = copy.copy(slot), slot_copies.shallow_copy(slot)
        assert type(ours) is type(rasas)
        assert ours is not slot
        assert vars(ours) == vars(rasas)
        assert ours.value is slot.value
        ours.value = "changed"
        assert slot.value != "changed"


def test_stages_inside_a_turn_are_named_after_the_stage_they_are_in():
    record: dict[str, float] = {}
    token = timings._RECORD.set(record)
    try:
        with timings.stage("nlu"):
            with timings.stage("DIETClassifier5"):
                pass
        with timings.stage("tracker_save"), timings.stage("encrypt"):
            pass
        with timings.stage("tracker_save"), timings.stage("encrypt"):
            pass  # a stage run twice in a turn is summed
    finally:
        timings._RECORD.reset(token)
    assert set(record) == {"nlu", "nlu/DIETClassifier5", "tracker_save", "tracker_save/encrypt"}
    line = f"2026-12-06 INFO rasa_ext.timings - {timings.LOG_PREFIX} " + timings.format_record(
        record
    )
    assert timings.parse_line(line) == pytest.approx(record, abs=0.01)


def test_outside_a_turn_nothing_is_recorded():
    with timings.stage("nlu"):
        pass
    assert timings._RECORD.get() is None
    assert timings.parse_line("rasa.core.processor - some other line") is None


def test_rasa_logs_a_failed_turn_without_what_the_person_wrote():
    import structlog
    from rasa.utils import log_utils

    from rasa_ext import private_logs

    saved = log_utils._anonymizer
    private_logs.install()
    try:
        log_utils.configure_structlog()
        first = structlog.get_config()["processors"][0]
        event = first(None, "error", {"event": "rest.message.received.failure",
                                      "text": "我叫张三，身份证号110101199003077777"})  # fmt: skip
    finally:
        log_utils._anonymizer = saved
    assert event["event"] == "rest.message.received.failure"
    assert "张三" not in str(event) and "110101" not in str(event)
    assert event["text"] == "<withheld str of 27>"  # its kind and length, for the operator
