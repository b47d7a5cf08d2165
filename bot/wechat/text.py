"""Replies as WeChat text: buttons as numbered choices, long answers in pieces.

WeChat text messages have no buttons, so a reply's buttons become numbered
lines ("1. 是"), and the person answers with the number or the words; the
choices are remembered per sender to turn "1" back into the button's payload.
A customer-service text holds at most 2048 bytes: longer answers are cut
between sentences, so nobody reads half a sentence and waits for the rest.
"""

from __future__ import annotations

import re
from typing import Any

from bot.messages import WECHAT_CHOICE_HINT
from bot.recent import Recent
from bot.transcript import choice_by_number

TEXT_LIMIT_BYTES = 2048
# Where a piece may end, best first: after a sentence, then after a clause.
_SENTENCES = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[」”』）)]*|\n+|$)")
_CLAUSES = re.compile(r"[^，、；,;：:]*(?:[，、；,;：:]+|$)")


def render(reply: dict[str, Any]) -> str:
    """One REST-shaped reply as the text WeChat shows; a lawyer's says who writes."""
    text = str(reply.get("text") or "").strip()
    speaker = reply.get("speaker")
    if speaker and text:
        text = f"{speaker}：{text}"
    buttons = reply.get("buttons") or []
    if buttons:
        choices = [f"{number}. {button['title']}" for number, button in enumerate(buttons, 1)]
        text = "\n".join([line for line in (text, *choices, WECHAT_CHOICE_HINT) if line])
    return text


def rendered(replies: list[dict[str, Any]]) -> str:
    """All replies of a turn as one text, a blank line between them."""
    return "\n\n".join(text for text in map(render, replies) if text)


def fits(text: str, limit: int = TEXT_LIMIT_BYTES) -> bool:
    return len(text.encode("utf-8")) <= limit


def split(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """`text` in pieces of at most `limit` bytes, cut between sentences where possible."""
    pieces: list[str] = []
    current = ""
    for sentence in _parts(text, limit):
        if current and not fits(current + sentence, limit):
            pieces.append(current)
            current = ""
        current += sentence
    if current.strip():
        pieces.append(current)
    return [piece.strip() for piece in pieces if piece.strip()]


def _parts(text: str, limit: int) -> list[str]:
    """Sentences, each cut further (at clauses, then characters) only when too long alone."""
    parts = []
    for sentence in filter(None, _SENTENCES.findall(text)):
        if fits(sentence, limit):
            parts.append(sentence)
            continue
        for clause in filter(None, _CLAUSES.findall(sentence)):
            parts.extend([clause] if fits(clause, limit) else _by_characters(clause, limit))
    return parts


def _by_characters(text: str, limit: int) -> list[str]:
    pieces, current = [], ""
    for character in text:
        if not fits(current + character, limit):
            pieces.append(current)
            current = ""
        current += character
    return [*pieces, current] if current else pieces


class Choices:
    """The numbered choices each sender was last offered (bounded, in memory)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._offered: Recent[list[dict[str, str]]] = Recent(limit)

    def note(self, sender: str, replies: list[dict[str, Any]]) -> None:
        """The last reply with buttons sets the choices; a turn without any clears them."""
        buttons = next((r["buttons"] for r in reversed(replies) if r.get("buttons")), None)
        if buttons:
            self._offered.put(sender, buttons)
        else:
            self._offered.pop(sender)

    def payload(self, sender: str, message: str) -> str:
        """The button payload a reply like "1" (or a choice's words) picks, else the message."""
        offered = self._offered.get(sender) or []
        chosen = choice_by_number(message, offered) or next(
            (choice for choice in offered if choice["title"] == message.strip()), None
        )
        return chosen["payload"] if chosen else message
