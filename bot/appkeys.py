"""Typed keys of the shared objects the gateway application holds.

They are made once, in order, when the gateway starts (bot/app.py); every
channel takes them from here. The modules that define their types read their
own keys from here too, so those types are imported for type checking only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import Config

if TYPE_CHECKING:
    from bot.handoff_relay import HandoffRelay
    from bot.rasa_client import RasaClient
    from bot.shared_state import SharedState
    from bot.speech import SpeechEngines
    from bot.stores import GatewayStores
    from bot.turns import TurnHandler
    from bot.web_identity import WebIdentity

CONFIG = web.AppKey("config", Config)
HTTP = web.AppKey("http", aiohttp.ClientSession)
ENGINE = web.AppKey("engine", Engine)
RASA: web.AppKey[RasaClient] = web.AppKey("rasa")
TURNS: web.AppKey[TurnHandler] = web.AppKey("turns")
# Absent when the gateway has no store key (bot/stores.py).
STORES: web.AppKey[GatewayStores] = web.AppKey("stores")
RELAY: web.AppKey[HandoffRelay] = web.AppKey("handoff_relay")
SPEECH_ENGINES: web.AppKey[SpeechEngines] = web.AppKey("speech_engines")
# What gateways remember between requests: in memory, or in Redis (REDIS_URL).
SHARED_STATE: web.AppKey[SharedState] = web.AppKey("shared_state")
# Who is speaking on the web (bot/web_identity.py).
IDENTITY: web.AppKey[WebIdentity] = web.AppKey("web_identity")
