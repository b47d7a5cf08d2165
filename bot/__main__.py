"""`python -m bot`: run the gateway."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.app import create_app
from bot.config import Config


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = Config.from_env()
    # No access log: it would record client IP addresses, which are personal
    # data; bot.turns logs one line per turn without them.
    web.run_app(
        create_app(config),
        host=config.gateway_host,
        port=config.gateway_port,
        access_log=None,
        print=lambda _: logging.getLogger("bot").info(
            "gateway listening on http://%s:%d/", config.gateway_host, config.gateway_port
        ),
    )


if __name__ == "__main__":
    main()
