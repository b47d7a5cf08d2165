"""What each kind of WeChat message leads to, and the spoken answer to voice.

Text and voice go to the dialogue through the gateway's one turn handler
(TurnHandler, so the length limits, the busy answer and the handoff relay are
the same as everywhere); images, places and events get the gateway's own
polite answers. Senders are `wechat:<openid>`; neither the openid nor what was
said is ever logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from wechatpy.messages import BaseMessage

from bot.appkeys import SHARED_STATE, SPEECH_ENGINES, TURNS
from bot.messages import (
    NOT_HEARD_REPLY,
    NOTHING_DONE_REPLY,
    WECHAT_IMAGE_REPLY,
    WECHAT_LAWYER_SAYS,
    WECHAT_LOCATION_REPLY,
    WECHAT_UNSUPPORTED_REPLY,
    WECHAT_VOICE_NOT_FETCHED,
    WECHAT_WELCOME,
)
from bot.privacy import pseudonym
from bot.shared_state import hashed
from bot.speech import RECOGNITION_RATE
from bot.wechat.api import WeChatApi, WeChatApiError
from bot.wechat.channel import Turn, openid_of, send_texts, sender_of
from bot.wechat.text import Choices
from legal_aid.channels import WECHAT
from voice.audio import to_amr, to_pcm
from voice.errors import VoiceInputError
from voice.normalise import reply_for_ear
from voice.synthesis import Speech, SynthesisError
from voice.vosk_recogniser import VOICE_INPUT_OFF_MESSAGE

log = logging.getLogger("bot.wechat")

CHANNEL = WECHAT.name

# A menu button whose key starts with this says the rest, as if typed
# ("SAY:转人工"); any other key shows the welcome.
MENU_SAYS = "SAY:"
# The longest a person's turn holds their lock: a gateway that dies holding it
# leaves the next message waiting no longer than this.
TURN_LOCK_SECONDS = 120.0
SUBSCRIBED = ("subscribe", "subscribe_scan")
# WeChat plays voice messages of at most sixty seconds; a longer answer is
# sent as several, cut between sentences.
MAX_VOICE_SECONDS = 55.0


def bot_reply(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text, "buttons": []}


class Conversation:
    """Answers WeChat messages; `answer` is the callback's answerer."""

    def __init__(self, app: web.Application, api: WeChatApi) -> None:
        self._app = app
        self._api = api
        self._state = app[SHARED_STATE]
        self._choices = Choices(self._state)

    async def answer(self, message: BaseMessage) -> Turn:
        """Never raises: a failure is answered politely, and what was said is not logged."""
        sender = sender_of(message.source)
        try:
            # One turn at a time per person, on whichever gateway, so answers come
            # in the order asked and a number answers the choices before it.
            async with self._state.lock(f"wechat:turn:{hashed(sender)}", TURN_LOCK_SECONDS):
                return await self._answer(sender, message)
        except Exception as error:  # noqa: BLE001 — the person must still get an answer
            log.error("wechat turn failed sender=%s: %s", pseudonym(sender), type(error).__name__)
            return Turn([bot_reply(sender, NOTHING_DONE_REPLY)])

    async def _answer(self, sender: str, message: BaseMessage) -> Turn:
        if message.type == "text":
            return Turn(await self._say(sender, message.content or ""))
        if message.type == "voice":
            return Turn(await self._voice(sender, message), spoken=True)
        if message.type == "image":
            return Turn([bot_reply(sender, WECHAT_IMAGE_REPLY)])
        if message.type == "location":
            return Turn([bot_reply(sender, WECHAT_LOCATION_REPLY)])
        if message.type == "event":
            return await self._event(sender, message)
        return Turn([bot_reply(sender, WECHAT_UNSUPPORTED_REPLY)])

    async def _event(self, sender: str, message: BaseMessage) -> Turn:
        if message.event in SUBSCRIBED:
            return Turn([bot_reply(sender, WECHAT_WELCOME)])
        if message.event == "click":
            key = str(message.key or "")
            if key.startswith(MENU_SAYS) and key[len(MENU_SAYS) :].strip():
                return Turn(await self._say(sender, key[len(MENU_SAYS) :]))
            return Turn([bot_reply(sender, WECHAT_WELCOME)])
        return Turn([])  # unsubscribe, a link opened, a location report: nothing to say

    async def _say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """A typed (or heard) message's answer; "1" picks the first choice offered."""
        message = await self._choices.payload(sender, text)
        replies = await self._app[TURNS].handle(sender, message, channel=CHANNEL)
        await self._choices.note(sender, replies)
        # A voice message answering it is heard with the choices and hints it offered.
        await self._app[SPEECH_ENGINES].expected.note(sender, replies)
        return replies

    async def _voice(self, sender: str, message: BaseMessage) -> list[dict[str, Any]]:
        """WeChat's own transcript when it sent one (the account's speech recognition
        setting), else ours, from the audio fetched by its MediaId."""
        heard = (message.recognition or "").strip()
        if not heard:
            heard, refusal = await self._recognise(sender, message.media_id)
            if refusal:
                return [bot_reply(sender, refusal)]
        if not heard:
            return [bot_reply(sender, NOT_HEARD_REPLY)]
        return await self._say(sender, heard)

    async def _recognise(self, sender: str, media_id: str) -> tuple[str, str]:
        """(what was heard, "") or ("", the polite reason nothing could be)."""
        engines = self._app[SPEECH_ENGINES]
        if not engines.hears:
            return "", VOICE_INPUT_OFF_MESSAGE
        try:
            audio = await self._api.download(media_id)
            pcm = await to_pcm(audio, RECOGNITION_RATE)
            return await engines.recognise(sender, pcm), ""
        except WeChatApiError as error:
            log.warning("wechat voice not fetched: %s", error)
            return "", WECHAT_VOICE_NOT_FETCHED
        except VoiceInputError as error:
            return "", error.user_message

    async def speak(self, openid: str, replies: list[dict[str, Any]]) -> None:
        """The answer to a voice message also as voice messages (AMR, by the API)."""
        synthesiser = self._app[SPEECH_ENGINES].synthesiser
        spoken = "".join(_for_ear(reply) for reply in replies)
        if synthesiser is None or not spoken:
            return
        try:
            parts = await asyncio.gather(*synthesiser.synthesise_parts(spoken))
            for speech in _in_voice_messages(list(parts)):
                await self._api.send_voice(openid, await to_amr(speech.pcm, speech.sample_rate))
        except (SynthesisError, VoiceInputError, WeChatApiError) as error:
            log.warning(
                "wechat voice reply not sent sender=%s: %s", pseudonym(sender_of(openid)), error
            )

    async def deliver(self, sender: str, replies: list[dict[str, Any]]) -> None:
        """The handoff relay's deliverer: a lawyer's messages while the person is silent."""
        await send_texts(self._api, openid_of(sender), replies)


def _for_ear(reply: dict[str, Any]) -> str:
    spoken = reply_for_ear(reply)
    speaker = reply.get("speaker")
    return WECHAT_LAWYER_SAYS.format(speaker=speaker, text=spoken) if speaker and spoken else spoken


def _in_voice_messages(parts: list[Speech]) -> list[Speech]:
    """Sentences grouped into voice messages WeChat will play (under a minute each)."""
    messages: list[Speech] = []
    group: list[Speech] = []
    for part in parts:
        if group and sum(p.duration for p in group) + part.duration > MAX_VOICE_SECONDS:
            messages.append(Speech.join(group))
            group = []
        group.append(part)
    return [*messages, Speech.join(group)] if group else messages
