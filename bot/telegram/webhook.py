"""POST /telegram/webhook: updates pushed by Telegram (production, several gateways).

Telegram sends the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token;
anything else is refused (403) before the body is read, so nobody can post
made-up updates in a person's name. An accepted update is queued and answered
at once: Telegram waits for the reply to the webhook call and sends the update
again when it is slow, which the handlers' update_id check answers once.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.appkeys import CONFIG
from bot.config import Config
from bot.json_body import read_json

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def secret(config: Config) -> str:
    """TELEGRAM_WEBHOOK_SECRET, else one derived from the token (the same on every
    gateway instance, and unguessable without the token)."""
    if config.telegram_webhook_secret:
        return config.telegram_webhook_secret
    return hashlib.sha256(b"fayuan-telegram-webhook:" + config.telegram_token.encode()).hexdigest()


async def receive(request: web.Request) -> web.Response:
    from bot.telegram import TELEGRAM

    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret(request.app[CONFIG]).encode()):
        raise web.HTTPForbidden(text="wrong secret token")
    application = request.app.get(TELEGRAM)
    if application is None or not application.running:
        # Telegram tries again later; nothing is lost.
        raise web.HTTPServiceUnavailable(text="not ready")
    try:
        body = await read_json(request)
    except ValueError:
        raise web.HTTPBadRequest(text="not a Telegram update") from None
    update = _update_of(body, application)
    if update is None:
        raise web.HTTPBadRequest(text="not a Telegram update")
    await application.update_queue.put(update)
    return web.Response(text="ok")


def _update_of(body: object, application: Application) -> Update | None:
    """The update in a webhook's JSON, or None when it is none.

    Update.de_json trusts its input's shape: null, numbers or lists where an
    object belongs raised AttributeError, a date past the platform's range
    OverflowError, a non-numeric id ValueError, each a 500 (found by the fuzz
    suite). Whatever this parser of someone else's data raises, the body is
    not an update Telegram sent.
    """
    if not isinstance(body, dict):
        return None
    try:
        return Update.de_json(body, application.bot)
    except Exception:  # noqa: BLE001 - see above: any failure means "not an update"
        return None
