"""The stores the console uses: the gateway's own (bot/stores.py), and the
console's signer, derived from the same key ring once.

A gateway without a store key still serves the chat; the console then says
it is unavailable (StoresUnavailable).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.console.session import Signer
from bot.stores import stores_of
from store.handoff import ConsoleTickets, Roster
from store.intake import IntakeStore
from store.staff import StaffAccounts
from store.training import TrainingStore


@dataclass(frozen=True)
class Stores:
    handoff: ConsoleTickets
    roster: Roster
    intake: IntakeStore
    accounts: StaffAccounts
    signer: Signer
    training: TrainingStore


class Services:
    """The console's stores, made on first use from the gateway's."""

    def __init__(self) -> None:
        self._stores: Stores | None = None

    def get(self, request: web.Request) -> Stores:
        """Raises StoresUnavailable when the gateway has no store key."""
        if self._stores is None:
            gateway = stores_of(request.config_dict)
            self._stores = Stores(
                gateway.console,
                gateway.roster,
                gateway.intake,
                gateway.accounts,
                Signer(gateway.keys),
                gateway.training,
            )
        return self._stores
