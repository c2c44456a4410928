"""The migrations build exactly the tables the models describe, and can be undone."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import knowledge.models  # noqa: F401  (the tables must be registered)
from hotline.db import Base, downgrade_database, make_engine, upgrade_database


def test_the_migrated_schema_matches_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_first_revision_is_named_for_the_revisions_that_follow(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None
    assert (
        Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0001_directory.py"
    ).exists()


def test_downgrade_removes_every_table_and_upgrade_brings_them_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrations.db'}"
    upgrade_database(url)
    downgrade_database(url, "base")
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade_database(url)
        engine.dispose()
        assert {"service", "province", "commune", "place_alias"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
