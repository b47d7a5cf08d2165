"""The web chat: the page at / and the JSON API at POST /api/chat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from bot.appkeys import CONFIG, TURNS
from bot.responses import json_response

STATIC_DIR = Path(__file__).resolve().parent / "static"

TOO_LONG_REPLY = "您的消息太长了，超过了{limit}个字。请分成几段，一段一段地发给我。"
EMPTY_REPLY = "我没有收到文字。请告诉我您遇到了什么问题。"


class BadChatRequest(ValueError):
    """A request to /api/chat that does not follow the contract."""


def parse_chat_request(body: Any) -> tuple[str, str, dict[str, Any] | None]:
    """sender, message and metadata from a request body, or BadChatRequest."""
    if not isinstance(body, dict):
        raise BadChatRequest('请求体必须是 JSON 对象：{"sender": "…", "message": "…"}')
    sender, message, metadata = body.get("sender"), body.get("message"), body.get("metadata")
    if not isinstance(sender, str) or not 0 < len(sender) <= 128:
        raise BadChatRequest("sender 必须是 1 到 128 个字符的字符串")
    if not isinstance(message, str):
        raise BadChatRequest("message 必须是字符串")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadChatRequest("metadata 必须是 JSON 对象")
    return sender, message, metadata


async def chat(request: web.Request) -> web.Response:
    try:
        sender, message, metadata = parse_chat_request(await request.json())
    except ValueError as error:  # JSONDecodeError and BadChatRequest
        reason = str(error) if isinstance(error, BadChatRequest) else "请求体不是合法的 JSON"
        return json_response({"error": reason}, status=400)

    limit = request.app[CONFIG].max_message_chars
    if len(message) > limit:
        return json_response([_reply(sender, TOO_LONG_REPLY.format(limit=limit))])
    if not message.strip():
        return json_response([_reply(sender, EMPTY_REPLY)])
    replies = await request.app[TURNS].handle(sender, message, metadata, channel="web")
    return json_response(replies)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


def _reply(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text, "buttons": []}


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", index),
        web.post("/api/chat", chat),
        web.static("/static", STATIC_DIR),
    ]
