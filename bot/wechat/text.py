"""Replies as WeChat text: buttons as numbered choices, long answers in pieces.

WeChat text messages have no buttons, so a reply's buttons become numbered
lines ("1. 是"), and the person answers with the number or the words; the
choices are remembered per sender, in the gateways' shared state (a reply may
reach another gateway), to turn "1" back into the button's payload.
A customer-service text holds at most 2048 bytes: longer answers are cut
between sentences, so nobody reads half a sentence and waits for the rest.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.messages import WECHAT_CHOICE_HINT
from bot.shared_state import SharedState, hashed
from bot.transcript import choice_by_number

TEXT_LIMIT_BYTES = 2048
# How long the choices offered stay answerable by number: a day's pause in a
# conversation is common; after that "1" is read as the words it is.
CHOICES_SECONDS = 24 * 3600.0
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
    """The numbered choices each sender was last offered."""

    def __init__(self, state: SharedState) -> None:
        self._state = state

    async def note(self, sender: str, replies: list[dict[str, Any]]) -> None:
        """The last reply with buttons sets the choices; a turn without any clears them."""
        buttons = next((r["buttons"] for r in reversed(replies) if r.get("buttons")), None)
        if buttons:
            offered = [{"title": b["title"], "payload": b["payload"]} for b in buttons]
            await self._state.put(_key(sender), json.dumps(offered), CHOICES_SECONDS)
        else:
            await self._state.pop(_key(sender))

    async def payload(self, sender: str, message: str) -> str:
        """The button payload a reply like "1" (or a choice's words) picks, else the message."""
        stored = await self._state.get(_key(sender))
        offered = json.loads(stored) if stored else []
        chosen = choice_by_number(message, offered) or next(
            (choice for choice in offered if choice["title"] == message.strip()), None
        )
        return chosen["payload"] if chosen else message


def _key(sender: str) -> str:
    return f"wechat:choices:{hashed(sender)}"
