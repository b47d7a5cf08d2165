"""Starts the action server, the Rasa server and the gateway, and stops them.

`./dev run` calls this after setup. Each process runs in its own session so
that Ctrl-C reaches only the launcher, which then stops all three in order.
Their output goes to var/log/<name>.log; what goes wrong is told in one line.
The tests start the same stack on free ports through `Stack`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from scripts.model_cache import PROJECT_DIR, model_path, rasa_env
from scripts.service_secrets import service_secrets


class StartError(RuntimeError):
    """One of the processes could not start; the message says which and why."""


@dataclass
class Ports:
    rasa: int = 5005
    actions: int = 5055
    gateway: int = 8080

    @classmethod
    def from_env(cls) -> Ports:
        def port_of(url: str | None, default: int) -> int:
            return (urlsplit(url).port if url else None) or default

        return cls(
            rasa=port_of(os.environ.get("RASA_URL"), cls.rasa),
            actions=port_of(os.environ.get("ACTIONS_URL"), cls.actions),
            gateway=int(os.environ.get("GATEWAY_PORT") or cls.gateway),
        )

    @classmethod
    def free(cls) -> Ports:
        return cls(rasa=free_port(), actions=free_port(), gateway=free_port())


@dataclass
class Service:
    name: str
    label: str
    port: int
    command: list[str]
    ready_url: str
    ready_timeout: float
    log_path: Path
    is_ready: Callable[[bytes], bool] = lambda body: True
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


@dataclass
class Stack:
    """The three processes of the assistant, on the given ports."""

    ports: Ports = field(default_factory=Ports)
    # RASA_MODEL runs a given model archive instead of the one for the inputs.
    model: Path = field(default_factory=lambda: Path(os.environ.get("RASA_MODEL") or model_path()))
    # Databases and logs; FAYUAN_VAR_DIR moves them (the tests use a temp dir).
    var_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("FAYUAN_VAR_DIR") or PROJECT_DIR / "var")
    )
    tracker_store_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.var_dir / "log").mkdir(parents=True, exist_ok=True)
        self.tracker_store_url = self.tracker_store_url or os.environ.get(
            "TRACKER_STORE_URL", f"sqlite:///{self.var_dir / 'rasa_tracker.db'}"
        )
        # RASA_TOKEN and ACTIONS_SECRET, from the environment or var/.
        self.secrets = service_secrets({**os.environ, **self.env}, self.var_dir)
        self.services = {
            "actions": self._actions_service(),
            "rasa": self._rasa_service(),
            "gateway": self._gateway_service(),
        }

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.actions}"

    def _log(self, name: str) -> Path:
        return self.var_dir / "log" / f"{name}.log"

    @property
    def rasa_token(self) -> str:
        return self.secrets["RASA_TOKEN"]

    def rasa_api(self, path: str) -> str:
        """The URL of one of Rasa's HTTP API endpoints, with the token it requires."""
        return f"{self.rasa_url}{path}?token={self.rasa_token}"

    def _actions_service(self) -> Service:
        # Not `rasa run actions`: that one listens on every interface and
        # checks no caller (actions/server.py).
        command = [sys.executable, "-m", "actions.server", "--actions", "actions"]
        command += ["--port", str(self.ports.actions)]
        return Service(
            "actions", "action server", self.ports.actions, command,
            f"{self.actions_url}/health", 60, self._log("actions"),
        )  # fmt: skip

    def _rasa_service(self) -> Service:
        command = [
            # `rasa`, with the project's fixes and, under TURN_TIMINGS, the
            # turn timings (rasa_ext/server.py).
            sys.executable, "-m", "rasa_ext.server", "run", "--enable-api",
            "--model", str(self.model),
            "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
            "--interface", "127.0.0.1", "--port", str(self.ports.rasa),
            # The HTTP API (trackers, parse, model) only with the token; the
            # channels' webhooks stay open to the gateway. Joined by "=": a
            # token starting with "-" (one in 64 made by token_urlsafe) is
            # otherwise read as an option, and Rasa refuses to start.
            f"--auth-token={self.rasa_token}",
        ]  # fmt: skip
        return Service(
            "rasa", "Rasa server", self.ports.rasa, command,
            self.rasa_api("/status"), 240, self._log("rasa"),
            is_ready=lambda body: b'"model_file"' in body,
        )  # fmt: skip

    def _gateway_service(self) -> Service:
        return Service(
            "gateway", "gateway", self.ports.gateway, [sys.executable, "-m", "bot"],
            f"{self.gateway_url}/healthz", 30, self._log("gateway"),
        )  # fmt: skip

    def child_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RASA_URL": self.rasa_url,
            "ACTIONS_URL": self.actions_url,
            "ACTIONS_WEBHOOK_URL": f"{self.actions_url}/webhook",
            "GATEWAY_PORT": str(self.ports.gateway),
            "TRACKER_STORE_URL": self.tracker_store_url or "",
            "DATABASE_URL": os.environ.get(
                "DATABASE_URL", f"sqlite:///{self.var_dir / 'legal_aid.db'}"
            ),
            # Without PII_KEY (passed on with the environment), the key file
            # lives next to the database.
            "PII_KEY_FILE": os.environ.get("PII_KEY_FILE") or str(self.var_dir / "pii.key"),
            **rasa_env(),
            "PYTHONUNBUFFERED": "1",
            **self.secrets,
            **self.env,
        }

    def start(self, names: tuple[str, ...] = ("actions", "rasa", "gateway")) -> None:
        """Start the named services in order, each ready before the next."""
        if not self.model.is_file():
            raise StartError(f"Rasa server: no trained model at {self.model}; run ./dev setup")
        for name in names:
            ensure_port_free(self.services[name])
        self.prepare_store()
        try:
            for name in names:
                self.start_one(name)
        except BaseException:
            # A half-started stack stops what it started: an action server
            # left running when Rasa would not start outlived the test session.
            self.stop(tuple(reversed(names)))
            raise

    def prepare_store(self) -> None:
        """Migrate the store's database (and create the local key file) before any
        process can use them."""
        from store.migrate import prepare_local_store  # Alembic loads only when starting

        try:
            created = prepare_local_store(self.child_env())
        except Exception as error:  # noqa: BLE001 - any failure is one line for the user
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            raise StartError(f"store: cannot prepare the database: {first_line}") from None
        if created:
            print(f"[run] created the local key for personal data: {created}", flush=True)

    def start_one(self, name: str) -> None:
        service = self.services[name]
        log_file = service.log_path.open("ab")
        service.process = subprocess.Popen(
            service.command,
            cwd=PROJECT_DIR,
            env=self.child_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        wait_until_ready(service)

    def stop(self, names: tuple[str, ...] = ("gateway", "rasa", "actions")) -> None:
        """Stop the named services, politely first."""
        for name in names:
            stop_process(self.services[name].process)
            self.services[name].process = None

    def first_exited(self) -> Service | None:
        for service in self.services.values():
            if service.process is not None and service.process.poll() is not None:
                return service
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_port_free(service: Service) -> None:
    with socket.socket() as sock:
        # As the servers do: connections in TIME_WAIT from a previous run must
        # not count as "in use", only a listening socket.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", service.port))
        except OSError:
            raise StartError(
                f"{service.label}: port {service.port} is already in use; stop the program "
                f"using it (e.g. `ss -ltnp | grep :{service.port}`) or choose another port"
            ) from None


def wait_until_ready(service: Service) -> None:
    assert service.process is not None
    deadline = time.monotonic() + service.ready_timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise StartError(
                f"{service.label} exited while starting: {last_error_line(service.log_path)}"
                f" (full log: {service.log_path})"
            )
        try:
            with urllib.request.urlopen(service.ready_url, timeout=2) as response:
                if service.is_ready(response.read()):
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    stop_process(service.process)
    raise StartError(
        f"{service.label} was not ready after {service.ready_timeout:.0f} s"
        f" (log: {service.log_path})"
    )


# The last line of a Python traceback: "sqlalchemy.exc.ArgumentError: …".
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*:")


def last_error_line(log_path: Path) -> str:
    """The most telling line of a failed start: the last error, else the last line."""
    lines = [
        line.strip()
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip()
    ]
    exceptions = [line for line in lines if EXCEPTION_LINE.match(line)]
    errors = [line for line in lines if " ERROR " in line or "Errno" in line]
    return (exceptions or errors or lines or ["(no output)"])[-1][:300]


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    stack = Stack(ports=Ports.from_env())
    # Installed explicitly: a launcher started in the background of a script
    # inherits SIGINT ignored, and Ctrl-C or `kill -INT` would do nothing.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    exit_code = 0
    try:
        print("[run] starting the action server, the Rasa server (about a minute) and the gateway…")
        stack.start()
        print(f"[run] 法援助手 is running. Open the web chat: {stack.gateway_url}/")
        print(f"[run] logs in {stack.var_dir / 'log'}; press Ctrl-C to stop.", flush=True)
        while (exited := stack.first_exited()) is None:
            time.sleep(0.5)
        print(
            f"[run] ERROR: {exited.label} stopped unexpectedly: "
            f"{last_error_line(exited.log_path)} (full log: {exited.log_path})",
            file=sys.stderr,
        )
        exit_code = 1
    except StartError as error:
        print(f"[run] ERROR: {error}", file=sys.stderr)
        exit_code = 1
    except KeyboardInterrupt:
        print("\n[run] stopping…")
    finally:
        # A second Ctrl-C must not leave processes behind half-stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    print("[run] stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
