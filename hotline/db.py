"""The application database: declarative base, engine and session factories, migrations.

Every store (the service directory, the helpdesk) declares its tables on `Base`, so one
Alembic history covers them all. Nothing connects at import time: a process builds its
engine once with `make_engine(url)` and hands sessions out of `make_session_factory`.

Usage:
    engine = make_engine(get_settings().database_url)
    Session = make_session_factory(engine)
    with Session.begin() as session:
        ...
    upgrade_database(url)  # what `hotline db upgrade` runs
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

REPO_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = REPO_ROOT / "alembic.ini"

# Explicit constraint names, so migrations can refer to them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table of the application."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build the engine for `url`; SQLite gets foreign keys, WAL and real transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        connect_args = kwargs.pop("connect_args", {})
        # The stores are small and cached: an index lookup costs about a sequential read, and
        # with the default (4.0) the planner scans whole tables to join a hundred rows.
        connect_args.setdefault("options", "-c random_page_cost=1.1")
        return create_engine(url, connect_args=connect_args, **kwargs)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = kwargs.pop("connect_args", {})
    # Wait for a writer instead of failing at once: the gateway and the action server share the file.
    connect_args.setdefault("timeout", 15)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    _configure_sqlite(engine, in_memory=database in ("", ":memory:"))
    return engine


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    """Turn on foreign keys and WAL (synchronous=NORMAL), and let SQLAlchemy emit BEGIN itself.

    Python 3.11's sqlite3 does not begin a transaction before SELECT or SAVEPOINT, which
    breaks savepoints and repeatable reads; the recipe from SQLAlchemy's SQLite notes fixes it.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL loses nothing committed when a process crashes, and a commit
            # writes no fsync (FULL fsyncs the log on every commit: the gateway commits twice
            # per message). Only a power cut may drop the last commits, never corrupt the file.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: take the write lock up front, so that concurrent read-then-write
        # transactions (gateway, actions) wait for each other instead of failing
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory bound to `engine`; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Any:
    """Alembic configuration of this repository, pointed at `url` when given."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    if url is not None:
        # Passed as an attribute, not an ini option: configparser would choke on '%' in passwords.
        config.attributes["database_url"] = url
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations to the database at `url` (creating an SQLite file if needed)."""
    from alembic import command

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade_database(url: str, revision: str) -> None:
    """Undo migrations down to `revision` (`base` removes every table)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)
