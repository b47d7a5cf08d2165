"""Alembic's entry point for the store: the database is DATABASE_URL.

`store.migrate` passes an open connection in `config.attributes["connection"]`;
the `alembic` command line connects to DATABASE_URL (a `.env` file counts).
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

import store
from store import models, settings

config = context.config
# Only the command line configures logging; a program that migrates keeps its own.
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_on(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=models.Base.metadata,
        # SQLite alters tables by copying them; later revisions need batch mode.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=settings.database_url(settings.environment()),
        target_metadata=models.Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = store.create_engine(settings.database_url(settings.environment()))
    try:
        with engine.connect() as new_connection:
            run_on(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
