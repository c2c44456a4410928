"""Alembic environment: which database, which tables.

The URL comes, in order, from `config.attributes["database_url"]` (set by
`hotline.db.upgrade_database`), from `sqlalchemy.url` if someone set it, or from the
application settings (DATABASE_URL). A caller may also hand over an open connection in
`config.attributes["connection"]`.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

import connectors.models  # noqa: F401  (registers the gateway's tables on Base.metadata)
import helpdesk.models  # noqa: F401  (registers the helpdesk tables on Base.metadata)
import knowledge.models  # noqa: F401  (registers the directory tables on Base.metadata)
from hotline.db import Base, make_engine
from hotline.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    return (
        config.attributes.get("database_url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().database_url
    )


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (`alembic upgrade head --sql`)."""
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
