"""The hotline as a telephone system meets it: AudioSocket calls to a real gateway.

A gateway process with HOTLINE_PORT set, in front of the session's real Rasa
and action servers, with the real Korean Vosk model and espeak-ng; only
Asterisk is simulated (tests/audiosocket_sim.py), speaking AudioSocket
exactly. What is checked is what a caller notices: when the assistant speaks,
for how long and how loudly, when it stops, and that it hangs up.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

import store
from bot.hotline import protocol
from scripts.launcher import free_port
from store.hotline import overflow_figures
from tests.audiosocket_sim import Answer, SimulatedCall, telephone_audio
from tests.voice_support import KOREAN_MODEL, espeak_wav, gateway_only, wait_for_voice_engines

SILENCE_SECONDS = 3.0
# The greeting: "…自动语音助手，不是真人。请直接说您遇到了什么问题。任何时候按零，转人工。"
GREETING_CHARACTERS = 45


@pytest.fixture(scope="module")
def hotline(stack, tmp_path_factory):
    """A gateway answering AudioSocket calls; its port, and its database URL."""
    database_url = f"sqlite:///{stack.var_dir / 'legal_aid.db'}"
    port = free_port()
    gateway = gateway_only(
        stack,
        tmp_path_factory.mktemp("hotline"),
        KOREAN_MODEL,
        HOTLINE_PORT=str(port),
        HOTLINE_SILENCE_SECONDS=str(SILENCE_SECONDS),
    )
    try:
        wait_for_voice_engines(gateway.gateway_url)
        yield port, database_url
    finally:
        gateway.stop(("gateway",))


def assert_speech(answer: Answer, characters: int) -> None:
    """Speech of about the length of its text (0.1–0.6 s a character), not silence."""
    assert 0.1 * characters < answer.seconds < 0.6 * characters + 2, answer.seconds
    assert answer.rms > 300, answer.rms


def outcomes(database_url: str) -> dict[str, int]:
    engine = store.create_engine(database_url)
    try:
        now = datetime.now(timezone.utc)
        return overflow_figures(engine, now - timedelta(hours=1), now + timedelta(hours=1)).outcomes
    finally:
        engine.dispose()


async def wait_for_record(database_url: str, before: dict[str, int], outcome: str) -> None:
    for _ in range(50):
        if outcomes(database_url)[outcome] > before[outcome]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {outcome} call recorded: {outcomes(database_url)}")


async def test_the_greeting_is_heard_at_once(hotline):
    port, _ = hotline
    async with SimulatedCall(port) as call:
        greeting = await call.next_answer(since=call.connected_at)
        assert greeting.started - call.connected_at < 3.0
        assert_speech(greeting, GREETING_CHARACTERS)
        assert not call.hung_up_by_assistant.is_set()


async def test_a_consultation_by_keys(hotline):
    """0 asks for a person; the dialogue's question (with choices) is answered by key 1."""
    port, _ = hotline
    async with SimulatedCall(port) as call:
        await call.next_answer(since=call.connected_at)
        pressed = await call.press("0")
        started = await call.first_audio_after(pressed, timeout=30)
        assert started - pressed < 5.0
        await asyncio.sleep(3.0)  # a caller who knows the choices need not hear them all
        pressed = await call.press("1")
        question = call.answers(started)[0]
        assert question.rms > 300 and question.seconds > 2
        answer = await call.next_answer(since=pressed + 0.5, timeout=90)
        assert answer.started - pressed < 6.0
        assert answer.rms > 300 and answer.seconds > 1


async def test_a_spoken_turn_is_answered(hotline):
    """Korean speech (the test model's language): recognised and answered, quickly."""
    port, _ = hotline
    speech = await telephone_audio(espeak_wav("안녕하세요 법률 상담을 받고 싶어요"))
    async with SimulatedCall(port) as call:
        await call.next_answer(since=call.connected_at)
        ended = await call.say(speech)
        first = await call.first_audio_after(ended, timeout=20)
        # End of speech (plus the endpointer's 0.7 s hangover) to the first audio back.
        assert first - ended < 4.0, first - ended
        answer = await call.next_answer(since=ended, timeout=40)
        assert answer.rms > 300 and answer.seconds > 1


async def test_speaking_over_the_answer_stops_it(hotline):
    port, _ = hotline
    speech = await telephone_audio(espeak_wav("잠깐만요 잠깐만요 잠깐만요 잠깐만요"))
    async with SimulatedCall(port) as call:
        await call.next_answer(since=call.connected_at)
        pressed = await call.press("0")  # a long question about consent follows
        started = await call.first_audio_after(pressed, timeout=30)
        await asyncio.sleep(1.0)
        speaking = time.perf_counter()
        ended = await call.say(speech)
        during = [at for at, _ in call.received if speaking + 0.5 < at < ended]
        assert not during, f"the assistant kept talking {len(during) * 0.02:.1f} s over the caller"
        interrupted = call.answers(started)[0]
        assert interrupted.ended - speaking < 0.5


async def test_a_key_stops_the_answer(hotline):
    """A key during the long consent question stops it within half a second.

    The short reply to the key ("没有这个选项…") may follow the stopped question
    within a frame or two, so no gap marks the stop. Instead: all the audio
    received after the key is the question's remainder plus that reply, and the
    same reply is then heard alone (the key again, on a quiet line) to learn
    its length; what is left over is what the caller heard of the question
    after pressing, which must be under half a second, where without barge-in
    it would be the rest of a question of over 30 s.
    """
    port, _ = hotline
    async with SimulatedCall(port) as call:
        await call.next_answer(since=call.connected_at)
        pressed = await call.press("0")  # the long question about consent (over 30 s)
        started = await call.first_audio_after(pressed, timeout=30)
        await asyncio.sleep(1.5)
        stopped = await call.press("9")  # no such choice
        before = [at for at, _ in call.received if started <= at <= stopped]
        # The question was still being spoken when the key was pressed.
        assert before and stopped - before[-1] < 0.2, stopped - (before or [started])[-1]
        # Until the line is quiet (the silence re-prompt comes 3 s later);
        # without barge-in this takes the rest of the question: over 25 s.
        last = await call.quiet_after(stopped, quiet=1.0, timeout=20)
        alone_pressed = await call.press("9")  # the same reply, with nothing to interrupt
        alone_last = await call.quiet_after(alone_pressed, quiet=1.0, timeout=30)
        alone = call.audio_seconds(alone_pressed, alone_last)
        assert alone > 1 and call.answers(alone_pressed)[0].rms > 300, alone
        remainder = call.audio_seconds(stopped, last) - alone
        assert -0.1 < remainder < 0.5, (call.audio_seconds(stopped, last), alone)


async def test_silence_is_prompted_twice_then_a_person_offered_then_goodbye(hotline):
    port, database_url = hotline
    before = outcomes(database_url)
    async with SimulatedCall(port) as call:
        greeting = await call.next_answer(since=call.connected_at)
        prompts = []
        since = greeting.ended
        for _ in range(4):
            prompt = await call.next_answer(since=since + 0.1, timeout=SILENCE_SECONDS + 20)
            # Each prompt comes after the silence, not before.
            assert prompt.started - since > SILENCE_SECONDS - 0.5
            assert prompt.rms > 300
            prompts.append(prompt)
            since = prompt.ended
        await asyncio.wait_for(call.hung_up_by_assistant.wait(), 5)
        await asyncio.wait_for(call.closed.wait(), 5)
    assert prompts[0].seconds == pytest.approx(prompts[1].seconds, abs=0.1)  # the same re-prompt
    assert prompts[2].seconds < prompts[0].seconds  # "如果需要工作人员帮您，请按零。"
    await wait_for_record(database_url, before, "abandoned")


async def test_hanging_up_mid_answer_is_an_abandoned_call(hotline):
    port, database_url = hotline
    before = outcomes(database_url)
    call = SimulatedCall(port)
    await call.connect()
    await call.next_answer(since=call.connected_at)
    pressed = await call.press("0")
    await call.first_audio_after(pressed, timeout=30)
    await asyncio.sleep(1.0)
    await call.close()  # mid-sentence
    await wait_for_record(database_url, before, "abandoned")
    async with SimulatedCall(port) as next_call:  # the server carries on
        greeting = await next_call.next_answer(since=next_call.connected_at)
        assert_speech(greeting, GREETING_CHARACTERS)


@pytest.mark.parametrize(
    "frames",
    [
        [protocol.encode(0x42, b"xx")],  # an unknown type
        [protocol.encode(protocol.UUID, b"short")],  # a UUID that is not 16 bytes
        [protocol.encode(protocol.DTMF, b"12")],  # two digits in one frame
        [protocol.encode(protocol.AUDIO, bytes(321))],  # half a sample
        [b"\x10\x01"],  # a header cut short, then the line closes
        [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"],  # not AudioSocket at all
    ],
    ids=["unknown-type", "bad-uuid", "long-dtmf", "odd-audio", "cut-header", "http"],
)
async def test_malformed_frames_are_hung_up_cleanly(hotline, frames):
    port, _ = hotline
    call = SimulatedCall(port)
    first_is_uuid = frames[0][:1] != bytes([protocol.UUID])
    await call.connect(send_uuid=first_is_uuid, stream_audio=False)
    for frame in frames:
        await call.send_raw(frame)
    if frames[0] == b"\x10\x01":
        call._writer.write_eof()
    await asyncio.wait_for(call.closed.wait(), 10)
    await call.close()
    async with SimulatedCall(port) as next_call:
        greeting = await next_call.next_answer(since=next_call.connected_at)
        assert greeting.rms > 300


async def test_many_calls_at_once_are_all_greeted(hotline):
    port, _ = hotline
    calls = [SimulatedCall(port) for _ in range(10)]
    await asyncio.gather(*(call.connect() for call in calls))
    try:
        greetings = await asyncio.gather(
            *(call.next_answer(since=call.connected_at, timeout=30) for call in calls)
        )
        for call, greeting in zip(calls, greetings, strict=True):
            assert greeting.started - call.connected_at < 5.0
            assert_speech(greeting, GREETING_CHARACTERS)
    finally:
        await asyncio.gather(*(call.close() for call in calls))


# The call records and the console's overflow figures (no gateway needed) ---------


def test_call_records_make_the_overflow_figures(migrated_url):
    from bot.console.figures import _hotline_section
    from store.hotline import record_call

    engine = store.create_engine(migrated_url)
    try:
        now = datetime.now(timezone.utc)
        for minutes, outcome in [(2, "resolved"), (4, "transferred"), (6, "abandoned")]:
            record_call(engine, now - timedelta(minutes=minutes), now, outcome, turns=3)
        record_call(engine, now - timedelta(days=9), now - timedelta(days=9), "callback", 1)
        figures = overflow_figures(engine, now - timedelta(days=7), now + timedelta(minutes=1))
    finally:
        engine.dispose()
    assert figures.answered == 3
    assert figures.outcomes == {"resolved": 1, "callback": 0, "transferred": 1, "abandoned": 1}
    assert figures.average_seconds == pytest.approx(240, abs=1)
    html = _hotline_section(figures)
    assert "接听的来电</th><td>3 个" in html and "4.0 分钟" in html
