"""Voice turns over HTTP, for the web chat's push-to-talk and the voice kiosk.

    GET  /api/voice/status               can the page offer the microphone, and speak?
    POST /api/voice/turn                 body: a recording (webm/opus, ogg, mp3, wav…)
         → {"transcript": "…", "replies": [{…REST reply…, "speech": "/api/voice/speech/<id>",
                                            "speech_parts": ["/api/voice/speech/<id>/0", …]}]}
    GET  /api/voice/stream               a WebSocket: the turn streamed while it is spoken
         (bot/voice_stream.py), answered with the same body
    POST /api/voice/say                  body: {"message": "…"}, a request pressed, not said
         ("再说一遍", "说慢一点" on the page) → the same answer, as if it had been said
    GET  /api/voice/updates?after=…
                                         a lawyer's messages during a handoff, as
                                         /api/chat/updates, each with its speech
    GET  /api/voice/speech/<id>          audio/wav of one reply, once it is made
    GET  /api/voice/speech/<id>/<n>      audio/wav of its sentence n, once that is made

Who speaks is the caller's web identity, as on /api/chat (bot/web_identity.py):
the cookie, an app's bearer token, or a new one set on the answer; `?sender=…`
only from a trusted server holding GATEWAY_API_TOKEN, never another channel's.
The speech of a reply is fetched by its id alone: 128 random bits, made for
that one turn and kept briefly, in the memory of the gateway that answered
the turn. Behind a load balancer without stickiness the fetch may reach
another gateway: the shared state (bot/shared_state.py) says which gateway
made it, and the fetch is passed to that one (no speech or text leaves the
gateways' memory).

The recording becomes 16 kHz PCM (voice/audio.py), then text (voice/recognition.py);
the text goes to Rasa's `voice` channel, so replies use their spoken variants;
each reply is synthesised in the background (voice/synthesis.py), sentence by
sentence, and fetched by id: a player that takes the parts starts on the first
sentence while the rest is made; the whole reply is there for simpler players.
Each turn is spoken in one voice, chosen by load (`SpeechEngines.voice`); the
engines are the gateway's, shared with every spoken channel (bot/speech.py).
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
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot import handoff_relay
from bot.appkeys import CONFIG, HTTP, SHARED_STATE, SPEECH_ENGINES, TURNS
from bot.json_body import BadJsonBody, read_json
from bot.limits import client_address
from bot.messages import (
    NOT_HEARD_REPLY,
    SAY_BODY_RULE,
    SLOW_REPLY,
    SPEECH_EXPIRED,
    SPEECH_PART_MISSING,
    VOICE_OUTPUT_LOADING,
    VOICE_SENDER_RULE,
)
from bot.privacy import pseudonym
from bot.recent import Recent
from bot.responses import json_response
from bot.speech import RECOGNITION_RATE
from bot.web_identity import Speaker, remember, speaker_of
from legal_aid.channels import VOICE
from voice.audio import MAX_INPUT_BYTES, to_pcm
from voice.errors import VoiceInputError
from voice.normalise import reply_for_ear
from voice.synthesis import Speech, Synthesiser, SynthesisError
from voice.vosk_recogniser import VOICE_INPUT_OFF_MESSAGE

log = logging.getLogger(__name__)

PENDING = web.AppKey("pending_speech", "PendingSpeech")
# As long as a reply's speech is worth fetching: PendingSpeech forgets sooner when busy.
SPEECH_OWNER_SECONDS = 600.0
# On a fetch passed from one gateway to another, so it is never passed on again.
PASSED_ON_HEADER = "X-Fayuan-Passed-On"

SENDER = re.compile(r"^[\w.:-]{1,128}$")
# The longest a spoken turn may take: waiting for a converter and converting
# (voice.audio's timeout, twice), then Rasa (RASA_TIMEOUT) fit in it in all but
# the worst case, where the person hears that it was too slow instead of silence.
TURN_DEADLINE_SECONDS = 45.0


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

    def on_first_audio(self, sender: str, reply: ReplySpeech, voice: str) -> None:
        """Logs when the turn's first sentence is ready (what the listener waits
        for), and in which voice: under load the neural voice gives way."""
        if not reply.parts:
            return

        def ready(part: asyncio.Future[Speech]) -> None:
            if not part.cancelled() and part.exception() is None:
                ms = (time.perf_counter() - self.ended) * 1000
                log.info(
                    "voice first audio sender=%s via=%s ms=%.0f voice=%s",
                    pseudonym(sender),
                    self.via,
                    ms,
                    voice,
                )

        reply.parts[0].add_done_callback(ready)


def create_voice_app() -> web.Application:
    """The /api/voice sub-application; its engines are the gateway's (bot/speech.py)."""
    app = web.Application(client_max_size=MAX_INPUT_BYTES)
    app[PENDING] = PendingSpeech()
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


async def status(request: web.Request) -> web.Response:
    return json_response(request.config_dict[SPEECH_ENGINES].status())


def voice_speaker(request: web.Request) -> Speaker | web.Response:
    """Who speaks in a voice request (bot/web_identity.py), or the 400 for a
    malformed `?sender=`; raises 403 for a sender the caller may not name."""
    named = request.query.get("sender")
    if named is not None and not SENDER.match(named):
        return bad_request(VOICE_SENDER_RULE)
    return speaker_of(request, named)


async def turn(request: web.Request) -> web.Response:
    """One spoken turn: what was heard, and the replies with their speech."""
    speaker = voice_speaker(request)
    if isinstance(speaker, web.Response):
        return speaker
    engines = request.config_dict[SPEECH_ENGINES]
    if not engines.hears:
        response = json_response(voice_off(speaker.sender))
    else:
        with engines.active:
            response = json_response(await _turn_in_time(request, speaker.sender))
    remember(request, response, speaker)
    return response


async def _turn_in_time(request: web.Request, sender: str) -> dict[str, Any]:
    """The turn, or after TURN_DEADLINE_SECONDS the polite answer that it took too
    long: the person holding the talk button is answered, whatever stage stalled."""
    clock = TurnClock("post")
    try:
        return await asyncio.wait_for(_posted_turn(request, sender, clock), TURN_DEADLINE_SECONDS)
    except asyncio.TimeoutError:
        stalled = next(reversed(clock.stages), "start")
        log.warning(
            "voice turn sender=%s unanswered after %.0f s; last stage done: %s",
            pseudonym(sender),
            TURN_DEADLINE_SECONDS,
            stalled,
        )
        return {
            "transcript": "",
            "replies": await _spoken(request, sender, [_bot(sender, SLOW_REPLY)]),
        }


async def _posted_turn(request: web.Request, sender: str, clock: TurnClock) -> dict[str, Any]:
    recording = await request.read()
    clock.lap("upload")
    try:
        pcm = await to_pcm(recording, RECOGNITION_RATE)
        clock.lap("convert")
        heard = await request.config_dict[SPEECH_ENGINES].recognise(sender, pcm)
        clock.lap("recognise")
    except VoiceInputError as error:
        return await refused(request, sender, error)
    body = await answer_heard(request, sender, heard, clock)
    clock.log(sender, len(pcm) / (2 * RECOGNITION_RATE))
    return body


def voice_off(sender: str) -> dict[str, Any]:
    """The answer to a spoken turn when there is no recogniser."""
    return {"transcript": "", "replies": [_bot(sender, VOICE_INPUT_OFF_MESSAGE)]}


async def refused(request: web.Request, sender: str, error: VoiceInputError) -> dict[str, Any]:
    """The polite, spoken answer to audio that cannot be used."""
    log.info("voice turn refused: %s", type(error).__name__)
    replies = await _spoken(request, sender, [_bot(sender, error.user_message)])
    return {"transcript": "", "replies": replies}


async def answer_heard(
    request: web.Request, sender: str, heard: str, clock: TurnClock
) -> dict[str, Any]:
    """The dialogue's spoken answer to what was heard (the gateway's own when nothing was)."""
    if not heard.strip():
        replies = await _spoken(request, sender, [_bot(sender, NOT_HEARD_REPLY)])
        return {"transcript": "", "replies": replies}
    replies = await request.config_dict[TURNS].handle(
        sender, heard, channel=VOICE.name, client=client_address(request)
    )
    clock.lap("dialogue")
    return {"transcript": heard, "replies": await _answered(request, sender, replies, clock)}


async def say(request: web.Request) -> web.Response:
    """A turn of a spoken conversation that was pressed instead of said.

    The page's "再说一遍" and "说慢一点" buttons: on the voice channel the
    dialogue reports the new speech rate (which the text channel does not), so
    the next spoken reply, starting with this one, is read at that rate.
    """
    speaker = voice_speaker(request)
    if isinstance(speaker, web.Response):
        return speaker
    sender = speaker.sender
    try:
        body = await read_json(request)
    except BadJsonBody:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        return bad_request(SAY_BODY_RULE)
    replies = await request.config_dict[TURNS].handle(
        sender, message, channel=VOICE.name, client=client_address(request)
    )
    answered = await _answered(request, sender, replies)
    response = json_response({"transcript": "", "replies": answered})
    remember(request, response, speaker)
    return response


async def spoken_updates(request: web.Request) -> web.Response:
    """The long poll of bot/handoff_relay.py for a page that reads replies aloud:
    a lawyer's words are heard without the person having to speak first."""
    answer = await handoff_relay.updates_for(request)
    if isinstance(answer, web.Response):
        return answer
    sender, updates = answer
    spoken = [r for r in updates if r.get("text")]
    said = iter(await _spoken(request, sender, spoken))
    return json_response([next(said) if r.get("text") else r for r in updates])


async def _answered(
    request: web.Request,
    sender: str,
    replies: list[dict[str, Any]],
    clock: TurnClock | None = None,
) -> list[dict[str, Any]]:
    """The dialogue's replies to a spoken turn, minus the rate it set, with their speech."""
    engines = request.config_dict[SPEECH_ENGINES]
    await engines.expected.note(sender, replies)
    replies = await engines.rates.note(sender, replies)
    return await _spoken(request, sender, replies, clock)


async def _spoken(
    request: web.Request,
    sender: str,
    replies: list[dict[str, Any]],
    clock: TurnClock | None = None,
) -> list[dict[str, Any]]:
    """Each reply with the address of its speech, started now in the background."""
    # One voice for the whole turn: a listener should not hear it change mid-answer.
    synthesiser = request.config_dict[SPEECH_ENGINES].voice()
    if synthesiser is None:
        return replies
    rate = await request.config_dict[SPEECH_ENGINES].rates.of(sender)
    spoken = []
    for reply in replies:
        speech_id, made = request.app[PENDING].start(synthesiser, reply_for_ear(reply), rate)
        await request.config_dict[SHARED_STATE].put(
            _owner_key(speech_id), request.config_dict[CONFIG].internal_url, SPEECH_OWNER_SECONDS
        )
        if clock is not None and not spoken:
            clock.on_first_audio(sender, made, synthesiser.engine_name)
        base = f"/api/voice/speech/{speech_id}"
        parts = [f"{base}/{index}" for index in range(len(made.parts))]
        spoken.append({**reply, "speech": base, "speech_parts": parts})
    return spoken


async def speech(request: web.Request) -> web.Response:
    """The whole reply's speech, once every sentence of it is made."""
    reply = request.app[PENDING].get(request.match_info["speech_id"])
    if reply is None:
        return await _from_the_gateway_that_made_it(request)
    return await _wav_of(reply.whole(), reply.parts)


async def speech_part(request: web.Request) -> web.Response:
    """One sentence of a reply, as soon as it is made."""
    reply = request.app[PENDING].get(request.match_info["speech_id"])
    if reply is None:
        return await _from_the_gateway_that_made_it(request)
    index = int(request.match_info["part"])
    if index >= len(reply.parts):
        raise web.HTTPNotFound(text=SPEECH_PART_MISSING)
    part = reply.parts[index]
    return await _wav_of(asyncio.shield(part), [part])


async def _from_the_gateway_that_made_it(request: web.Request) -> web.Response:
    """The answer of the gateway that made this speech, when it is another one."""
    config = request.config_dict[CONFIG]
    owner = await request.config_dict[SHARED_STATE].get(_owner_key(request.match_info["speech_id"]))
    if not owner or owner == config.internal_url or request.headers.get(PASSED_ON_HEADER):
        raise web.HTTPNotFound(text=SPEECH_EXPIRED)
    try:
        async with request.config_dict[HTTP].get(
            owner + request.path, headers={PASSED_ON_HEADER: "1"}
        ) as answer:
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type=answer.content_type)
    except aiohttp.ClientError:
        # That gateway has gone (a restart, a scale-down): its speech with it.
        log.warning("speech fetch: the gateway that made it did not answer")
        raise web.HTTPNotFound(text=SPEECH_EXPIRED) from None


def _owner_key(speech_id: str) -> str:
    return f"voice:speech:{speech_id}"


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
        raise web.HTTPNotFound(text=SPEECH_EXPIRED) from None
    return web.Response(body=made.wav, content_type="audio/wav")


def bad_request(reason: str) -> web.Response:
    return json_response({"error": reason}, status=400)


def _bot(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text, "buttons": []}
