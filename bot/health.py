"""GET /healthz: the state of Rasa, the action server and the store."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

import store
from bot.appkeys import CONFIG, ENGINE, HTTP, RASA
from bot.responses import json_response

HEALTH_TIMEOUT = aiohttp.ClientTimeout(total=3)


async def check_rasa(app: web.Application) -> dict[str, Any]:
    status = await app[RASA].status()
    if not status.get("model_file"):
        raise RuntimeError("no model loaded")
    return {"model": status["model_file"]}


async def check_actions(app: web.Application) -> dict[str, Any]:
    async with app[HTTP].get(
        f"{app[CONFIG].actions_url}/health", timeout=HEALTH_TIMEOUT
    ) as response:
        response.raise_for_status()
    return {}


async def check_store(app: web.Application) -> dict[str, Any]:
    # The query blocks; keep it off the event loop.
    await asyncio.to_thread(store.ping, app[ENGINE])
    return {}


async def _state(check: Any, app: web.Application) -> dict[str, Any]:
    try:
        return {"ok": True, **await check(app)}
    except Exception as error:  # noqa: BLE001 - any failure is "not ok", with its kind
        return {"ok": False, "error": type(error).__name__}


async def healthz(request: web.Request) -> web.Response:
    """Always 200 while the gateway runs; the body says what is degraded."""
    app = request.app
    rasa, actions, db = await asyncio.gather(
        _state(check_rasa, app), _state(check_actions, app), _state(check_store, app)
    )
    ok = rasa["ok"] and actions["ok"] and db["ok"]
    body = {"status": "ok" if ok else "degraded", "rasa": rasa, "actions": actions, "store": db}
    return json_response(body)


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz)]
