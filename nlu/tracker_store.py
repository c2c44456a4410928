"""Rasa's SQL tracker store, without reloading the whole conversation on every turn.

Rasa 3.6's `SQLTrackerStore` reads and deserializes every event of a conversation's latest
session on each retrieve, and counts them again before each save. `CachingSQLTrackerStore`
keeps the latest session of recently used conversations in memory (a bounded LRU, whose
entries also expire when idle) and writes only the events a turn added. The table and the
rows are Rasa's own, so existing databases, `rasa export` and `hotline/rasa_tracker.py`
work as before.

The database stays the truth. Several Rasa processes may share it, and the gateway deletes
a person's events behind Rasa's back (`hotline/rasa_tracker.py`), so every retrieve first
asks the database for the conversation's fingerprint (number of rows, last id and that
row's timestamp: one query on the `sender_id` index) and reloads when it differs from the
cached one. A deleted conversation therefore never comes back from memory.

Usage, in endpoints.yml (the repository root on the Rasa process's PYTHONPATH):

    tracker_store:
      type: nlu.tracker_store.CachingSQLTrackerStore
      dialect: sqlite
      db: ${RASA_TRACKER_DB}
      cache_size: 200           # conversations kept in memory (0: none)
      max_idle_seconds: 1800    # forget one unused this long

Every other option is `type: SQL`'s. A cached event takes about 1.7 kB (measured), so
200 conversations of 100 events hold about 35 MB.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, UserUttered, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 200
DEFAULT_MAX_IDLE_SECONDS = 1800.0
# Attribute of a tracker this store handed out or saved: which of its events are stored.
_STORED = "_caching_sql_tracker_store_stored"


@dataclass(frozen=True)
class Fingerprint:
    """What the index tells of a conversation's rows. The timestamp of the last row is there
    because SQLite may give a new row the id of a deleted one; a new event has a new time."""

    rows: int
    last_id: int | None
    last_timestamp: float | None


@dataclass(frozen=True)
class StoredSession:
    """A conversation's latest session exactly as Rasa's query would read it from the
    database (events deserialized from the stored JSON), with the fingerprint it had."""

    fingerprint: Fingerprint
    events: tuple[Event, ...]
    session_start: float | None  # timestamp of the latest `SessionStarted`, if any

    def extended(self, new_events: list[Event], fingerprint: Fingerprint) -> StoredSession:
        """This session after `new_events` were appended, filtered as Rasa's query filters."""
        starts = [e.timestamp for e in new_events if isinstance(e, SessionStarted)]
        if self.session_start is not None:
            starts.append(self.session_start)
        start = max(starts, default=None)
        events = tuple(e for e in self.events + tuple(new_events) if _in_session(e, start))
        return StoredSession(fingerprint, events, start)


EMPTY_SESSION = StoredSession(Fingerprint(0, None, None), (), None)


@dataclass(frozen=True)
class _Stored:
    """How much of one tracker object is in the database: its first `events` events of
    conversation `sender_id` (or were deliberately not written again), as part of
    `session`, when that is known."""

    sender_id: str
    events: int
    session: StoredSession | None


def _in_session(event: Event, session_start: float | None) -> bool:
    """Rasa's SQL condition `timestamp >= session_start OR session_start IS NULL`."""
    if session_start is None:
        return True
    return event.timestamp is not None and event.timestamp >= session_start


def _detach_latest_message(tracker: DialogueStateTracker) -> None:
    """Give the tracker its own copy of its latest user message: events added to a tracker
    change that message in place (`EntitiesAdded`), and the cached one must stay as stored
    until those events are."""
    latest = tracker.latest_message
    if not isinstance(latest, UserUttered):
        return
    for index in range(len(tracker.events) - 1, -1, -1):
        if tracker.events[index] is latest:
            tracker.latest_message = tracker.events[index] = copy.deepcopy(latest)
            return


class CachingSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that serves recently used conversations from memory after checking
    them against the database, and appends only new events."""

    def __init__(
        self,
        domain: Any = None,
        cache_size: Any = DEFAULT_CACHE_SIZE,
        max_idle_seconds: Any = DEFAULT_MAX_IDLE_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, **kwargs)
        # endpoints.yml values may arrive as strings after ${VAR} substitution
        self.cache_size = int(cache_size)
        self.max_idle_seconds = float(max_idle_seconds)
        self._cache: OrderedDict[str, tuple[StoredSession, float]] = OrderedDict()
        self._fingerprint_query = _fingerprint_query(self.SQLEvent.__table__)
        self._insert = sa.insert(self.SQLEvent.__table__)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the latest session, as `SQLTrackerStore.retrieve` returns it."""
        stored = self._latest_session(sender_id)
        if stored is None:
            return None
        tracker = DialogueStateTracker.from_events(
            sender_id, list(stored.events), self.domain.slots
        )
        _detach_latest_message(tracker)
        setattr(tracker, _STORED, _Stored(sender_id, len(tracker.events), stored))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the events the tracker has beyond what is stored; remember the result."""
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        known = self._known_part(tracker)
        if known is None and not tracker.events:
            return  # e.g. `create_tracker`'s empty tracker: nothing to write
        with self.session_scope() as session:
            if known is not None:
                stored_before, base = known.events, known.session
            else:
                stored_before, base = self._stored_part(session, tracker)
            new_events = list(itertools.islice(tracker.events, stored_before, None))
            if not new_events:
                return
            rows = [_row(sender_id, event) for event in new_events]
            session.execute(self._insert, rows)
            fingerprint = self._fingerprint(session, sender_id)
            session.commit()
        logger.debug(f"Tracker with sender_id '{sender_id}' stored to database")

        stored = None
        if base is not None and fingerprint.rows == base.fingerprint.rows + len(rows):
            # Nobody else wrote or deleted rows of this conversation since `base` was read:
            # the database holds `base` plus these rows. Keep them as a reload would.
            loaded = deserialise_events([json.loads(row["data"]) for row in rows])
            stored = base.extended(loaded, fingerprint)
            self._remember(sender_id, stored)
        else:
            self._forget(sender_id)
        # Never write these events again, even when the database changed meanwhile: a
        # deletion in between must not be undone by the next save of this tracker.
        setattr(tracker, _STORED, _Stored(sender_id, len(tracker.events), stored))

    def _latest_session(self, sender_id: str) -> StoredSession | None:
        """The cached session if the database still matches it, otherwise a fresh read."""
        with self.session_scope() as session:
            # Read before the events: if they change in between, the cached fingerprint is
            # the older one, and the next retrieve reloads.
            fingerprint = self._fingerprint(session, sender_id)
            stored = self._cached(sender_id)
            if stored is None or stored.fingerprint != fingerprint:
                stored = self._load(session, sender_id, fingerprint)
        if stored is None:
            logger.debug(f"No tracker for sender id '{sender_id}' in SQL storage.")
            self._forget(sender_id)
        else:
            self._remember(sender_id, stored)
        return stored

    def _load(self, session: Any, sender_id: str, fingerprint: Fingerprint) -> StoredSession | None:
        """The latest session read with Rasa's own query, as `SQLTrackerStore` reads it."""
        if not fingerprint.rows:
            return None
        logger.debug(f"Recreating tracker from sender id '{sender_id}'")
        query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
        serialized = [json.loads(row.data) for row in query.all()]
        if not serialized:
            return None
        events = deserialise_events(serialized)
        starts = [e.timestamp for e in events if isinstance(e, SessionStarted)]
        return StoredSession(fingerprint, tuple(events), max(starts, default=None))

    def _fingerprint(self, session: Any, sender_id: str) -> Fingerprint:
        rows, last_id, last_timestamp = session.execute(
            self._fingerprint_query, {"sender_id": sender_id}
        ).one()
        return Fingerprint(int(rows or 0), last_id, last_timestamp)

    def _stored_part(
        self, session: Any, tracker: DialogueStateTracker
    ) -> tuple[int, StoredSession | None]:
        """For a tracker this store did not hand out (a new conversation's, or one made from
        events): Rasa's count of its stored events, and the session they are when known."""
        if not self._fingerprint(session, tracker.sender_id).rows:
            return 0, EMPTY_SESSION  # a new conversation, without Rasa's heavier count
        query = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False)
        return query.count(), None

    @staticmethod
    def _known_part(tracker: DialogueStateTracker) -> _Stored | None:
        known = getattr(tracker, _STORED, None)
        # A tracker with a bounded history drops events from the front: count as Rasa does.
        if not isinstance(known, _Stored) or tracker._max_event_history is not None:
            return None
        if known.sender_id != tracker.sender_id or known.events > len(tracker.events):
            return None
        return known

    def _cached(self, sender_id: str) -> StoredSession | None:
        self._expire_idle()
        entry = self._cache.get(sender_id)
        return entry[0] if entry else None

    def _remember(self, sender_id: str, stored: StoredSession) -> None:
        if self.cache_size <= 0:
            return
        self._cache[sender_id] = (stored, time.monotonic())
        self._cache.move_to_end(sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _forget(self, sender_id: str) -> None:
        self._cache.pop(sender_id, None)

    def _expire_idle(self) -> None:
        """Drop conversations unused for `max_idle_seconds`: a person's words stay in this
        process's memory no longer than needed (the oldest use is first in the dict)."""
        deadline = time.monotonic() - self.max_idle_seconds
        while self._cache:
            _, (_, used) = next(iter(self._cache.items()))
            if used >= deadline:
                return
            self._cache.popitem(last=False)


def _fingerprint_query(events: sa.Table) -> Any:
    """`rows, last_id, last_timestamp` of one sender's events, from the sender_id index
    plus one primary-key lookup."""
    summary = (
        sa.select(
            sa.func.count(events.c.id).label("row_count"),
            sa.func.max(events.c.id).label("last_id"),
        )
        .where(events.c.sender_id == sa.bindparam("sender_id"))
        .subquery("summary")
    )
    last = events.alias("last_event")
    return sa.select(summary.c.row_count, summary.c.last_id, last.c.timestamp).select_from(
        summary.outerjoin(last, last.c.id == summary.c.last_id)
    )


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """The row `SQLTrackerStore.save` writes for an event."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
