"""Voice notes in: OGG/Opus → the words heard → the dialogue → text and a voice note back.

The speech engines are the gateway's (bot/speech.py, loaded in the background
at start), so Telegram hears and speaks exactly as the web page does, with the
same expected answers after a question with choices.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.appkeys import SPEECH_ENGINES, TURNS
from bot.messages import NOT_HEARD_REPLY, TELEGRAM_HEARD, TELEGRAM_VOICE_NOT_RECEIVED
from bot.speech import RECOGNITION_RATE
from bot.telegram.chats import CHANNEL, GATEWAY, sender_of
from bot.telegram.replies import send_replies, typing
from bot.telegram.sending import retrying
from voice.audio import MAX_INPUT_BYTES, TOO_LARGE_MESSAGE, to_pcm
from voice.errors import VoiceInputError
from voice.vosk_recogniser import VOICE_INPUT_OFF_MESSAGE

log = logging.getLogger("bot.telegram")


async def voice_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One spoken turn; what was heard is shown first, so a mishearing is seen at once."""
    chat_id = update.effective_chat.id
    sender = sender_of(chat_id)
    gateway = context.bot_data[GATEWAY]
    engines = gateway[SPEECH_ENGINES]
    if not engines.hears:
        await send_replies(context, chat_id, [_bot(sender, VOICE_INPUT_OFF_MESSAGE)])
        return
    note = update.effective_message.voice or update.effective_message.audio
    if note.file_size and note.file_size > MAX_INPUT_BYTES:
        await send_replies(context, chat_id, [_bot(sender, TOO_LARGE_MESSAGE)], spoken=True)
        return
    await typing(context, chat_id)
    recording = await _download(context, note.file_id)
    if recording is None:
        await send_replies(context, chat_id, [_bot(sender, TELEGRAM_VOICE_NOT_RECEIVED)])
        return
    with engines.active:
        try:
            pcm = await to_pcm(recording, RECOGNITION_RATE)
            heard = await engines.recognise(sender, pcm)
        except VoiceInputError as error:
            log.info("telegram voice refused: %s", type(error).__name__)
            await send_replies(context, chat_id, [_bot(sender, error.user_message)], spoken=True)
            return
        if not heard.strip():
            reply = _bot(sender, NOT_HEARD_REPLY)
            await send_replies(context, chat_id, [reply], spoken=True)
            return
        await send_replies(context, chat_id, [_bot(sender, TELEGRAM_HEARD.format(heard=heard))])
        replies = await gateway[TURNS].handle(sender, heard, channel=CHANNEL)
        await engines.expected.note(sender, replies)
        await send_replies(context, chat_id, replies, spoken=True)


async def _download(context: Any, file_id: str) -> bytes | None:
    """The recording from Telegram's file server; None when it cannot be had."""
    try:
        file = await retrying(lambda: context.bot.get_file(file_id), "getFile")
        return bytes(await retrying(file.download_as_bytearray, "downloadFile"))
    except TelegramError as error:
        log.info("telegram voice download failed: %s", type(error).__name__)
        return None


def _bot(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text, "buttons": []}
