"""The staff console at /console/: login, the waiting queue, tickets, the roster,
the figures and the messages to label.

Lawyers and coordinators meet the person's side only through ConsoleTickets,
which also decides who may read and do what; the console checks roles on
every route as well, and refuses what the store refuses with a polite page.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from aiohttp import WSCloseCode, web

from bot.console import figures, roster, training
from bot.console.login_guard import HashingPool, LoginGuard
from bot.console.services import Services
from bot.console.views import (
    HASHING,
    LOGIN_GUARD,
    SERVICES,
    SOCKETS,
    authenticate,
    routes,
    security_headers,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_console_app() -> web.Application:
    """The sub-application the gateway mounts at /console/."""
    app = web.Application(middlewares=[security_headers, authenticate])
    app[SERVICES] = Services()
    app[SOCKETS] = weakref.WeakSet()
    app[LOGIN_GUARD] = LoginGuard()
    app[HASHING] = HashingPool()
    app.add_routes(routes())
    app.add_routes(roster.routes())
    app.add_routes(figures.routes())
    app.add_routes(training.routes())
    app.add_routes([web.static("/static", STATIC_DIR)])
    app.on_shutdown.append(_close_sockets)
    app.on_cleanup.append(_stop_hashing)
    return app


async def _stop_hashing(app: web.Application) -> None:
    app[HASHING].close()


async def _close_sockets(app: web.Application) -> None:
    """Open queue sockets would hold a gateway shutdown up."""
    for socket in list(app[SOCKETS]):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
