"""The telephone system's side of a call: who is calling, who is free, the transfer.

AudioSocket carries only a call's UUID and its audio. The caller's number,
whether an operator or lawyer in the hotline's queue is free, and the
transfer to that queue go through Asterisk's control interfaces, chosen by
HOTLINE_TRANSFER (bot/config.py):

* `ami` — the Asterisk Manager Interface (TCP, "Key: Value" lines, a blank
  line ends each message). The call's channel is the one `CoreShowChannels`
  lists running AudioSocket with this UUID; `Getvar QUEUE_MEMBER(queue,free)`
  counts the free members; `Redirect` moves the channel out of AudioSocket()
  to the queue's extension. Asterisk then closes the AudioSocket itself.
* `ari` — the Asterisk REST Interface (HTTP). `GET /channels` finds the
  channel by its dialplan application data; `GET /asterisk/variable` counts
  the free members; ARI moves only channels inside a Stasis application, so
  the transfer sets LEGAL_AID_TRANSFER on the channel and the gateway hangs
  up the AudioSocket: AudioSocket() returns and the dialplan goes on to
  Queue(${LEGAL_AID_TRANSFER}) (docs/hotline.md: the dialplan).

Both set LEGAL_AID_TICKET to the handoff ticket's reference, so the person
who answers finds the conversation's summary in the staff console.

Errors raise TelephonyError with a message safe to log (no caller number).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from bot.config import Config

log = logging.getLogger("bot.hotline")

TICKET_VARIABLE = "LEGAL_AID_TICKET"
TRANSFER_VARIABLE = "LEGAL_AID_TRANSFER"
ACTION_SECONDS = 3.0
# A caller number as telephone systems pass it: digits, perhaps +86 or 0086 first.
CALLER_NUMBER = re.compile(r"^(?:\+?86|0086)?(\d{5,20})$")


class TelephonyError(Exception):
    """The telephone system could not be asked or refused; the message is safe to log."""


class TelephonyRefused(TelephonyError):
    """The telephone system answered no (an AMI error response): asking again won't help."""


@dataclass(frozen=True)
class Line:
    """The call as the telephone system knows it."""

    channel: str  # AMI: the channel's name; ARI: its id
    caller_number: str | None = None  # digits only; None when withheld or unknown

    def __repr__(self) -> str:  # the number is personal data: never in a log line
        return f"Line(channel={self.channel!r})"


class Telephony(Protocol):
    # Whether Asterisk ends the AudioSocket after `transfer` (AMI's Redirect),
    # or the gateway must hang it up for the dialplan to go on (ARI).
    ends_audiosocket: bool

    async def line_of(self, call_id: uuid.UUID) -> Line | None: ...

    async def free_people(self) -> int: ...

    async def transfer(self, line: Line, ticket: str | None) -> None: ...

    async def close(self) -> None: ...


def caller_number(value: str | None) -> str | None:
    """The number as digits ("13812345678"), or None for "<unknown>", "anonymous", ""."""
    found = CALLER_NUMBER.match((value or "").strip().replace(" ", "").replace("-", ""))
    return found.group(1) if found else None


def runs_this_call(application: str | None, data: str | None, call_id: uuid.UUID) -> bool:
    """Whether a channel is in AudioSocket(<this uuid>,host:port)."""
    if (application or "").lower() != "audiosocket":
        return False
    first = (data or "").split(",", 1)[0].strip()
    try:
        return uuid.UUID(first) == call_id
    except ValueError:
        return False


def free_count(value: str | None) -> int:
    try:
        return max(0, int((value or "0").strip() or 0))
    except ValueError:
        raise TelephonyError("the queue's free members were not a number") from None


def from_config(config: Config, http: aiohttp.ClientSession) -> Telephony | None:
    """The configured interface, or None when the hotline has no transfer."""
    if config.hotline_transfer == "ami":
        return AmiTelephony(
            config.asterisk_ami_host,
            config.asterisk_ami_port,
            config.asterisk_ami_user,
            config.asterisk_ami_secret,
            queue=config.hotline_queue,
            context=config.hotline_transfer_context,
        )
    if config.hotline_transfer == "ari":
        return AriTelephony(
            http,
            config.asterisk_ari_url,
            config.asterisk_ari_user,
            config.asterisk_ari_password,
            queue=config.hotline_queue,
        )
    if config.hotline_transfer:
        log.warning("HOTLINE_TRANSFER must be ami or ari; the hotline offers callbacks only")
    return None


# AMI -------------------------------------------------------------------------------

Message = dict[str, str]


def ami_encode(fields: dict[str, str]) -> bytes:
    for key, value in fields.items():
        if "\r" in value or "\n" in value or "\r" in key or "\n" in key:
            raise TelephonyError("an AMI field with a line break")
    return "".join(f"{key}: {value}\r\n" for key, value in fields.items()).encode() + b"\r\n"


async def ami_read(reader: asyncio.StreamReader) -> Message:
    """One message: "Key: Value" lines up to a blank line."""
    message: Message = {}
    while True:
        line = await reader.readline()
        if not line:
            raise TelephonyError("the manager interface closed the connection")
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            if message:
                return message
            continue
        key, _, value = text.partition(":")
        message.setdefault(key.strip(), value.strip())


class AmiTelephony:
    """One manager connection, logged in with events off, one action at a time."""

    ends_audiosocket = True

    def __init__(
        self, host: str, port: int, username: str, secret: str, *, queue: str, context: str
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret = username, secret
        self.queue, self.context = queue, context
        self._lock = asyncio.Lock()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._next_id = 0

    async def line_of(self, call_id: uuid.UUID) -> Line | None:
        for event in await self.action("CoreShowChannels"):
            if event.get("Event") == "CoreShowChannel" and runs_this_call(
                event.get("Application"), event.get("ApplicationData"), call_id
            ):
                return Line(event.get("Channel", ""), caller_number(event.get("CallerIDNum")))
        return None

    async def free_people(self) -> int:
        response = await self.action("Getvar", Variable=f"QUEUE_MEMBER({self.queue},free)")
        return free_count(response[0].get("Value"))

    async def transfer(self, line: Line, ticket: str | None) -> None:
        if ticket:
            await self.action(
                "Setvar", Channel=line.channel, Variable=TICKET_VARIABLE, Value=ticket
            )
        await self.action(
            "Redirect", Channel=line.channel, Context=self.context, Exten=self.queue, Priority="1"
        )

    async def action(self, name: str, **fields: str) -> list[Message]:
        """The response, then the events of its list (when it starts one)."""
        async with self._lock:
            for attempt in (1, 2):  # a connection the manager dropped is made again once
                try:
                    return await asyncio.wait_for(self._exchange(name, fields), ACTION_SECONDS)
                except TelephonyRefused as error:
                    raise TelephonyRefused(f"AMI {name}: {error}") from None
                except (OSError, asyncio.TimeoutError, TelephonyError) as error:
                    await self._drop()
                    if attempt == 2:
                        raise TelephonyError(f"AMI {name}: {_reason(error)}") from None
        raise AssertionError("unreachable")

    async def _exchange(self, name: str, fields: dict[str, str]) -> list[Message]:
        reader, writer = await self._connected()
        action_id = self._action_id()
        writer.write(ami_encode({"Action": name, "ActionID": action_id, **fields}))
        await writer.drain()
        messages: list[Message] = []
        while True:
            message = await ami_read(reader)
            if message.get("ActionID") != action_id:
                continue  # an event nobody asked for
            messages.append(message)
            if len(messages) == 1:
                if message.get("Response", "").lower() == "error":
                    raise TelephonyRefused(message.get("Message") or "error")
                if message.get("EventList", "").lower() != "start":
                    return messages
            elif message.get("EventList", "").lower() == "complete":
                return messages

    async def _connected(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is not None:
            return self._streams
        reader, writer = await asyncio.open_connection(self.host, self.port)
        banner = (await reader.readline()).decode("utf-8", "replace")
        if not banner.startswith("Asterisk Call Manager"):
            writer.close()
            raise TelephonyError("not an Asterisk manager interface")
        self._streams = reader, writer
        action_id = self._action_id()
        writer.write(
            ami_encode(
                {
                    "Action": "Login",
                    "ActionID": action_id,
                    "Username": self._username,
                    "Secret": self._secret,
                    "Events": "off",
                }
            )
        )
        await writer.drain()
        while (response := await ami_read(reader)).get("ActionID") != action_id:
            pass
        if response.get("Response", "").lower() != "success":
            await self._drop()
            raise TelephonyRefused("login failed")
        return reader, writer

    def _action_id(self) -> str:
        self._next_id += 1
        return f"legal-aid-{self._next_id}"

    async def _drop(self) -> None:
        if self._streams is not None:
            _, writer = self._streams
            self._streams = None
            writer.close()

    async def close(self) -> None:
        async with self._lock:
            if self._streams is not None:
                _, writer = self._streams
                try:
                    writer.write(ami_encode({"Action": "Logoff"}))
                    await asyncio.wait_for(writer.drain(), 1)
                except (OSError, asyncio.TimeoutError, RuntimeError):
                    pass
            await self._drop()


def _reason(error: Exception) -> str:
    if isinstance(error, TelephonyError):
        return str(error)
    if isinstance(error, asyncio.TimeoutError):
        return "no answer in time"
    return type(error).__name__


# ARI -------------------------------------------------------------------------------


class AriTelephony:
    """ARI's REST calls, with the shared HTTP client and basic authentication."""

    ends_audiosocket = False

    def __init__(
        self, http: aiohttp.ClientSession, base: str, username: str, password: str, *, queue: str
    ) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.auth = aiohttp.BasicAuth(username, password)
        self.queue = queue

    async def line_of(self, call_id: uuid.UUID) -> Line | None:
        for channel in await self._request("GET", "/channels") or []:
            dialplan = channel.get("dialplan") or {}
            if runs_this_call(dialplan.get("app_name"), dialplan.get("app_data"), call_id):
                number = (channel.get("caller") or {}).get("number")
                return Line(str(channel.get("id", "")), caller_number(number))
        return None

    async def free_people(self) -> int:
        answer = await self._request(
            "GET", "/asterisk/variable", variable=f"QUEUE_MEMBER({self.queue},free)"
        )
        return free_count((answer or {}).get("value"))

    async def transfer(self, line: Line, ticket: str | None) -> None:
        path = f"/channels/{line.channel}/variable"
        if ticket:
            await self._request("POST", path, variable=TICKET_VARIABLE, value=ticket)
        await self._request("POST", path, variable=TRANSFER_VARIABLE, value=self.queue)

    async def _request(self, method: str, path: str, **params: str) -> object:
        try:
            async with self.http.request(
                method,
                self.base + path,
                params=params,
                auth=self.auth,
                timeout=aiohttp.ClientTimeout(total=ACTION_SECONDS),
            ) as response:
                if response.status >= 400:
                    raise TelephonyError(f"ARI {method} {path.split('/')[1]}: {response.status}")
                if response.status == 204:
                    return None
                return await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise TelephonyError(f"ARI {method}: {type(error).__name__}") from None

    async def close(self) -> None:
        pass  # the HTTP client is the gateway's
