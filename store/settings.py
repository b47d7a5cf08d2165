"""The store's configuration: the environment over a `.env` file, as the gateway reads it."""

from __future__ import annotations

import os
from collections.abc import Mapping

from dotenv import dotenv_values

from store import DEFAULT_DATABASE_URL
from store.retention import RetentionPeriods

# As endpoints.yml and the launcher default it.
DEFAULT_TRACKER_STORE_URL = "sqlite:///var/rasa_tracker.db"


def environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` as given, or the process environment over `.env` (real variables win)."""
    if environ is not None:
        return dict(environ)
    from_file = {name: value for name, value in dotenv_values(".env").items() if value is not None}
    return {**from_file, **os.environ}


def database_url(environ: Mapping[str, str]) -> str:
    return environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def tracker_store_url(environ: Mapping[str, str]) -> str:
    """Rasa's conversations (rasa_ext/tracker_store.py): purged, erased and rotated
    with the store."""
    return environ.get("TRACKER_STORE_URL") or DEFAULT_TRACKER_STORE_URL


def retention_periods(environ: Mapping[str, str]) -> RetentionPeriods:
    """RETENTION_*_DAYS over the defaults (store/retention.py)."""
    return RetentionPeriods.from_env(environ)
