"""The gateway application factory: `create_app(config)`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

import store
from bot import (
    continuation,
    handoff_relay,
    health,
    hotline,
    intake_documents,
    voice_chat,
    webchat,
    wechat,
)
from bot import telegram as telegram_channel
from bot.appkeys import CONFIG, ENGINE, HTTP, RASA, TURNS
from bot.config import Config
from bot.console import create_console_app
from bot.rasa_client import RasaClient
from bot.turns import TurnHandler

# Bodies larger than this are refused with 413 before they are read: no chat
# message, even with metadata, comes near it.
MAX_REQUEST_BYTES = 256 * 1024


def create_app(config: Config) -> web.Application:
    """The gateway with every channel's routes, ready for web.run_app."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[CONFIG] = config
    app.cleanup_ctx.append(_shared_clients)
    app.add_routes(webchat.routes())
    app.add_routes(health.routes())
    app.add_routes(intake_documents.routes())
    app[voice_chat.VOICE_APP] = voice_chat.create_voice_app()
    app.add_subapp("/api/voice/", app[voice_chat.VOICE_APP])
    handoff_relay.setup(app)
    # After the voice sub-application (calls share its engines) and the relay
    # (waiting callers' tickets).
    hotline.setup(app)
    continuation.setup(app)  # after the relay: says when a lawyer's conversation follows
    # After the relay: each channel registers its deliverer with it.
    telegram_channel.setup(app)
    wechat.setup(app)
    app.add_subapp("/console/", create_console_app())
    return app


async def _shared_clients(app: web.Application) -> AsyncIterator[None]:
    """One HTTP session and one database engine for the whole gateway."""
    config = app[CONFIG]
    async with aiohttp.ClientSession() as http:
        app[HTTP] = http
        app[RASA] = RasaClient(http, config.rasa_url, config.rasa_timeout_seconds)
        app[TURNS] = TurnHandler(app[RASA])
        app[ENGINE] = store.create_engine(config.database_url)
        yield
        app[ENGINE].dispose()
