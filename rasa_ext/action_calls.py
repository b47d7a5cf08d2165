"""Checking the action server's answers once per schema, not once per answer.

Rasa 3.6 checks every answer of the action server against its response schema
with `jsonschema.validate`, which first checks the *schema itself* against the
JSON Schema meta-schema: 18 of the 20 ms a check costs, on every custom action,
two or three times a turn (measured by rasa_ext/timings.py: `…/validate_response`).
The schema never changes, so here it is checked once and its validator kept;
an answer is still checked exactly as Rasa does (the same validator class, the
best-matching error, the same message added to it).
"""

from __future__ import annotations

from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_VALIDATOR: Validator | None = None


def _validator() -> Validator:
    global _VALIDATOR
    if _VALIDATOR is None:
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _VALIDATOR = cls(schema)
    return _VALIDATOR


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result, with the schema checked once."""
    error = best_match(_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        "For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
