"""Gateway configuration from environment variables (and a `.env` file if present).

The names are the public contract of DESIGN.md; every value has an embedded
default so that the assistant runs on one machine with no configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dotenv import dotenv_values

from store import DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class Config:
    rasa_url: str = "http://127.0.0.1:5005"
    actions_url: str = "http://127.0.0.1:5055"
    database_url: str = DEFAULT_DATABASE_URL
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # A turn that takes longer than this gets the polite "busy" answer.
    rasa_timeout_seconds: float = 15.0
    # Longest message accepted from a user; longer ones are answered politely.
    max_message_chars: int = 2000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read the configuration; real environment variables win over `.env`."""
        env = {**dotenv_values(".env"), **(os.environ if environ is None else environ)}

        def get(name: str, default: object) -> str:
            value = env.get(name)
            return str(default) if value in (None, "") else str(value)

        return cls(
            rasa_url=get("RASA_URL", cls.rasa_url).rstrip("/"),
            actions_url=get("ACTIONS_URL", cls.actions_url).rstrip("/"),
            database_url=get("DATABASE_URL", cls.database_url),
            gateway_host=get("GATEWAY_HOST", cls.gateway_host),
            gateway_port=int(get("GATEWAY_PORT", cls.gateway_port)),
            rasa_timeout_seconds=float(get("RASA_TIMEOUT", cls.rasa_timeout_seconds)),
        )
