"""Database work for the gateway: one transaction per unit of work, off the event loop.

The stores (helpdesk/, knowledge/) are synchronous SQLAlchemy; the gateway is async. Each
unit of work runs in a worker thread inside `Session.begin()` (or `Engine.begin()`, see
`run_core`): committed when the function returns, rolled back when it raises, and it
never blocks other conversations.

SQLite allows one writer at a time, and a transaction that read before writing fails at
once ("database is locked") when another writer got in first: there the gateway runs
its units of work one at a time, and tries one again (it was rolled back whole) when
another process (the action server) held the lock. Units of work must therefore touch
only the database; work with an outside effect passes `retry=False`.

Units of work in plain SQL statements (SQLAlchemy Core) can skip the ORM session:
`run_core` hands them a connection in a transaction. The gateway's two units per message
(store what the person wrote, record the replies) run so, because the session's own
bookkeeping cost more than the statements.

Usage:
    store = Store(make_session_factory(engine))
    message_id = await store.run(lambda session: record(session, ...))
    stored = await store.run_core(lambda connection: store_inbound(connection, ...))
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

T = TypeVar("T")
# Tries of a unit of work on SQLite when another process holds the write lock.
SQLITE_ATTEMPTS = 5


def _is_sqlite_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


class Store:
    """Runs units of work against the application database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        bind = session_factory.kw.get("bind")
        if not isinstance(bind, Engine):
            raise TypeError("the session factory must be bound to an engine")
        self.engine = bind
        self.is_sqlite = bind.dialect.name == "sqlite"
        self._sqlite_lock = threading.Lock()

    @contextlib.contextmanager
    def _serialized(self) -> Iterator[None]:
        if not self.is_sqlite:
            yield
            return
        with self._sqlite_lock:
            yield

    def _transaction(self, work: Callable[[], T], retry: bool) -> T:
        # The first try runs without tenacity: building its state costs about a tenth of
        # a millisecond per transaction, and all but a few transactions succeed at once.
        try:
            with self._serialized():
                return work()
        except OperationalError as error:
            if not (retry and self.is_sqlite and _is_sqlite_lock_conflict(error)):
                raise
        # Another process held SQLite's lock: tenacity tries again (the unit was rolled
        # back whole), at once and then with random backoff.
        for attempt in Retrying(
            retry=retry_if_exception(_is_sqlite_lock_conflict),
            stop=stop_after_attempt(SQLITE_ATTEMPTS - 1),
            wait=wait_random_exponential(multiplier=0.05, max=1.0),
            reraise=True,
        ):
            with attempt, self._serialized():
                return work()
        raise AssertionError("unreachable")  # pragma: no cover

    def run_sync(self, work: Callable[[Session], T], *, retry: bool = True) -> T:
        """`work(session)` in one transaction, in the calling thread."""

        def in_session() -> T:
            with self.session_factory.begin() as session:
                return work(session)

        return self._transaction(in_session, retry)

    def run_core_sync(self, work: Callable[[Connection], T], *, retry: bool = True) -> T:
        """`work(connection)` in one transaction, in the calling thread."""

        def on_connection() -> T:
            with self.engine.begin() as connection:
                return work(connection)

        return self._transaction(on_connection, retry)

    async def run(self, work: Callable[[Session], T], *, retry: bool = True) -> T:
        """`work(session)` in one transaction, in a worker thread."""
        return await asyncio.to_thread(self.run_sync, work, retry=retry)

    async def run_core(self, work: Callable[[Connection], T], *, retry: bool = True) -> T:
        """`work(connection)` in one transaction, in a worker thread."""
        return await asyncio.to_thread(self.run_core_sync, work, retry=retry)

    async def ping(self) -> bool:
        """True when the database answers."""
        try:
            await self.run(lambda session: session.execute(text("SELECT 1")), retry=False)
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            return False
        return True
