"""A fake of WeChat's servers on loopback, speaking their wire formats, and a
fake of WeChat's side of the callback (signed XML, safe mode, retries).

`FakeWeChat` serves what the gateway calls (under /cgi-bin/):
    GET  token?grant_type=client_credential&appid=…&secret=…
    POST message/custom/send?access_token=…        JSON {"touser", "msgtype", …}
    POST media/upload?access_token=…&type=voice    multipart, field "media"
    GET  media/get?access_token=…&media_id=…       the file, or errcode JSON
with WeChat's errcode/errmsg answers (40001 invalid credential, 42001 expired,
40007 invalid media_id, 45002 content too long), and records what was sent.

`WeChatCallbacks` posts to the gateway's /wechat what WeChat posts there.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random
import string
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestServer
from wechatpy.crypto import PrpCrypto, WeChatCrypto

TEXT_LIMIT_BYTES = 2048
ACCOUNT = "gh_fayuan_test"  # the official account's own id (ToUserName)


@dataclass
class Sent:
    """One customer-service message, as WeChat received it."""

    touser: str
    msgtype: str
    body: dict[str, Any]

    @property
    def text(self) -> str:
        return self.body.get("text", {}).get("content", "")


@dataclass
class FakeWeChat:
    app_id: str
    secret: str
    sent: list[Sent] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    media: dict[str, bytes] = field(default_factory=dict)
    token_requests: int = 0
    media_delay: float = 0.0
    media_gets: int = 0
    _valid_tokens: set[str] = field(default_factory=set)
    _expired_tokens: set[str] = field(default_factory=set)
    _server: TestServer | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    # --- the test's controls ---

    async def start(self) -> str:
        app = web.Application()
        app.add_routes(
            [
                web.get("/cgi-bin/token", self._token),
                web.post("/cgi-bin/message/custom/send", self._custom_send),
                web.post("/cgi-bin/media/upload", self._upload),
                web.get("/cgi-bin/media/get", self._media_get),
            ]
        )
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self.api_base

    async def __aenter__(self) -> FakeWeChat:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def api_base(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/cgi-bin/"))

    def expire_tokens(self) -> None:
        """Every token issued so far is expired: the next call gets 42001."""
        self._expired_tokens |= self._valid_tokens
        self._valid_tokens.clear()

    def add_media(self, data: bytes) -> str:
        """A voice message's audio, as WeChat keeps it for media/get."""
        media_id = uuid.uuid4().hex
        self.media[media_id] = data
        return media_id

    def sent_to(self, openid: str) -> list[Sent]:
        return [message for message in self.sent if message.touser == openid]

    async def wait_for(
        self, openid: str, count: int = 1, msgtype: str | None = None, timeout: float = 60
    ) -> list[Sent]:
        """Until `count` messages (of `msgtype`) were sent to `openid`; then all of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.sent_to(openid) if msgtype is None or m.msgtype == msgtype]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    # --- WeChat's side ---

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        query = request.query
        if query.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        if query.get("appid") != self.app_id:
            return _error(40013, "invalid appid")
        if query.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        token = "".join(random.choices(string.ascii_letters + string.digits, k=64))
        self._valid_tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    def _refused_token(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if not token:
            return _error(41001, "access_token missing")
        if token in self._expired_tokens:
            return _error(42001, "access_token expired")
        if token not in self._valid_tokens:
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    async def _custom_send(self, request: web.Request) -> web.Response:
        refused = self._refused_token(request)
        if refused is not None:  # (a response is a mapping: empty is falsy)
            return refused
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(47001, "data format error")
        msgtype = body.get("msgtype")
        if msgtype == "text":
            content = body.get("text", {}).get("content", "")
            if not content or len(content.encode()) > TEXT_LIMIT_BYTES:
                return _error(45002, "content size out of limit")
        elif msgtype == "voice":
            if body.get("voice", {}).get("media_id") not in self.uploads:
                return _error(40007, "invalid media_id")
        else:
            return _error(40008, "invalid message type")
        self.sent.append(Sent(body.get("touser", ""), msgtype, body))
        self._arrived.set()
        return _error(0, "ok")

    async def _upload(self, request: web.Request) -> web.Response:
        refused = self._refused_token(request)
        if refused is not None:  # (a response is a mapping: empty is falsy)
            return refused
        kind = request.query.get("type")
        if kind not in ("image", "voice", "video", "thumb"):
            return _error(40004, "invalid media type")
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField):
            return _error(41005, "media data missing")
        media_id = uuid.uuid4().hex
        self.uploads[media_id] = media.file.read()
        return web.json_response(
            {"type": kind, "media_id": media_id, "created_at": int(time.time())}
        )

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        refused = self._refused_token(request)
        if refused is not None:  # (a response is a mapping: empty is falsy)
            return refused
        self.media_gets += 1
        if self.media_delay:
            await asyncio.sleep(self.media_delay)
        data = self.media.get(request.query.get("media_id", ""))
        if data is None:
            return _error(40007, "invalid media_id")
        return web.Response(
            body=data,
            content_type="audio/amr",
            headers={"Content-disposition": 'attachment; filename="voice.amr"'},
        )


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": message})


# --- WeChat posting to the callback URL ---

_msg_ids = itertools.count(int(time.time()) * 1000)


def new_msg_id() -> int:
    return next(_msg_ids)


def _xml(fields: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        return str(v) if isinstance(v, int) else f"<![CDATA[{v}]]>"

    return "<xml>" + "".join(f"<{k}>{value(v)}</{k}>" for k, v in fields.items()) + "</xml>"


def message_xml(openid: str, msg_type: str, create_time: int | None = None, **fields: Any) -> str:
    return _xml(
        {
            "ToUserName": ACCOUNT,
            "FromUserName": openid,
            "CreateTime": create_time or int(time.time()),
            "MsgType": msg_type,
            **fields,
        }
    )


def text_xml(openid: str, content: str, msg_id: int | None = None) -> str:
    return message_xml(openid, "text", Content=content, MsgId=msg_id or new_msg_id())


def voice_xml(openid: str, media_id: str, recognition: str | None = None) -> str:
    fields: dict[str, Any] = {"MediaId": media_id, "Format": "amr"}
    if recognition is not None:
        fields["Recognition"] = recognition
    return message_xml(openid, "voice", **fields, MsgId=new_msg_id())


def event_xml(openid: str, event: str, key: str = "", create_time: int | None = None) -> str:
    return message_xml(openid, "event", create_time, Event=event, EventKey=key)


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@dataclass
class Answer:
    """What the callback answered one post with."""

    status: int
    body: str
    text: str | None  # the passive reply's Content, decrypted; None for "success"/""
    to: str | None = None  # the passive reply's ToUserName


class WeChatCallbacks:
    """Posts to /wechat as WeChat does: signed, in plaintext or safe mode, retried."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        token: str,
        aes_key: str = "",
        app_id: str = "",
    ) -> None:
        self._session = session
        self._url = url
        self._token = token
        self._crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self._app_id = app_id

    def signed_query(self, openid: str = "", timestamp: int | None = None) -> dict[str, str]:
        timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
        nonce = str(random.randint(10**8, 10**9))
        query = {
            "signature": signature(self._token, timestamp_text, nonce),
            "timestamp": timestamp_text,
            "nonce": nonce,
        }
        if openid:
            query["openid"] = openid
        return query

    async def verify(self, echostr: str, query: dict[str, str] | None = None) -> tuple[int, str]:
        query = {**(query or self.signed_query()), "echostr": echostr}
        async with self._session.get(self._url, params=query) as response:
            return response.status, await response.text()

    async def post(
        self,
        xml: str | bytes,
        aes: bool | None = None,
        query: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> Answer:
        """One post, as WeChat makes it; raises asyncio.TimeoutError past WeChat's wait.

        `aes` None: as the account is set up (safe mode when it has an AES key)."""
        query = dict(self.signed_query() if query is None else query)
        body = xml.encode() if isinstance(xml, str) else xml
        if self._crypto is not None if aes is None else aes:
            body = self._encrypted(body.decode(), query)
        async with self._session.post(
            self._url, params=query, data=body, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            answered = await response.text()
            fields = self._passive(answered)
            return Answer(
                response.status,
                answered,
                fields["Content"] if fields else None,
                fields["ToUserName"] if fields else None,
            )

    async def deliver(
        self, xml: str, aes: bool | None = None, tries: int = 3
    ) -> list[Answer | None]:
        """WeChat's delivery: waits five seconds, tries again (the same XML), three tries
        in all; each try's answer, None where it did not come in time."""
        query = self.signed_query()
        answers: list[Answer | None] = []
        for _ in range(tries):
            try:
                answers.append(await self.post(xml, aes, query))
                return answers
            except asyncio.TimeoutError:
                answers.append(None)
        return answers

    def _encrypted(self, xml: str, query: dict[str, str]) -> bytes:
        assert self._crypto is not None
        encrypt = PrpCrypto(self._crypto.key).encrypt(xml, self._app_id).decode()
        query["encrypt_type"] = "aes"
        # (An unsigned query has neither: the message is still encrypted, as a forger could.)
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        query["msg_signature"] = signature(self._token, timestamp, nonce, encrypt)
        return _xml({"ToUserName": ACCOUNT, "Encrypt": encrypt}).encode()

    def _passive(self, answered: str) -> dict[str, str] | None:
        """The passive reply's fields, decrypted; None for "success" and the like."""
        if not answered.startswith("<xml>"):
            return None
        fields = xmltodict.parse(answered)["xml"]
        if "Encrypt" in fields:
            assert self._crypto is not None, "an encrypted answer to a plaintext callback"
            inner = self._crypto.decrypt_message(
                answered, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
            )
            fields = xmltodict.parse(inner)["xml"]
        assert fields["MsgType"] == "text", fields
        assert fields["FromUserName"] == ACCOUNT
        return fields
