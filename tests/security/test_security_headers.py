"""Public pages carry a CSP they satisfy, and HSTS and Secure cookies only over
HTTPS (or behind a trusted proxy that says so)."""

from __future__ import annotations

import re

from bot.web_identity import SENDER_COOKIE
from tests.security.gateway import database, gateway

HTTPS = {"X-Forwarded-Proto": "https"}


async def test_pages_carry_the_headers_and_no_inline_script(monkeypatch, tmp_path):
    async with gateway(monkeypatch, database(tmp_path)) as (_, client):
        page = await client.get("/")
        html = await page.text()
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert not re.search(r"<script(?![^>]*\ssrc=)", html), "inline script"
        assert " style=" not in html and "<style" not in html
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in page.headers  # plain HTTP
        chat = await client.post("/api/chat", json={"message": "你好"})
        assert chat.headers["Cache-Control"] == "no-store"
        assert not chat.cookies[SENDER_COOKIE]["secure"]


async def test_a_forwarded_https_counts_only_behind_a_trusted_proxy(monkeypatch, tmp_path):
    url = database(tmp_path)
    async with gateway(monkeypatch, url) as (_, client):
        spoofed = await client.post("/api/chat", json={"message": "你好"}, headers=HTTPS)
        assert "Strict-Transport-Security" not in spoofed.headers
        assert not spoofed.cookies[SENDER_COOKIE]["secure"]
    async with gateway(monkeypatch, url, trusted_proxies=("127.0.0.1",)) as (_, client):
        proxied = await client.post("/api/chat", json={"message": "你好"}, headers=HTTPS)
        assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
        assert proxied.cookies[SENDER_COOKIE]["secure"]
