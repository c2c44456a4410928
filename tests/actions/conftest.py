"""Fixtures of the action tests: the real database (SQLite and PostgreSQL), a tracker
builder and a dispatcher, as the action server would pass them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from actions.database import use_session_factory
from hotline.db import make_engine
from knowledge.seed import ensure_seeded
from tests.conftest import BACKENDS, database_of_its_own


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of the action tests' own: the actions run their work in worker threads,
    and the seeded directory is large; keep both away from the store tests' database."""
    return database_of_its_own(request, tmp_path_factory, "actions")


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def action_db(db_session: Session) -> Iterator[Session]:
    """The actions write through the test's connection, inside its rolled-back transaction."""
    factory = sessionmaker(
        bind=db_session.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    use_session_factory(factory)
    try:
        yield db_session
    finally:
        use_session_factory(None)


@pytest.fixture
def seeded(action_db: Session) -> Session:
    """The shipped directory (units, taxonomy, services) in the test database."""
    factory = sessionmaker(
        bind=action_db.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    ensure_seeded(factory)
    return action_db


@pytest.fixture
def tracker() -> Callable[..., Tracker]:
    def make(
        intent: str = "greet",
        text: str = "…",
        slots: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        risk: str = "none",
        sender: str = "person-1",
        channel: str = "telegram",
        events: list[dict[str, Any]] | None = None,
    ) -> Tracker:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities or [],
            "risk": risk,
            "metadata": {"channel": channel, "sender_id": sender},
        }
        return Tracker(
            sender_id=f"{channel}:{sender}",
            slots=slots or {},
            latest_message=latest,
            events=events or [{"event": "user", "parse_data": latest}],
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return make


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") for m in dispatcher.messages]


@pytest.fixture
def anyio_backend() -> str:
    """Actions are coroutines run by the action server's asyncio loop."""
    return "asyncio"
