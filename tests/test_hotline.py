"""The hotline as a telephone system meets it: AudioSocket calls to a real gateway.

A gateway process with HOTLINE_PORT set, in front of the session's real Rasa
and action servers, with the real Korean Vosk model and espeak-ng; only
Asterisk is simulated (tests/support/audiosocket_sim.py), speaking AudioSocket
exactly. What is checked is what a caller notices: when the assistant speaks,
for how long and how loudly, when it stops, and that it hangs up.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

import store
from bot.hotline import protocol
from bot.hotline.call import not_heard_reply
from bot.hotline.person import callback_slots
from bot.messages import HOTLINE_TRANSFERRING as TRANSFERRING
from scripts.launcher import free_port
from store.hotline import overflow_figures
from tests.support import fake_asterisk
from tests.support.audiosocket_sim import Answer, SimulatedCall, telephone_audio
from tests.support.fake_asterisk import FakeAsterisk
from tests.support.voice_support import (
    KOREAN_MODEL,
    espeak_wav,
    gateway_only,
    wait_for_voice_engines,
)
from tests.test_handoff_dialogue import Roster
from voice.normalise import reply_for_ear

SILENCE_SECONDS = 3.0
# The greeting: "…自动语音助手，不是真人。请直接说您遇到了什么问题。任何时候按零，转人工。"
GREETING_CHARACTERS = 45


@dataclass(frozen=True)
class Hotline:
    port: int  # AudioSocket
    database_url: str
    asterisk_port: int  # where the gateway finds Asterisk's AMI (or ARI)


@pytest.fixture(scope="module")
def hotline(stack, tmp_path_factory):
    """A gateway answering AudioSocket calls, transferring through AMI.

    Asterisk's manager interface is there only in the tests that start a
    FakeAsterisk (the `asterisk` fixture); without it the gateway cannot
    reach AMI, so nobody can be transferred and the caller is helped without.
    """
    yield from _gateway(stack, tmp_path_factory, "ami")


@pytest.fixture(scope="module")
def hotline_ari(stack, tmp_path_factory):
    """The same, transferring through ARI."""
    yield from _gateway(stack, tmp_path_factory, "ari")


def _gateway(stack, tmp_path_factory, transfer: str):
    database_url = f"sqlite:///{stack.var_dir / 'legal_aid.db'}"
    port, asterisk_port = free_port(), free_port()
    gateway = gateway_only(
        stack,
        tmp_path_factory.mktemp(f"hotline-{transfer}"),
        KOREAN_MODEL,
        HOTLINE_PORT=str(port),
        HOTLINE_SILENCE_SECONDS=str(SILENCE_SECONDS),
        HOTLINE_TRANSFER=transfer,
        HOTLINE_WAIT_CHECK_SECONDS="1",
        ASTERISK_AMI_PORT=str(asterisk_port),
        ASTERISK_AMI_USER=fake_asterisk.USER,
        ASTERISK_AMI_SECRET=fake_asterisk.SECRET,
        ASTERISK_ARI_URL=f"http://127.0.0.1:{asterisk_port}/ari",
        ASTERISK_ARI_USER=fake_asterisk.USER,
        ASTERISK_ARI_PASSWORD=fake_asterisk.SECRET,
    )
    try:
        wait_for_voice_engines(gateway.gateway_url)
        yield Hotline(port, database_url, asterisk_port)
    finally:
        gateway.stop(("gateway",))


@pytest.fixture
async def asterisk(hotline):
    """Asterisk's manager interface, for the gateway of `hotline`."""
    phone_system = FakeAsterisk()
    await phone_system.start_ami(hotline.asterisk_port)
    try:
        yield phone_system
    finally:
        await phone_system.close()


@pytest.fixture(scope="module")
def desk(stack):
    """The handoff store, as the hotline's coordinator reads it."""
    return Roster(stack, coordinator="hotline-coordinator")


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


def test_not_heard_reads_the_choices_again_with_their_keys():
    choices = [{"title": "是", "payload": "/affirm"}, {"title": "不是", "payload": "/deny"}]
    spoken = reply_for_ear(not_heard_reply(choices))
    assert (
        spoken.startswith("我没有听清楚") and "说一，或者按一：是；说二，或者按二：不是" in spoken
    )
    # Nothing offered (a number being said): no keys to name.
    assert "按一" not in reply_for_ear(not_heard_reply([]))


async def test_the_greeting_is_heard(hotline):
    """How soon: bench/hotline.py measures it; a test on a shared machine cannot."""
    port = hotline.port
    async with SimulatedCall(port) as call:
        greeting = await call.next_answer(since=call.connected_at)
        assert_speech(greeting, GREETING_CHARACTERS)
        assert not call.hung_up_by_assistant.is_set()


async def test_a_consultation_by_keys(hotline):
    """0 asks for a person; the dialogue's question (with choices) is answered by key 1."""
    port = hotline.port
    async with SimulatedCall(port) as call:
        await call.next_answer(since=call.connected_at)
        pressed = await call.press("0")
        started = await call.first_audio_after(pressed)
        await asyncio.sleep(3.0)  # a caller who knows the choices need not hear them all
        pressed = await call.press("1")
        question = call.answers(started)[0]
        assert question.rms > 300 and question.seconds > 2
        answer = await call.next_answer(since=pressed + 0.5, timeout=90)
        assert answer.rms > 300 and answer.seconds > 1


async def test_a_spoken_turn_is_answered(hotline):
    """Korean speech (the test model's language): recognised and answered.
    How soon is bench/hotline.py's question, not a test's."""
    port = hotline.port
    speech = await telephone_audio(espeak_wav("안녕하세요 법률 상담을 받고 싶어요"))
    async with SimulatedCall(port) as call:
        await call.next_answer(since=call.connected_at)
        ended = await call.say(speech)
        answer = await call.next_answer(since=ended)
        assert answer.rms > 300 and answer.seconds > 1


async def test_speaking_over_the_answer_stops_it(hotline):
    port = hotline.port
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
    port = hotline.port
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
    port, database_url = hotline.port, hotline.database_url
    before = outcomes(database_url)
    async with SimulatedCall(port) as call:
        greeting = await call.next_answer(since=call.connected_at)
        # A busy machine may pause between an answer's sentences: an answer ends
        # where the line stays quiet for longer than any such pause.
        since = await call.quiet_after(greeting.started, quiet=SILENCE_SECONDS / 2)
        prompt_seconds = []
        for _ in range(4):
            prompt = await call.next_answer(since=since + 0.1, timeout=SILENCE_SECONDS + 60)
            # Each prompt comes after the silence, not before.
            assert prompt.started - since > SILENCE_SECONDS - 0.5
            assert prompt.rms > 300
            since = await call.quiet_after(prompt.started, quiet=SILENCE_SECONDS / 2)
            prompt_seconds.append(call.audio_seconds(prompt.started - 0.001, since))
        await asyncio.wait_for(call.hung_up_by_assistant.wait(), 5)
        await asyncio.wait_for(call.closed.wait(), 5)
    assert prompt_seconds[0] == pytest.approx(prompt_seconds[1], abs=0.1)  # the same re-prompt
    assert prompt_seconds[2] < prompt_seconds[0]  # "如果需要工作人员帮您，请按零。"
    await wait_for_record(database_url, before, "abandoned")


async def test_hanging_up_mid_answer_is_an_abandoned_call(hotline):
    port, database_url = hotline.port, hotline.database_url
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
    port = hotline.port
    call = SimulatedCall(port)
    first_is_uuid = frames[0][:1] != bytes([protocol.UUID])
    await call.connect(send_uuid=first_is_uuid, stream_audio=False)
    for frame in frames:
        await call.send_raw(frame)
    if frames[0] == b"\x10\x01":
        call._writer.write_eof()
    # A bound for liveness only (the line must not stay open), generous for a busy machine.
    await asyncio.wait_for(call.closed.wait(), 60)
    await call.close()
    async with SimulatedCall(port) as next_call:
        greeting = await next_call.next_answer(since=next_call.connected_at)
        assert greeting.rms > 300


async def test_many_calls_at_once_are_all_greeted(hotline):
    port = hotline.port
    calls = [SimulatedCall(port) for _ in range(20)]
    await asyncio.gather(*(call.connect() for call in calls))
    try:
        greetings = await asyncio.gather(
            *(call.next_answer(since=call.connected_at) for call in calls)
        )
        # How soon each is greeted is bench/hotline.py's measure, not a test's.
        for greeting in greetings:
            assert_speech(greeting, GREETING_CHARACTERS)
    finally:
        await asyncio.gather(*(call.close() for call in calls))


# A person for the caller: transfer through Asterisk, or a callback -----------------

CALLER = "13812345678"


async def after_key(call: SimulatedCall, digit: str, timeout: float = 60) -> float:
    """Presses `digit` (stopping whatever is being said) and waits for the answer to
    start. Frames of the stopped prompt still on their way arrive within 0.2 s."""
    pressed = await call.press(digit)
    return await call.first_audio_after(pressed + 0.2, timeout=timeout)


async def ask_for_a_person(call: SimulatedCall, desk: Roster) -> str:
    """0 with nobody free, then 1 (同意) to the consent question: the ticket's reference."""
    await call.next_answer(since=call.connected_at)
    await after_key(call, "0")  # nobody free: the dialogue asks consent to pass it on
    await after_key(call, "1")  # 同意: the ticket opens, and the caller hears their place
    reference = desk.tickets.open_ticket_for(f"hotline:{call.call_id}")
    assert reference is not None
    return reference


async def test_zero_transfers_at_once_when_someone_is_free(hotline, asterisk, desk):
    before = outcomes(hotline.database_url)
    asterisk.free = 1
    call = SimulatedCall(hotline.port)
    channel = asterisk.add_call(call, hotline.port, caller=CALLER)
    async with call:
        await call.next_answer(since=call.connected_at)
        pressed = await call.press("0")
        await asyncio.wait_for(call.closed.wait(), 30)
    assert channel.redirected_to == ("hotline-transfer", fake_asterisk.QUEUE, "1")
    # Nothing about the caller is passed on or stored: they tell the person themselves.
    assert "LEGAL_AID_TICKET" not in channel.variables
    assert desk.tickets.open_ticket_for(f"hotline:{call.call_id}") is None
    # "马上为您转接，请不要挂机" is heard whole before the call leaves the assistant,
    told = call.answers(pressed + 0.2)
    assert told and told[0].ended <= call.left_audiosocket_at
    assert_speech(told[0], len(TRANSFERRING))
    # and it is Asterisk that ends the AudioSocket: a hang-up frame would end the call.
    assert not call.hung_up_by_assistant.is_set()
    await wait_for_record(hotline.database_url, before, "transferred")


async def test_a_whole_call_by_keys_books_a_callback_on_the_callers_number(hotline, asterisk, desk):
    """Greeting, 0, 1 同意, 2 约时间回电, 1 the first time offered, 1 this number: booked."""
    before = outcomes(hotline.database_url)
    slots = callback_slots(datetime.now(timezone.utc))
    call = SimulatedCall(hotline.port)
    asterisk.add_call(call, hotline.port, caller=CALLER)
    async with call:
        reference = await ask_for_a_person(call, desk)
        await after_key(call, "2")  # 约时间回电: three times are offered
        await after_key(call, "1")  # the first: "就打您现在这个号码吗？尾号是…"
        pressed = await call.press("1")
        await asyncio.wait_for(call.hung_up_by_assistant.wait(), 60)
    booked = call.answers(pressed + 0.2)
    assert booked and booked[-1].rms > 300 and booked[-1].seconds > 4  # time, number, goodbye
    view = desk.read(reference)
    assert view.callback_at == slots[0] and view.callback_phone == CALLER
    assert "redirect" not in asterisk.actions
    await wait_for_record(hotline.database_url, before, "callback")
    desk.tickets.cancel(reference)


async def test_a_withheld_number_is_keyed_in_and_read_back(hotline, asterisk, desk):
    slots = callback_slots(datetime.now(timezone.utc))
    call = SimulatedCall(hotline.port)
    asterisk.add_call(call, hotline.port, caller=None)  # "<unknown>": withheld
    async with call:
        reference = await ask_for_a_person(call, desk)
        await after_key(call, "2")
        await after_key(call, "2")  # the second time: "请用电话按键输入回电号码…"
        for digit in "13912345678":
            await call.press(digit)
            await asyncio.sleep(0.15)
        pressed = await call.press("#")
        read_back = await call.next_answer(since=pressed + 0.2, timeout=60)
        # "您输入的号码是幺三九幺二三四五六七八。", digit by digit, then 1 对 · 2 重新输入.
        assert read_back.rms > 300 and read_back.seconds > 4
        await call.press("1")
        await asyncio.wait_for(call.hung_up_by_assistant.wait(), 60)
    view = desk.read(reference)
    assert view.callback_at == slots[1] and view.callback_phone == "13912345678"
    desk.tickets.cancel(reference)


async def test_a_waiting_caller_is_transferred_with_the_ticket(hotline, asterisk, desk):
    before = outcomes(hotline.database_url)
    call = SimulatedCall(hotline.port)
    channel = asterisk.add_call(call, hotline.port, caller=CALLER)
    async with call:
        reference = await ask_for_a_person(call, desk)
        await after_key(call, "1")  # 继续等
        asterisk.free = 1  # an operator hangs up their last call
        await asyncio.wait_for(call.closed.wait(), 30)
    assert channel.redirected_to == ("hotline-transfer", fake_asterisk.QUEUE, "1")
    # Whoever answers finds the summary by the ticket's reference,
    assert channel.variables["LEGAL_AID_TICKET"] == reference
    said = [m.text for m in desk.console.messages(reference, desk.coordinator, "测试：核对转接")]
    assert any("转接" in text for text in said)
    await wait_for_record(hotline.database_url, before, "transferred")
    desk.tickets.cancel(reference)


async def test_hanging_up_while_waiting_leaves_the_queue(hotline, asterisk, desk):
    before = outcomes(hotline.database_url)
    call = SimulatedCall(hotline.port)
    asterisk.add_call(call, hotline.port, caller=CALLER)
    await call.connect()
    reference = await ask_for_a_person(call, desk)
    await asyncio.sleep(1.0)
    await call.close()  # while hearing their place in the queue
    for _ in range(50):
        if desk.relay.ticket_status(reference) == "cancelled":
            break
        await asyncio.sleep(0.1)
    assert desk.relay.ticket_status(reference) == "cancelled"  # no lawyer waits on it
    await wait_for_record(hotline.database_url, before, "abandoned")


async def test_a_transfer_through_ari(hotline_ari, desk):
    """ARI moves only Stasis channels: the gateway sets the queue and hangs up, and
    the dialplan goes on from AudioSocket() to Queue(${LEGAL_AID_TRANSFER})."""
    before = outcomes(hotline_ari.database_url)
    phone_system = FakeAsterisk()
    await phone_system.start_ari(hotline_ari.asterisk_port)
    try:
        phone_system.free = 1
        call = SimulatedCall(hotline_ari.port)
        channel = phone_system.add_call(call, hotline_ari.port, caller=CALLER)
        async with call:
            await call.next_answer(since=call.connected_at)
            pressed = await call.press("0")
            await asyncio.wait_for(call.hung_up_by_assistant.wait(), 30)
        assert channel.variables == {"LEGAL_AID_TRANSFER": fake_asterisk.QUEUE}
        told = call.answers(pressed + 0.2)
        assert told and told[0].rms > 300
        hung_up_at = next(at for at, kind, _ in call.other_frames if kind == protocol.HANGUP)
        assert told[0].ended < hung_up_at  # the whole sentence, then the hang-up
        assert phone_system.failed_logins == 0
    finally:
        await phone_system.close()
    await wait_for_record(hotline_ari.database_url, before, "transferred")


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
