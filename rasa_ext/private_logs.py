"""Nothing a person said in the Rasa server's structured logs.

Rasa 3.6 logs some events with what the person wrote or what the dialogue
holds: a turn that fails is logged as `rest.message.received.failure` with the
message's `text`, and its debug events carry slots, entities and trackers. Rasa
passes those fields through an anonymisation hook that only Rasa Pro fills, so
open-source Rasa writes them as they are: names and ID numbers in var/log.

Here every value under those keys is replaced by its kind and size before any
log line is written (the event's name, level and traceback stay, which is what
an operator needs to find the failure).
"""

from __future__ import annotations

from typing import Any

from rasa.utils import log_utils

# The fields of Rasa's structured events that hold what people said or the
# dialogue's state (the keys Rasa itself marks for anonymisation).
PERSONAL_KEYS = frozenset(
    {
        "text", "response_text", "user_text", "slot_values", "parse_data_text",
        "parse_data_entities", "prediction_events", "tracker_latest_message",
        "prefilled_slots", "message", "response", "slot_candidates", "rasa_event",
        "rasa_events", "tracker_states", "current_states", "old_states", "successes",
        "current_entity", "next_entity", "states", "entity", "token_text",
        "user_message", "json_message",
    }
)  # fmt: skip


def withheld(value: Any) -> str:
    size = len(value) if hasattr(value, "__len__") else None
    return f"<withheld {type(value).__name__}{'' if size is None else f' of {size}'}>"


def withhold_personal(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: the personal fields of an event, withheld."""
    for key in PERSONAL_KEYS & event_dict.keys():
        event_dict[key] = withheld(event_dict[key])
    return event_dict


def install() -> None:
    """Before Rasa configures its logging: its first processor becomes this one."""
    log_utils._anonymizer = withhold_personal  # type: ignore[assignment]
