"""Fixtures of the directory tests: the shipped directory loaded once per backend."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hotline.db import make_session_factory
from knowledge.seed import ensure_seeded


@pytest.fixture(scope="session")
def seeded_engine(db_engine: Engine) -> Engine:
    """The test database with units, taxonomy and seed services committed (as `make run` does)."""
    ensure_seeded(make_session_factory(db_engine))
    return db_engine


@pytest.fixture
def session(seeded_engine: Engine, db_session: Session) -> Session:
    """A rolled-back session on the seeded directory."""
    return db_session
