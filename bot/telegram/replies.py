"""The dialogue's replies (REST shape) sent to a chat: text, buttons, documents, voice."""

from __future__ import annotations

from typing import Any

from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.telegram import documents, speech
from bot.telegram.chats import PAYLOADS, sender_of
from bot.telegram.sending import reply_text, send_text


async def send_replies(
    context: Any, chat_id: int, replies: list[dict[str, Any]], spoken: bool = False
) -> None:
    """Text (with buttons and documents) for every reply; a voice note too when the person spoke."""
    replies = await speech.take_speech_rate(context, sender_of(chat_id), replies)
    for reply in replies:
        text = reply_text(reply)
        if text or reply.get("buttons"):
            await send_text(
                context.bot, chat_id, text, reply.get("buttons"), context.bot_data[PAYLOADS]
            )
        await documents.send_offered(context, chat_id, reply)
    if spoken:
        await speech.send_spoken(context, chat_id, replies)


async def typing(context: Any, chat_id: int) -> None:
    """ "typing…" while the dialogue thinks; a nicety, so a failure is ignored."""
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError:
        pass
