"""Fixtures shared by every store test: a real database per backend, a rolled-back session.

`db_session` runs each test once on SQLite (a file in a temporary folder) and once on
PostgreSQL (database `hotline_test` on 127.0.0.1, created if missing and emptied at the
start of the run), with the schema made by the Alembic migrations. Each test works inside
a transaction that is rolled back afterwards, so tests never delete rows to clean up and
never see each other's writes; code under test may commit freely (commits become
savepoints).

Select one backend with `-m "not postgres"`; point at another server with
`--postgres-url postgresql+psycopg://USER@HOST:PORT/DBNAME`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import connectors.models  # noqa: F401  (the gateway's tables too)
import helpdesk.models  # noqa: F401  (every table on Base.metadata, for the schema comparisons)
from hotline.db import make_engine, upgrade_database

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hotline_test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="PostgreSQL database for the store tests (created if missing, emptied each run)",
    )


def _fresh_postgres(url: str) -> str:
    """Create the test database if needed and give it an empty public schema."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            )
            if not found:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    except OperationalError:
        pytest.fail(
            f"PostgreSQL is not reachable at {target.render_as_string(hide_password=True)}: "
            "start it (scripts/services.sh) or deselect with -m 'not postgres'",
            pytrace=False,
        )
    finally:
        admin.dispose()
    engine = create_engine(target)
    try:
        with engine.begin() as connection:
            # A previous run or an older schema must not leak into this one.
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return url


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of an empty, migrated database of one backend."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "hotline.db"
        url = f"sqlite:///{path}"
    else:
        url = _fresh_postgres(request.config.getoption("--postgres-url"))
    upgrade_database(url)
    return url


def database_of_its_own(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> str:
    """A migrated database apart from the shared one, for test packages whose code commits
    for real (a `database_url` override parameterized like the one above)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'hotline.db'}"
    else:
        base = make_url(request.config.getoption("--postgres-url"))
        url = _fresh_postgres(base.set(database=f"{base.database}_{name}").render_as_string(False))
    upgrade_database(url)
    return url


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    """The engine of the migrated test database, shared by the whole run."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back when the test ends."""
    with db_engine.connect() as connection:
        outer = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            session.close()
            if outer.is_active:
                outer.rollback()
