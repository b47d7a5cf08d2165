"""A voice turn streamed while it is spoken: GET /api/voice/stream[?rate=16000].

Who speaks is the caller's web identity (bot/web_identity.py), as for every
/api/voice route: the cookie the page's WebSocket sends, or a new one set on
the handshake's answer.

A WebSocket, one per turn. The client sends the microphone's audio as it is
recorded, in binary messages of PCM16 mono at `rate` (16000, or 8000 for the
telephone), then the text message {"type": "end"} when the person stops
speaking. The gateway recognises while the person speaks, so at the end only
the last fraction of a second is left to decode; it answers
{"type": "partial", "text": "…"} whenever the words so far change, and at the
end {"type": "turn", "transcript": "…", "replies": [...]}, the body of
POST /api/voice/turn (each reply with its speech and speech parts). Then it
closes the socket. {"type": "cancel"}, or closing the socket, drops the turn.

Partial text goes only to the person's own socket; nothing said is logged.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot import voice_chat
from bot.appkeys import SPEECH_ENGINES
from bot.messages import (
    NOTHING_SENT_MESSAGE,
    STREAM_BAD_MESSAGE,
    STREAM_OTHER_SITE,
    STREAM_RATE_OR,
    STREAM_RATE_RULE,
)
from bot.speech import SpeechEngines
from bot.web_identity import forbidden, remember
from voice.errors import UnreadableAudio, VoiceInputError
from voice.recognition import (
    SUPPORTED_SAMPLE_RATES,
    Recogniser,
    RecognitionStream,
    accept_off_loop,
    finish_off_loop,
    join_utterances,
    run_in_recognition_pool,
)

log = logging.getLogger(__name__)

# A person holding the button says something within this time; a socket
# that stays silent longer is closed, so idle sockets cannot pile up.
IDLE_SECONDS = 30.0
# Larger than any audio message a client sends (0.1–0.5 s of PCM is a few kB).
MAX_MESSAGE_BYTES = 256 * 1024


def routes() -> list[web.RouteDef]:
    return [web.get("/stream", stream)]


async def stream(request: web.Request) -> web.StreamResponse:
    """One turn: audio in while it is spoken, then the answer, then the socket closes."""
    if not _same_origin(request):
        raise forbidden(STREAM_OTHER_SITE)
    speaker = voice_chat.voice_speaker(request)
    if isinstance(speaker, web.Response):
        return speaker
    sender = speaker.sender
    rate = _rate(request.query.get("rate", "16000"))
    if rate is None:
        rates = STREAM_RATE_OR.join(map(str, SUPPORTED_SAMPLE_RATES))
        return voice_chat.bad_request(STREAM_RATE_RULE.format(rates=rates))
    socket = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=IDLE_SECONDS)
    remember(request, socket, speaker)  # on the handshake's answer
    await socket.prepare(request)
    try:
        with request.config_dict[SPEECH_ENGINES].active:
            body = await _turn(request, socket, sender, rate)
        if body is not None:
            await socket.send_json({"type": "turn", **body}, dumps=_dumps)
    finally:
        await socket.close()
    return socket


async def _turn(
    request: web.Request, socket: web.WebSocketResponse, sender: str, rate: int
) -> dict[str, Any] | None:
    """The turn's answer, or None when the client went away or cancelled."""
    engines = request.config_dict[SPEECH_ENGINES]
    if not engines.hears:
        return voice_chat.voice_off(sender)
    try:
        listening = await Listening.open(engines, sender, rate)
        if not await _hear_until_end(socket, listening):
            return None
        clock = voice_chat.TurnClock("stream")
        heard = await listening.finish()
        clock.lap("recognise")
    except VoiceInputError as error:
        return await voice_chat.refused(request, sender, error)
    body = await voice_chat.answer_heard(request, sender, heard, clock)
    clock.log(sender, listening.seconds)
    return body


async def _hear_until_end(socket: web.WebSocketResponse, listening: Listening) -> bool:
    """Feeds the audio as it comes, with partial text back; False if the turn was dropped."""
    while True:
        message = await socket.receive(timeout=IDLE_SECONDS)
        if message.type == WSMsgType.BINARY:
            partial = await listening.hear(message.data)
            if partial is not None:
                await socket.send_json({"type": "partial", "text": partial}, dumps=_dumps)
        elif message.type == WSMsgType.TEXT:
            kind = _kind(message.data)
            if kind == "end":
                return True
            if kind == "cancel":
                return False
            await socket.send_json({"type": "error", "error": STREAM_BAD_MESSAGE}, dumps=_dumps)
        else:  # closed, closing or broken: the person went away
            return False


class Listening:
    """The recognition of one streamed turn.

    When the dialogue expects one of a few answers, the stream is recognised
    within them (cheap), and the audio is kept: if none of them was said, it
    is recognised freely at the end, as POST /api/voice/turn does.
    """

    def __init__(
        self,
        recogniser: Recogniser,
        expected: tuple[str, ...] | None,
        rate: int,
        stream: RecognitionStream,
    ) -> None:
        self._recogniser = recogniser
        self._expected = expected
        self.rate = rate
        self._stream = stream
        self._kept = bytearray()
        self._said: list[str] = []  # utterances Vosk closed at pauses within the turn
        self._shown = ""

    @classmethod
    async def open(cls, engines: SpeechEngines, sender: str, rate: int) -> Listening:
        recogniser, expected = engines.recogniser, await engines.expected.of(sender)
        assert recogniser is not None, "asked only when the engines hear"
        grammar = list(expected) if expected else None
        # Off the loop: making a recognizer (or a grammar's graph) takes a tenth of a second.
        stream = await run_in_recognition_pool(recogniser.open_stream, rate, grammar)
        return cls(recogniser, expected, rate, stream)

    @property
    def seconds(self) -> float:
        return self._stream.seconds_heard

    async def hear(self, pcm: bytes) -> str | None:
        """Feeds a chunk; the words so far when they changed, else None."""
        if self._expected:
            self._kept += pcm
        transcript = await accept_off_loop(self._stream, pcm)
        # At a pause inside the turn Vosk closes an utterance and its partial
        # text starts again: what is shown is everything said so far.
        if transcript.final:
            self._said.append(transcript.text)
            so_far = join_utterances(self._said)
        else:
            so_far = join_utterances([*self._said, transcript.text])
        if so_far == self._shown:
            return None
        self._shown = so_far
        return so_far

    async def finish(self) -> str:
        if self._stream.seconds_heard == 0:
            raise UnreadableAudio(NOTHING_SENT_MESSAGE, "no audio in the stream")
        heard = (await finish_off_loop(self._stream)).text
        if heard.strip() or not self._expected:
            return heard
        # Something else than a choice: free recognition of what was kept.
        transcript = await self._recogniser.transcribe(bytes(self._kept), self.rate)
        return transcript.text


def _same_origin(request: web.Request) -> bool:
    """A browser names the page that opens a WebSocket; cookies go with it even
    from another site, so only this gateway's own pages may open one."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def _rate(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) in SUPPORTED_SAMPLE_RATES else None


def _kind(text: str) -> str | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message.get("type") if isinstance(message, dict) else None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
