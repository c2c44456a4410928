"""The helpdesk migration builds exactly the tables the models describe, and can be undone."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import helpdesk.models  # noqa: F401  (the tables must be registered)
import knowledge.models  # noqa: F401
from hotline.db import Base, downgrade_database, make_engine, upgrade_database

HELPDESK_TABLES = {
    "conversation",
    "message",
    "ticket",
    "audit_event",
    "staff_member",
    "ticket_note",
    "canned_reply",
    "staff_session",
}


def _helpdesk_only(obj: object, name: str | None, type_: str, *_: object) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in HELPDESK_TABLES


def test_the_migrated_schema_matches_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _helpdesk_only}
        )
        assert compare_metadata(context, Base.metadata) == []
        assert set(inspect(connection).get_table_names()) >= HELPDESK_TABLES


def test_downgrading_to_the_directory_removes_only_the_helpdesk(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    upgrade_database(url)
    downgrade_database(url, "0001_directory")
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert not HELPDESK_TABLES & tables and "service" in tables
        upgrade_database(url)
        engine.dispose()
        assert set(inspect(engine).get_table_names()) >= HELPDESK_TABLES
    finally:
        engine.dispose()
