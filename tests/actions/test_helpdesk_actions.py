"""Helpdesk actions against the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import actions.helpdesk_actions as helpdesk_actions
from actions.helpdesk_actions import (
    ActionCheckTicketStatus,
    ActionCrisisProtocol,
    ActionDeleteMyData,
    ActionRequestHuman,
    ActionSaveCallback,
)
from helpdesk.models import Conversation, Message, Ticket
from tests.actions.conftest import responses

pytestmark = pytest.mark.anyio

DOMAIN: dict = {}
MONDAY_10AM = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.timezone.utc)  # 10:00 in Vietnam
SATURDAY_10PM = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.timezone.utc)


def _at(monkeypatch, moment):
    class FrozenDatetime(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return moment if tz else moment.replace(tzinfo=None)

    monkeypatch.setattr(helpdesk_actions.dt, "datetime", FrozenDatetime)


def _events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_a_request_for_a_person_opens_a_ticket_and_hands_off(
    action_db, tracker, dispatcher, monkeypatch
):
    _at(monkeypatch, MONDAY_10AM)
    slots = {"topic": "domestic_violence", "location": "Cao Lãnh", "province": "Tỉnh Đồng Tháp"}
    events = await ActionRequestHuman().run(
        dispatcher, tracker("request_human", slots=slots), DOMAIN
    )
    ticket = action_db.scalars(select(Ticket)).one()
    assert (ticket.topic, ticket.priority, ticket.province) == (
        "domestic_violence",
        "high",
        "Tỉnh Đồng Tháp",
    )
    conversation = action_db.scalars(select(Conversation)).one()
    assert conversation.handoff_state == "waiting"
    assert responses(dispatcher) == ["utter_handoff_now"]
    assert dispatcher.messages[0]["ticket_code"] == ticket.code
    assert _events(events)["ticket_code"] == ticket.code


async def test_asking_twice_reuses_the_ticket(action_db, tracker, dispatcher, monkeypatch):
    _at(monkeypatch, MONDAY_10AM)
    await ActionRequestHuman().run(dispatcher, tracker("request_human"), DOMAIN)
    await ActionRequestHuman().run(dispatcher, tracker("request_human"), DOMAIN)
    assert len(action_db.scalars(select(Ticket)).all()) == 1


async def test_outside_staff_hours_it_says_when_and_offers_a_callback(
    action_db, tracker, dispatcher, monkeypatch
):
    _at(monkeypatch, SATURDAY_10PM)
    events = await ActionRequestHuman().run(dispatcher, tracker("request_human"), DOMAIN)
    assert responses(dispatcher) == ["utter_handoff_after_hours", "utter_ask_callback"]
    assert dispatcher.messages[0]["next_opening"].startswith("7:30 thứ Hai")
    assert _events(events)["pending_question"] == "callback"
    # The ticket waits in the queue, but the assistant keeps the conversation: nobody is
    # there to answer tonight, and it has just asked for a number to call back.
    assert action_db.scalars(select(Ticket)).one().status == "open"
    assert action_db.scalars(select(Conversation)).one().handoff_state == "bot"


async def test_the_crisis_protocol_opens_an_urgent_ticket_and_stops_forms(
    action_db, tracker, dispatcher
):
    events = await ActionCrisisProtocol().run(
        dispatcher, tracker("self_harm", "em muốn chết", risk="high"), DOMAIN
    )
    ticket = action_db.scalars(select(Ticket)).one()
    assert (ticket.priority, ticket.risk, ticket.topic) == ("urgent", "high", "self_harm")
    assert responses(dispatcher) == ["utter_crisis_handed_off"]
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events if e["event"] == "active_loop"
    ]


@pytest.mark.parametrize("typed", ["0912 345 678", "+84912345678"])
async def test_a_valid_phone_is_kept_on_the_ticket(action_db, tracker, dispatcher, typed):
    entities = [{"entity": "phone_number", "value": typed}]
    await ActionSaveCallback().run(dispatcher, tracker("inform_phone", entities=entities), DOMAIN)
    assert action_db.scalars(select(Ticket)).one().callback_phone == "0912345678"
    assert responses(dispatcher) == ["utter_callback_saved"]


async def test_an_invalid_phone_is_refused(action_db, tracker, dispatcher):
    entities = [{"entity": "phone_number", "value": "0123"}]
    await ActionSaveCallback().run(dispatcher, tracker("inform_phone", entities=entities), DOMAIN)
    assert responses(dispatcher) == ["utter_invalid_phone"]
    assert action_db.scalars(select(Ticket)).all() == []


async def test_status_of_ones_own_ticket_and_never_of_anothers(
    action_db, tracker, dispatcher, monkeypatch
):
    _at(monkeypatch, MONDAY_10AM)
    await ActionRequestHuman().run(
        CollectingDispatcher_(), tracker("request_human", sender="a"), DOMAIN
    )
    code = action_db.scalars(select(Ticket)).one().code
    await ActionCheckTicketStatus().run(
        dispatcher,
        tracker("check_ticket_status", slots={"ticket_code": code.lower()}, sender="a"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_ticket_status"]
    assert dispatcher.messages[0]["status_text"] == "đang chờ nhân viên nhận"
    stranger = CollectingDispatcher_()
    await ActionCheckTicketStatus().run(
        stranger, tracker("check_ticket_status", slots={"ticket_code": code}, sender="b"), DOMAIN
    )
    assert responses(stranger) == ["utter_ticket_not_found"]


async def test_no_tickets_yet(action_db, tracker, dispatcher):
    await ActionCheckTicketStatus().run(dispatcher, tracker("check_ticket_status"), DOMAIN)
    assert responses(dispatcher) == ["utter_no_tickets"]


async def test_deleting_ones_data_removes_the_transcript_and_keeps_an_anonymous_ticket(
    action_db, tracker, dispatcher, monkeypatch
):
    _at(monkeypatch, MONDAY_10AM)
    from helpdesk.conversations import get_or_create_conversation, record_inbound

    conversation = get_or_create_conversation(action_db, "telegram", "person-1")
    record_inbound(action_db, conversation, "chồng tôi đánh tôi", "u1")
    await ActionRequestHuman().run(CollectingDispatcher_(), tracker("request_human"), DOMAIN)
    events = await ActionDeleteMyData().run(dispatcher, tracker("affirm"), DOMAIN)
    assert action_db.scalars(select(Message)).all() == []
    ticket = action_db.scalars(select(Ticket)).one()
    assert ticket.sender_id != "person-1"
    assert responses(dispatcher) == ["utter_data_deleted"]
    assert events == [{"event": "reset_slots", "timestamp": None}]


async def test_a_database_failure_still_answers(tracker, dispatcher, monkeypatch):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from actions.database import use_session_factory

    use_session_factory(
        sessionmaker(bind=create_engine("postgresql+psycopg://nobody@127.0.0.1:9/x"))
    )
    try:
        await ActionCrisisProtocol().run(dispatcher, tracker("self_harm", risk="high"), DOMAIN)
    finally:
        use_session_factory(None)
    assert responses(dispatcher) == ["utter_crisis_handoff_failed"]


def CollectingDispatcher_():  # noqa: N802 - a fresh dispatcher inline
    from rasa_sdk.executor import CollectingDispatcher

    return CollectingDispatcher()
