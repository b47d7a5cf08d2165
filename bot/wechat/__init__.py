"""The WeChat official-account channel: `/wechat` is the account's callback URL.

    GET  /wechat   WeChat's check of the URL (echostr back, when signed)
    POST /wechat   messages and events, plaintext or safe (AES) mode

Off while WECHAT_TOKEN is unset. The callback (channel.py) answers within
WeChat's five seconds or by the customer-service API; conversation.py turns
each kind of message into a turn; api.py calls WeChat (WECHAT_API_BASE);
wire.py checks and parses what WeChat sends; text.py shapes replies as WeChat
text. Lawyers' messages sent while the person is silent go out through the
handoff relay's deliverer for "wechat".
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.appkeys import CONFIG, RELAY, SHARED_STATE
from bot.config import Config
from bot.wechat.api import WeChatApi
from bot.wechat.channel import Callback
from bot.wechat.conversation import CHANNEL, Conversation
from bot.wechat.wire import Wire

log = logging.getLogger("bot.wechat")

CALLBACK = web.AppKey("wechat_callback", Callback)


def setup(app: web.Application) -> None:
    """The one line bot/app.py calls."""
    config: Config = app[CONFIG]
    if not config.wechat_token:
        return
    check_aes_key(config.wechat_aes_key)
    api = WeChatApi(config.wechat_app_id, config.wechat_app_secret, config.wechat_api_base)
    conversation = Conversation(app, api)
    wire = Wire.of(config.wechat_token, config.wechat_aes_key, config.wechat_app_id)
    app[CALLBACK] = Callback(
        wire,
        api,
        conversation.answer,
        conversation.speak,
        config.wechat_reply_seconds,
        app[SHARED_STATE],
    )
    app.router.add_get("/wechat", app[CALLBACK].verify)
    app.router.add_post("/wechat", app[CALLBACK].receive)

    async def running(app: web.Application) -> AsyncIterator[None]:
        # After the gateway's shared start-up (appended before this): the relay
        # exists only when the store's key does.
        if RELAY in app:
            app[RELAY].deliverers[CHANNEL] = conversation.deliver
        if not (config.wechat_app_id and config.wechat_app_secret):
            log.warning("WECHAT_APP_ID or WECHAT_APP_SECRET unset: only passive replies work")
        yield
        await app[CALLBACK].close()

    app.cleanup_ctx.append(running)


def check_aes_key(aes_key: str) -> None:
    """WECHAT_AES_KEY, when set, is the account's 43-character EncodingAESKey."""
    if not aes_key:
        return
    try:
        valid = len(base64.b64decode(aes_key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey of the account")
