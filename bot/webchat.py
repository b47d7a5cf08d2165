"""The web chat: the page at /, the JSON API at POST /api/chat, and the page
without JavaScript at /chat (a plain form post answered with HTML).

The page asks GET /api/voice/status (bot/voice_chat.py) whether to offer its
microphone; everything else works without voice."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.appkeys import RASA, RELAY, TURNS
from bot.json_body import BadJsonBody, read_json
from bot.limits import client_address
from bot.messages import (
    CHAT_BODY_RULE,
    CHAT_MESSAGE_RULE,
    CHAT_METADATA_RULE,
    CHAT_SENDER_RULE,
    DOWNLOAD_FORM,
    DOWNLOAD_LARGE_PRINT,
    LOOK_FOR_REPLY,
    LOOK_FOR_REPLY_BUTTON,
    PAGE_ASSISTANT,
    PAGE_PERSON,
    PAGE_TITLE_PREFIX,
)
from bot.rasa_client import RasaTimeout, RasaUnavailable
from bot.responses import json_response
from bot.transcript import (
    BOT,
    USER,
    Line,
    choice_by_number,
    lines_from_events,
    lines_from_replies,
    open_choices,
)
from bot.web_identity import remember, speaker_of

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The page without JavaScript keeps only the sender id, in the identity cookie
# (bot/web_identity.py): the conversation itself is read back from Rasa.

log = logging.getLogger(__name__)
# Enough of a long conversation to read back; older lines are dropped.
MAX_SHOWN_LINES = 60
CONVERSATION_MARKER = "<!-- conversation -->"
WHO = {USER: PAGE_PERSON, BOT: PAGE_ASSISTANT}


class BadChatRequest(ValueError):
    """A request to /api/chat that does not follow the contract."""


def parse_chat_request(body: Any) -> tuple[str | None, str, dict[str, Any] | None]:
    """The sender named (None: the gateway's identity decides), message and
    metadata from a request body, or BadChatRequest."""
    if not isinstance(body, dict):
        raise BadChatRequest(CHAT_BODY_RULE)
    sender, message, metadata = body.get("sender"), body.get("message"), body.get("metadata")
    if sender is not None and (not isinstance(sender, str) or not 0 < len(sender) <= 128):
        raise BadChatRequest(CHAT_SENDER_RULE)
    if not isinstance(message, str):
        raise BadChatRequest(CHAT_MESSAGE_RULE)
    if metadata is not None and not isinstance(metadata, dict):
        raise BadChatRequest(CHAT_METADATA_RULE)
    return sender, message, metadata


async def chat(request: web.Request) -> web.Response:
    """One turn of the web chat API. Who speaks is the gateway's identity
    (bot/web_identity.py): the cookie, an app's token, or a new one; a `sender`
    in the body only from a trusted server holding GATEWAY_API_TOKEN."""
    try:
        named, message, metadata = parse_chat_request(await read_json(request))
    except (BadJsonBody, BadChatRequest) as error:
        return json_response({"error": str(error)}, status=400)
    speaker = speaker_of(request, named)
    replies = await request.app[TURNS].handle(
        speaker.sender, message, metadata, client=client_address(request)
    )
    response = json_response(replies)
    remember(request, response, speaker)
    return response


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def chat_without_script(request: web.Request) -> web.Response:
    """One turn from the plain form: the reply, with the conversation so far, as HTML."""
    form = await request.post()
    message = str(form.get("message") or "")
    speaker = speaker_of(request)
    sender = speaker.sender
    earlier = await _conversation(request.app, sender)
    chosen = choice_by_number(message, open_choices(earlier))
    if chosen:
        message = chosen["payload"]
    shown = chosen["title"] if chosen else _title_for(message, open_choices(earlier))
    replies = await request.app[TURNS].handle(sender, message, client=client_address(request))
    lines = earlier + [Line(USER, shown)] + lines_from_replies(replies)
    response = _page(lines + await _waiting_for_lawyer(request.app, sender))
    remember(request, response, speaker)
    return response


async def show_conversation(request: web.Request) -> web.StreamResponse:
    """The conversation so far (a reload of /chat), or the empty page."""
    speaker = speaker_of(request)
    if speaker.new:  # nobody proved: nothing to show but the empty page
        raise web.HTTPSeeOther("/")
    lines = await _conversation(request.app, speaker.sender)
    return _page(lines + await _waiting_for_lawyer(request.app, speaker.sender))


async def _conversation(app: web.Application, sender: str) -> list[Line]:
    """The conversation so far from Rasa, then the open handoff's messages (which
    Rasa never sees); empty when Rasa cannot say (the turn still answers). A
    sender that continues another conversation (接续码) is shown that one."""
    sender = await _continued(app, sender)
    try:
        lines = lines_from_events(await app[RASA].events(sender))
    except (RasaUnavailable, RasaTimeout):
        lines = []
    return (lines + await _handoff_lines(app, sender))[-MAX_SHOWN_LINES:]


async def _continued(app: web.Application, sender: str) -> str:
    """The conversation this sender speaks in: its own, or one it continues."""
    return await app[TURNS].conversation_of(sender)


async def _handoff_lines(app: web.Application, sender: str) -> list[Line]:
    """While a lawyer has the conversation: both sides of it (Rasa never sees it)."""
    said = await _open_handoff(app, sender)
    return [
        Line(USER, text) if speaker == "person" else Line(BOT, text, who=speaker)
        for speaker, text in said or []
    ]


async def _waiting_for_lawyer(app: web.Application, sender: str) -> list[Line]:
    """Last on the page while a handoff is open: a way to look for the lawyer's
    reply, which this page cannot be told of."""
    if await _open_handoff(app, await _continued(app, sender)) is None:
        return []
    return [Line(BOT, LOOK_FOR_REPLY, [{"title": LOOK_FOR_REPLY_BUTTON, "payload": ""}])]


async def _open_handoff(app: web.Application, sender: str) -> list[tuple[str, str]] | None:
    relay = app.get(RELAY)
    if relay is None:
        return None
    try:
        return await relay.conversation_for_person(sender)
    except Exception:
        log.exception("handoff messages unavailable for the page")
        return None


def _title_for(payload: str, choices: list[dict[str, str]]) -> str:
    return next((c["title"] for c in choices if c["payload"] == payload), payload)


def _page(lines: list[Line]) -> web.Response:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    body = template.replace(CONVERSATION_MARKER, render_lines(lines), 1)
    body = body.replace("<title>", f"<title>{PAGE_TITLE_PREFIX}", 1)
    return web.Response(text=body, content_type="text/html", charset="utf-8")


def render_lines(lines: list[Line]) -> str:
    """The log's messages as HTML, every text escaped; only the last turn's choices are buttons."""
    last_user = max((i for i, line in enumerate(lines) if line.speaker == USER), default=-1)
    parts: list[str] = []
    number = 1
    for position, line in enumerate(lines):
        anchor = ' id="latest" tabindex="-1"' if position == last_user else ""
        parts.append(
            f'<div class="msg {line.speaker}"{anchor}>'
            f'<span class="who">{html.escape(line.who or WHO[line.speaker])}：</span>'
            f'<span class="text">{html.escape(line.text)}</span>'
        )
        if line.document:
            parts.append(_document_links(line.document))
        if position > last_user and line.buttons:
            parts.append(_choice_form(line.buttons, number))
            number += len(line.buttons)
        parts.append("</div>")
    return "\n".join(parts)


def _choice_form(buttons: list[dict[str, str]], first_number: int) -> str:
    """A reply's buttons as a form of its own, so Enter in the text box never presses one.
    A button without a payload reloads the conversation (GET /chat) instead."""
    if buttons and not buttons[0]["payload"]:
        return (
            '<form class="choices" method="get" action="/chat#latest">'
            f'<button type="submit">{html.escape(buttons[0]["title"])}</button></form>'
        )
    items = "".join(
        f'<button type="submit" name="message" value="{html.escape(b["payload"])}">'
        f"{number}. {html.escape(b['title'])}</button>"
        for number, b in enumerate(buttons, start=first_number)
    )
    return f'<form class="choices" method="post" action="/chat#latest">{items}</form>'


def _document_links(document: dict[str, str]) -> str:
    """Download links for an offered document: the form, and its large-print version."""
    links = [
        f'<a href="{html.escape(document["url"])}" download>'
        f"{DOWNLOAD_FORM.format(title=html.escape(document['title']))}</a>"
    ]
    if document.get("large_print_url"):
        links.append(
            f'<a href="{html.escape(document["large_print_url"])}" download>'
            f"{DOWNLOAD_LARGE_PRINT}</a>"
        )
    return '<p class="document">' + " ".join(links) + "</p>"


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", index),
        web.post("/api/chat", chat),
        web.post("/chat", chat_without_script),
        web.get("/chat", show_conversation),
        web.static("/static", STATIC_DIR),
    ]
