"""The gateway application factory: `create_app(config)`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

import store
from bot import (
    handoff_relay,
    health,
    hotline,
    intake_documents,
    retention,
    voice_chat,
    web_identity,
    webchat,
    wechat,
)
from bot import telegram as telegram_channel
from bot.appkeys import (
    CONFIG,
    ENGINE,
    HTTP,
    IDENTITY,
    RASA,
    RELAY,
    SHARED_STATE,
    SPEECH_ENGINES,
    STORES,
    TURNS,
)
from bot.config import Config
from bot.console import create_console_app
from bot.continuation import Continuations
from bot.handoff_relay import HandoffRelay
from bot.limits import MAX_REQUEST_BYTES, limits_middleware
from bot.rasa_client import RasaClient
from bot.refusals import refusals_in_chinese
from bot.security_headers import security_headers
from bot.shared_state import open_shared_state
from bot.speech import SpeechEngines
from bot.stores import open_stores
from bot.turns import TurnHandler
from bot.web_identity import WebIdentity


def create_app(config: Config) -> web.Application:
    """The gateway with every channel's routes, ready for web.run_app."""
    # Bodies larger than MAX_REQUEST_BYTES are refused with 413 before they are
    # read (the voice upload has its own limit): no chat message comes near it.
    # Made first, not at start-up, so that the limits and the channels' setup can
    # hand it on; a Redis client connects only when first used.
    state = open_shared_state(config.redis_url)
    app = web.Application(
        client_max_size=MAX_REQUEST_BYTES,
        middlewares=[
            security_headers,
            refusals_in_chinese,
            # Counted across gateways only when they share Redis.
            limits_middleware(config.rate_limits(), state if config.redis_url else None),
        ],
    )
    app[CONFIG] = config
    app[SHARED_STATE] = state
    # First of the start-ups: what every channel shares. The channels' own
    # (the hotline's server, Telegram, WeChat) are appended after it.
    app.cleanup_ctx.append(_shared)
    retention.setup(app)
    app.add_routes(webchat.routes())
    app.add_routes(web_identity.routes())
    app.add_routes(handoff_relay.routes())
    app.add_routes(health.routes())
    app.add_routes(intake_documents.routes())
    app.add_subapp("/api/voice/", voice_chat.create_voice_app())
    hotline.setup(app)
    telegram_channel.setup(app)
    wechat.setup(app)
    app.add_subapp("/console/", create_console_app())
    return app


async def _shared(app: web.Application) -> AsyncIterator[None]:
    """What every channel shares, made once, each part after those it needs: the
    speech engines (loading in the background), the HTTP session and Rasa's
    client, the database and its stores, the handoff relay, 接续码, and the turn
    handler that passes every turn through them."""
    config = app[CONFIG]
    app[SPEECH_ENGINES] = SpeechEngines(app[SHARED_STATE])
    app[SPEECH_ENGINES].start_loading()
    preparing = asyncio.ensure_future(app[SPEECH_ENGINES].keep_fixed_replies())
    try:
        async with aiohttp.ClientSession() as http:
            app[HTTP] = http
            app[RASA] = RasaClient(
                http, config.rasa_url, config.rasa_timeout_seconds, config.rasa_token
            )
            app[ENGINE] = store.create_engine(config.database_url)
            relay = continuations = None
            stores = open_stores(app[ENGINE])
            app[IDENTITY] = WebIdentity.for_gateway(
                stores.keys if stores else None, config.gateway_api_token
            )
            if stores is not None:
                app[STORES] = stores
                app[RELAY] = relay = HandoffRelay(stores.relay, app[RASA].resume, app[SHARED_STATE])
                continuations = Continuations(stores.links, app[RASA], relay, app[SHARED_STATE])
            app[TURNS] = TurnHandler(
                app[RASA],
                config.max_message_chars,
                relay,
                continuations,
                app[SHARED_STATE],
                stores.keys if stores else None,
            )
            yield
            if relay is not None:
                await relay.close()  # pushes still being retried: the messages stay pending
            app[ENGINE].dispose()
    finally:
        preparing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await preparing
        # The synthesis workers are processes: they must not outlive the gateway.
        await app[SPEECH_ENGINES].close()
        await app[SHARED_STATE].close()
