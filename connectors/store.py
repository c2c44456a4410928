"""Database work for the gateway: one transaction per unit of work, off the event loop.

The stores (helpdesk/, knowledge/) are synchronous SQLAlchemy; the gateway is async. Each
unit of work runs in a worker thread inside `Session.begin()`: committed when the
function returns, rolled back when it raises, and it never blocks other conversations.

SQLite allows one writer at a time, and a transaction that read before writing fails at
once ("database is locked") when another writer got in first: there the gateway runs
its units of work one at a time, and tries one again (it was rolled back whole) when
another process (the action server) held the lock. Units of work must therefore touch
only the database; work with an outside effect passes `retry=False`.

Usage:
    store = Store(make_session_factory(engine))
    message_id = await store.run(lambda session: record(session, ...))
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

T = TypeVar("T")


def _is_sqlite_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


class Store:
    """Runs units of work against the application database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        bind = session_factory.kw.get("bind")
        self.is_sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._sqlite_lock = threading.Lock()

    @contextlib.contextmanager
    def _serialized(self) -> Iterator[None]:
        if not self.is_sqlite:
            yield
            return
        with self._sqlite_lock:
            yield

    def run_sync(self, work: Callable[[Session], T], *, retry: bool = True) -> T:
        """`work(session)` in one transaction, in the calling thread."""
        attempts = 5 if retry and self.is_sqlite else 1
        for attempt in Retrying(
            retry=retry_if_exception(_is_sqlite_lock_conflict),
            stop=stop_after_attempt(attempts),
            wait=wait_random_exponential(multiplier=0.05, max=1.0),
            reraise=True,
        ):
            with attempt, self._serialized(), self.session_factory.begin() as session:
                return work(session)
        raise AssertionError("unreachable")  # pragma: no cover

    async def run(self, work: Callable[[Session], T], *, retry: bool = True) -> T:
        """`work(session)` in one transaction, in a worker thread."""
        return await asyncio.to_thread(self.run_sync, work, retry=retry)

    async def ping(self) -> bool:
        """True when the database answers."""
        try:
            await self.run(lambda session: session.execute(text("SELECT 1")), retry=False)
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            return False
        return True
