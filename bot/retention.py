"""The daily purge inside the gateway: what is past its retention period is
deleted (store/purge.py, periods in store/retention.py), tracker events included.

A background task started with the gateway: it waits a minute (start-up first),
purges in a worker thread (the database work must not hold the event loop, which
serves every channel), then sleeps a day. A failed run is logged without detail
and tried again the next day; `python -m store purge` does the same by hand.
Several gateways each start it, and the first to reach each day's run claims
it in their shared state (bot/shared_state.py): one purge a day, not one per
gateway (deleting what is gone already would delete nothing, but would read
the whole store again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from sqlalchemy.engine import Engine

import store
from bot.appkeys import ENGINE, SHARED_STATE
from bot.shared_state import is_first
from store import settings
from store.purge import PurgeReport, purge

log = logging.getLogger("bot.retention")

FIRST_RUN_AFTER_SECONDS = 60.0
EVERY_SECONDS = 24 * 60 * 60.0


def setup(app: web.Application) -> None:
    """After the shared start-up, which opens the database engine."""
    app.cleanup_ctx.append(_daily_purge)


async def _daily_purge(app: web.Application) -> AsyncIterator[None]:
    engine, state = app[ENGINE], app[SHARED_STATE]

    async def mine_today() -> bool:
        # Claimed for a little less than a day, so tomorrow's run is free to claim.
        return await is_first(state, "job:purge", EVERY_SECONDS * 0.9)

    task = asyncio.create_task(run_periodically(lambda: purge_once(engine), claim=mine_today))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def purge_once(engine: Engine) -> PurgeReport:
    """One purge with the configured periods, of the store and the tracker database."""
    env = settings.environment()
    tracker_engine = store.create_engine(settings.tracker_store_url(env))
    try:
        return purge(engine, tracker_engine, settings.retention_periods(env))
    finally:
        tracker_engine.dispose()


async def run_periodically(
    job: Callable[[], object],
    first_after: float = FIRST_RUN_AFTER_SECONDS,
    every: float = EVERY_SECONDS,
    claim: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """`job` in a worker thread after `first_after` seconds, then every `every`;
    with `claim`, only the runs it grants (another gateway ran the others)."""
    await asyncio.sleep(first_after)
    while True:
        try:
            if claim is None or await claim():
                await asyncio.to_thread(job)
        except Exception as error:  # the database down today: try again tomorrow
            log.warning("retention purge failed: %s", type(error).__name__)
        await asyncio.sleep(every)
