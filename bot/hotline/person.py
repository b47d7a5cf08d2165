"""A person for the caller: transfer when one is free, else wait or book a callback.

    0 pressed ─► someone free in the queue? ─ yes ─► "马上为您转接" ─► transfer
                      │ no
                      ▼
    the dialogue's 转人工 (consent, the ticket, the place in the queue)
                      ▼
    wait ─► every HOTLINE_WAIT_CHECK_SECONDS: someone free? ─► transfer (with the ticket)
      │     1 继续等 · 2 约时间回电 · 0 try now · words go to the ticket for the lawyer
      ▼
    callback ─► when (3 times to choose by key, or say one) ─► which number
                ("就打您现在这个号码吗？", else keyed in and read back) ─► booked ─► goodbye

Pressing 0 with someone free transfers at once, with no ticket: nothing about
the caller is stored or passed on, and the person who answers hears them
directly. Only when nobody is free does the dialogue ask consent to pass on
the conversation (a ticket the console's lawyers see, and the callback on it).

The caller's number comes from the telephone system (bot/hotline/telephony.py)
and is stored only when the caller confirms it for the callback, encrypted
with the ticket (store/handoff/). A caller who hangs up while waiting leaves
the queue: the ticket ends with a note, so no lawyer waits on a call gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from bot.handoff_relay import PHONE, HandoffRelay
from bot.hotline.telephony import Line, Telephony, TelephonyError
from bot.messages import (
    HOTLINE_AGAIN,
    HOTLINE_BAD_NUMBER,
    HOTLINE_BOOK_FAILED,
    HOTLINE_BOOKED,
    HOTLINE_CALL_ME_BACK,
    HOTLINE_CLAIMED,
    HOTLINE_HOLD,
    HOTLINE_HUNG_UP_NOTE,
    HOTLINE_KEEP_WAITING,
    HOTLINE_KEY_IN,
    HOTLINE_NOT_A_TIME,
    HOTLINE_NOT_HEARD,
    HOTLINE_NUMBER_ENDING,
    HOTLINE_OK_WAIT,
    HOTLINE_OTHER_NUMBER,
    HOTLINE_READ_BACK,
    HOTLINE_RIGHT,
    HOTLINE_SAME_NUMBER,
    HOTLINE_STILL_BUSY,
    HOTLINE_THIS_NUMBER,
    HOTLINE_TIME_REFUSED,
    HOTLINE_TRANSFER_FAILED,
    HOTLINE_TRANSFER_FAILED_NOTE,
    HOTLINE_TRANSFERRED_NOTE,
    HOTLINE_TRANSFERRING,
    HOTLINE_WAIT_CHOICES,
    HOTLINE_WAITED_LONG,
    HOTLINE_WHEN,
    HOTLINE_YOUR_NUMBER,
)
from bot.privacy import pseudonym
from legal_aid.numbers import number_to_chinese
from legal_aid.times import CHINA_TIME, said_time, time_heard
from store.handoff import HandoffError

if TYPE_CHECKING:
    from bot.hotline.call import Call

log = logging.getLogger("bot.hotline")


CALLBACK_HOURS = (9, 14)  # 上午九点, 下午两点: when the centre calls back, in China time
CALLBACK_CHOICES = 3
CALLBACK_LEAD = timedelta(hours=1)  # a slot sooner than this is not offered
HOLD_EVERY_SECONDS = 30.0
TRIES = 2  # a question not answered after this many tries goes back a step
DIGIT_SECONDS = 8.0  # the longest pause between two keys of a number


def callback_slots(now: datetime, count: int = CALLBACK_CHOICES) -> list[datetime]:
    """The next callback times on offer (UTC): CALLBACK_HOURS of each day, an hour ahead."""
    local = now.astimezone(CHINA_TIME)
    slots: list[datetime] = []
    day = local.date()
    while len(slots) < count:
        for hour in CALLBACK_HOURS:
            at = datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TIME)
            if at - local >= CALLBACK_LEAD:
                slots.append(at.astimezone(timezone.utc))
        day += timedelta(days=1)
    return slots[:count]


def valid_phone(digits: str) -> bool:
    """A mobile number (11 digits from 13…19) or a landline with its area code."""
    return bool(PHONE.fullmatch(digits))


def spoken_digits(number: str) -> str:
    """Digit by digit, 1 as 幺, as telephone numbers are read out ("幺三八…"):
    written as a number, the voice would say 一百三十八亿…"""
    return "".join("幺" if d == "1" else number_to_chinese(int(d)) for d in number)


def spoken_tail(number: str) -> str:
    """The last four digits, read out."""
    return spoken_digits(number[-4:])


def choice(titles: tuple[str, ...], text: str = "") -> dict[str, Any]:
    """A prompt in the REST reply shape: its buttons are the keys 1, 2, … (and words)."""
    return {"text": text, "buttons": [{"title": t, "payload": t} for t in titles]}


class PersonForCaller:
    def __init__(
        self,
        call: Call,
        telephony: Telephony | None,
        relay: HandoffRelay | None,  # None when the gateway has no store key
        queue: str,
        check_seconds: float,
        max_wait_seconds: float,
    ) -> None:
        self.call = call
        self.telephony = telephony
        self.relay = relay
        self.queue = queue
        self.check_seconds = check_seconds
        self.max_wait_seconds = max_wait_seconds
        self._line: asyncio.Task[Line | None] | None = None
        self.waiting_on: str | None = None  # the ticket while the caller waits on the line

    # The telephone system ---------------------------------------------------------

    def start(self, call_id: uuid.UUID) -> None:
        """Asks for the call's channel and number while the greeting plays."""
        if self.telephony is not None:
            self._line = asyncio.ensure_future(self._find_line(call_id))

    async def _find_line(self, call_id: uuid.UUID) -> Line | None:
        assert self.telephony is not None
        try:
            return await self.telephony.line_of(call_id)
        except TelephonyError as error:
            log.warning("hotline call=%s: %s", pseudonym(self.call.sender), error)
            return None

    async def line(self) -> Line | None:
        if self._line is None:
            return None
        line = await self._line
        if line is None and self._line.done():
            # Not found at the start (the telephone system was down or slow): ask again.
            self._line = asyncio.ensure_future(self._find_line(self.call.call_id))
            line = await self._line
        return line

    async def caller_number(self) -> str | None:
        line = await self.line()
        return None if line is None else line.caller_number

    async def transfer_if_free(self, ticket: str | None = None) -> bool:
        """Transfers the call when someone in the queue is free; True once it is done."""
        if self.telephony is None:
            return False
        try:
            line = await self.line()
            if line is None or await self.telephony.free_people() < 1:
                return False
        except TelephonyError as error:
            log.warning("hotline call=%s: %s", pseudonym(self.call.sender), error)
            return False
        await self.call.say_text(HOTLINE_TRANSFERRING, barge_in=False)
        # Written first: once Asterisk has the transfer it may close the AudioSocket
        # at any moment, and whoever answers may open the ticket at once.
        await self._note(ticket, HOTLINE_TRANSFERRED_NOTE.format(queue=self.queue))
        # From here the call counts as transferred, and its ticket stays open for
        # whoever answers (a hang-up now must not end it as abandoned).
        waited_on, self.waiting_on = self.waiting_on, None
        self.call.ended_by = "transferred"
        try:
            await self.telephony.transfer(line, ticket)
        except TelephonyError as error:
            log.warning("hotline call=%s: transfer failed: %s", pseudonym(self.call.sender), error)
            self.call.ended_by, self.waiting_on = None, waited_on
            await self._note(ticket, HOTLINE_TRANSFER_FAILED_NOTE)
            await self.call.say_text(HOTLINE_TRANSFER_FAILED)
            return False
        log.info("hotline call=%s transferred", pseudonym(self.call.sender))
        await self.call.end("transferred", asterisk_hangs_up=self.telephony.ends_audiosocket)
        return True

    async def _note(self, ticket: str | None, text: str) -> None:
        """A line on the ticket for the staff; a store outage does not stop the call."""
        if ticket is None or self.relay is None:
            return
        try:
            await self.relay.note(ticket, text)
        except Exception:  # noqa: BLE001
            log.warning("hotline call=%s: note not written", pseudonym(self.call.sender))

    # Waiting ------------------------------------------------------------------------

    async def opened(self) -> None:
        """The dialogue just opened a ticket (before its reply is spoken): from now
        on, hanging up leaves the queue."""
        if self.relay is not None:
            waiting = await self._waiting()
            self.waiting_on = None if waiting is None else waiting[0]

    async def wait(self) -> None:
        """After the ticket's reply: until transferred, called back, taken by a
        lawyer in the console, or the wait is cancelled ("不等了")."""
        if self.waiting_on is None:
            return
        await self.call.offer(
            choice((HOTLINE_KEEP_WAITING, HOTLINE_CALL_ME_BACK), HOTLINE_WAIT_CHOICES)
        )
        quiet = since_offer = 0.0
        while True:
            if await self.transfer_if_free(self.waiting_on):
                return
            waiting = await self._waiting()
            if waiting is None:
                await self._no_longer_waiting()
                return
            self.waiting_on, place = waiting
            heard = await self.call.hear(await self.call.next_event(self.check_seconds))
            if heard is None:  # quiet: the caller is waiting
                quiet += self.check_seconds
                since_offer += self.check_seconds
                if since_offer >= self.max_wait_seconds:
                    since_offer = quiet = 0.0
                    await self.call.offer(
                        choice(
                            (HOTLINE_KEEP_WAITING, HOTLINE_CALL_ME_BACK),
                            HOTLINE_WAITED_LONG + HOTLINE_WAIT_CHOICES,
                        )
                    )
                elif quiet >= HOLD_EVERY_SECONDS:
                    quiet = 0.0
                    await self.call.say_text(HOTLINE_HOLD.format(place=number_to_chinese(place)))
                continue
            quiet = 0.0
            if await self._answer_while_waiting(heard):
                return

    async def _answer_while_waiting(self, heard: tuple[str, str]) -> bool:
        """True when the call is over (a callback was booked)."""
        picked = self.call.picked(heard)
        kind, value = heard
        if picked == HOTLINE_CALL_ME_BACK or (kind == "words" and "回电" in value):
            if await self.book_callback():
                return True
            await self.call.offer(
                choice((HOTLINE_KEEP_WAITING, HOTLINE_CALL_ME_BACK), HOTLINE_WAIT_CHOICES)
            )
        elif picked == HOTLINE_KEEP_WAITING:
            await self.call.say_text(HOTLINE_OK_WAIT)
        elif heard == ("key", "0"):
            await self.call.say_text(HOTLINE_STILL_BUSY)  # the transfer is tried again next
        elif heard == ("key", "*"):
            await self.call.offer(
                choice((HOTLINE_KEEP_WAITING, HOTLINE_CALL_ME_BACK), HOTLINE_WAIT_CHOICES)
            )
        elif kind == "words" and value:
            # For the lawyer who takes the ticket (or "不等了"): the relay has it.
            await self.call.answer(value)
        elif kind == "words":
            await self.call.say_text(HOTLINE_NOT_HEARD)  # as in the conversation
        return False

    async def _waiting(self) -> tuple[str, int] | None:
        try:
            return await self.relay.waiting(await self.call.conversation())
        except Exception:  # noqa: BLE001 - the store being down ends the wait, not the call
            log.exception("hotline call=%s: handoff store unavailable", pseudonym(self.call.sender))
            return None

    async def _no_longer_waiting(self) -> None:
        """A lawyer took the ticket in the console, or the wait was cancelled."""
        self.waiting_on = None
        with contextlib.suppress(Exception):
            if await self.relay.has_open_ticket(await self.call.conversation()):
                await self.call.say_text(HOTLINE_CLAIMED)

    async def finish(self) -> None:
        """At the end of the call: a caller who hung up while waiting leaves the queue."""
        if self.waiting_on is None or self.relay is None:
            return
        try:
            await self.relay.leave(self.waiting_on, HOTLINE_HUNG_UP_NOTE)
        except Exception:  # noqa: BLE001 - a lawyer claimed it meanwhile, or the store is down
            log.warning(
                "hotline call=%s: the waiting ticket was not ended", pseudonym(self.call.sender)
            )

    # The callback -------------------------------------------------------------------

    async def book_callback(self) -> bool:
        """When, then which number, then booked; True when booked (the call then ends)."""
        at = await self._when()
        if at is None:
            return False
        number = await self._which_number()
        if number is None or self.waiting_on is None:
            return False
        try:
            await self.relay.book_callback(self.waiting_on, at, number)
        except HandoffError:
            await self.call.say_text(HOTLINE_BOOK_FAILED + HOTLINE_TIME_REFUSED)
            return False
        except Exception:  # noqa: BLE001 - the store is down: say so, keep the caller waiting
            log.exception("hotline call=%s: callback not booked", pseudonym(self.call.sender))
            await self.call.say_text(HOTLINE_BOOK_FAILED)
            return False
        log.info("hotline call=%s callback booked", pseudonym(self.call.sender))
        whose = (
            HOTLINE_YOUR_NUMBER
            if number == await self.caller_number()
            else HOTLINE_NUMBER_ENDING.format(tail=spoken_tail(number))
        )
        self.waiting_on = None
        await self.call.say_text(
            HOTLINE_BOOKED.format(time=said_time(at, datetime.now(timezone.utc)), whose=whose),
            barge_in=False,
        )
        await self.call.end("callback")
        return True

    async def _when(self) -> datetime | None:
        now = datetime.now(timezone.utc)
        slots = callback_slots(now)
        titles = tuple(said_time(slot, now) for slot in slots)
        prompt = HOTLINE_WHEN
        for _ in range(TRIES):
            heard = await self.call.ask(choice(titles, prompt))
            picked = self.call.picked(heard)
            if picked is not None:
                return slots[titles.index(picked)]
            if heard is not None and heard[0] == "words":
                at = time_heard(heard[1], datetime.now(timezone.utc))
                if at is not None and now < at <= now + timedelta(days=30):
                    return at
                prompt = (
                    HOTLINE_TIME_REFUSED if at is not None else HOTLINE_NOT_A_TIME
                ) + HOTLINE_WHEN
            else:
                prompt = HOTLINE_WHEN
        return None

    async def _which_number(self) -> str | None:
        known = await self.caller_number()
        if known is not None:
            for _ in range(TRIES):
                heard = await self.call.ask(
                    choice(
                        (HOTLINE_THIS_NUMBER, HOTLINE_OTHER_NUMBER),
                        HOTLINE_SAME_NUMBER.format(last=spoken_tail(known)),
                    )
                )
                picked = self.call.picked(heard)
                if picked == HOTLINE_THIS_NUMBER or (
                    heard is not None and heard[1] in ("是", "对")
                ):
                    return known
                if picked == HOTLINE_OTHER_NUMBER or (heard is not None and heard[1] == "不是"):
                    break
        return await self._keyed_number()

    async def _keyed_number(self) -> str | None:
        prompt = HOTLINE_KEY_IN
        for _ in range(TRIES + 1):
            digits = await self._digits(prompt)
            if digits is None:
                return None
            if not valid_phone(digits):
                prompt = HOTLINE_BAD_NUMBER + HOTLINE_KEY_IN
                continue
            heard = await self.call.ask(
                choice(
                    (HOTLINE_RIGHT, HOTLINE_AGAIN),
                    HOTLINE_READ_BACK.format(number=spoken_digits(digits)),
                )
            )
            picked = self.call.picked(heard)
            if picked == HOTLINE_RIGHT or (heard is not None and heard[1] in ("是", "对")):
                return digits
            prompt = HOTLINE_KEY_IN
        return None

    async def _digits(self, prompt: str) -> str | None:
        """Keys up to #; a pause after some digits ends them too. None: nothing keyed."""
        self.call.offer_nothing()
        await self.call.say_text(prompt)
        digits = ""
        while True:
            event = await self.call.next_event(DIGIT_SECONDS if digits else None)
            heard = await self.call.hear(event)
            if heard is None:
                return digits or None
            kind, value = heard
            if kind != "key":
                # Spoken digits ("幺三八…"), as the recogniser writes them.
                spoken = re.sub(r"\D", "", value.translate(SPOKEN_DIGITS))
                if spoken:
                    return spoken
                continue
            if value == "#":
                return digits or None
            if value.isdigit():
                digits += value
            if value == "*":
                digits = ""


SPOKEN_DIGITS = str.maketrans("零〇幺一二两三四五六七八九", "0011223456789")
