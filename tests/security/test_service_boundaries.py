"""Attacks on the processes behind the gateway: Rasa's HTTP API, the action
server, and a flood of hotline connections."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import aiohttp
import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer

from actions.server import SECRET_HEADER, ExposedWithoutSecret, host_and_secret
from bot.hotline import protocol
from bot.hotline.call import CallServices, CallSettings
from bot.hotline.server import HotlineServer
from bot.rasa_client import RasaClient
from scripts.launcher import PROJECT_DIR, free_port
from scripts.service_secrets import service_secret
from tests.support.audiosocket_sim import SimulatedCall
from voice.synthesis import Speech

# --- the action server ---


def test_the_action_server_listens_on_loopback_and_refuses_exposure_without_a_secret():
    assert host_and_secret({}) == ("127.0.0.1", "")
    assert host_and_secret({"ACTIONS_HOST": "0.0.0.0", "ACTIONS_SECRET": "s"}) == ("0.0.0.0", "s")
    with pytest.raises(ExposedWithoutSecret):
        host_and_secret({"ACTIONS_HOST": "0.0.0.0"})


@pytest.fixture(scope="module")
def action_server():
    port = free_port()
    env = {**os.environ, "ACTIONS_SECRET": "shared-secret-for-the-test"}
    process = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(port)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/health", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_action_server_runs_actions_only_for_the_holder_of_the_secret(action_server):
    call = {"next_action": "action_submit_intake", "tracker": {"sender_id": "x"}, "domain": {}}
    stranger = requests.post(f"{action_server}/webhook", json=call, timeout=10)
    assert stranger.status_code == 401
    wrong = requests.post(
        f"{action_server}/webhook", json=call, headers={SECRET_HEADER: "guess"}, timeout=10
    )
    assert wrong.status_code == 401
    assert requests.get(f"{action_server}/actions", timeout=10).status_code == 401
    listed = requests.get(
        f"{action_server}/actions",
        headers={SECRET_HEADER: "shared-secret-for-the-test"},
        timeout=10,
    )
    assert listed.status_code == 200 and listed.json()
    assert requests.get(f"{action_server}/health", timeout=10).status_code == 200


def test_an_action_call_without_the_domain_is_answered_with_the_one_from_the_file(action_server):
    # Rasa sends the domain with no call (enable_selective_domain): the action
    # server's own copy must make the slot mapping set the place as well as the region.
    tracker = {
        "sender_id": "boundary-test", "slots": {}, "events": [], "paused": False,
        "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
        "latest_message": {"text": "山西太原", "intent": {"name": "inform", "confidence": 1.0},
                           "entities": [{"entity": "region", "value": "山西太原"}]},
    }  # fmt: skip
    call = {"next_action": "action_validate_slot_mappings", "tracker": tracker}
    answer = requests.post(
        f"{action_server}/webhook",
        json=call,
        headers={SECRET_HEADER: "shared-secret-for-the-test"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    slots = {e["name"]: e["value"] for e in answer.json()["events"] if e["event"] == "slot"}
    assert slots == {"region": "shanxi", "place": "太原市"}


# --- Rasa's HTTP API ---


def test_the_local_secrets_are_made_once_and_kept_private(tmp_path):
    first = service_secret("RASA_TOKEN", {}, tmp_path)
    assert len(first) >= 40 and service_secret("RASA_TOKEN", {}, tmp_path) == first
    assert (tmp_path / "rasa.token").stat().st_mode & 0o077 == 0
    assert service_secret("RASA_TOKEN", {"RASA_TOKEN": "given"}, tmp_path) == "given"


async def test_the_gateway_sends_rasas_token_to_its_http_api_only():
    """A stand-in for Rasa with --auth-token: its API refuses a request without the token."""
    seen: list[tuple[str, str | None]] = []

    async def api(request: web.Request) -> web.Response:
        seen.append((request.path, request.query.get("token")))
        if request.query.get("token") != "rasa-token":
            return web.json_response({"message": "User is not authenticated."}, status=401)
        return web.json_response({"events": []})

    async def webhook(request: web.Request) -> web.Response:
        seen.append((request.path, request.query.get("token")))
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/status", api)
    app.router.add_get("/conversations/{sender}/tracker", api)
    app.router.add_post("/conversations/{sender}/tracker/events", api)
    app.router.add_post("/webhooks/rest/webhook", webhook)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        rasa = RasaClient(session, str(server.make_url("")).rstrip("/"), 5, "rasa-token")
        await rasa.status()
        assert await rasa.events("web-1") == []
        await rasa.resume("web-1")
        await rasa.send("web-1", "你好")
    assert seen == [
        ("/status", "rasa-token"),
        ("/conversations/web-1/tracker", "rasa-token"),
        ("/conversations/web-1/tracker/events", "rasa-token"),
        ("/webhooks/rest/webhook", None),
    ]


# --- the hotline ---


class Tone:
    """A synthesiser that says anything as a second of 8 kHz tone."""

    async def synthesise(self, text: str, rate: str = "normal") -> Speech:
        return Speech(b"\x10\x20" * 8000, 8000)


@dataclass
class Voices:
    made: int = 0

    def voice(self, others: int | None = None) -> Tone:
        self.made += 1
        return Tone()


async def test_a_call_over_the_limit_hears_busy_and_is_hung_up():
    voices = Voices()
    services = CallServices(turns=None, speech=voices)  # type: ignore[arg-type]
    server = HotlineServer(services, CallSettings(), max_calls=1)
    await server.start("127.0.0.1", 0)
    try:
        # The one line is taken (a connection still to send its UUID counts).
        holder = SimulatedCall(server.port)
        await holder.connect(send_uuid=False, stream_audio=False)
        await asyncio.sleep(0.2)
        extra = [SimulatedCall(server.port) for _ in range(2)]
        for call in extra:
            await call.connect(stream_audio=False)
        for call in extra:
            await asyncio.wait_for(call.hung_up_by_assistant.wait(), 5)
        heard = sorted(call.audio_seconds(0, time.perf_counter() + 1) for call in extra)
        # One hears the message; busy answers are bounded too, so the other
        # (a flood's next connection) is hung up at once.
        assert heard == [0.0, pytest.approx(1.0, abs=0.05)]
        assert voices.made == 1, "the busy message is synthesised once"
        assert len(server.calls) == 1
        await holder.close()
    finally:
        await server.close()


def test_the_busy_message_names_the_hotline():
    from bot.messages import HOTLINE_BUSY

    assert "一二三四八" in HOTLINE_BUSY and "忙" in HOTLINE_BUSY
    assert protocol.FRAME_BYTES == 320
