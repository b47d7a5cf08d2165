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

from bot import voice_chat
from bot.appkeys import SPEECH_ENGINES, TURNS
from bot.privacy import pseudonym
from bot.recent import Recent
from bot.speech import RECOGNITION_RATE
from bot.turns import NOTHING_DONE_REPLY
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

WELCOME = (
    "您好，欢迎关注法援助手！我可以免费解答法律问题，帮您看看能不能申请法律援助，"
    "也可以帮您登记申请。\n"
    "· 打字、发语音都可以：发语音时，我会用文字和语音一起回复您。\n"
    "· 有选项时，回复选项前的数字就行。\n"
    "· 想找真人律师，随时发“转人工”。\n"
    "请直接告诉我您遇到了什么问题，比如：老板拖欠我三个月工资。\n"
    "着急的话，可以拨打12348公共法律服务热线；遇到危险，请马上拨打110。"
)
IMAGE_REPLY = (
    "收到您的图片，谢谢。我现在还看不懂图片，请用文字或语音告诉我您遇到的问题；"
    "需要交材料时，律师会告诉您怎么交。"
)
# There is no directory of service points with coordinates (policy/ has regions
# and hotlines only), so a shared location cannot give the nearest one.
LOCATION_REPLY = (
    "收到您的位置，谢谢。我现在还不能按地图查找最近的法律援助中心。"
    "请告诉我您在哪个市、哪个县，比如“我在包头市昆都仑区”；"
    "也可以拨打12348公共法律服务热线，问当地法律援助中心的地址。"
)
UNSUPPORTED_REPLY = "这种消息我还看不懂。请用文字或语音告诉我您遇到的问题。"
VOICE_NOT_FETCHED = "这条语音没能取到，请再发一次，或者直接打字。"
# A menu button whose key starts with this says the rest, as if typed
# ("SAY:转人工"); any other key shows the welcome.
MENU_SAYS = "SAY:"
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
        self._choices = Choices()
        # One turn at a time per person, so answers come in the order asked and
        # a number answers the choices of the turn before it.
        self._locks: Recent[asyncio.Lock] = Recent(10_000)

    async def answer(self, message: BaseMessage) -> Turn:
        """Never raises: a failure is answered politely, and what was said is not logged."""
        sender = sender_of(message.source)
        lock = self._locks.get(sender) or asyncio.Lock()
        self._locks.put(sender, lock)
        try:
            async with lock:
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
            return Turn([bot_reply(sender, IMAGE_REPLY)])
        if message.type == "location":
            return Turn([bot_reply(sender, LOCATION_REPLY)])
        if message.type == "event":
            return await self._event(sender, message)
        return Turn([bot_reply(sender, UNSUPPORTED_REPLY)])

    async def _event(self, sender: str, message: BaseMessage) -> Turn:
        if message.event in SUBSCRIBED:
            return Turn([bot_reply(sender, WELCOME)])
        if message.event == "click":
            key = str(message.key or "")
            if key.startswith(MENU_SAYS) and key[len(MENU_SAYS) :].strip():
                return Turn(await self._say(sender, key[len(MENU_SAYS) :]))
            return Turn([bot_reply(sender, WELCOME)])
        return Turn([])  # unsubscribe, a link opened, a location report: nothing to say

    async def _say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """A typed (or heard) message's answer; "1" picks the first choice offered."""
        message = self._choices.payload(sender, text)
        replies = await self._app[TURNS].handle(sender, message, channel=CHANNEL)
        self._choices.note(sender, replies)
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
            return [bot_reply(sender, voice_chat.NOT_HEARD_REPLY)]
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
            return "", VOICE_NOT_FETCHED
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
    return f"{speaker}说：{spoken}" if speaker and spoken else spoken


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
