"""The /wechat callback alone, in front of a counting answerer instead of Rasa:
what WeChat's side (tests/support/fake_wechat.py) posts reaches the real
signature, replay and safe-mode checks, and every turn that would run is counted."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from wechatpy.messages import BaseMessage

from bot.shared_state import LocalState, SharedState
from bot.wechat.api import WeChatApi
from bot.wechat.channel import Callback, Turn
from bot.wechat.wire import Wire
from tests.support.fake_wechat import WeChatCallbacks

TOKEN = "fayuanSecurityToken"
APP_ID = "wx0123456789abcdef"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")


@dataclass
class Answerer:
    """Stands in for the conversation: answers every message, remembering it."""

    answered: list[str] = field(default_factory=list)

    async def __call__(self, message: BaseMessage) -> Turn:
        self.answered.append(getattr(message, "content", "") or message.type)
        return Turn([{"text": "收到"}])


async def _silent(openid: str, replies: list) -> None:
    return None


@asynccontextmanager
async def callback_app(
    aes_key: str = "", state: SharedState | None = None, answerer: Answerer | None = None
) -> AsyncIterator[tuple[WeChatCallbacks, Answerer]]:
    """One gateway's callback; two made with the same `state` and `answerer` are
    two gateways behind a load balancer, sharing Redis and one conversation."""
    answerer = answerer or Answerer()
    callback = Callback(
        Wire.of(TOKEN, aes_key, APP_ID),
        WeChatApi(APP_ID, "secret", "http://127.0.0.1:9/cgi-bin/"),
        answerer,
        _silent,
        budget_seconds=2.0,
        state=state or LocalState(),
    )
    app = web.Application()
    app.router.add_get("/wechat", callback.verify)
    app.router.add_post("/wechat", callback.receive)
    async with TestClient(TestServer(app)) as client:
        url = str(client.make_url("/wechat"))
        yield WeChatCallbacks(client.session, url, TOKEN, aes_key, APP_ID), answerer
    await callback.close()
