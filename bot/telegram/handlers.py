"""What the bot does with each kind of update, as python-telegram-bot handlers.

Every turn goes through the gateway's TurnHandler, so the answers to empty and
over-long messages, the handoff relay, the busy answer when Rasa is down and
the per-turn log line are the web chat's own.
The sender id is `telegram:<chat_id>`; nothing here logs ids or text.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.appkeys import SHARED_STATE, TURNS
from bot.messages import (
    TELEGRAM_BUTTON_EXPIRED,
    TELEGRAM_CHOSEN,
    TELEGRAM_HELP,
    TELEGRAM_NOT_UNDERSTOOD_KIND,
    TELEGRAM_UNKNOWN_COMMAND,
)
from bot.privacy import pseudonym
from bot.shared_state import is_first
from bot.telegram import speech, voice_notes
from bot.telegram.chats import CHANNEL, GATEWAY, PAYLOADS, sender_of
from bot.telegram.replies import send_replies, typing
from bot.telegram.sending import ButtonPayloads, retrying, send_text

log = logging.getLogger("bot.telegram")

# Commands are Rasa intents by payload, so they work in any state of the dialogue.
COMMAND_PAYLOADS = {
    "start": "/greet",
    "human": "/ask_human",
    "repeat": "/repeat",
    "slower": "/speak_slower",
    "faster": "/speak_faster",
    "restart": "/start_over",
}
# How long an update id is remembered, to answer it once though Telegram
# sends it again: Telegram retries an unanswered webhook call for well under this.
UPDATE_SEEN_SECONDS = 3600.0


def register(application: Application, gateway: web.Application) -> None:
    """Every handler on the one Application, as in python-telegram-bot's examples."""
    application.bot_data[GATEWAY] = gateway
    application.bot_data[PAYLOADS] = ButtonPayloads(gateway[SHARED_STATE])
    application.add_handler(TypeHandler(Update, drop_repeated), group=-1)
    # New messages only: an edited message was answered when it was first sent.
    incoming = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("help", help_command, incoming))
    for command, payload in COMMAND_PAYLOADS.items():
        application.add_handler(CommandHandler(command, command_turn(payload), incoming))
    application.add_handler(MessageHandler(incoming & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(incoming & filters.TEXT, text_message))
    voice = filters.VOICE | filters.AUDIO
    application.add_handler(MessageHandler(incoming & voice, voice_notes.voice_message))
    application.add_handler(CallbackQueryHandler(button_pressed))
    application.add_handler(MessageHandler(incoming, other_message))
    application.add_error_handler(log_error)


async def drop_repeated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A webhook call that timed out is sent again with the same update_id: answer it once."""
    # In the gateways' shared state: the repeat may reach another gateway.
    state = context.bot_data[GATEWAY][SHARED_STATE]
    if not await is_first(state, f"telegram:update:{update.update_id}", UPDATE_SEEN_SECONDS):
        log.info("telegram update repeated, dropped")
        raise ApplicationHandlerStop


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_text(context.bot, update.effective_chat.id, TELEGRAM_HELP)


def command_turn(payload: str) -> Any:
    async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await speech.note_command(context, sender_of(update.effective_chat.id), payload)
        await turn(update, context, payload)

    return command


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_text(context.bot, update.effective_chat.id, TELEGRAM_UNKNOWN_COMMAND)


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await turn(update, context, update.effective_message.text or "")


async def other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, locations…: said plainly what the bot can read."""
    await send_text(context.bot, update.effective_chat.id, TELEGRAM_NOT_UNDERSTOOD_KIND)


async def button_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline keyboard button: its Rasa payload is the person's turn."""
    query = update.callback_query
    payload = await context.bot_data[PAYLOADS].payload_of(query.data)
    if payload is None or update.effective_chat is None:
        await retrying(
            lambda: query.answer(TELEGRAM_BUTTON_EXPIRED, show_alert=True), "answerCallback"
        )
        return
    title = _pressed_title(query)
    # Answered at once, so the button stops spinning; the title is read out by
    # screen readers as the confirmation of the choice.
    chosen = TELEGRAM_CHOSEN.format(title=title) if title else None
    await retrying(lambda: query.answer(chosen), "answerCallback")
    await _remove_keyboard(query)
    await turn(update, context, payload)


def _pressed_title(query: Any) -> str:
    markup = getattr(query.message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", ()):
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return ""


async def _remove_keyboard(query: Any) -> None:
    """A choice is made once: the old buttons go, so they are not pressed again later."""
    try:
        await retrying(lambda: query.edit_message_reply_markup(None), "editReplyMarkup")
    except TelegramError:
        pass  # the message is too old to edit, or already has no buttons: harmless


async def turn(update: Update, context: ContextTypes.DEFAULT_TYPE, message: str) -> None:
    """One typed (or pressed) turn: the dialogue's replies, sent back to the chat."""
    chat_id = update.effective_chat.id
    await typing(context, chat_id)
    turns = context.bot_data[GATEWAY][TURNS]
    replies = await turns.handle(sender_of(chat_id), message, channel=CHANNEL)
    await send_replies(context, chat_id, replies)


async def log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The error's type and the chat's pseudonym only: a traceback may quote a message."""
    chat = update.effective_chat if isinstance(update, Update) else None
    who = pseudonym(sender_of(chat.id)) if chat else "-"
    log.warning("telegram update failed sender=%s error=%s", who, type(context.error).__name__)
