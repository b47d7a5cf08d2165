"""The Telegram channel: one python-telegram-bot Application inside the gateway.

    TELEGRAM_TOKEN unset       → no Telegram; the gateway runs as before
    TELEGRAM_TOKEN set         → long polling (the embedded default: one gateway)
    + TELEGRAM_WEBHOOK_URL     → webhook mode: setWebhook with a secret token,
                                 updates arrive at POST /telegram/webhook
    TELEGRAM_API_BASE          → another Bot API server (a local one, or a test's)

Start-up does not wait for Telegram: the Application starts in the background
and keeps trying while Telegram is unreachable, so web chat and voice are
never held up by it. Lawyers' messages during a handoff are pushed to the chat
through the relay's deliverer. See handlers.py for what each update does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from telegram import BotCommand
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.appkeys import CONFIG, RELAY, SHARED_STATE
from bot.config import Config
from bot.messages import TELEGRAM_COMMANDS
from bot.shared_state import SharedState
from bot.telegram import handlers, webhook
from bot.telegram.chats import CHANNEL, chat_of
from bot.telegram.ordering import OneAtATimePerChat
from bot.telegram.replies import send_replies

log = logging.getLogger("bot.telegram")

TELEGRAM = web.AppKey("telegram", Application)
ALLOWED_UPDATES = ["message", "callback_query"]
# Between tries to reach Telegram at start: doubling up to this.
LONGEST_START_PAUSE_SECONDS = 60.0


def setup(app: web.Application) -> None:
    """The one line bot/app.py calls; its start-up runs after the gateway's shared one,
    whose relay it gives its deliverer."""
    config = app[CONFIG]
    if not config.telegram_token:
        return
    # httpx logs every request's URL at INFO, and the Bot API's URLs hold the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if config.telegram_webhook_url:
        app.add_routes([web.post(webhook.PATH, webhook.receive)])
    app.cleanup_ctx.append(_telegram)


def build_application(config: Config, state: SharedState) -> Application:
    builder = (
        Application.builder()
        .token(config.telegram_token)
        .base_url(config.telegram_api_base)
        .base_file_url(config.telegram_api_base.removesuffix("/bot") + "/file/bot")
        .concurrent_updates(OneAtATimePerChat(state))
    )
    if config.telegram_webhook_url:
        builder = builder.updater(None)  # updates come to the gateway's own route
    return builder.build()


async def _telegram(app: web.Application) -> AsyncIterator[None]:
    application = build_application(app[CONFIG], app[SHARED_STATE])
    handlers.register(application, app)
    app[TELEGRAM] = application
    if RELAY in app:
        app[RELAY].deliverers[CHANNEL] = deliverer(application)
    starting = asyncio.ensure_future(_start(application, app[CONFIG]))
    yield
    starting.cancel()
    await _stop(application)


async def _start(application: Application, config: Config) -> None:
    pause = 1.0
    while True:
        try:
            await application.initialize()  # getMe: is the token good, is Telegram there
            break
        except InvalidToken:
            log.error("telegram off: Telegram refused TELEGRAM_TOKEN")
            return
        except NetworkError as error:
            log.warning("telegram not reachable (%s); trying again", type(error).__name__)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_START_PAUSE_SECONDS)
    await application.start()
    await _offer_commands(application)
    if config.telegram_webhook_url:
        await application.bot.set_webhook(
            config.telegram_webhook_url,
            secret_token=webhook.secret(config),
            allowed_updates=ALLOWED_UPDATES,
        )
        log.info("telegram on: webhook")
    else:
        await application.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES, error_callback=_polling_error
        )
        log.info("telegram on: polling")


async def _offer_commands(application: Application) -> None:
    """The command menu Telegram shows next to the text box."""
    commands = [BotCommand(name, text) for name, text in TELEGRAM_COMMANDS.items()]
    try:
        await application.bot.set_my_commands(commands)
    except TelegramError as error:
        log.info("telegram command menu not set: %s", type(error).__name__)


def _polling_error(error: TelegramError) -> None:
    # The updater retries by itself; its default callback would log a traceback.
    log.warning("telegram polling failed: %s", type(error).__name__)


async def _stop(application: Application) -> None:
    # The webhook stays set: other gateway instances go on receiving updates.
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


def deliverer(application: Application) -> Any:
    """Pushes a lawyer's messages to the person's chat while they are silent."""

    async def deliver(sender: str, replies: list[dict[str, Any]]) -> None:
        chat_id = chat_of(sender)
        if chat_id is None:
            return
        context = _Context(application)
        await send_replies(context, chat_id, replies)

    return deliver


class _Context:
    """What send_replies needs of a handler's context, outside any update."""

    def __init__(self, application: Application) -> None:
        self.bot = application.bot
        self.bot_data = application.bot_data
