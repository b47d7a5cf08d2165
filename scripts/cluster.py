"""`./dev cluster`: the assistant as a province runs it, on one machine.

Redis and PostgreSQL (throwaway servers on loopback), then `nodes` copies of
the three processes (action server, Rasa server, gateway), then HAProxy in
front: the gateways round-robin behind one address with no stickiness, and
the gateways reach the Rasa servers round-robin behind another. So any turn of
a conversation may land on any gateway and any Rasa server, as in production:

    browser ─► HAProxy :8080 ─► gateway 0 … n ─► HAProxy :rasa ─► Rasa 0 … n ─► actions i
                                    │                                  │
                                    └── Redis (REDIS_URL) ─────────────┤ (Rasa's locks)
                                    └── PostgreSQL (DATABASE_URL) ─────┘ (TRACKER_STORE_URL)

Every node shares the same secrets (RASA_TOKEN, ACTIONS_SECRET) and the
same key for personal data (PII_KEY, or the key file in var/cluster/). The
hotline (HOTLINE_PORT) and Telegram's long polling run on the first gateway
only: a call stays on the gateway that answered it, and Telegram allows one
poller (with TELEGRAM_WEBHOOK_URL every gateway takes updates).
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from scripts.launcher import Ports, Stack, StartError, free_port, stop_process
from scripts.local_postgres import PostgresServer
from scripts.local_redis import RedisServer
from scripts.model_cache import PROJECT_DIR
from scripts.service_secrets import service_secrets

# What only the first gateway may do: see the module's docstring.
FIRST_NODE_ONLY = ("HOTLINE_PORT",)


@dataclass
class Cluster:
    nodes: int = 2
    gateway_port: int = 8080
    var_dir: Path = field(default_factory=lambda: PROJECT_DIR / "var" / "cluster")
    # Extra environment for every node (the tests' WeChat or Telegram settings).
    env: dict[str, str] = field(default_factory=dict)
    rasa_port: int = field(default_factory=free_port)
    stats_port: int = field(default_factory=free_port)
    redis: RedisServer = field(default_factory=RedisServer)
    postgres: PostgresServer = field(default_factory=PostgresServer)
    stacks: list[Stack] = field(default_factory=list)
    _haproxy: subprocess.Popen[bytes] | None = None

    @property
    def gateway_url(self) -> str:
        """The one address of every gateway, as a Stack's (HAProxy's front)."""
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self) -> None:
        """Everything, in order; a failure stops what was started and raises StartError."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        for server, name in ((self.redis, "Redis"), (self.postgres, "PostgreSQL")):
            reason = server.unavailable()
            if reason:
                raise StartError(f"{name}: {reason}")
            server.start()
        tracker_url = self.postgres.create_database("rasa_tracker")
        shared = {
            **service_secrets({**os.environ, **self.env}, self.var_dir),
            "REDIS_URL": self.redis.url,
            "DATABASE_URL": self.postgres.create_database("legal_aid"),
            "PII_KEY_FILE": os.environ.get("PII_KEY_FILE") or str(self.var_dir / "pii.key"),
            # The gateways reach Rasa through HAProxy, and believe its X-Forwarded-For.
            "RASA_URL": self.rasa_url,
            "TRUSTED_PROXIES": "127.0.0.1",
            **self.env,
        }
        for index in range(self.nodes):
            node_env = dict(shared)
            if index > 0:
                node_env.update({name: "" for name in FIRST_NODE_ONLY})
                if not node_env.get("TELEGRAM_WEBHOOK_URL"):
                    node_env["TELEGRAM_TOKEN"] = ""
            stack = Stack(
                ports=Ports.free(),
                var_dir=self.var_dir / f"node{index}",
                tracker_store_url=tracker_url,
                env=node_env,
            )
            self.stacks.append(stack)
            print(f"[cluster] starting node {index} (action server, Rasa server, gateway)…")
            stack.start()
        self._start_haproxy()

    def _start_haproxy(self) -> None:
        config = Path(tempfile.mkdtemp(prefix="fayuan-haproxy-")) / "haproxy.cfg"
        config.write_text(self.haproxy_config(), encoding="utf-8")
        log = (self.var_dir / "haproxy.log").open("ab")
        self._haproxy = subprocess.Popen(
            ["haproxy", "-f", str(config), "-db"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._haproxy.poll() is not None:
                raise StartError(f"HAProxy exited while starting (log: {self.var_dir}/haproxy.log)")
            if self.backends_up() == {"gateways": self.nodes, "rasa": self.nodes}:
                return
            time.sleep(0.5)
        raise StartError("HAProxy did not see every gateway and Rasa server healthy within 30 s")

    def haproxy_config(self) -> str:
        gateways = "\n".join(
            f"  server gateway{i} 127.0.0.1:{s.ports.gateway} check inter 1s fall 2 rise 1"
            for i, s in enumerate(self.stacks)
        )
        rasa = "\n".join(
            f"  server rasa{i} 127.0.0.1:{s.ports.rasa} check inter 1s fall 2 rise 1"
            for i, s in enumerate(self.stacks)
        )
        return f"""\
global
  maxconn 4000

defaults
  mode http
  timeout connect 5s
  # Long polls answer within 20 s; a voice turn may take a minute.
  timeout client 120s
  timeout server 120s
  # A request that reached a server which died is tried once on another.
  retries 1
  option redispatch

frontend gateways
  bind 127.0.0.1:{self.gateway_port}
  option forwardfor
  default_backend gateways

backend gateways
  balance roundrobin
  option httpchk GET /healthz
{gateways}

frontend rasa
  bind 127.0.0.1:{self.rasa_port}
  default_backend rasa

backend rasa
  balance roundrobin
  option httpchk GET /
{rasa}

frontend stats
  bind 127.0.0.1:{self.stats_port}
  stats enable
  stats uri /stats
"""

    def stats(self) -> list[dict[str, str]]:
        """HAProxy's per-server figures (its CSV): requests served, state."""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5
        ) as r:
            text = r.read().decode().removeprefix("# ")
        return list(csv.DictReader(io.StringIO(text)))

    def backends_up(self) -> dict[str, int]:
        try:
            rows = self.stats()
        except (urllib.error.URLError, OSError):
            return {}
        up: dict[str, int] = {}
        for row in rows:
            if row["svname"] not in ("FRONTEND", "BACKEND") and row["status"].startswith("UP"):
                up[row["pxname"]] = up.get(row["pxname"], 0) + 1
        return up

    def served(self, backend: str) -> dict[str, int]:
        """How many requests each server of `backend` ("gateways", "rasa") has had."""
        return {
            row["svname"]: int(row["stot"] or 0)
            for row in self.stats()
            if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def stop(self) -> None:
        stop_process(self._haproxy)
        self._haproxy = None
        for stack in reversed(self.stacks):
            stack.stop()
        self.stacks = []
        self.postgres.stop()
        self.redis.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    nodes = int(os.environ.get("CLUSTER_NODES") or 2)
    cluster = Cluster(nodes=nodes, gateway_port=int(os.environ.get("GATEWAY_PORT") or 8080))
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        cluster.start()
        print(
            f"[cluster] {nodes} gateways and {nodes} Rasa servers behind HAProxy: {cluster.gateway_url}/"
        )
        print(f"[cluster] HAProxy's figures: http://127.0.0.1:{cluster.stats_port}/stats")
        print(f"[cluster] logs in {cluster.var_dir}; press Ctrl-C to stop.", flush=True)
        while True:
            time.sleep(1)
    except StartError as error:
        print(f"[cluster] ERROR: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[cluster] stopping…")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.stop()
    print("[cluster] stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
