"""Typed keys of the shared objects the gateway application holds."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.rasa_client import RasaClient
from bot.turns import TurnHandler

CONFIG = web.AppKey("config", Config)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
TURNS = web.AppKey("turns", TurnHandler)
ENGINE = web.AppKey("engine", Engine)
