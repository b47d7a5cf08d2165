"""Finding an event's class by its type name once per name, not once per event.

Rasa 3.6 turns every stored or received event back into an object by walking
all subclasses of Event (`all_subclasses`, with an `inspect.isabstract` check
on each) until one has the event's type name: about 0.1 ms per event. A turn
rebuilds the whole session from the tracker store this way, so loading a
75-event session spent 7 of its 11 ms there. The classes do not
change while the server runs: here each name is looked up the Rasa way once,
and its class kept.
"""

from __future__ import annotations

from rasa.shared.core.events import Event

_RASA_RESOLVE = Event.resolve_by_type
_FOUND: dict[str, type[Event]] = {}


def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Event.resolve_by_type, remembering each class it finds."""
    found = _FOUND.get(type_name)
    if found is not None:
        return found
    cls = _RASA_RESOLVE(type_name, default)
    # Only a match is kept: a default, or None for "topic", is the caller's answer.
    if cls is not None and getattr(cls, "type_name", None) == type_name:
        _FOUND[type_name] = cls
    return cls


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign,assignment]
