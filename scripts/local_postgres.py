"""A throwaway PostgreSQL server: initdb in a temp folder, loopback only (tests, ./dev cluster).

PostgreSQL refuses to run as root, so under root the server runs as the
`postgres` system user (Debian's package creates it) and owns its temp folder.
`PostgresServer.unavailable()` says why no server can start, for pytest.skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from scripts.launcher import free_port

SERVER_USER = "postgres"


def find_bin_dir() -> Path | None:
    """The folder of initdb/pg_ctl: on PATH, or Debian's newest /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return debian[-1].parent if debian else None


class PostgresServer:
    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.port = free_port()
        self.base_dir: Path | None = None
        self.admin_url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def unavailable() -> str | None:
        """Why the tests cannot start PostgreSQL here, or None when they can."""
        if find_bin_dir() is None:
            return "PostgreSQL is not installed (apt-get install postgresql; see scripts/system-packages.txt)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVER_USER)
            except KeyError:
                return "running as root and there is no 'postgres' user to run the server as"
            if shutil.which("runuser") is None:
                return "running as root and runuser (util-linux) is missing"
        return None

    def _as_server_user(self, command: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SERVER_USER, "--", *command]
        return command

    def _run(self, *command: str) -> None:
        assert self.bin_dir is not None
        full = self._as_server_user([str(self.bin_dir / command[0]), *command[1:]])
        result = subprocess.run(full, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stderr.strip() or result.stdout}")

    def start(self) -> None:
        # Not under pytest's tmp_path: its parents are private to root, and the
        # server user could not reach its own data folder.
        self.base_dir = Path(tempfile.mkdtemp(prefix="fayuan-pg-"))
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.base_dir, entry.pw_uid, entry.pw_gid)
        data, sockets = self.base_dir / "data", self.base_dir / "sockets"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        self._run("pg_ctl", "-D", str(data), "-l", str(self.base_dir / "server.log"), "-w",
                  "-t", "60", "-o", self._server_options(sockets), "start")  # fmt: skip

    def _server_options(self, sockets: Path) -> str:
        # The unix socket folder must exist and belong to the server user; sockets
        # stay out of /var/run/postgresql, which a system server may be using.
        sockets.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(sockets, entry.pw_uid, entry.pw_gid)
        # Durability is irrelevant for a throwaway server; speed is not.
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {sockets}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )

    def stop(self) -> None:
        if self.base_dir is None:
            return
        data = self.base_dir / "data"
        if (data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def create_database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.admin_url, future=True, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"
