"""Voice turns over HTTP, for the web chat's push-to-talk and the voice kiosk.

    GET  /api/voice/status               can the page offer the microphone, and speak?
    POST /api/voice/turn?sender=…        body: a recording (webm/opus, ogg, mp3, wav…)
         → {"transcript": "…", "replies": [{…REST reply…, "speech": "/api/voice/speech/<id>"}]}
    POST /api/voice/say?sender=…         body: {"message": "…"}, a request pressed, not said
         ("再说一遍", "说慢一点" on the page) → the same answer, as if it had been said
    GET  /api/voice/speech/<id>          audio/wav of one reply, once it is made

The recording becomes 16 kHz PCM (voice/audio.py), then text (voice/recognition.py);
the text goes to Rasa's `voice` channel, so replies use their spoken variants;
each reply is synthesised in the background (voice/synthesis.py) and fetched by
id, so the first reply plays while the others are still being made. Nothing of
what was said is logged, and speech is kept only briefly, in memory.

A sub-application: recordings are far larger than any chat message, so it
accepts bodies up to the audio converter's own limit.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.appkeys import TURNS
from bot.recent import Recent
from bot.responses import json_response
from bot.webchat import answer
from voice.audio import MAX_INPUT_BYTES, to_pcm
from voice.errors import VoiceInputError
from voice.normalise import reply_for_ear
from voice.recognition import Recogniser
from voice.synthesis import Speech, Synthesiser, SynthesisError, load_synthesiser
from voice.vosk_recogniser import VOICE_INPUT_OFF_MESSAGE, load_recogniser

log = logging.getLogger(__name__)

VOICE_APP = web.AppKey("voice_app", web.Application)
RECOGNISER = web.AppKey("recogniser", Recogniser)
SYNTHESISER = web.AppKey("synthesiser", Synthesiser)
SPEECH = web.AppKey("speech", "PendingSpeech")
RATES = web.AppKey("rates", "SpeechRates")
EXPECTED = web.AppKey("expected", "ExpectedAnswers")

RECOGNITION_RATE = 16_000
NOT_HEARD_REPLY = "我没有听清楚，请再说一遍。也可以直接打字。"
VOICE_OUTPUT_LOADING = "语音朗读正在准备，请先看文字回复。"
SENDER = re.compile(r"^[\w.:-]{1,128}$")
SENDER_RULE = "sender 必须是 1 到 128 个字母、数字或 ._:- 字符"


class PendingSpeech:
    """Replies being synthesised, by id; the oldest are forgotten first."""

    def __init__(self, limit: int = 200) -> None:
        self._tasks: Recent[asyncio.Task[Speech]] = Recent(limit)

    def start(self, synthesiser: Synthesiser, text: str, rate: str) -> str:
        speech_id = uuid.uuid4().hex
        task = asyncio.ensure_future(synthesiser.synthesise(text, rate))
        for oldest in self._tasks.put(speech_id, task):
            oldest.cancel()
        return speech_id

    def get(self, speech_id: str) -> asyncio.Task[Speech] | None:
        return self._tasks.get(speech_id)


class SpeechRates:
    """The speech rate each listener chose ("说慢一点"), as the dialogue reports it."""

    def __init__(self, limit: int = 10_000) -> None:
        self._rates: Recent[str] = Recent(limit)

    def of(self, sender: str) -> str:
        return self._rates.get(sender) or "normal"

    def note(self, sender: str, replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Remembers a rate the dialogue set, and drops the message that carried it."""
        kept = []
        for reply in replies:
            rate = (reply.get("custom") or {}).get("speech_rate")
            if rate:
                self._rates.put(sender, rate)
            if reply.get("text") or reply.get("buttons"):
                kept.append(reply)
        return kept


# Said to any question with choices: answers, refusals and the requests that
# must always get through ("为什么问这个", "转人工").
ALWAYS_EXPECTED = (
    "是", "不是", "对", "有", "没有", "不想说", "不知道", "为什么问这个",
    "再说一遍", "说慢一点", "说快一点", "转人工", "重新开始",
)  # fmt: skip
SPOKEN_NUMBERS = "一二三四五六七八九"


class ExpectedAnswers:
    """The phrases a listener is expected to say next, when the last reply offered choices.

    Recognition limited to those (Vosk's grammar mode) is cheaper and far more
    accurate than free recognition; where the person describes a problem, or
    the question wants a number of days or yuan, there is no grammar.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._expected: Recent[tuple[str, ...]] = Recent(limit)

    def of(self, sender: str) -> tuple[str, ...] | None:
        return self._expected.get(sender)

    def note(self, sender: str, replies: list[dict[str, Any]]) -> None:
        buttons = next((r["buttons"] for r in reversed(replies) if r.get("buttons")), [])
        if not buttons:
            self._expected.pop(sender)
            return
        titles = [str(b.get("title", "")) for b in buttons]
        # A choice is said by its title or its number ("说一，或者按一").
        numbers = list(SPOKEN_NUMBERS[: len(titles)])
        self._expected.put(sender, tuple(dict.fromkeys([*titles, *numbers, *ALWAYS_EXPECTED])))


def create_voice_app() -> web.Application:
    """The /api/voice sub-application; engines load in the background at start."""
    app = web.Application(client_max_size=MAX_INPUT_BYTES)
    app[SPEECH] = PendingSpeech()
    app[RATES] = SpeechRates()
    app[EXPECTED] = ExpectedAnswers()
    app.cleanup_ctx.append(_engines)
    app.add_routes(
        [
            web.get("/status", status),
            web.post("/turn", turn),
            web.post("/say", say),
            web.get("/speech/{speech_id}", speech),
        ]
    )
    return app


async def _engines(app: web.Application) -> AsyncIterator[None]:
    # Loading takes seconds (the Vosk model; TensorFlow in each synthesis
    # worker): the text chat must not wait for it.
    loading = asyncio.ensure_future(_load_engines(app))
    yield
    loading.cancel()
    if SYNTHESISER in app:
        await asyncio.to_thread(app[SYNTHESISER].close)


async def _load_engines(app: web.Application) -> None:
    recogniser = await asyncio.to_thread(load_recogniser)
    if recogniser is not None:
        app[RECOGNISER] = recogniser
    try:
        app[SYNTHESISER] = await asyncio.to_thread(load_synthesiser)
    except SynthesisError as error:
        log.warning("voice output off: %s", error)


async def status(request: web.Request) -> web.Response:
    app = request.app
    reason = "" if RECOGNISER in app else VOICE_INPUT_OFF_MESSAGE
    return json_response(
        {"input": RECOGNISER in app, "output": SYNTHESISER in app, "reason_zh": reason}
    )


async def turn(request: web.Request) -> web.Response:
    """One spoken turn: what was heard, and the replies with their speech."""
    sender = request.query.get("sender", "")
    if not SENDER.match(sender):
        return _bad_request(SENDER_RULE)
    app = request.app
    if RECOGNISER not in app:
        return json_response({"transcript": "", "replies": [_bot(sender, VOICE_INPUT_OFF_MESSAGE)]})
    try:
        pcm = await to_pcm(await request.read(), RECOGNITION_RATE)
        heard = await _recognise(app, sender, pcm)
    except VoiceInputError as error:
        log.info("voice turn refused: %s", type(error).__name__)
        return json_response(
            {"transcript": "", "replies": _spoken(app, sender, [_bot(sender, error.user_message)])}
        )
    if not heard.strip():
        return json_response(
            {"transcript": "", "replies": _spoken(app, sender, [_bot(sender, NOT_HEARD_REPLY)])}
        )
    replies = await request.config_dict[TURNS].handle(sender, heard, channel="voice")
    return json_response({"transcript": heard, "replies": _answered(app, sender, replies)})


async def say(request: web.Request) -> web.Response:
    """A turn of a spoken conversation that was pressed instead of said.

    The page's "再说一遍" and "说慢一点" buttons: on the voice channel the
    dialogue reports the new speech rate (which the text channel does not), so
    the next spoken reply, starting with this one, is read at that rate.
    """
    sender = request.query.get("sender", "")
    if not SENDER.match(sender):
        return _bad_request(SENDER_RULE)
    try:
        body = await request.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        return _bad_request('请求体必须是 JSON 对象：{"message": "…"}')
    replies = await answer(request.config_dict, sender, message, channel="voice")
    return json_response({"transcript": "", "replies": _answered(request.app, sender, replies)})


def _answered(
    app: web.Application, sender: str, replies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The dialogue's replies to a spoken turn, minus the rate it set, with their speech."""
    replies = app[RATES].note(sender, replies)
    app[EXPECTED].note(sender, replies)
    return _spoken(app, sender, replies)


async def _recognise(app: web.Application, sender: str, pcm: bytes) -> str:
    """The words heard: within the expected answers first, else freely."""
    recogniser, expected = app[RECOGNISER], app[EXPECTED].of(sender)
    if expected:
        heard = (await recogniser.transcribe(pcm, RECOGNITION_RATE, list(expected))).text
        if heard.strip():
            return heard
    # Something else than a choice (or no choice offered): free recognition.
    return (await recogniser.transcribe(pcm, RECOGNITION_RATE)).text


def _spoken(
    app: web.Application, sender: str, replies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each reply with the address of its speech, started now in the background."""
    if SYNTHESISER not in app:
        return replies
    rate = app[RATES].of(sender)
    spoken = []
    for reply in replies:
        speech_id = app[SPEECH].start(app[SYNTHESISER], reply_for_ear(reply), rate)
        spoken.append({**reply, "speech": f"/api/voice/speech/{speech_id}"})
    return spoken


async def speech(request: web.Request) -> web.Response:
    task = request.app[SPEECH].get(request.match_info["speech_id"])
    if task is None:
        raise web.HTTPNotFound(text="这段语音已经过期，请再说一遍。")
    try:
        made = await asyncio.shield(task)
    except SynthesisError:
        log.warning("speech synthesis failed for one reply")
        raise web.HTTPServiceUnavailable(text=VOICE_OUTPUT_LOADING) from None
    return web.Response(body=made.wav, content_type="audio/wav")


def _bad_request(reason: str) -> web.Response:
    return json_response({"error": reason}, status=400)


def _bot(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text, "buttons": []}
