"""A fake Telegram Bot API server on loopback, for the Telegram channel's tests.

It speaks the real wire format: `POST /bot<token>/<method>` with a JSON body, a
form or a multipart form (python-telegram-bot sends forms whose values are JSON
strings, and multipart when a file goes with them), answered with
`{"ok": true, "result": …}` or `{"ok": false, "error_code": …, "description": …}`;
files are fetched from `/file/bot<token>/<file_path>`. Telegram's own refusals
that matter here are reproduced: a text over 4096 characters, an empty text,
a wrong token, and flood control (429 with `parameters.retry_after`) on demand.

The test plays the person: it queues updates (what getUpdates returns, with
offset and long-poll timeout as Telegram does) and reads `calls`, everything
the bot sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "123456:TEST-fayuan-token"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "法援助手",
    "username": "fayuan_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_TEXT = 4096
# Fields whose form values are JSON (python-telegram-bot encodes them so).
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "chat_id", "offset", "timeout",
               "limit", "duration", "message_id", "show_alert", "cache_time"}  # fmt: skip


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    # A file's name travels in its multipart part, as Telegram reads it.
    file_names: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.webhook: dict[str, Any] | None = None
        self._flood: dict[str, list[int]] = {}
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self.server: TestServer | None = None

    # --- the server ---

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(
            [
                web.route("*", "/bot{token}/{method}", self._method),
                web.get("/file/bot{token}/{path:.+}", self._file),
            ]
        )
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    @property
    def api_base(self) -> str:
        """What TELEGRAM_API_BASE is set to: the base up to and including /bot."""
        assert self.server is not None
        return str(self.server.make_url("/bot"))

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await _parameters(request)
        flood = self._flood.get(method)
        if flood:
            retry_after = flood.pop(0)
            return _error(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            return _error(404, "Not Found")
        names = params.pop("_file_names", {})
        if method != "getUpdates":
            await self._record(Call(method, params, files, names))
        return await answer({**params, "_file_names": names}, files)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        for path, data in self.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data)
        return _error(404, "Not Found")

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # --- Bot API methods ---

    async def _getMe(self, params, files):
        return _ok(BOT_USER)

    async def _getUpdates(self, params, files):
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 10.0)
        # Updates before the offset are confirmed, and forgotten, as Telegram does.
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and timeout:
            async with self._changed:
                try:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self.updates)), timeout
                    )
                except asyncio.TimeoutError:
                    pass
        return _ok(self.updates[: int(params.get("limit") or 100)])

    async def _sendMessage(self, params, files):
        text = str(params.get("text") or "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        return _ok(self._message(params, text=text, reply_markup=params.get("reply_markup")))

    async def _sendVoice(self, params, files):
        if "voice" not in files:
            return _error(400, "Bad Request: there is no voice in the request")
        voice = {"file_id": "v", "file_unique_id": "v", "duration": params.get("duration") or 1}
        return _ok(self._message(params, voice=voice))

    async def _sendDocument(self, params, files):
        if "document" not in files:
            return _error(400, "Bad Request: there is no document in the request")
        name = params.get("_file_names", {}).get("document")
        document = {"file_id": "d", "file_unique_id": "d", "file_name": name}
        return _ok(self._message(params, document=document, caption=params.get("caption")))

    async def _sendChatAction(self, params, files):
        return _ok(True)

    async def _answerCallbackQuery(self, params, files):
        return _ok(True)

    async def _editMessageReplyMarkup(self, params, files):
        return _ok(self._message(params, text="…"))

    async def _setMyCommands(self, params, files):
        return _ok(True)

    async def _setWebhook(self, params, files):
        self.webhook = params
        return _ok(True)

    async def _deleteWebhook(self, params, files):
        self.webhook = None
        return _ok(True)

    async def _getFile(self, params, files):
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return _ok(
            {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": len(data),
                "file_path": path,
            }
        )

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
        }
        return message | {key: value for key, value in content.items() if value is not None}

    # --- the person's side ---

    def flood_next(self, method: str, retry_after: int) -> None:
        """The next call of `method` is refused by flood control."""
        self._flood.setdefault(method, []).append(retry_after)

    def new_update(self, **content: Any) -> dict[str, Any]:
        return {"update_id": next(self._ids), **content}

    def text_update(self, chat_id: int, text: str) -> dict[str, Any]:
        message = _user_message(chat_id, text=text)
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {
                    "type": "bot_command",
                    "offset": 0,
                    "length": len(command.encode("utf-16-le")) // 2,
                }
            ]
        return self.new_update(message=message)

    def voice_update(self, chat_id: int, ogg: bytes, duration: int = 3) -> dict[str, Any]:
        file_id = f"voice-{len(self.files) + 1}"
        self.files[file_id] = (f"voice/{file_id}.oga", ogg)
        voice = {"file_id": file_id, "file_unique_id": file_id, "duration": duration,
                 "mime_type": "audio/ogg", "file_size": len(ogg)}  # fmt: skip
        return self.new_update(message=_user_message(chat_id, voice=voice))

    def callback_update(self, chat_id: int, sent: Call, data: str) -> dict[str, Any]:
        """The person presses the button with `data` on a message the bot sent."""
        message = self._message(sent.params, text=sent.params["text"])
        message["reply_markup"] = sent.params["reply_markup"]
        query = {"id": f"q{time.monotonic_ns()}", "from": _person(chat_id),
                 "chat_instance": "ci", "data": data, "message": message}  # fmt: skip
        return self.new_update(callback_query=query)

    async def push(self, *updates: dict[str, Any]) -> None:
        """The updates wait for the bot's next getUpdates, which returns them together."""
        async with self._changed:
            self.updates.extend(updates)
            self._changed.notify_all()

    def sent_to(self, chat_id: int, method: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if str(c.params.get("chat_id")) == str(chat_id) and method in (None, c.method)
        ]

    async def wait_for(self, done: Callable[[], Any], timeout: float = 60) -> Any:
        """Until `done()` is true (returns it), as the bot's calls come in."""
        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(done), timeout)


def _person(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "测试", "language_code": "zh-hans"}


def _user_message(chat_id: int, **content: Any) -> dict[str, Any]:
    return {
        "message_id": int(time.monotonic_ns() % 1_000_000_000),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "测试"},
        "from": _person(chat_id),
        **content,
    }


async def _parameters(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A method's parameters from a JSON body, a query string, a form or a multipart form."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        params.update(await request.json())
        return params, files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = value.file.read()
            params.setdefault("_file_names", {})[name] = value.filename
        elif name in JSON_FIELDS:
            try:
                params[name] = json.loads(value)
            except ValueError:
                params[name] = value
        else:
            params[name] = value
    return params, files


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)
