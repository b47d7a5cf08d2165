"""The application form sent as a file: a link to the gateway means nothing in Telegram.

A reply that offers a document carries `custom.document` (actions/intake_submit.py
document_offer): the gateway path `/intake/<ref>/form.pdf?token=…` and its
large-print version. The PDF is rendered here by bot/intake_documents.py, the
same code (and the same audited applicant's read) as the download link.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from telegram.error import TelegramError

from bot import intake_documents
from bot.messages import (
    TELEGRAM_FORM_FILENAME,
    TELEGRAM_FORM_TITLE,
    TELEGRAM_FORM_UNAVAILABLE,
    TELEGRAM_LARGE_PRINT,
    TELEGRAM_LARGE_PRINT_FILENAME,
)
from bot.stores import stores_of
from bot.telegram.chats import GATEWAY
from bot.telegram.sending import retrying, send_text

log = logging.getLogger("bot.telegram")

FORM_PATH = "/intake/{reference}/form.pdf"


def offered(reply: dict[str, Any]) -> dict[str, str] | None:
    custom = reply.get("custom")
    document = custom.get("document") if isinstance(custom, dict) else None
    return document if isinstance(document, dict) and document.get("url") else None


def form_of(url: str) -> tuple[str, str, bool] | None:
    """(reference, token, large print) of a form link; None for anything else."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) != 4 or segments[1] != "intake" or segments[3] != "form.pdf":
        return None
    query = parse_qs(parts.query)
    token = (query.get("token") or [""])[0]
    return segments[2], token, (query.get("large") or [""])[0] == "1"


async def send_offered(context: Any, chat_id: int, reply: dict[str, Any]) -> None:
    """The form and its large-print version, when the reply offers them."""
    bot = context.bot
    document = offered(reply)
    if document is None:
        return
    title = str(document.get("title") or TELEGRAM_FORM_TITLE)
    filename = str(document.get("filename") or TELEGRAM_FORM_FILENAME)
    urls = [(document["url"], title, filename)]
    if document.get("large_print_url"):
        large_name = filename.removesuffix(".pdf") + TELEGRAM_LARGE_PRINT_FILENAME
        urls.append((document["large_print_url"], title + TELEGRAM_LARGE_PRINT, large_name))
    for url, caption, name in urls:
        if not await _send_form(context, chat_id, url, caption, name):
            await send_text(bot, chat_id, TELEGRAM_FORM_UNAVAILABLE)
            return


async def _send_form(context: Any, chat_id: int, url: str, caption: str, filename: str) -> bool:
    form = form_of(url)
    if form is None:
        log.warning("telegram: a document offer that is not an application form")
        return False
    try:
        intake = stores_of(context.bot_data[GATEWAY]).intake
        pdf = await intake_documents.form_pdf(intake, *form)
    except Exception as error:  # noqa: BLE001 - the store or renderer: said politely
        log.warning("telegram: application form not rendered: %s", type(error).__name__)
        return False
    if pdf is None:
        return False
    try:
        await retrying(
            lambda: context.bot.send_document(chat_id, pdf, filename=filename, caption=caption),
            "sendDocument",
        )
    except TelegramError as error:
        log.warning("telegram: application form not sent: %s", type(error).__name__)
        return False
    return True
