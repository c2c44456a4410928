"""`nlu.tracker_store.CachingSQLTrackerStore`: Rasa's SQL tracker store that keeps recent
conversations in memory, on SQLite and PostgreSQL.

What a person would notice: a conversation goes on with its events and slots; another Rasa
process's turns are seen; a conversation deleted by the gateway (`hotline.rasa_tracker`)
or by hand never comes back; and what is stored is what Rasa's own `SQLTrackerStore`
stores. Each test uses conversations of its own (random sender ids), so the databases are
never emptied between tests. PostgreSQL: database `hotline_test_rasa_tracker` on
127.0.0.1 (created if missing; another server with HOTLINE_TEST_RASA_TRACKER_PG_URL);
deselect with `-m "not postgres"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    EntitiesAdded,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from hotline.rasa_tracker import forget_events_before, forget_senders
from nlu.tracker_store import CachingSQLTrackerStore

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get(
    "HOTLINE_TEST_RASA_TRACKER_PG_URL",
    "postgresql://postgres@127.0.0.1:5432/hotline_test_rasa_tracker",
)
DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, family_violence, give_location, affirm]
entities: [location]
slots:
  topic:
    type: text
    mappings: [{type: custom}]
  location:
    type: text
    mappings: [{type: custom}]
responses:
  utter_greet: [{text: "Chào bạn"}]
"""
)


def _database(url: str) -> str:
    """The test database, created if missing."""
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not found:
                connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    except sa.exc.OperationalError:
        pytest.fail(f"PostgreSQL is not reachable at {target}: start it or use -m 'not postgres'")
    finally:
        admin.dispose()
    return url


def _fresh_postgres(url: str) -> str:
    """The test database without a tracker table from an earlier run."""
    engine = sa.create_engine(_database(url))
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS events"))
    engine.dispose()
    return url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a tracker database of one backend (SQLAlchemy 1.4, Rasa's drivers)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('tracker') / 'tracker.db'}"
    return _fresh_postgres(POSTGRES_URL)


@pytest.fixture
def stores(url: str) -> Iterator[list[TrackerStore]]:
    """Stores made by `make_store` during a test, disposed of at its end."""
    made: list[TrackerStore] = []
    yield made
    for store in made:
        store.engine.dispose()


@pytest.fixture
def make_store(url: str, stores: list[TrackerStore]):
    """A store on the test database, as a Rasa process would build it; `stock=True` gives
    Rasa's own `SQLTrackerStore`, to compare with."""

    def make(stock: bool = False, **options: object) -> TrackerStore:
        cls = SQLTrackerStore if stock else CachingSQLTrackerStore
        store = cls(domain=DOMAIN, host=url, **options)
        stores.append(store)
        return store

    return make


@pytest.fixture
def sender() -> str:
    return f"web:{uuid.uuid4().hex}"


def run(coroutine):
    return asyncio.run(coroutine)


async def take_turn(
    store: TrackerStore, sender: str, text: str, intent: str, **slots: str
) -> DialogueStateTracker:
    """One turn as Rasa's processor takes it: fetch (or start) the conversation, add the
    person's message and the bot's answer, save."""
    tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
    if not tracker.events:
        tracker.update(ActionExecuted("action_session_start"))
        tracker.update(SessionStarted())
        tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(text, {"name": intent, "confidence": 0.97}))
    for name, value in slots.items():
        tracker.update(SlotSet(name, value))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered("Chào bạn", metadata={"utter_action": "utter_greet"}))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    return tracker


def texts(tracker: DialogueStateTracker | None) -> list[str]:
    assert tracker is not None
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def stored_rows(url: str, sender: str) -> list[tuple]:
    """The rows of a conversation, in order, without their ids."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    sa.text(
                        "SELECT type_name, intent_name, action_name, timestamp, data "
                        "FROM events WHERE sender_id = :sender ORDER BY id"
                    ),
                    {"sender": sender},
                )
            )
    finally:
        engine.dispose()


def stored_texts(url: str, sender: str) -> list[str]:
    """What the person wrote, as the database keeps it."""
    return [json.loads(row[-1])["text"] for row in stored_rows(url, sender) if row[0] == "user"]


def scripted_turns() -> list[list]:
    """Three turns with fixed times, the third in a new session: the same events can be
    given to two stores."""
    start = time.time() - 3600

    def at(minute: float) -> float:
        return start + 60 * minute

    return [
        [
            ActionExecuted("action_session_start", timestamp=at(0)),
            SessionStarted(timestamp=at(0)),
            ActionExecuted("action_listen", timestamp=at(0)),
            UserUttered("chồng tôi hay đánh tôi", {"name": "family_violence"}, timestamp=at(1)),
            SlotSet("topic", "violence", timestamp=at(1)),
            ActionExecuted("utter_greet", timestamp=at(1)),
            BotUttered("Chào bạn", timestamp=at(1)),
            ActionExecuted("action_listen", timestamp=at(1)),
        ],
        [
            UserUttered("xa my hiep", {"name": "give_location"}, timestamp=at(2)),
            EntitiesAdded([{"entity": "location", "value": "Mỹ Hiệp"}], timestamp=at(2)),
            SlotSet("location", "Mỹ Hiệp", timestamp=at(2)),
            ActionExecuted("action_listen", timestamp=at(2)),
        ],
        [
            ActionExecuted("action_session_start", timestamp=at(90)),
            SessionStarted(timestamp=at(90)),
            SlotSet("topic", "violence", timestamp=at(90)),
            ActionExecuted("action_listen", timestamp=at(90)),
            UserUttered("lại là tôi", {"name": "greet"}, timestamp=at(91)),
            ActionExecuted("action_listen", timestamp=at(91)),
        ],
    ]


async def take_scripted_turns(store: TrackerStore, sender: str, turns: list[list]) -> None:
    for events in turns:
        tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
        for event in copy.deepcopy(events):
            tracker.update(event)
        await store.save(tracker)


def stored_ids(url: str, sender: str) -> list[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.text("SELECT id FROM events WHERE sender_id = :sender ORDER BY id")
            return list(connection.scalars(query, {"sender": sender}))
    finally:
        engine.dispose()


@contextlib.contextmanager
def statements(store: TrackerStore) -> Iterator[list[str]]:
    """The SQL statements the store sends while the block runs."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        sent.append(" ".join(statement.split()))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


def test_a_conversation_goes_on_with_its_events_and_slots(make_store, sender):
    store = make_store()
    run(take_turn(store, sender, "chồng tôi hay đánh tôi", "family_violence", topic="violence"))
    run(take_turn(store, sender, "xa my hiep, cao lanh", "give_location", location="Mỹ Hiệp"))
    run(take_turn(store, sender, "có", "affirm"))

    tracker = run(store.retrieve(sender))
    assert texts(tracker) == ["chồng tôi hay đánh tôi", "xa my hiep, cao lanh", "có"]
    assert tracker.get_slot("topic") == "violence"
    assert tracker.get_slot("location") == "Mỹ Hiệp"
    assert tracker.latest_message.intent["name"] == "affirm"
    assert tracker.latest_action_name == "action_listen"


def test_it_stores_and_returns_what_rasas_sql_store_does(make_store, url, sender):
    store, stock, other = make_store(), make_store(stock=True), f"web:{uuid.uuid4().hex}"
    turns = scripted_turns()
    run(take_scripted_turns(store, sender, turns))
    run(take_scripted_turns(stock, other, turns))
    assert stored_rows(url, sender) == stored_rows(url, other)

    ours, rasas = run(store.retrieve(sender)), run(stock.retrieve(other))
    assert [e.as_dict() for e in ours.events] == [e.as_dict() for e in rasas.events]
    assert ours.current_slot_values() == rasas.current_slot_values()
    assert texts(ours) == ["lại là tôi"]  # the latest session only


def test_a_turn_does_not_read_the_conversation_again(make_store, sender):
    store = make_store()
    run(take_turn(store, sender, "chào ad", "greet"))
    with statements(store) as sent:
        run(take_turn(store, sender, "chồng tôi hay đánh tôi", "family_violence"))
    selects = [s for s in sent if s.startswith("SELECT")]
    inserts = [s for s in sent if s.startswith("INSERT")]
    # one fingerprint to check the memory, one insert of the new events, one fingerprint
    assert len(selects) == 2 and all("count(events.id)" in s for s in selects)
    assert len(inserts) == 1


def test_a_new_session_returns_only_its_events_as_rasa_does(make_store, sender):
    store, stock = make_store(), make_store(stock=True)
    run(take_turn(store, sender, "chào ad", "greet", topic="violence"))
    tracker = run(store.retrieve(sender))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(SlotSet("topic", "violence"))  # carried over
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("lại là tôi", {"name": "greet", "confidence": 0.9}))
    run(store.save(tracker))

    ours, rasas = run(store.retrieve(sender)), run(stock.retrieve(sender))
    assert texts(ours) == ["lại là tôi"]
    assert [e.as_dict() for e in ours.events] == [e.as_dict() for e in rasas.events]
    assert ours.get_slot("topic") == "violence"
    assert texts(run(store.retrieve_full_tracker(sender))) == ["chào ad", "lại là tôi"]


def test_turns_taken_by_another_process_are_seen(make_store, url, sender):
    first, second = make_store(), make_store()
    run(take_turn(first, sender, "chào ad", "greet"))
    run(take_turn(first, sender, "chồng tôi hay đánh tôi", "family_violence", topic="violence"))
    run(take_turn(second, sender, "xa my hiep", "give_location", location="Mỹ Hiệp"))

    tracker = run(first.retrieve(sender))
    assert texts(tracker)[-1] == "xa my hiep"
    assert tracker.get_slot("location") == "Mỹ Hiệp"
    run(take_turn(first, sender, "có", "affirm"))
    assert texts(run(make_store(stock=True).retrieve(sender))) == [
        "chào ad",
        "chồng tôi hay đánh tôi",
        "xa my hiep",
        "có",
    ]
    assert len(stored_rows(url, sender)) == 7 + 5 + 5 + 4  # each event once


def test_a_conversation_deleted_by_the_gateway_does_not_come_back(make_store, url, sender):
    store = make_store()
    run(take_turn(store, sender, "chồng tôi hay đánh tôi", "family_violence", topic="violence"))
    run(take_turn(store, sender, "xóa dữ liệu của tôi", "affirm"))
    assert forget_senders(url, [sender]) > 0

    assert run(store.retrieve(sender)) is None
    tracker = run(take_turn(store, sender, "chào ad", "greet"))
    assert texts(tracker) == ["chào ad"]
    assert tracker.get_slot("topic") is None
    assert texts(run(store.retrieve(sender))) == ["chào ad"]
    assert stored_texts(url, sender) == ["chào ad"]


def test_a_deletion_during_a_turn_is_not_undone_by_its_save(make_store, url, sender):
    store = make_store()
    run(take_turn(store, sender, "chồng tôi hay đánh tôi", "family_violence", topic="violence"))
    tracker = run(store.retrieve(sender))
    forget_senders(url, [sender])  # while Rasa is busy with the turn
    tracker.update(UserUttered("xa my hiep", {"name": "give_location", "confidence": 0.9}))
    run(store.save(tracker))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))  # a later save of the same tracker writes only what is new

    assert [row[0] for row in stored_rows(url, sender)] == ["user", "action"]
    assert texts(run(store.retrieve(sender))) == ["xa my hiep"]


def test_old_events_purged_for_retention_do_not_come_back(make_store, url, sender):
    store = make_store()
    old = time.time() - 400 * 86400
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(ActionExecuted("action_session_start", timestamp=old))
    tracker.update(SessionStarted(timestamp=old))
    tracker.update(UserUttered("chồng tôi hay đánh tôi", timestamp=old))
    run(store.save(tracker))
    run(take_turn(store, sender, "chào ad", "greet"))
    assert run(store.retrieve(sender)) is not None  # in memory now

    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=365)
    assert forget_events_before(url, cutoff) >= 3

    tracker = run(store.retrieve(sender))
    assert texts(tracker) == ["chào ad"]
    run(take_turn(store, sender, "có", "affirm"))
    assert stored_texts(url, sender) == ["chào ad", "có"]


def test_rows_deleted_by_hand_are_seen(make_store, url, sender):
    store = make_store()
    run(take_turn(store, sender, "chào ad", "greet"))
    run(take_turn(store, sender, "chồng tôi hay đánh tôi", "family_violence", topic="violence"))
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # the last turn: the newest rows
        connection.execute(
            sa.text(
                "DELETE FROM events WHERE sender_id = :sender AND id >= (SELECT max(id) "
                "FROM events WHERE sender_id = :sender AND type_name = 'user')"
            ),
            {"sender": sender},
        )
    engine.dispose()

    tracker = run(store.retrieve(sender))
    assert texts(tracker) == ["chào ad"]
    assert tracker.get_slot("topic") is None


def test_a_conversation_rewritten_with_the_same_ids_is_reloaded(make_store, url, sender):
    # SQLite gives new rows the ids of deleted ones when they were the newest: the same
    # number of rows with the same last id must still not pass for the old conversation.
    first, second = make_store(), make_store()
    run(take_turn(first, sender, "chồng tôi hay đánh tôi", "family_violence", topic="violence"))
    before = stored_ids(url, sender)
    forget_senders(url, [sender])
    run(take_turn(second, sender, "chào ad nha", "greet", location="Cao Lãnh"))
    if url.startswith("sqlite"):
        assert stored_ids(url, sender) == before  # the case this test is about

    tracker = run(first.retrieve(sender))
    assert texts(tracker) == ["chào ad nha"]
    assert tracker.get_slot("topic") is None


def test_a_tracker_it_did_not_hand_out_is_saved_as_rasa_saves_it(make_store, url, sender):
    store, stock, other = make_store(), make_store(stock=True), f"web:{uuid.uuid4().hex}"
    first, *later = scripted_turns()
    for each, who in ((store, sender), (stock, other)):
        run(take_scripted_turns(each, who, [first]))
        # e.g. `PUT /conversations/<id>/tracker/events`: a tracker made from events, whose
        # stored part Rasa counts in the database
        events = copy.deepcopy(first + later[0])
        run(each.save(DialogueStateTracker.from_events(who, events, DOMAIN.slots)))
    assert stored_rows(url, sender) == stored_rows(url, other)
    assert texts(run(store.retrieve(sender))) == ["chồng tôi hay đánh tôi", "xa my hiep"]


def test_changes_to_a_returned_tracker_do_not_reach_the_next_one(make_store, sender):
    store = make_store()
    run(take_turn(store, sender, "xa my hiep", "give_location"))
    tracker = run(store.retrieve(sender))
    # events added but never saved (a turn that failed) change the latest message in place
    tracker.update(EntitiesAdded([{"entity": "location", "value": "Mỹ Hiệp"}]))
    tracker.update(SlotSet("location", "Mỹ Hiệp"))

    again = run(store.retrieve(sender))
    assert again.latest_message.entities == []
    assert again.get_slot("location") is None
    assert len(again.events) == len(tracker.events) - 2


def test_memory_is_bounded_and_idle_conversations_are_read_again(make_store, sender):
    store = make_store(cache_size=2)
    senders = [sender, f"web:{uuid.uuid4().hex}", f"web:{uuid.uuid4().hex}"]
    for each in senders:
        run(take_turn(store, each, "chào ad", "greet"))
    with statements(store) as sent:
        assert texts(run(store.retrieve(senders[0]))) == ["chào ad"]  # the oldest, dropped
        assert texts(run(store.retrieve(senders[2]))) == ["chào ad"]
    assert sum("events.data" in s for s in sent) == 1

    idle = make_store(max_idle_seconds=0)
    run(take_turn(idle, sender, "có", "affirm"))
    with statements(idle) as sent:
        assert texts(run(idle.retrieve(sender))) == ["chào ad", "có"]
    assert any("events.data" in s for s in sent)


def test_bot_endpoints_select_this_store(tmp_path, monkeypatch):
    # A type Rasa cannot import falls back to the in-memory store without an error.
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    endpoints = AvailableEndpoints.read_endpoints(str(REPO_ROOT / "bot" / "endpoints.yml"))
    store = TrackerStore.create(endpoints.tracker_store, DOMAIN)
    try:
        assert isinstance(store, CachingSQLTrackerStore)
        assert store.engine.url.database == str(tmp_path / "tracker.db")
    finally:
        store.engine.dispose()


@pytest.mark.postgres
def test_production_endpoints_select_this_store_on_postgresql(monkeypatch):
    target = sa.engine.make_url(_database(POSTGRES_URL))
    for name, value in {
        "ACTION_ENDPOINT_URL": "http://actions:5055/webhook",
        "RASA_DB_HOST": target.host,
        "RASA_DB_PORT": str(target.port),
        "RASA_DB_NAME": target.database,
        "RASA_DB_USER": target.username,
        "RASA_DB_PASSWORD": target.password or "unused",
        "REDIS_HOST": "redis",
        "REDIS_PORT": "6379",
    }.items():
        monkeypatch.setenv(name, value)
    endpoints = AvailableEndpoints.read_endpoints(str(REPO_ROOT / "deploy" / "endpoints.yml"))
    store = TrackerStore.create(endpoints.tracker_store, DOMAIN)
    try:
        assert isinstance(store, CachingSQLTrackerStore)
        assert store.engine.dialect.name == "postgresql"
        assert run(store.retrieve(f"web:{uuid.uuid4().hex}")) is None
    finally:
        store.engine.dispose()
