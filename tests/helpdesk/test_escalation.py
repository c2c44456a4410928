"""Escalation: only unclaimed urgent tickets, only after the configured minutes, once each."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from helpdesk.conversations import get_or_create_conversation
from helpdesk.escalation import Escalation, escalate_unclaimed
from helpdesk.models import AuditEvent, Conversation, StaffMember, Ticket
from helpdesk.tickets import (
    claim_ticket,
    open_ticket,
    tickets_due_for_escalation,
    try_mark_escalated,
)
from hotline.db import make_session_factory

Person = Callable[..., Conversation]
Staff = Callable[..., StaffMember]
T0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_an_unclaimed_urgent_ticket_escalates_once_after_the_configured_minutes(
    db_session: Session, person: Person
) -> None:
    conversation = person("telegram", "1")
    urgent = open_ticket(db_session, conversation, topic="self_harm", risk="high", now=T0)

    assert escalate_unclaimed(db_session, minutes=2, now=_at(1.9)) == []
    assert escalate_unclaimed(db_session, minutes=2, now=_at(2)) == [
        Escalation(
            ticket_id=urgent.id,
            code=urgent.code,
            conversation_id=conversation.id,
            channel="telegram",
            topic="self_harm",
            waited_seconds=120,
        )
    ]
    assert urgent.escalated_at == _at(2)
    assert escalate_unclaimed(db_session, minutes=2, now=_at(30)) == []
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "ticket.escalated")
    ).all()
    assert [(e.ticket_id, e.actor, e.at) for e in events] == [(urgent.id, "system", _at(2))]


def test_the_waiting_time_follows_the_setting(db_session: Session, person: Person) -> None:
    open_ticket(db_session, person(), topic="self_harm", risk="high", now=T0)
    assert escalate_unclaimed(db_session, minutes=5, now=_at(4)) == []
    assert [e.waited_seconds for e in escalate_unclaimed(db_session, minutes=5, now=_at(6))] == [
        360
    ]


def test_claimed_high_and_normal_tickets_never_escalate(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    claimed = open_ticket(db_session, person("web", "a"), topic="self_harm", risk="high", now=T0)
    claim_ticket(db_session, claimed, staff_member("lan"), now=_at(1))
    open_ticket(db_session, person("web", "b"), topic="domestic_violence", now=T0)
    open_ticket(db_session, person("web", "c"), topic="legal_aid", now=T0)
    assert escalate_unclaimed(db_session, minutes=2, now=_at(60)) == []


def test_several_due_tickets_escalate_oldest_first(db_session: Session, person: Person) -> None:
    newer = open_ticket(db_session, person("web", "a"), topic="self_harm", risk="high", now=_at(1))
    older = open_ticket(db_session, person("web", "b"), topic="self_harm", risk="high", now=T0)
    escalated = escalate_unclaimed(db_session, minutes=2, now=_at(10))
    assert [e.code for e in escalated] == [older.code, newer.code]
    assert [e.waited_seconds for e in escalated] == [600, 540]


def test_two_gateways_checking_at_once_escalate_a_ticket_once(db_engine: Engine) -> None:
    """Both read the ticket as due; the second one's conditional update finds it escalated."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes whole transactions: the second cannot read in between")
    factory = make_session_factory(db_engine)
    with factory.begin() as session:
        conversation = get_or_create_conversation(session, "web", f"esc-{uuid.uuid4().hex}")
        ticket = open_ticket(session, conversation, topic="self_harm", risk="high", now=T0)
        ticket_id, conversation_id = ticket.id, conversation.id
    first, second = factory(), factory()
    try:
        mine, theirs = (
            next(
                t for t in tickets_due_for_escalation(s, minutes=2, now=_at(5)) if t.id == ticket_id
            )
            for s in (first, second)
        )
        assert try_mark_escalated(first, mine, now=_at(5))
        first.commit()
        assert not try_mark_escalated(second, theirs, now=_at(5))
        second.commit()
    finally:
        first.close()
        second.close()
        with factory.begin() as session:
            actions = session.scalars(
                select(AuditEvent.action).where(AuditEvent.ticket_id == ticket_id)
            ).all()
            session.execute(delete(AuditEvent).where(AuditEvent.conversation_id == conversation_id))
            session.execute(delete(Ticket).where(Ticket.id == ticket_id))
            session.execute(delete(Conversation).where(Conversation.id == conversation_id))
    assert actions.count("ticket.escalated") == 1
