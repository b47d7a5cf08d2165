"""Voice turns over HTTP, for the web chat's push-to-talk and the voice kiosk.

    GET  /api/voice/status               can the page offer the microphone, and speak?
    POST /api/voice/turn?sender=…        body: a recording (webm/opus, ogg, mp3, wav…)
         → {"transcript": "…", "replies": [{…REST reply…, "speech": "/api/voice/speech/<id>",
                                            "speech_parts": ["/api/voice/speech/<id>/0", …]}]}
    GET  /api/voice/stream?sender=…      a WebSocket: the turn streamed while it is spoken
         (bot/voice_stream.py), answered with the same body
    POST /api/voice/say?sender=…         body: {"message": "…"}, a request pressed, not said
         ("再说一遍", "说慢一点" on the page) → the same answer, as if it had been said
    GET  /api/voice/updates?sender=…&after=…
                                         a lawyer's messages during a handoff, as
                                         /api/chat/updates, each with its speech
    GET  /api/voice/speech/<id>          audio/wav of one reply, once it is made
    GET  /api/voice/speech/<id>/<n>      audio/wav of its sentence n, once that is made

The recording becomes 16 kHz PCM (voice/audio.py), then text (voice/recognition.py);
the text goes to Rasa's `voice` channel, so replies use their spoken variants;
each reply is synthesised in the background (voice/synthesis.py), sentence by
sentence, and fetched by id: a player that takes the parts starts on the first
sentence while the rest is made; the whole reply is there for simpler players.
Each turn is spoken in one voice, chosen by load (`Synthesiser.choose`).
Nothing of what was said is logged (the turn's log line has only timings),
and speech is kept only briefly, in memory.

A sub-application: recordings are far larger than any chat message, so it
accepts bodies up to the audio converter's own limit.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot import handoff_relay
from bot.appkeys import TURNS
from bot.privacy import pseudonym
from bot.recent import Recent
from bot.responses import json_response
from bot.webchat import answer
from voice.audio import MAX_INPUT_BYTES, to_pcm
from voice.errors import VoiceInputError
from voice.normalise import reply_for_ear
from voice.recogniser_choice import load_configured_recogniser
from voice.recognition import Recogniser
from voice.synthesis import Speech, Synthesiser, SynthesisError, load_synthesiser
from voice.vosk_recogniser import VOICE_INPUT_OFF_MESSAGE

log = logging.getLogger(__name__)

VOICE_APP = web.AppKey("voice_app", web.Application)
RECOGNISER = web.AppKey("recogniser", Recogniser)
SYNTHESISER = web.AppKey("synthesiser", Synthesiser)
SPEECH = web.AppKey("speech", "PendingSpeech")
RATES = web.AppKey("rates", "SpeechRates")
EXPECTED = web.AppKey("expected", "ExpectedAnswers")
ACTIVE = web.AppKey("active", "ActiveTurns")

RECOGNITION_RATE = 16_000
NOT_HEARD_REPLY = "我没有听清楚，请再说一遍。也可以直接打字。"
VOICE_OUTPUT_LOADING = "语音朗读正在准备，请先看文字回复。"
SENDER = re.compile(r"^[\w.:-]{1,128}$")
SENDER_RULE = "sender 必须是 1 到 128 个字母、数字或 ._:- 字符"


class ReplySpeech:
    """One reply's speech: its sentences, being made in the background."""

    def __init__(self, parts: list[asyncio.Future[Speech]]) -> None:
        self.parts = parts

    async def whole(self) -> Speech:
        made = await asyncio.gather(*(asyncio.shield(part) for part in self.parts))
        return Speech.join(made) if made else Speech.silence(0.0, 16_000)

    def cancel(self) -> None:
        for part in self.parts:
            part.cancel()


class PendingSpeech:
    """Replies being synthesised, by id; the oldest are forgotten first."""

    def __init__(self, limit: int = 200) -> None:
        self._replies: Recent[ReplySpeech] = Recent(limit)

    def start(self, synthesiser: Synthesiser, text: str, rate: str) -> tuple[str, ReplySpeech]:
        speech_id = uuid.uuid4().hex
        reply = ReplySpeech(synthesiser.synthesise_parts(text, rate))
        for oldest in self._replies.put(speech_id, reply):
            oldest.cancel()
        return speech_id, reply

    def get(self, speech_id: str) -> ReplySpeech | None:
        return self._replies.get(speech_id)


class ActiveTurns:
    """How many voice turns are under way (being spoken, recognised or answered).

    The synthesiser picks its voice by it: the natural one only when nobody
    else needs the cores.
    """

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> ActiveTurns:
        self.count += 1
        return self

    def __exit__(self, *_: object) -> None:
        self.count -= 1

    @property
    def others(self) -> int:
        """Turns under way besides the one asking (which is counted too)."""
        return max(0, self.count - 1)


@dataclass
class TurnClock:
    """How long each stage of one voice turn took, for the log (never what was said).

    `ended` is when the person stopped speaking (the upload arrived, or the
    stream's end): first_audio is measured from it, as the listener waits.
    """

    via: str
    ended: float = field(default_factory=time.perf_counter)
    stages: dict[str, float] = field(default_factory=dict)
    _last: float = 0.0

    def __post_init__(self) -> None:
        self._last = self.ended

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + (now - self._last) * 1000
        self._last = now

    def log(self, sender: str, audio_seconds: float) -> None:
        laps = " ".join(f"{stage}_ms={ms:.0f}" for stage, ms in self.stages.items())
        log.info(
            "voice turn sender=%s via=%s audio_s=%.1f %s",
            pseudonym(sender),
            self.via,
            audio_seconds,
            laps,
        )

    def on_first_audio(self, sender: str, reply: ReplySpeech) -> None:
        """Logs when the turn's first sentence is ready: what the listener waits for."""
        if not reply.parts:
            return

        def ready(part: asyncio.Future[Speech]) -> None:
            if not part.cancelled() and part.exception() is None:
                ms = (time.perf_counter() - self.ended) * 1000
                log.info(
                    "voice first audio sender=%s via=%s ms=%.0f", pseudonym(sender), self.via, ms
                )

        reply.parts[0].add_done_callback(ready)


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
    app[ACTIVE] = ActiveTurns()
    app.cleanup_ctx.append(_engines)
    app.add_routes(
        [
            web.get("/status", status),
            web.post("/turn", turn),
            web.post("/say", say),
            web.get("/updates", spoken_updates),
            web.get("/speech/{speech_id}", speech),
            web.get("/speech/{speech_id}/{part:\\d+}", speech_part),
        ]
    )
    # Imported here: the streaming turn uses this module's answers and speech.
    from bot import voice_stream

    app.add_routes(voice_stream.routes())
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
    recogniser = await asyncio.to_thread(load_configured_recogniser)
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
        return bad_request(SENDER_RULE)
    app = request.app
    if RECOGNISER not in app:
        return json_response(voice_off(sender))
    with app[ACTIVE]:
        return json_response(await _posted_turn(request, sender))


async def _posted_turn(request: web.Request, sender: str) -> dict[str, Any]:
    app = request.app
    clock = TurnClock("post")
    recording = await request.read()
    clock.lap("upload")
    try:
        pcm = await to_pcm(recording, RECOGNITION_RATE)
        clock.lap("convert")
        heard = await _recognise(app, sender, pcm)
        clock.lap("recognise")
    except VoiceInputError as error:
        return refused(app, sender, error)
    body = await answer_heard(request, sender, heard, clock)
    clock.log(sender, len(pcm) / (2 * RECOGNITION_RATE))
    return body


def voice_off(sender: str) -> dict[str, Any]:
    """The answer to a spoken turn when there is no recogniser."""
    return {"transcript": "", "replies": [_bot(sender, VOICE_INPUT_OFF_MESSAGE)]}


def refused(app: web.Application, sender: str, error: VoiceInputError) -> dict[str, Any]:
    """The polite, spoken answer to audio that cannot be used."""
    log.info("voice turn refused: %s", type(error).__name__)
    return {"transcript": "", "replies": _spoken(app, sender, [_bot(sender, error.user_message)])}


async def answer_heard(
    request: web.Request, sender: str, heard: str, clock: TurnClock
) -> dict[str, Any]:
    """The dialogue's spoken answer to what was heard (the gateway's own when nothing was)."""
    app = request.app
    if not heard.strip():
        return {"transcript": "", "replies": _spoken(app, sender, [_bot(sender, NOT_HEARD_REPLY)])}
    replies = await request.config_dict[TURNS].handle(sender, heard, channel="voice")
    clock.lap("dialogue")
    return {"transcript": heard, "replies": _answered(app, sender, replies, clock)}


async def say(request: web.Request) -> web.Response:
    """A turn of a spoken conversation that was pressed instead of said.

    The page's "再说一遍" and "说慢一点" buttons: on the voice channel the
    dialogue reports the new speech rate (which the text channel does not), so
    the next spoken reply, starting with this one, is read at that rate.
    """
    sender = request.query.get("sender", "")
    if not SENDER.match(sender):
        return bad_request(SENDER_RULE)
    try:
        body = await request.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        return bad_request('请求体必须是 JSON 对象：{"message": "…"}')
    replies = await answer(request.config_dict, sender, message, channel="voice")
    return json_response({"transcript": "", "replies": _answered(request.app, sender, replies)})


async def spoken_updates(request: web.Request) -> web.Response:
    """The long poll of bot/handoff_relay.py for a page that reads replies aloud:
    a lawyer's words are heard without the person having to speak first."""
    answer = await handoff_relay.updates_for(request)
    if isinstance(answer, web.Response):
        return answer
    sender = request.query["sender"]
    spoken = [r for r in answer if r.get("text")]
    said = iter(_spoken(request.app, sender, spoken))
    return json_response([next(said) if r.get("text") else r for r in answer])


def _answered(
    app: web.Application,
    sender: str,
    replies: list[dict[str, Any]],
    clock: TurnClock | None = None,
) -> list[dict[str, Any]]:
    """The dialogue's replies to a spoken turn, minus the rate it set, with their speech."""
    replies = app[RATES].note(sender, replies)
    app[EXPECTED].note(sender, replies)
    return _spoken(app, sender, replies, clock)


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
    app: web.Application,
    sender: str,
    replies: list[dict[str, Any]],
    clock: TurnClock | None = None,
) -> list[dict[str, Any]]:
    """Each reply with the address of its speech, started now in the background."""
    if SYNTHESISER not in app:
        return replies
    rate = app[RATES].of(sender)
    # One voice for the whole turn: a listener should not hear it change mid-answer.
    synthesiser = app[SYNTHESISER].choose(app[ACTIVE].others)
    spoken = []
    for reply in replies:
        speech_id, made = app[SPEECH].start(synthesiser, reply_for_ear(reply), rate)
        if clock is not None and not spoken:
            clock.on_first_audio(sender, made)
        base = f"/api/voice/speech/{speech_id}"
        parts = [f"{base}/{index}" for index in range(len(made.parts))]
        spoken.append({**reply, "speech": base, "speech_parts": parts})
    return spoken


async def speech(request: web.Request) -> web.Response:
    """The whole reply's speech, once every sentence of it is made."""
    reply = _reply_speech(request)
    return await _wav_of(reply.whole(), reply.parts)


async def speech_part(request: web.Request) -> web.Response:
    """One sentence of a reply, as soon as it is made."""
    reply = _reply_speech(request)
    index = int(request.match_info["part"])
    if index >= len(reply.parts):
        raise web.HTTPNotFound(text="这段语音没有这一句。")
    part = reply.parts[index]
    return await _wav_of(asyncio.shield(part), [part])


def _reply_speech(request: web.Request) -> ReplySpeech:
    reply = request.app[SPEECH].get(request.match_info["speech_id"])
    if reply is None:
        raise web.HTTPNotFound(text="这段语音已经过期，请再说一遍。")
    return reply


async def _wav_of(making: Awaitable[Speech], parts: list[asyncio.Future[Speech]]) -> web.Response:
    try:
        made = await making
    except SynthesisError:
        log.warning("speech synthesis failed for one reply")
        raise web.HTTPServiceUnavailable(text=VOICE_OUTPUT_LOADING) from None
    except asyncio.CancelledError:
        if not any(part.cancelled() for part in parts):
            raise  # the request itself was cancelled (the listener went away)
        # The reply was forgotten (many replies since) before it was made.
        raise web.HTTPNotFound(text="这段语音已经过期，请再说一遍。") from None
    return web.Response(body=made.wav, content_type="audio/wav")


def bad_request(reason: str) -> web.Response:
    return json_response({"error": reason}, status=400)


def _bot(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text, "buttons": []}
