"""The stores the gateway uses, opened once when it starts, with the one key ring.

The handoff relay, 接续码, the application forms and the staff console all read
personal data, encrypted with the store's key (store/crypto.py). The gateway
reads the key once, opens each store on its one database engine, and puts
them on the application (bot/appkeys.py STORES); every part takes them from
there.

Without a key (PII_KEY, or the key file) none is opened and the gateway still
serves chat and voice: the relay and 接续码 are off, and forms and the console
say they are unavailable. The action server tells people when they ask for a
lawyer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import ChainMapProxy, web
from sqlalchemy.engine import Engine

from bot.appkeys import STORES
from store import settings
from store.crypto import KeyRing, StoreCryptoError
from store.handoff import ConsoleTickets, RelayStore, Roster
from store.intake import IntakeStore
from store.links import ConversationLinks
from store.staff import StaffAccounts
from store.training import TrainingStore

log = logging.getLogger("bot.stores")


@dataclass(frozen=True)
class GatewayStores:
    keys: KeyRing
    relay: RelayStore
    console: ConsoleTickets
    roster: Roster
    intake: IntakeStore
    links: ConversationLinks
    accounts: StaffAccounts
    training: TrainingStore


class StoresUnavailable(RuntimeError):
    """The gateway has no store key, so nothing with personal data can be served."""


def open_stores(engine: Engine) -> GatewayStores | None:
    """Every store on `engine`; None (and a warning) when there is no key."""
    try:
        keys = KeyRing.from_env(settings.environment())
    except StoreCryptoError as error:
        log.warning(
            "no store key (%s): handoff relay, continuation codes, forms and console off",
            type(error).__name__,
        )
        return None
    return GatewayStores(
        keys=keys,
        relay=RelayStore(engine, keys),
        console=ConsoleTickets(engine, keys),
        roster=Roster(engine, keys),
        intake=IntakeStore(engine, keys),
        links=ConversationLinks(engine, keys),
        accounts=StaffAccounts(engine),
        training=TrainingStore(engine, keys),
    )


def stores_of(app: web.Application | ChainMapProxy) -> GatewayStores:
    """The gateway's stores (`app` may be a request's config_dict); raises
    StoresUnavailable when they were not opened."""
    stores = app.get(STORES)
    if stores is None:
        raise StoresUnavailable("the gateway has no store key")
    return stores
