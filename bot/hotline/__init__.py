"""The hotline overflow channel: Asterisk's AudioSocket calls answered by voice.

`setup(app)` starts the AudioSocket server with the gateway when HOTLINE_PORT
is set (bot/config.py); it shares the gateway's dialogue (TurnHandler) and its
speech engines (bot/speech.py), so a call is one more voice
conversation, with the sender `hotline:<call uuid>` and the channel "hotline".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from bot.appkeys import CONFIG, ENGINE, HTTP, RELAY, SPEECH_ENGINES, TURNS
from bot.hotline import telephony
from bot.hotline.call import FIXED_PHRASES, CallServices, CallSettings
from bot.hotline.server import HotlineServer

HOTLINE = web.AppKey("hotline", HotlineServer)


def setup(app: web.Application) -> None:
    """The server starts after the gateway's shared start-up: the turn handler,
    the speech engines, and the relay for waiting callers' tickets."""
    if app[CONFIG].hotline_port:
        app.cleanup_ctx.append(_serve)


async def _serve(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    phone_system = telephony.from_config(config, app[HTTP])
    services = CallServices(
        turns=app[TURNS],
        speech=app[SPEECH_ENGINES],
        telephony=phone_system,
        relay=app.get(RELAY),
    )
    settings = CallSettings(
        silence_seconds=config.hotline_silence_seconds,
        max_call_seconds=config.hotline_max_call_seconds,
        queue=config.hotline_queue,
        wait_check_seconds=config.hotline_wait_check_seconds,
        max_wait_seconds=config.hotline_max_wait_seconds,
    )
    server = HotlineServer(services, settings, app[ENGINE], config.hotline_max_calls)
    preparing = asyncio.ensure_future(app[SPEECH_ENGINES].prepare(FIXED_PHRASES))
    await server.start(config.hotline_host, config.hotline_port)
    app[HOTLINE] = server
    yield
    preparing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await preparing
    await server.close()
    if phone_system is not None:
        await phone_system.close()
