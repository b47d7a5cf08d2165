"""A voice turn streamed while it is spoken (GET /api/voice/stream, a WebSocket).

The gateway runs in this process (aiohttp's test server, on a real socket)
against the session's Rasa and action servers, with the real Korean Vosk
model and the espeak voice. Audio is sent as a page or kiosk sends it: 0.1 s
of PCM at a time, then "end". espeak-ng's Korean is not intelligible to the
model, so the words are not checked, only what a person would notice: the
words so far appear while they speak, the answer comes as the POST turn's
does, and its speech is there, sentence by sentence.
"""

from __future__ import annotations

import asyncio
import io
import wave

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.appkeys import SPEECH_ENGINES
from bot.config import Config
from bot.messages import NOT_HEARD_REPLY, NOTHING_SENT_MESSAGE
from tests.support.gateway_api import API_HEADERS, API_TOKEN
from tests.support.voice_support import ENGINES_READY_SECONDS, KOREAN_MODEL, espeak_wav
from tests.test_voice_chat import Says
from voice.audio import to_pcm

SPEECH = "안녕하세요 저는 법률 도움이 필요합니다"
RATE = 16_000
CHUNK = RATE * 2 // 10  # 0.1 s of PCM16


@pytest.fixture
async def gateway(stack, monkeypatch):
    monkeypatch.setenv("VOSK_MODEL", str(KOREAN_MODEL))
    monkeypatch.setenv("TTS_ENGINE", "espeak")
    monkeypatch.setenv("TTS_WORKERS", "1")
    config = Config(
        rasa_url=stack.rasa_url,
        rasa_token=stack.rasa_token,
        actions_url=stack.actions_url,
        gateway_api_token=API_TOKEN,
    )
    app = create_app(config)
    # The tests name their senders, as a trusted server with the API token may.
    async with TestClient(TestServer(app), headers=API_HEADERS) as client:
        engines = app[SPEECH_ENGINES]
        for _ in range(ENGINES_READY_SECONDS * 2):
            if engines.hears and engines.speaks:
                break
            await asyncio.sleep(0.5)
        yield client, engines


@pytest.fixture(scope="module")
def speech_pcm() -> bytes:
    return asyncio.run(to_pcm(espeak_wav(SPEECH), RATE))


async def streamed_turn(client: TestClient, sender: str, pcm: bytes) -> tuple[list[str], dict]:
    """Streams `pcm` in 0.1 s messages, then "end"; the partial texts and the turn."""
    partials: list[str] = []
    async with client.ws_connect(f"/api/voice/stream?sender={sender}") as socket:
        for start in range(0, len(pcm), CHUNK):
            await socket.send_bytes(pcm[start : start + CHUNK])
        await socket.send_json({"type": "end"})
        async for message in socket:
            body = message.json()
            if body["type"] == "partial":
                partials.append(body["text"])
            elif body["type"] == "turn":
                return partials, body
    raise AssertionError(f"the socket closed without an answer; partials: {partials}")


def wav_seconds_and_loudness(data: bytes) -> tuple[float, float]:
    with wave.open(io.BytesIO(data)) as audio:
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype=np.int16)
        seconds = audio.getnframes() / audio.getframerate()
    return seconds, float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


async def fetched(client: TestClient, path: str) -> bytes:
    response = await client.get(path)
    assert response.status == 200 and response.content_type == "audio/wav"
    return await response.read()


async def test_words_appear_while_speaking_and_the_answer_is_spoken(gateway, speech_pcm):
    client, _ = gateway
    partials, turn = await streamed_turn(client, "stream-speech", speech_pcm)
    assert partials and all(partials), "the words so far are sent while the person speaks"
    assert turn["transcript"], turn
    reply = turn["replies"][0]
    assert reply["text"] and reply["speech_parts"], turn

    # Sentence by sentence, the parts add up to the whole reply, and are sound.
    parts = [wav_seconds_and_loudness(await fetched(client, p)) for p in reply["speech_parts"]]
    whole, loudness = wav_seconds_and_loudness(await fetched(client, reply["speech"]))
    assert abs(sum(seconds for seconds, _ in parts) - whole) < 0.05, (parts, whole)
    assert parts[0][0] > 0.3 and parts[0][1] > 300 and loudness > 300


async def test_silence_gets_the_not_heard_answer_aloud(gateway):
    client, _ = gateway
    partials, turn = await streamed_turn(client, "stream-silence", bytes(RATE * 2 * 2))
    assert partials == [] and turn["transcript"] == ""
    assert [r["text"] for r in turn["replies"]] == [NOT_HEARD_REPLY]
    seconds, _ = wav_seconds_and_loudness(await fetched(client, turn["replies"][0]["speech"]))
    assert seconds > 1


async def test_ending_before_any_audio_gets_a_polite_answer(gateway):
    client, _ = gateway
    _, turn = await streamed_turn(client, "stream-empty", b"")
    assert [r["text"] for r in turn["replies"]] == [NOTHING_SENT_MESSAGE]


async def test_a_cancelled_turn_reaches_no_one(gateway, speech_pcm):
    client, engines = gateway
    says = Says("法律援助有哪些形式")
    engines.recogniser = says
    async with client.ws_connect("/api/voice/stream?sender=stream-cancel") as socket:
        await socket.send_bytes(speech_pcm[:CHUNK])
        await socket.send_json({"type": "cancel"})
        message = await socket.receive(timeout=30)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message


async def test_a_choice_is_streamed_within_the_expected_answers(gateway, speech_pcm):
    client, engines = gateway
    for said in ("包工头欠我工资", "帮我查一查", "山西太原"):
        engines.recogniser = Says(said)
        _, asked = await streamed_turn(client, "stream-grammar", speech_pcm[:CHUNK])
    assert asked["replies"][-1]["buttons"], asked  # 进城务工人员吗？ 是 / 不是 / 不想说
    answer = Says("是")
    engines.recogniser = answer
    _, answered = await streamed_turn(client, "stream-grammar", speech_pcm[:CHUNK])
    assert answered["transcript"] == "是"
    assert "转人工" in answer.grammars[0], "recognised within the expected answers"


async def test_a_bad_sender_or_rate_is_refused_before_the_socket_opens(gateway):
    client, _ = gateway
    for query in ("sender=a%20b", "sender=ok&rate=44100", "rate=44100"):
        response = await client.get(f"/api/voice/stream?{query}")
        assert response.status == 400, query
        assert "error" in await response.json()
