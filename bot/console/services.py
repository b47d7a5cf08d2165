"""The stores the console uses, opened on first use with the gateway's engine.

Opened lazily (as bot/intake_documents.py does) so that a gateway without a
key still serves the chat; the console then says it is unavailable.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aiohttp import web

from bot.appkeys import ENGINE
from bot.console.session import Signer
from store import settings
from store.crypto import KeyRing
from store.handoff import ConsoleTickets, Roster
from store.intake import IntakeStore
from store.staff import StaffAccounts


@dataclass(frozen=True)
class Stores:
    handoff: ConsoleTickets
    roster: Roster
    intake: IntakeStore
    accounts: StaffAccounts
    signer: Signer


class Services:
    """One set of stores per console application, made once."""

    def __init__(self) -> None:
        self._stores: Stores | None = None
        self._lock = threading.Lock()

    def get(self, request: web.Request) -> Stores:
        with self._lock:
            if self._stores is None:
                engine = request.config_dict[ENGINE]
                keys = KeyRing.from_env(settings.environment())
                self._stores = Stores(
                    ConsoleTickets(engine, keys),
                    Roster(engine, keys),
                    IntakeStore(engine, keys),
                    StaffAccounts(engine),
                    Signer(keys),
                )
            return self._stores
