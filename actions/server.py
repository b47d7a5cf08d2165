"""The action server, as `rasa run actions` starts it, but closed to strangers.

`rasa run actions` listens on every interface (rasa_sdk reads only SANIC_HOST)
and runs any action for anyone who posts a tracker to /webhook: with a made-up
tracker, the intake and handoff actions write to the store. So this entry
point, used by the launcher instead:

* listens on ACTIONS_HOST, by default 127.0.0.1 (only Rasa on the same host
  calls it);
* refuses /webhook and /actions (401) unless the request carries the shared
  secret ACTIONS_SECRET in the `X-Actions-Secret` header, which Rasa sends from
  endpoints.yml (`action_endpoint.headers`). /health stays open: it says nothing.
* will not start on another interface without ACTIONS_SECRET;
* reads the domain once, at start, from domain.yml (`domain_from_file`):
  Rasa sends it with no action call (`enable_selective_domain` in
  endpoints.yml), which was 190 kB of JSON written, sent and read on every
  call — about 3.5 of the 5 ms of the call Rasa makes every turn
  (action_validate_slot_mappings), measured by bench/turn_latency.py.

    python -m actions.server --actions actions --port 5055   (rasa_sdk's own flags)
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger("actions.server")

SECRET_HEADER = "X-Actions-Secret"
DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"
# Paths anyone may ask: whether the server is up.
OPEN_PATHS = frozenset({"/health"})


class ExposedWithoutSecret(RuntimeError):
    """ACTIONS_HOST is not loopback and ACTIONS_SECRET is unset."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_and_secret(environ: Mapping[str, str]) -> tuple[str, str]:
    """Where to listen and the secret to require; refuses an exposed server without one."""
    host = environ.get("ACTIONS_HOST") or "127.0.0.1"
    secret = environ.get("ACTIONS_SECRET") or ""
    if not secret and not is_loopback(host):
        raise ExposedWithoutSecret(
            f"ACTIONS_HOST={host} is reachable from other machines: set ACTIONS_SECRET "
            "(and the same value for the Rasa server, which sends it)"
        )
    return host, secret


def secret_check(secret: str) -> Callable[[Request], Awaitable[HTTPResponse | None]]:
    """Sanic request middleware: 401 for a request without the secret."""

    async def check(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(SECRET_HEADER, "")
        if hmac.compare_digest(given.encode(), secret.encode()):
            return None
        return response.json({"error": "unauthorised"}, status=401)

    return check


def load_domain(path: Path = DOMAIN_FILE) -> dict[str, Any]:
    """The domain as Rasa sends it (Domain.as_dict), from the file the model was
    trained on (the model's cache key includes it: scripts/model_cache.py)."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(path)).as_dict()


def domain_from_file(domain: dict[str, Any]) -> Callable[[Request], Awaitable[None]]:
    """Sanic request middleware: an action call without a domain gets this one."""

    async def fill(request: Request) -> None:
        if request.path != "/webhook" or request.method != "POST":
            return
        try:
            call = request.json
        except Exception:  # noqa: BLE001 - rasa_sdk answers a body it cannot read itself
            return
        if isinstance(call, dict) and not call.get("domain"):
            call["domain"] = domain

    return fill


def guarded_app(actions_package: str, secret: str) -> Sanic:
    """rasa_sdk's app without CORS (no browser should call it), behind the secret,
    with the domain filled in from the file for the calls Rasa sends without it."""
    app = create_app(actions_package, cors_origins=[])
    if secret:
        app.register_middleware(secret_check(secret), "request")
    app.register_middleware(domain_from_file(load_domain()), "request")
    return app


def main() -> None:
    args = create_argument_parser().parse_args()
    # As rasa_sdk's own `main_from_args` sets up its logging.
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    host, secret = host_and_secret(os.environ)
    app = guarded_app(args.actions or "actions", secret)
    log.info("action server on %s:%s, shared secret %s", host, args.port, "on" if secret else "off")
    app.run(host, int(args.port), workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
