"""A voice turn through the gateway: recording in, transcript, spoken replies out.

The gateway runs in this process (aiohttp's test server) against the session's
real Rasa and action servers, with the real Korean Vosk model and the real
synthesiser. Korean audio made by espeak-ng is not intelligible to that model,
so the dialogue checks inject text at the recogniser interface, as the issue
allows; the audio path itself is checked end to end.
"""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import voice_chat
from bot.app import create_app
from bot.appkeys import SPEECH_ENGINES
from bot.config import Config
from bot.messages import NOT_HEARD_REPLY, SLOW_REPLY
from tests.support.gateway_api import API_HEADERS, API_TOKEN
from tests.support.voice_support import ENGINES_READY_SECONDS, KOREAN_MODEL, espeak_wav
from voice.normalise import reply_for_ear
from voice.recognition import Recogniser, RecognitionStream, Transcript
from voice.vosk_recogniser import VOICE_INPUT_OFF_MESSAGE


class SaysStream(RecognitionStream):
    """A stream that 'hears' a fixed sentence: text injected at the interface."""

    def __init__(self, sample_rate: int, text: str) -> None:
        super().__init__(sample_rate)
        self._text = text

    def _accept_samples(self, pcm: bytes) -> Transcript:
        return Transcript("", final=False)

    def _finish_samples(self) -> Transcript:
        return Transcript(self._text, final=True)


class Says(Recogniser):
    def __init__(self, text: str) -> None:
        self.text = text
        self.grammars: list[list[str] | None] = []

    def open_stream(self, sample_rate: int, grammar=None) -> RecognitionStream:
        self.grammars.append(list(grammar) if grammar else None)
        return SaysStream(sample_rate, self.text)


def seconds_and_loudness(wav_bytes: bytes) -> tuple[float, float]:
    with wave.open(io.BytesIO(wav_bytes)) as audio:
        frames = audio.readframes(audio.getnframes())
        seconds = audio.getnframes() / audio.getframerate()
    samples = np.frombuffer(frames, dtype=np.int16).astype(np.float64)
    return seconds, float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


@pytest.fixture
async def gateway(stack, monkeypatch):
    monkeypatch.setenv("VOSK_MODEL", str(KOREAN_MODEL))
    # The neural voice takes seconds to load in each worker, and is tested in
    # test_voice_synthesis.py; the gateway's machinery is the same with espeak.
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


async def turn(client, sender: str, audio: bytes) -> dict:
    response = await client.post(f"/api/voice/turn?sender={sender}", data=audio)
    assert response.status == 200
    return await response.json()


async def speech_of(client, reply: dict) -> bytes:
    response = await client.get(reply["speech"])
    assert response.status == 200
    assert response.content_type == "audio/wav"
    return await response.read()


async def test_status_offers_voice_when_a_model_is_present(gateway):
    client, _ = gateway
    status = await (await client.get("/api/voice/status")).json()
    assert status == {"input": True, "output": True, "reason_zh": ""}


async def test_a_recording_comes_back_as_spoken_replies(gateway):
    client, _ = gateway
    body = await turn(client, "voice-audio", espeak_wav("안녕하세요 법률 상담을 받고 싶어요"))
    assert body["replies"], body
    seconds, loudness = seconds_and_loudness(await speech_of(client, body["replies"][0]))
    # Speech of about the length of what is said (0.1–0.6 s a character): the
    # text, and its choices read out when it offers some; not silence.
    said = reply_for_ear(body["replies"][0])
    assert 0.1 * len(said) < seconds < 0.6 * len(said) + 1, (said, seconds)
    assert loudness > 300


async def test_broken_audio_gets_a_polite_spoken_answer(gateway):
    client, _ = gateway
    body = await turn(client, "voice-broken", b"this is not audio at all" * 10)
    assert body["transcript"] == ""
    assert "录音" in body["replies"][0]["text"] or "听" in body["replies"][0]["text"]
    seconds, _ = seconds_and_loudness(await speech_of(client, body["replies"][0]))
    assert seconds > 1


async def test_silence_is_not_sent_to_the_dialogue(gateway):
    client, _ = gateway
    silence = io.BytesIO()
    with wave.open(silence, "wb") as audio:
        audio.setnchannels(1), audio.setsampwidth(2), audio.setframerate(16000)
        audio.writeframes(b"\0\0" * 16000 * 2)
    body = await turn(client, "voice-silence", silence.getvalue())
    assert [r["text"] for r in body["replies"]] == [NOT_HEARD_REPLY]


async def test_spoken_dialogue_uses_the_voice_variants_and_the_chosen_rate(gateway):
    client, engines = gateway
    recording = espeak_wav("네")
    engines.recogniser = Says("法律援助有哪些形式")
    normal = await turn(client, "voice-rate", recording)
    assert normal["transcript"] == "法律援助有哪些形式"
    assert "要继续听吗" in normal["replies"][0]["text"]
    normal_seconds, _ = seconds_and_loudness(await speech_of(client, normal["replies"][0]))

    engines.recogniser = Says("说慢一点")
    slower = await turn(client, "voice-rate", recording)
    assert all("speech_rate" not in str(r.get("custom")) for r in slower["replies"])
    engines.recogniser = Says("法律援助有哪些形式")
    again = await turn(client, "voice-rate", recording)
    assert again["replies"][0]["text"] == normal["replies"][0]["text"]
    slow_seconds, _ = seconds_and_loudness(await speech_of(client, again["replies"][0]))
    assert slow_seconds > normal_seconds * 1.1


async def test_without_a_model_voice_input_is_off_and_says_so(stack, monkeypatch, tmp_path):
    monkeypatch.setenv("VOSK_MODEL", str(tmp_path / "no-model-here"))
    monkeypatch.setenv("TTS_ENGINE", "espeak")
    config = Config(
        rasa_url=stack.rasa_url,
        rasa_token=stack.rasa_token,
        actions_url=stack.actions_url,
        gateway_api_token=API_TOKEN,
    )
    app = create_app(config)
    async with TestClient(TestServer(app), headers=API_HEADERS) as client:
        await asyncio.sleep(1)
        status = await (await client.get("/api/voice/status")).json()
        assert status["input"] is False and status["reason_zh"] == VOICE_INPUT_OFF_MESSAGE
        body = await turn(client, "voice-off", espeak_wav("네"))
        assert body["replies"][0]["text"] == VOICE_INPUT_OFF_MESSAGE
        # Text chat still works.
        chat = await client.post("/api/chat", json={"sender": "voice-off", "message": "你好"})
        assert (await chat.json())[0]["text"]


async def test_choices_are_recognised_within_the_expected_answers(gateway):
    client, engines = gateway
    recording = espeak_wav("네")
    engines.recogniser = Says("包工头欠我工资")
    await turn(client, "voice-grammar", recording)
    problem = engines.recogniser
    assert problem.grammars == [None], "a problem is described freely"

    engines.recogniser = Says("帮我查一查")
    asked = await turn(client, "voice-grammar", recording)
    engines.recogniser = Says("山西太原")
    asked = await turn(client, "voice-grammar", recording)
    assert asked["replies"][-1]["buttons"], asked  # 进城务工人员吗？ 是 / 不是 / 不想说
    answer = Says("是")
    engines.recogniser = answer
    await turn(client, "voice-grammar", recording)
    grammar = answer.grammars[0]
    for title in [b["title"] for b in asked["replies"][-1]["buttons"]]:
        assert title in grammar
    assert {"一", "二", "三", "为什么问这个", "转人工"} <= set(grammar)


async def test_a_pressed_request_is_answered_as_a_spoken_turn(gateway):
    client, _ = gateway
    not_json = await client.post("/api/voice/say?sender=voice-say", data=b"not json")
    assert not_json.status == 400
    other_channel = await client.post("/api/voice/say?sender=hotline:1", json={"message": "好"})
    assert other_channel.status == 403  # only the hotline itself speaks as a caller
    bad_sender = await client.post("/api/voice/turn?sender=a%20b", data=espeak_wav("네"))
    assert bad_sender.status == 400 and "sender" in (await bad_sender.json())["error"]

    # "说慢一点" pressed on the page: the voice channel's answer, without the
    # message that carried the new rate, spoken at that rate.
    said = await client.post("/api/voice/say?sender=voice-say", json={"message": "说慢一点"})
    body = await said.json()
    assert body["transcript"] == ""
    assert [r["text"] for r in body["replies"]] == ["好的，我会说慢一点。"]
    seconds, _ = seconds_and_loudness(await speech_of(client, body["replies"][0]))
    assert seconds > 1


class NeverHears(Recogniser):
    """A recogniser stuck on a recording: whatever stage stalls, the turn must end."""

    def open_stream(self, sample_rate: int, grammar=None) -> RecognitionStream:
        raise AssertionError("not used: transcribe never returns")

    async def transcribe(self, pcm: bytes, sample_rate: int, grammar=None) -> Transcript:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_stalled_turn_is_answered_that_it_was_too_slow_and_the_next_works(
    gateway, monkeypatch
):
    client, engines = gateway
    monkeypatch.setattr(voice_chat, "TURN_DEADLINE_SECONDS", 1.0)
    working = engines.recogniser
    engines.recogniser = NeverHears()
    body = await turn(client, "voice-stalled", espeak_wav("네"))
    assert [r["text"] for r in body["replies"]] == [SLOW_REPLY]
    seconds, loudness = seconds_and_loudness(await speech_of(client, body["replies"][0]))
    assert seconds > 2 and loudness > 300, "said aloud, not only written"

    engines.recogniser = Says("你好")
    monkeypatch.setattr(voice_chat, "TURN_DEADLINE_SECONDS", 45.0)
    again = await turn(client, "voice-stalled", espeak_wav("네"))
    assert again["transcript"] == "你好" and again["replies"][0]["text"] != SLOW_REPLY
    engines.recogniser = working
