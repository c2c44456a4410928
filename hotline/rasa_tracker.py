"""Rasa's own copy of conversations: its tracker store keeps every event of a conversation,
the person's words included, in a database of its own (`bot/endpoints.yml`).

Rasa never deletes from it, so a deletion request or the retention purge that removed
only our transcript would leave the words behind. These functions remove them with
SQL on Rasa's `events` table. Rasa's store (`nlu.tracker_store`) keeps recent
conversations in memory but checks them against that table on every turn (number of
rows, last row), so a person whose events are gone simply starts afresh. Conversations
are keyed in Rasa by the gateway's sender key `<channel>:<sender_id>`. The module also
imports under Rasa's SQLAlchemy 1.4, where tests/nlu uses it.

Usage:
    forget_senders(settings.rasa_tracker_url, ["telegram:42"])
    forget_events_before(settings.rasa_tracker_url, cutoff, keep=["web:abc..."])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    inspect,
)
from sqlalchemy.engine import make_url

_metadata = MetaData()
# The columns of Rasa 3.6's SQLTrackerStore that these deletions use.
EVENTS = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("timestamp", Float),
)
_BATCH = 500


def sender_key(channel: str, sender_id: str) -> str:
    """How the gateway names a conversation to Rasa."""
    return f"{channel}:{sender_id}"


def _run_delete(url: str, statements: Iterable[object]) -> int:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return 0  # no file yet: Rasa has stored nothing (and none is created here)
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("events"):
            return 0  # Rasa has not stored anything yet
        removed = 0
        with engine.begin() as connection:
            for statement in statements:
                removed += connection.execute(statement).rowcount  # type: ignore[arg-type]
        return removed
    finally:
        engine.dispose()


def forget_senders(url: str, keys: Collection[str]) -> int:
    """Delete every Rasa event of these conversations; the number of events removed."""
    keys = sorted(set(keys))
    if not keys:
        return 0
    batches = (keys[i : i + _BATCH] for i in range(0, len(keys), _BATCH))
    return _run_delete(url, (delete(EVENTS).where(EVENTS.c.sender_id.in_(b)) for b in batches))


def forget_events_before(url: str, cutoff: dt.datetime, *, keep: Collection[str] = ()) -> int:
    """Delete Rasa events older than `cutoff`, except those of the conversations in `keep`
    (handed off: staff still need their context)."""
    statement = delete(EVENTS).where(EVENTS.c.timestamp < cutoff.timestamp())
    if keep:
        statement = statement.where(EVENTS.c.sender_id.not_in(sorted(set(keep))))
    return _run_delete(url, [statement])
