"""Where a Rasa turn's time goes (issue 23), recorded by the running server.

    TURN_TIMINGS=1 ./dev run        (rasa_ext/server.py installs the timings)

Off by default: it wraps a few of Rasa's own methods, which production should
not carry without a reason. When on, each turn of the REST channel logs one
line on the `rasa_ext.timings` logger:

    rasa turn ms total=42.70 tracker_load/database/decrypt=0.22 tracker_load=4.00
        nlu/DIETClassifier5=5.50 nlu=11.20 extract_slots/action/…/http=3.20 …
        policies/TEDPolicy2=10.70 policies=15.20 action/action_hotline_info=0.50 …
        tracker_save/database/encrypt=0.16 tracker_save=6.20

Stage names only (components, policies, action names) and milliseconds: no text,
no conversation id. A stage inside another is named after it ("nlu/…"); the
same stage run twice in a turn is summed. `bench/turn_latency.py` reads these
lines and prints the breakdown.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

logger = logging.getLogger(__name__)

LOG_PREFIX = "rasa turn ms"
ENVIRONMENT_SWITCH = "TURN_TIMINGS"

# The stages of the turn under way (milliseconds by name); None outside a turn.
_RECORD: ContextVar[dict[str, float] | None] = ContextVar("turn_timings", default=None)
# The stage the code is in now, so that a stage inside it is named after it.
_WITHIN: ContextVar[str] = ContextVar("turn_stage", default="")


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Adds the time of the block to the turn's record under `name`."""
    record = _RECORD.get()
    if record is None:
        yield
        return
    parent = _WITHIN.get()
    key = f"{parent}/{name}" if parent else name
    token = _WITHIN.set(key)
    started = time.perf_counter()
    try:
        yield
    finally:
        record[key] = record.get(key, 0.0) + (time.perf_counter() - started) * 1000
        _WITHIN.reset(token)


def format_record(record: dict[str, float]) -> str:
    return " ".join(f"{name.replace(' ', '_')}={ms:.2f}" for name, ms in record.items())


def parse_line(line: str) -> dict[str, float] | None:
    """The stages of one logged turn (the bench's reader of `format_record`)."""
    at = line.find(LOG_PREFIX)
    if at < 0:
        return None
    stages = {}
    for pair in line[at + len(LOG_PREFIX) :].split():
        name, _, value = pair.partition("=")
        try:
            stages[name] = float(value)
        except ValueError:
            continue
    return stages or None


def _wrap(owner: Any, attribute: str, name_of: Callable[..., str]) -> None:
    """Times `owner.attribute` (a method, coroutine or not) as a stage."""
    original = getattr(owner, attribute)
    if getattr(original, "_timed", False):
        return  # installed twice (tests): time once

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            with stage(name_of(self, *args)):
                return await original(self, *args, **kwargs)

    else:

        @functools.wraps(original)
        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            with stage(name_of(self, *args)):
                return original(self, *args, **kwargs)

    timed._timed = True  # type: ignore[attr-defined]
    setattr(owner, attribute, timed)


def _wrap_turn(processor: Any) -> None:
    """MessageProcessor.handle_message, recording its stages and logging them."""
    original = processor.handle_message
    if getattr(original, "_timed", False):
        return

    @functools.wraps(original)
    async def timed_turn(self: Any, message: Any) -> Any:
        record: dict[str, float] = {}
        token = _RECORD.set(record)
        started = time.perf_counter()
        try:
            return await original(self, message)
        finally:
            _RECORD.reset(token)
            total = (time.perf_counter() - started) * 1000
            logger.info("%s %s", LOG_PREFIX, format_record({"total": total, **record}))

    timed_turn._timed = True  # type: ignore[attr-defined]
    processor.handle_message = timed_turn


def _named(name: str) -> Callable[..., str]:
    return lambda *_: name


def _graph_node(node: Any, *_: Any) -> str:
    # "run_JiebaTokenizer0" → "JiebaTokenizer0": the component and its place.
    name = str(getattr(node, "_node_name", "node"))
    return name.removeprefix("run_")


def _action(action: Any, *_: Any) -> str:
    return f"action/{action.name()}"


def install() -> None:
    """Wraps the methods a turn goes through; idempotent."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.engine.graph import GraphNode
    from rasa.utils.endpoints import EndpointConfig

    from rasa_ext.figures_broker import FiguresEventBroker
    from rasa_ext.tracker_store import RollingSessionTrackerStore
    from store.crypto import KeyRing

    _wrap_turn(MessageProcessor)
    _wrap(MessageProcessor, "fetch_tracker_and_update_session", _named("tracker_load"))
    _wrap(MessageProcessor, "parse_message", _named("nlu"))
    _wrap(MessageProcessor, "run_action_extract_slots", _named("extract_slots"))
    _wrap(MessageProcessor, "_predict_next_with_tracker", _named("policies"))
    _wrap(MessageProcessor, "save_tracker", _named("tracker_save"))
    _wrap(GraphNode, "__call__", _graph_node)
    _wrap(RemoteAction, "run", _action)
    _wrap(RemoteAction, "_action_call_format", _named("request_body"))
    _wrap(RemoteAction, "_validate_action_result", _named("validate_response"))
    _wrap(EndpointConfig, "request", _named("http"))
    _wrap(RollingSessionTrackerStore, "_retrieve", _named("database"))
    _wrap(RollingSessionTrackerStore, "_save_events", _named("database"))
    _wrap(KeyRing, "decrypt", _named("decrypt"))
    _wrap(KeyRing, "encrypt", _named("encrypt"))
    _wrap(KeyRing, "lookup_hash", _named("lookup_hash"))
    _wrap(FiguresEventBroker, "publish", _named("event_broker"))
