"""Asterisk's control side for the tests: its manager interface (AMI) and REST
interface (ARI), for a PBX whose channels are the simulated AudioSocket calls.

    asterisk = FakeAsterisk(audiosocket_port)
    await asterisk.start_ami(port)            # or start_ari(port)
    channel = asterisk.add_call(call, caller="13812345678")
    asterisk.free = 1                         # QUEUE_MEMBER(legal-aid,free)

AMI speaks the wire protocol as Asterisk does: the banner line, "Key: Value"
lines ending in a blank line, Login with its secret checked, ActionID echoed,
event lists (CoreShowChannels) closed by their Complete event, FullyBooted sent
unasked after login. A Redirect moves the channel out of AudioSocket() as
Asterisk does: the AudioSocket connection is closed from Asterisk's side.
ARI answers GET /ari/channels, GET /ari/asterisk/variable and
POST /ari/channels/{id}/variable with basic authentication, in ARI's JSON.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.audiosocket_sim import SimulatedCall

USER, SECRET = "legal-aid", "a-manager-secret"
QUEUE = "legal-aid"


@dataclass
class Channel:
    name: str
    unique_id: str
    call: SimulatedCall
    caller: str | None
    audiosocket_port: int
    variables: dict[str, str] = field(default_factory=dict)
    redirected_to: tuple[str, str, str] | None = None  # context, exten, priority


class FakeAsterisk:
    def __init__(self, queue: str = QUEUE) -> None:
        self.queue = queue
        self.free = 0
        self.channels: dict[str, Channel] = {}
        self.actions: list[str] = []  # every AMI action or ARI request, by name
        self.failed_logins = 0
        self._servers: list[asyncio.AbstractServer] = []
        self._runners: list[web.AppRunner] = []
        self._connections: set[asyncio.StreamWriter] = set()
        self._count = 0

    def add_call(self, call: SimulatedCall, audiosocket_port: int, caller: str | None) -> Channel:
        """A channel in AudioSocket(<the call's uuid>,127.0.0.1:<port>)."""
        self._count += 1
        channel = Channel(
            name=f"PJSIP/trunk-{self._count:08x}",
            unique_id=f"{int(time.time())}.{self._count}",
            call=call,
            caller=caller,
            audiosocket_port=audiosocket_port,
        )
        self.channels[channel.name] = channel
        return channel

    def in_audiosocket(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.redirected_to is None]

    def _by_name(self, name: str) -> Channel | None:
        return self.channels.get(name)

    def _by_id(self, unique_id: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.unique_id == unique_id), None)

    def _queue_member_free(self, expression: str) -> str:
        if expression == f"QUEUE_MEMBER({self.queue},free)":
            return str(self.free)
        return ""

    # AMI ---------------------------------------------------------------------------

    async def start_ami(self, port: int) -> None:
        self._servers.append(await asyncio.start_server(self._ami, "127.0.0.1", port))

    async def _ami(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        logged_in = False

        def send(**fields: str) -> None:
            writer.write("".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode() + b"\r\n")

        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                message = await _read_block(reader)
                if message is None:
                    return
                action = message.get("Action", "").lower()
                aid = message.get("ActionID", "")
                self.actions.append(action)
                if action == "login":
                    if message.get("Username") == USER and message.get("Secret") == SECRET:
                        logged_in = True
                        send(Response="Success", ActionID=aid, Message="Authentication accepted")
                        send(Event="FullyBooted", Privilege="system,all", Status="Fully Booted")
                    else:
                        self.failed_logins += 1
                        send(Response="Error", ActionID=aid, Message="Authentication failed")
                elif action == "logoff":
                    send(Response="Goodbye", ActionID=aid, Message="Thanks for all the fish.")
                    await writer.drain()
                    return
                elif not logged_in:
                    send(Response="Error", ActionID=aid, Message="Permission denied")
                else:
                    self._ami_action(action, aid, message, send)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()

    def _ami_action(self, action: str, aid: str, message: dict[str, str], send) -> None:
        if action == "getvar":
            value = self._queue_member_free(message.get("Variable", ""))
            send(Response="Success", ActionID=aid, Variable=message["Variable"], Value=value)
        elif action == "coreshowchannels":
            send(
                Response="Success", ActionID=aid, EventList="start", Message="Channels will follow"
            )
            channels = self.in_audiosocket()
            for channel in channels:
                send(
                    Event="CoreShowChannel",
                    ActionID=aid,
                    Channel=channel.name,
                    ChannelState="6",
                    ChannelStateDesc="Up",
                    CallerIDNum=channel.caller or "<unknown>",
                    CallerIDName="<unknown>",
                    Context="hotline",
                    Exten="overflow",
                    Priority="3",
                    Uniqueid=channel.unique_id,
                    Application="AudioSocket",
                    ApplicationData=f"{channel.call.call_id},127.0.0.1:{channel.audiosocket_port}",
                )
            send(
                Event="CoreShowChannelsComplete",
                ActionID=aid,
                EventList="Complete",
                ListItems=str(len(channels)),
            )
        elif action in ("setvar", "redirect"):
            channel = self._by_name(message.get("Channel", ""))
            if channel is None:
                send(Response="Error", ActionID=aid, Message="Channel specified does not exist")
            elif action == "setvar":
                channel.variables[message["Variable"]] = message.get("Value", "")
                send(Response="Success", ActionID=aid, Message="Variable Set")
            else:
                where = (message["Context"], message["Exten"], message["Priority"])
                channel.redirected_to = where
                send(Response="Success", ActionID=aid, Message="Redirect successful")
                # The channel leaves AudioSocket(): Asterisk closes that connection.
                asyncio.ensure_future(channel.call.close_from_asterisk())
        else:
            send(Response="Error", ActionID=aid, Message="Invalid/unknown command")

    # ARI ---------------------------------------------------------------------------

    async def start_ari(self, port: int) -> None:
        app = web.Application(middlewares=[self._ari_auth])
        app.add_routes(
            [
                web.get("/ari/channels", self._ari_channels),
                web.get("/ari/asterisk/variable", self._ari_global),
                web.post("/ari/channels/{id}/variable", self._ari_set),
            ]
        )
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self._runners.append(runner)

    @web.middleware
    async def _ari_auth(self, request: web.Request, handler) -> web.StreamResponse:
        self.actions.append(f"{request.method} {request.path}")
        expected = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            self.failed_logins += 1
            return web.json_response({"message": "Authentication required"}, status=401)
        return await handler(request)

    async def _ari_channels(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "id": channel.unique_id,
                    "name": channel.name,
                    "state": "Up",
                    "caller": {"name": "", "number": channel.caller or ""},
                    "connected": {"name": "", "number": ""},
                    "accountcode": "",
                    "dialplan": {
                        "context": "hotline",
                        "exten": "overflow",
                        "priority": 3,
                        "app_name": "AudioSocket",
                        "app_data": f"{channel.call.call_id},127.0.0.1:{channel.audiosocket_port}",
                    },
                    "creationtime": "2026-12-05T12:00:00.000+0800",
                    "language": "zh",
                }
                for channel in self.in_audiosocket()
            ]
        )

    async def _ari_global(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"value": self._queue_member_free(request.query.get("variable", ""))}
        )

    async def _ari_set(self, request: web.Request) -> web.Response:
        channel = self._by_id(request.match_info["id"])
        if channel is None:
            return web.json_response({"message": "Channel not found"}, status=404)
        if "variable" not in request.query:
            return web.json_response({"message": "Variable name is required"}, status=400)
        channel.variables[request.query["variable"]] = request.query.get("value", "")
        return web.Response(status=204)

    def drop_managers(self) -> None:
        """Closes every manager connection, as an Asterisk restart does."""
        for writer in list(self._connections):
            writer.close()

    async def close(self) -> None:
        self.drop_managers()
        for server in self._servers:
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()
        for runner in self._runners:
            await runner.cleanup()


async def _read_block(reader: asyncio.StreamReader) -> dict[str, str] | None:
    message: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            return None
        text = line.decode().rstrip("\r\n")
        if not text:
            if message:
                return message
            continue
        key, _, value = text.partition(":")
        message[key.strip()] = value.strip()
