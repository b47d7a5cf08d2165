"""The conversation as the web chat shows it: lines, and the choices still open.

The page without JavaScript rebuilds it from Rasa's tracker on every turn, so
the gateway keeps nothing people said; the JavaScript page keeps the same
rules in chat.js (numbered choices, a button shown by its title).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from legal_aid.numbers import ascii_digits

USER, BOT = "user", "bot"

# "1", "１", "1." or "1。": a choice picked by its number, as the page and the
# spoken prompts ("说一，或者按一") number them.
_CHOICE_NUMBER = re.compile(r"^\s*([0-9０-９]{1,2})\s*[.。、]?\s*$")


@dataclass
class Line:
    speaker: str
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    # A file offered with the message (the filled-in application form).
    document: dict[str, str] | None = None
    # Who speaks when it is not the assistant: a lawyer during a handoff ("王明律师").
    who: str | None = None


def lines_from_events(events: list[dict[str, Any]]) -> list[Line]:
    """User and bot messages of a Rasa tracker, a pressed button shown by its title."""
    lines: list[Line] = []
    for event in events:
        if event.get("event") == "user":
            text = str(event.get("text") or "")
            lines.append(Line(USER, _title_of(text, open_choices(lines)) or text))
        elif event.get("event") == "bot":
            data = event.get("data") or {}
            buttons = [_button(b) for b in data.get("buttons") or [] if isinstance(b, dict)]
            _add_bot_line(
                lines,
                Line(BOT, str(event.get("text") or ""), buttons, _document(data.get("custom"))),
            )
    return lines


def lines_from_replies(replies: list[dict[str, Any]]) -> list[Line]:
    """Bot lines from replies in the REST channel's shape."""
    lines: list[Line] = []
    for r in replies:
        buttons = [_button(b) for b in r.get("buttons") or []]
        _add_bot_line(lines, Line(BOT, r.get("text") or "", buttons, _document(r.get("custom"))))
    return lines


def _add_bot_line(lines: list[Line], line: Line) -> None:
    """Rasa sends a message's attachment as a message of its own, after the text:
    it belongs with that text."""
    if line.document and not line.text and not line.buttons and lines and lines[-1].speaker == BOT:
        lines[-1].document = line.document
        return
    if not (line.text or line.buttons or line.document):
        return  # data for the page's script (a handoff's status), nothing to read
    lines.append(line)


def open_choices(lines: list[Line]) -> list[dict[str, str]]:
    """The buttons of the assistant's last turn, numbered 1, 2, … in this order."""
    choices: list[dict[str, str]] = []
    for line in reversed(lines):
        if line.speaker == USER:
            break
        choices = line.buttons + choices
    return choices


def choice_by_number(message: str, choices: list[dict[str, str]]) -> dict[str, str] | None:
    """The choice a message like "1" picks, or None when it is not a choice's number."""
    match = _CHOICE_NUMBER.match(message)
    if not match:
        return None
    number = int(ascii_digits(match.group(1)))
    return choices[number - 1] if 1 <= number <= len(choices) else None


def _title_of(payload: str, choices: list[dict[str, str]]) -> str | None:
    return next((c["title"] for c in choices if c["payload"] == payload), None)


def _button(button: dict[str, Any]) -> dict[str, str]:
    return {"title": str(button.get("title", "")), "payload": str(button.get("payload", ""))}


def _document(custom: Any) -> dict[str, str] | None:
    """The document a reply offers ({"title", "url", "large_print_url"}), if any."""
    document = custom.get("document") if isinstance(custom, dict) else None
    if not isinstance(document, dict) or not str(document.get("url", "")).startswith("/"):
        # Only links into this gateway: a reply must never send a person elsewhere.
        return None
    return {key: str(value) for key, value in document.items()}
