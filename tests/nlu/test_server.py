"""`nlu.server`: Rasa with three per-turn costs removed, and Rasa's behaviour kept."""

from __future__ import annotations

import asyncio
import sqlite3

import jsonschema
import pytest
from rasa.core import tracker_store
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.pool import QueuePool

from nlu import server

server.install()

VALID = {
    "events": [{"event": "slot", "name": "topic", "value": "family_conflict"}],
    "responses": [{"text": "Chào bạn"}],
}


def test_install_is_idempotent():
    resolve = Event.resolve_by_type
    server.install()
    assert Event.resolve_by_type is resolve


def test_a_valid_action_server_answer_passes():
    assert RemoteAction("action_find_services", None)._validate_action_result(VALID) is True


@pytest.mark.parametrize(
    "answer",
    [
        {"events": "not a list"},
        {"events": [{"event": "slot"}]},  # a slot event without its name
        {"responses": [1, 2]},
    ],
)
def test_an_invalid_answer_fails_as_with_jsonschema_validate(answer):
    with pytest.raises(jsonschema.ValidationError) as expected:
        jsonschema.validate(answer, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as raised:
        RemoteAction("action_find_services", None)._validate_action_result(answer)
    assert raised.value.message.startswith(expected.value.message)
    assert "Failed to validate Action server response" in raised.value.message


def test_event_classes_are_found_as_rasa_finds_them():
    original = Event.resolve_by_type.__wrapped__
    for name in ("user", "action", "slot", "bot", "session_started", "active_loop"):
        assert Event.resolve_by_type(name) is original(name)
        assert Event.resolve_by_type(name) is original(name)  # remembered
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_sqlite_tracker_files_are_pooled_and_postgresql_is_left_alone():
    kwargs = tracker_store.create_engine_kwargs("sqlite:////tmp/tracker.db")
    assert kwargs["poolclass"] is QueuePool
    url = "postgresql://rasa:secret@127.0.0.1:5432/rasa"
    rasas_own = tracker_store.create_engine_kwargs.__wrapped__(url)
    assert tracker_store.create_engine_kwargs(url) == rasas_own


def test_the_sqlite_tracker_store_uses_wal_and_keeps_conversations(tmp_path):
    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker.from_events(
        "person-1",
        [ActionExecuted("action_listen"), UserUttered("chào ad", {"name": "greet"})],
    )
    asyncio.run(store.save(tracker))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    loaded = asyncio.run(store.retrieve("person-1"))
    assert loaded is not None
    assert [e.as_dict()["event"] for e in loaded.events] == ["action", "user"]
    assert loaded.latest_message.text == "chào ad"
