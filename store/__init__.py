"""The project's SQL store (intake records, handoff tickets, roster, audit log).

`DATABASE_URL` selects the database: a SQLite file by default, PostgreSQL in
production. Code is written in SQLAlchemy's 2.0 style, which the 1.4 release
that Rasa 3.6 pins supports with `future=True`.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

DEFAULT_DATABASE_URL = "sqlite:///var/legal_aid.db"


def create_engine(database_url: str = DEFAULT_DATABASE_URL) -> Engine:
    """An engine for the store; a SQLite file's folder is created if missing.

    A SQLite file's connections are kept in a pool, not opened for every
    session (SQLAlchemy 1.4's default for a file): in write-ahead-log mode the
    last connection to close checkpoints the log, so a connection per session
    paid a checkpoint per session. Rasa's tracker store saves every turn
    (3.0 -> 1.9 ms a save); the gateway asks the store several times a turn.
    """
    url = make_url(database_url)
    options: dict[str, object] = {"future": True}
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # A pooled connection is used by one thread at a time (the gateway's
        # and the action server's store calls run in threads). No ping before
        # each use: a file does not drop a connection as a server may.
        options.update(poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})
    else:
        options["pool_pre_ping"] = True
    engine = sa.create_engine(url, **options)
    if url.drivername.startswith("sqlite"):
        sa.event.listen(engine, "connect", _sqlite_as_a_server_needs_it)
    return engine


# How long a SQLite connection waits for another's write before "database is
# locked": the gateway's threads, the action server and Rasa share the file.
SQLITE_BUSY_MILLISECONDS = 30_000


def _sqlite_as_a_server_needs_it(dbapi_connection: object, connection_record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # SQLite ignores foreign keys unless asked, per connection; PostgreSQL always checks.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MILLISECONDS}")
    # Write-ahead logging: readers go on while one connection writes. In the
    # default journal a reader holds a writer off, and under load a turn failed
    # with "database is locked" after SQLite's five seconds.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
