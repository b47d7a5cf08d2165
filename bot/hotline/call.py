"""One telephone call on the hotline: greeting, turns by voice or keys, the end.

    greeting ─► listen ─► (speech → recognition) or (key → choice) ─► Rasa ─► speak ─► listen …

* The greeting says it is an automatic assistant and that 0 reaches a person.
* A turn is either an utterance (bot/hotline/listening.py: energy endpointing,
  Vosk while the caller speaks; grammar mode with the last reply's choices) or
  a key: 1…9 are the last reply's buttons in order (the voice variants read
  them as "说一，或者按一：…"), 0 asks for a person (`/ask_human`), * repeats
  the last answer.
* Replies come from Rasa through the shared TurnHandler with channel
  "hotline" (its `channel: voice` variants), are synthesised sentence by
  sentence, resampled to 8 kHz and sent as 20 ms frames in real time.
* A person (bot/hotline/person.py): 0 transfers at once when someone in the
  hotline's queue is free; otherwise, and after the dialogue's 转人工 opens a
  ticket, the caller waits (transferred when someone is free) or books a callback.
* Barge-in: caller speech or a key stops the answer being played.
* Silence: after SILENCE_PROMPTS re-prompts, a person is offered; after one
  more silence the call ends politely.
* The call ends at the caller's hang-up (at any moment, mid-sentence too), at
  the maximum call length, or after the silence; the call record keeps only
  times, the number of turns and the outcome.

Nothing said or pressed is logged: the log has the call's pseudonym, counts
and timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bot.handoff_relay import HandoffRelay, handoff_opened
from bot.hotline import protocol
from bot.hotline.listening import Endpointer, Utterance
from bot.hotline.person import PersonForCaller
from bot.hotline.telephony import Telephony
from bot.messages import (
    HOTLINE_BUSY,
    HOTLINE_GOODBYE_SILENT,
    HOTLINE_GREETING,
    HOTLINE_NO_SUCH_CHOICE,
    HOTLINE_NOT_HEARD,
    HOTLINE_NOT_HEARD_CHOOSE,
    HOTLINE_OFFER_PERSON,
    HOTLINE_SILENCE_PROMPT,
    HOTLINE_TIME_UP,
)
from bot.privacy import pseudonym
from bot.speech import SPOKEN_NUMBERS, SpeechEngines, expected_after, rate_set_in, shown
from bot.turns import TurnHandler
from legal_aid.channels import HOTLINE
from voice.audio import to_telephone_pcm
from voice.errors import VoiceInputError
from voice.normalise import reply_for_ear
from voice.synthesis import SynthesisError

log = logging.getLogger("bot.hotline")

SILENCE_PROMPTS = 2
# What a call may hear before, or besides, anything the dialogue says, as it is
# spoken: made when the gateway starts (SpeechEngines.prepare), so that even the
# first caller hears the greeting at once instead of silence while it is made.
FIXED_PHRASES = tuple(
    reply_for_ear({"text": text})
    for text in (
        HOTLINE_GREETING,
        HOTLINE_SILENCE_PROMPT,
        HOTLINE_OFFER_PERSON,
        HOTLINE_NOT_HEARD,
        HOTLINE_NO_SUCH_CHOICE,
        HOTLINE_GOODBYE_SILENT,
        HOTLINE_TIME_UP,
        HOTLINE_BUSY,
    )
)
ASK_HUMAN = "/ask_human"


def not_heard_reply(buttons: list[dict[str, Any]]) -> dict[str, Any]:
    """ "Not heard": with the choices on offer read again with their keys, since
    a caller who was not heard may do better pressing one than saying it again."""
    if buttons:
        return {"text": HOTLINE_NOT_HEARD_CHOOSE, "buttons": buttons}
    return {"text": HOTLINE_NOT_HEARD}


# How long the first frame (the UUID) may take after Asterisk connects.
UUID_TIMEOUT_SECONDS = 5.0
# After AMI's Redirect, Asterisk ends the AudioSocket itself; a hang-up frame
# sent before it does would, on an older Asterisk, hang up the transferred call.
TRANSFER_HANGUP_SECONDS = 5.0
# Audio is sent this far ahead of real time: Asterisk's jitter buffer absorbs
# it, and a busy event loop does not make the caller hear gaps.
SEND_AHEAD_SECONDS = 0.06

OUTCOMES = ("resolved", "callback", "transferred", "abandoned")


@dataclass
class CallSettings:
    silence_seconds: float = 8.0
    max_call_seconds: float = 1200.0
    end_silence_seconds: float = 0.7
    queue: str = "legal-aid"  # the telephone system's queue of operators and lawyers
    wait_check_seconds: float = 10.0
    max_wait_seconds: float = 180.0


@dataclass
class CallServices:
    """What a call needs from the gateway; the engines may still be loading."""

    turns: TurnHandler
    speech: SpeechEngines
    active_calls: Callable[[], int] = lambda: 1
    telephony: Telephony | None = None
    relay: HandoffRelay | None = None  # None when the gateway has no store key
    # Called with the finished call's record (off the event loop by the caller).
    record: Callable[[CallRecord], Any] | None = None


@dataclass
class CallRecord:
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = "abandoned"
    turns: int = 0
    # Latencies, for the benchmark and the log: end of speech/key → first frame back.
    latencies: list[float] = field(default_factory=list)

    @property
    def duration_seconds(self) -> float:
        end = self.ended_at or datetime.now(timezone.utc)
        return (end - self.started_at).total_seconds()


class CallEnded(Exception):
    """The caller hung up (or the line broke): stop whatever is being done."""


class Call:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        services: CallServices,
        settings: CallSettings,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.services, self.settings = services, settings
        self.sender = ""
        self.call_id = uuid.UUID(int=0)
        self.ended_by: str | None = None  # "transferred" or "callback": the call's end
        self.record = CallRecord(started_at=datetime.now(timezone.utc))
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.interrupt = asyncio.Event()  # barge-in: stop the answer being played
        self.hung_up = asyncio.Event()
        self.utterance: Utterance | None = None
        self.endpointer = Endpointer(settings.end_silence_seconds)
        # The call's own (it stays on this gateway): the rate the caller chose and
        # what the caller is expected to say next (bot/speech.py).
        self.rate = "normal"
        self.expected: tuple[str, ...] | None = None
        self.last_replies: list[dict[str, Any]] = []
        self.buttons: list[dict[str, Any]] = []
        self.playing = False
        self.answered_once = False
        self.in_turn = False
        self._turn_started: float | None = None
        self._turn_via = ""
        self.person = PersonForCaller(
            self,
            services.telephony,
            services.relay,
            settings.queue,
            settings.wait_check_seconds,
            settings.max_wait_seconds,
        )

    # The connection -------------------------------------------------------------

    async def run(self) -> CallRecord:
        """The whole call; never raises for anything the peer does."""
        try:
            call_id = await self._read_uuid()
        except (protocol.ProtocolError, asyncio.TimeoutError) as error:
            reason = str(error) or "no UUID frame in time"
            log.warning("hotline connection refused: %s", reason)
            await self._hang_up()
            return self.record
        if call_id is None:
            # Connected and went away, or hung up before its UUID: nothing to
            # record, but the socket is closed all the same (it was left open,
            # one leaked connection each; found by the fuzz suite).
            await self._hang_up()
            return self.record
        self.sender, self.call_id = HOTLINE.sender(str(call_id)), call_id
        log.info("hotline call start call=%s", pseudonym(self.sender))
        self.person.start(call_id)
        receiving = asyncio.ensure_future(self._receive())
        talking = asyncio.ensure_future(self._talk())
        try:
            done, _ = await asyncio.wait({receiving, talking}, return_when=asyncio.FIRST_COMPLETED)
            if talking not in done:  # the caller hung up (or the line broke) first
                self.record.outcome = self._outcome_of_hang_up()
        finally:
            for task in (talking, receiving):
                task.cancel()
            for task in (talking, receiving):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.utterance is not None:
                self.utterance.cancel()
            await self._hang_up()
            await self.person.finish()
            self._finish()
        return self.record

    async def _read_uuid(self) -> uuid.UUID | None:
        frame = await asyncio.wait_for(protocol.read_frame(self.reader), UUID_TIMEOUT_SECONDS)
        if frame is None or frame.kind == protocol.HANGUP:
            return None
        if frame.kind != protocol.UUID:
            raise protocol.ProtocolError(f"first frame of type 0x{frame.kind:02x}, not a UUID")
        return uuid.UUID(bytes=frame.payload)

    async def _receive(self) -> None:
        """Reads frames until hang-up; audio to the endpointer, keys to the events."""
        try:
            while True:
                frame = await protocol.read_frame(self.reader)
                if frame is None or frame.kind == protocol.HANGUP:
                    break
                if frame.kind == protocol.AUDIO:
                    self._heard_audio(frame.payload)
                elif frame.kind == protocol.DTMF:
                    self.interrupt.set()
                    # The turn's clock starts when the conversation takes the key, not
                    # here: a frame of the interrupted answer may still be on its way.
                    pressed = (frame.payload.decode("ascii"), time.perf_counter())
                    self.events.put_nowait(("key", pressed))
                elif frame.kind == protocol.ERROR:
                    log.warning(
                        "hotline call=%s: the telephone system reported error %s",
                        pseudonym(self.sender),
                        frame.payload[:1].hex() or "(no code)",
                    )
                    break
                # A second UUID frame changes nothing.
        except protocol.ProtocolError as error:
            log.warning("hotline call=%s: malformed frame: %s", pseudonym(self.sender), error)
        except (ConnectionError, OSError):
            pass
        finally:
            self.hung_up.set()

    def _heard_audio(self, pcm: bytes) -> None:
        step = self.endpointer.feed(pcm)
        if step is None:
            return
        kind, audio = step
        if kind == "start":
            self.interrupt.set()  # barge-in
            grammar = self.expected
            self.utterance = Utterance(self.services.speech.recogniser, grammar)
            self.utterance.feed(audio)
        elif self.utterance is None:
            return
        elif kind == "more":
            self.utterance.feed(audio)
        elif kind == "end":
            self.utterance.end()
            self.events.put_nowait(("speech", self.utterance))
            self.utterance = None
        else:  # noise: too short to be words
            self.utterance.cancel()
            self.utterance = None

    async def _send(self, data: bytes) -> None:
        if self.hung_up.is_set():
            raise CallEnded
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.hung_up.set()
            raise CallEnded from None

    async def _hang_up(self) -> None:
        await protocol.hang_up(self.writer)

    def _finish(self) -> None:
        self.record.ended_at = datetime.now(timezone.utc)
        latencies = sorted(self.record.latencies)
        log.info(
            "hotline call end call=%s outcome=%s turns=%d seconds=%.0f first_audio_ms_max=%s",
            pseudonym(self.sender),
            self.record.outcome,
            self.record.turns,
            self.record.duration_seconds,
            f"{latencies[-1] * 1000:.0f}" if latencies else "-",
        )
        if self.services.record is not None:
            self.services.record(self.record)

    # The conversation -----------------------------------------------------------------

    async def _talk(self) -> None:
        try:
            await asyncio.wait_for(self._conversation(), self.settings.max_call_seconds)
        except asyncio.TimeoutError:
            with contextlib.suppress(CallEnded):
                self.interrupt.clear()
                await self.say_text(HOTLINE_TIME_UP, barge_in=False)
            self.record.outcome = "resolved" if self.answered_once else "abandoned"
        except CallEnded:
            self.record.outcome = self._outcome_of_hang_up()
            return
        # The assistant ended the call: let the last words reach the caller first.
        await asyncio.sleep(SEND_AHEAD_SECONDS + 0.1)

    def _outcome_of_hang_up(self) -> str:
        """Hanging up mid-answer, mid-turn or before any answer is giving up."""
        if self.ended_by is not None:
            return self.ended_by  # Asterisk ends the line of a transferred call
        if self.playing or self.in_turn or not self.answered_once:
            return "abandoned"
        if self.person.waiting_on is not None:
            return "abandoned"  # hung up waiting for a person, without a callback
        return "resolved"

    async def _conversation(self) -> None:
        if not await self._wait_for_voice():
            log.warning("hotline call=%s: no speech synthesis; handed back", pseudonym(self.sender))
            return
        await self.say_text(HOTLINE_GREETING)
        silences = 0
        while self.ended_by is None:
            event = await self.next_event()
            if event is None:
                silences += 1
                if silences <= SILENCE_PROMPTS:
                    await self.say_text(HOTLINE_SILENCE_PROMPT)
                elif silences == SILENCE_PROMPTS + 1:
                    await self.say_text(HOTLINE_OFFER_PERSON)
                else:
                    await self.say_text(HOTLINE_GOODBYE_SILENT, barge_in=False)
                    self.record.outcome = "abandoned"
                    return
                continue
            silences = 0
            message = await self._message_of(event)
            if message is None:
                continue
            await self.answer(message)
            if self.person.waiting_on is not None and self.ended_by is None:
                await self.person.wait()

    async def end(self, outcome: str, asterisk_hangs_up: bool = False) -> None:
        """The assistant ends the call: transferred, or a callback booked."""
        self.ended_by = self.record.outcome = outcome
        if asterisk_hangs_up:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.hung_up.wait(), TRANSFER_HANGUP_SECONDS)

    async def conversation(self) -> str:
        """The conversation this call speaks in (another one, after a 接续码)."""
        return await self.services.turns.conversation_of(self.sender)

    async def _wait_for_voice(self) -> bool:
        """The synthesiser loads in the background at the gateway's start."""
        for _ in range(40):
            if self.services.speech.speaks:
                return True
            await asyncio.sleep(0.25)
        return False

    async def next_event(self, timeout: float | None = None) -> tuple[str, Any] | None:
        """The caller's next key or utterance; None after the silence (or `timeout`)."""
        while True:
            waiting = asyncio.ensure_future(self.events.get())
            hung_up = asyncio.ensure_future(self.hung_up.wait())
            try:
                done, _ = await asyncio.wait(
                    {waiting, hung_up},
                    timeout=self.settings.silence_seconds if timeout is None else timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                # Also when the call is cancelled while waiting: a helper left
                # pending was destroyed with the call ("Task was destroyed but it
                # is pending!", found by the fuzz suite).
                hung_up.cancel()
                if not waiting.done():
                    waiting.cancel()
            if waiting in done:
                return waiting.result()
            if self.hung_up.is_set():
                raise CallEnded
            if self.utterance is None:  # not in the middle of speaking
                return None

    async def hear(self, event: tuple[str, Any] | None) -> tuple[str, str] | None:
        """A key as ("key", digit), an utterance as ("words", what was heard, maybe "");
        None for silence. The turn's clock starts here."""
        if event is None:
            return None
        kind, value = event
        if kind == "key":
            digit, self._turn_started = value
            self._turn_via = "key"
            return "key", digit
        utterance: Utterance = value
        self._turn_started = utterance.ended_at
        self._turn_via = "speech"
        try:
            heard = await utterance.task
        except VoiceInputError:
            heard = ""
        return "words", heard.strip()

    def picked(self, heard: tuple[str, str] | None) -> str | None:
        """The title of the choice offered last that a key or the words picked, if any."""
        if heard is None:
            return None
        kind, value = heard
        titles = [str(button.get("title", "")) for button in self.buttons]
        if kind == "key":
            return (
                titles[int(value) - 1]
                if value.isdigit() and 0 < int(value) <= len(titles)
                else None
            )
        said = value.replace(" ", "")
        if said in titles:
            return said
        numbers = SPOKEN_NUMBERS[: len(titles)]
        return titles[numbers.index(said)] if len(said) == 1 and said in numbers else None

    async def _message_of(self, event: tuple[str, Any]) -> str | None:
        """What to send to the dialogue for a key or utterance; None when answered here."""
        heard = await self.hear(event)
        assert heard is not None
        kind, value = heard
        if kind == "key":
            if value == "0":
                if await self.person.transfer_if_free():
                    return None
                return ASK_HUMAN
            if value == "*":
                await self.say(self.last_replies or [{"text": HOTLINE_GREETING}])
                return None
            picked = self.picked(heard)
            if picked is not None:
                button = self.buttons[int(value) - 1]
                return button["payload"] or button["title"]
            await self.say_text(HOTLINE_NO_SUCH_CHOICE)
            return None
        if not value:
            await self.say([not_heard_reply(self.buttons)])
            return None
        return value

    async def offer(self, reply: dict[str, Any]) -> None:
        """Speaks a prompt whose buttons the next key or words choose from."""
        self.buttons = reply["buttons"]
        self.expected = expected_after([reply])
        self.last_replies = [reply]
        await self.say([reply])

    def offer_nothing(self) -> None:
        """Free recognition and raw keys next (a number being keyed in)."""
        self.buttons = []
        self.expected = None

    async def ask(self, reply: dict[str, Any]) -> tuple[str, str] | None:
        """Offers the choices and hears the answer (None: silence)."""
        await self.offer(reply)
        return await self.hear(await self.next_event())

    async def answer(self, message: str) -> None:
        """One turn of the dialogue (or of the relay, during a handoff), spoken. A turn
        that opens a handoff ticket makes the caller wait for a person (person.py)."""
        self.in_turn = True
        replies = await self.services.turns.handle(self.sender, message, channel=HOTLINE.name)
        self.record.turns += 1
        if handoff_opened(replies):
            await self.person.opened()
        self.expected = expected_after(replies)
        self.rate = rate_set_in(replies) or self.rate
        replies = shown(replies)
        self.buttons = next((r["buttons"] for r in reversed(replies) if r.get("buttons")), [])
        if replies:
            self.last_replies = replies
        await self.say(replies)
        self.answered_once = True
        self.in_turn = False

    # Speaking --------------------------------------------------------------------------

    async def say_text(self, text: str, barge_in: bool = True) -> None:
        await self.say([{"text": text}], barge_in)

    async def say(self, replies: list[dict[str, Any]], barge_in: bool = True) -> None:
        """Speaks the replies in real time until done or interrupted by the caller."""
        # Chosen by the calls under way: the natural voice only when the cores are free.
        synthesiser = self.services.speech.voice(max(0, self.services.active_calls() - 1))
        if synthesiser is None:
            return
        if barge_in and (not self.events.empty() or self.utterance is not None):
            return  # the caller is already speaking or pressed a key: let them
        self.interrupt.clear()
        rate = self.rate
        self.playing = True
        try:
            for reply in replies:
                parts = synthesiser.synthesise_parts(reply_for_ear(reply), rate)
                try:
                    for part in parts:
                        if not await self._play(await part, barge_in):
                            return
                finally:
                    for part in parts:
                        part.cancel()
        except SynthesisError:
            log.warning("hotline call=%s: speech synthesis failed", pseudonym(self.sender))
        finally:
            self.playing = False

    async def _play(self, speech: Any, barge_in: bool) -> bool:
        """Streams one sentence as 20 ms frames; False when the caller interrupted."""
        try:
            pcm = await to_telephone_pcm(speech.pcm, speech.sample_rate)
        except VoiceInputError:
            log.warning("hotline call=%s: could not resample speech", pseudonym(self.sender))
            return True
        loop = asyncio.get_running_loop()
        size = protocol.FRAME_BYTES
        started = loop.time()
        for index, offset in enumerate(range(0, len(pcm), size)):
            if barge_in and self.interrupt.is_set():
                return False
            frame = pcm[offset : offset + size].ljust(size, b"\0")
            await self._send(protocol.audio_frame(frame))
            if self._turn_started is not None:
                latency = time.perf_counter() - self._turn_started
                self.record.latencies.append(latency)
                self._turn_started = None
                log.info(
                    "hotline turn call=%s via=%s first_audio_ms=%.0f",
                    pseudonym(self.sender),
                    self._turn_via,
                    latency * 1000,
                )
            due = started + (index + 1) * protocol.FRAME_SECONDS - SEND_AHEAD_SECONDS
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        return True
