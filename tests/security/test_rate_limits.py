"""Attack: one address sending as fast as it can, to the chat, the long poll,
the voice upload and the console login. Each kind has its own budget per
address; past it, 429 with a clear Chinese message, and other people go on."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.limits import (
    BODY_LIMITS,
    MAX_REQUEST_BYTES,
    MAX_VOICE_UPLOAD_BYTES,
    RateLimiter,
    limits_middleware,
)
from bot.messages import RATE_LIMITED
from tests.security.gateway_app import gateway

PROJECT = Path(__file__).resolve().parents[2]


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def test_one_address_flooding_the_chat_gets_429_and_others_do_not(tmp_path, monkeypatch):
    limits = {"rate_limit_chat": 3, "rate_limit_polls": 2, "trusted_proxies": ("127.0.0.1",)}
    async with gateway(tmp_path, monkeypatch, **limits) as (_, client):
        attacker = from_address("203.0.113.9")
        answers = [
            await client.post("/api/chat", json={"message": "你好"}, headers=attacker)
            for _ in range(4)
        ]
        assert [a.status for a in answers[:3]] != [429] * 3
        refused = answers[3]
        assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
        assert (await refused.json()) == [{"text": RATE_LIMITED}]
        # The page without JavaScript shares the chat's budget.
        page = await client.post("/chat", data={"message": "你好"}, headers=attacker)
        assert page.status == 429 and RATE_LIMITED in await page.text()
        # Someone else is not affected.
        other = await client.post(
            "/api/chat", json={"message": "你好"}, headers=from_address("198.51.100.7")
        )
        assert other.status != 429
        # Polls have their own budget.
        polls = [(await client.get("/api/chat/updates", headers=attacker)).status for _ in range(3)]
        assert polls[-1] == 429 and 429 not in polls[:2]


async def test_an_untrusted_forwarded_header_is_ignored(tmp_path, monkeypatch):
    async with gateway(tmp_path, monkeypatch, rate_limit_voice=2) as (_, client):
        # Not behind a trusted proxy: a made-up X-Forwarded-For gives no fresh budget.
        statuses = [
            (
                await client.post(
                    "/api/voice/turn", data=b"x", headers=from_address(f"192.0.2.{n}")
                )
            ).status
            for n in range(3)
        ]
        assert statuses[-1] == 429 and 429 not in statuses[:2]


async def test_console_logins_are_limited_per_address(tmp_path, monkeypatch):
    async with gateway(tmp_path, monkeypatch, rate_limit_login=2) as (_, client):
        statuses = [
            (await client.post("/console/login", data={"username": "x"})).status for _ in range(3)
        ]
        assert statuses[-1] == 429 and 429 not in statuses[:2]


def test_the_bucket_refills_and_forgets_old_addresses():
    limiter = RateLimiter(per_minute=60, kept=2)
    assert [limiter.take("a", now=0) for _ in range(60)] == [0.0] * 60
    assert limiter.take("a", now=0) > 0
    assert limiter.take("a", now=1.0) == 0.0  # one a second comes back
    limiter.take("b", now=1)
    limiter.take("c", now=1)  # "a" is forgotten: memory stays bounded
    assert len(limiter._buckets._entries) == 2
    assert RateLimiter(per_minute=0).take("a") == 0.0


async def test_the_voice_upload_takes_its_documented_size_and_no_more(tmp_path, monkeypatch):
    async with gateway(tmp_path, monkeypatch) as (_, client):
        # Said too large up front: refused before it is read, whether or not
        # voice input is on.
        try:
            huge = await client.post(
                "/api/voice/turn?sender=web-abc", data=b"\0" * (MAX_VOICE_UPLOAD_BYTES + 1)
            )
            assert huge.status == 413
        except aiohttp.ClientError:
            pass  # answered 413 and closed while the upload was still being sent
        chat = await client.post("/api/chat", data=b"\0" * (MAX_REQUEST_BYTES + 1))
        assert chat.status == 413


async def test_the_voice_limit_reaches_the_sub_application_that_reads_it():
    """Where aiohttp's root limit (256 KiB) used to refuse any longer recording."""

    async def read_upload(request: web.Request) -> web.Response:
        return web.Response(text=str(len(await request.read())))

    voice = web.Application()
    voice.router.add_post("/turn", read_upload)
    root = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[limits_middleware({})])
    root.add_subapp("/api/voice/", voice)

    async def chunks(size: int):  # no Content-Length: only reading finds the size
        for _ in range(size // 65536):
            yield b"\0" * 65536
        yield b"\0" * (size % 65536)

    async with TestClient(TestServer(root)) as client:
        ten_seconds = await client.post("/api/voice/turn", data=chunks(MAX_REQUEST_BYTES * 2))
        assert (ten_seconds.status, await ten_seconds.text()) == (200, str(MAX_REQUEST_BYTES * 2))
        too_long = await client.post("/api/voice/turn", data=chunks(MAX_VOICE_UPLOAD_BYTES + 1))
        assert too_long.status == 413


def test_the_documented_limits_are_the_codes():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"\| `(?:POST|GET)? ?([^`]+)` \| ([\d.]+) (KiB|MiB) \|", readme)
    documented = {
        path: float(size) * (1024 if unit == "KiB" else 1024**2) for path, size, unit in rows
    }
    assert documented["/api/voice/turn"] == BODY_LIMITS[("POST", "/api/voice/turn")]
    assert documented["other routes"] == MAX_REQUEST_BYTES
