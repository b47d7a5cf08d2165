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

from bot.appkeys import TURNS
from bot.privacy import pseudonym
from bot.recent import Recent
from bot.telegram import speech, voice_notes
from bot.telegram.chats import CHANNEL, GATEWAY, PAYLOADS, SEEN, sender_of
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
COMMAND_DESCRIPTIONS = {
    "start": "开始咨询",
    "help": "怎么用",
    "human": "转人工（值班律师）",
    "repeat": "再说一遍",
    "slower": "语音说慢一点",
    "faster": "语音说快一点",
    "restart": "重新开始",
}
HELP = (
    "我是法援助手，可以回答法律援助的问题，帮您查一查能不能申请法律援助，"
    "也可以帮您登记申请。\n"
    "直接打字，或者按住话筒发语音都可以；发语音的话，我也用语音回答。\n"
    "常用命令：\n"
    "/human 转人工，请值班律师和您说\n"
    "/repeat 再说一遍\n"
    "/slower 语音说慢一点\n"
    "/restart 重新开始\n"
    "着急的话，可以拨打12348公共法律服务热线。"
)
UNKNOWN_COMMAND = "这个命令我不认识。" + HELP
BUTTON_EXPIRED = "这个选项已经过期了，请直接打字告诉我，或者发 /repeat 让我再说一遍。"
NOT_UNDERSTOOD_KIND = "这类消息我还看不懂。请直接打字，或者发语音告诉我您的问题。"
# The most recent update ids, to answer each once though Telegram sends it again.
SEEN_UPDATES = 10_000


def register(application: Application, gateway: web.Application) -> None:
    """Every handler on the one Application, as in python-telegram-bot's examples."""
    application.bot_data[GATEWAY] = gateway
    application.bot_data[PAYLOADS] = ButtonPayloads()
    application.bot_data[SEEN] = Recent(SEEN_UPDATES)
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
    seen: Recent[bool] = context.bot_data[SEEN]
    key = str(update.update_id)
    if seen.get(key):
        log.info("telegram update repeated, dropped")
        raise ApplicationHandlerStop
    seen.put(key, True)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_text(context.bot, update.effective_chat.id, HELP)


def command_turn(payload: str) -> Any:
    async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        speech.note_command(context, sender_of(update.effective_chat.id), payload)
        await turn(update, context, payload)

    return command


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_text(context.bot, update.effective_chat.id, UNKNOWN_COMMAND)


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await turn(update, context, update.effective_message.text or "")


async def other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, locations…: said plainly what the bot can read."""
    await send_text(context.bot, update.effective_chat.id, NOT_UNDERSTOOD_KIND)


async def button_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline keyboard button: its Rasa payload is the person's turn."""
    query = update.callback_query
    payload = context.bot_data[PAYLOADS].payload_of(query.data)
    if payload is None or update.effective_chat is None:
        await retrying(lambda: query.answer(BUTTON_EXPIRED, show_alert=True), "answerCallback")
        return
    title = _pressed_title(query)
    # Answered at once, so the button stops spinning; the title is read out by
    # screen readers as the confirmation of the choice.
    await retrying(lambda: query.answer(f"已选择：{title}" if title else None), "answerCallback")
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
