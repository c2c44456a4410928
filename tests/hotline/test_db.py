"""How `make_engine` sets up an SQLite file: the settings the stores' durability and speed rely on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from hotline.db import make_engine

SYNCHRONOUS_NORMAL = 1


def test_an_sqlite_file_gets_wal_with_synchronous_normal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.execute(text(f"PRAGMA {name}")).scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            # no fsync per commit; in WAL mode a crashed process still loses nothing committed
            assert pragma("synchronous") == SYNCHRONOUS_NORMAL
            assert pragma("foreign_keys") == 1
    finally:
        engine.dispose()


def test_an_in_memory_database_keeps_its_own_journal(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "memory"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
