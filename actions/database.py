"""Database access for the actions.

The action server builds one engine per process, on first use (nothing connects at import
time). Blocking database work runs in a worker thread so that one slow query never stalls
the other conversations served by the same event loop, and each unit of work is one
transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from hotline.db import make_engine, make_session_factory
from hotline.settings import get_settings

T = TypeVar("T")

_override: sessionmaker[Session] | None = None


@lru_cache(maxsize=1)
def _default_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings().database_url))


def session_factory() -> sessionmaker[Session]:
    """The process's session factory (tests may install their own)."""
    return _override or _default_factory()


def use_session_factory(factory: sessionmaker[Session] | None) -> None:
    """Make the actions use `factory` (None restores the default); for tests."""
    global _override
    _override = factory


async def in_transaction(work: Callable[[Session], T]) -> T:
    """Run `work(session)` in a worker thread, committed if it returns, rolled back if not."""

    def run() -> T:
        with session_factory().begin() as session:
            return work(session)

    return await asyncio.to_thread(run)
