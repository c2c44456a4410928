"""The staff work queue: order, waiting times, last messages, and a bounded cost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from helpdesk.conversations import record_inbound, record_outbound
from helpdesk.models import Conversation, StaffMember
from helpdesk.queue import TranscriptLine, work_queue
from helpdesk.tickets import claim_ticket, open_ticket, request_handoff, resolve_ticket

Person = Callable[..., Conversation]
Staff = Callable[..., StaffMember]
T0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


def _minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def _waiting(session: Session, person: Person, sender: str, topic: str, risk: str, at: float):
    conversation = person("telegram", sender)
    record_inbound(session, conversation, f"tin nhắn của {sender}", f"{sender}-1", now=_minutes(at))
    ticket = open_ticket(session, conversation, topic=topic, risk=risk, now=_minutes(at))
    request_handoff(session, conversation, ticket, now=_minutes(at))
    return conversation, ticket


def test_urgent_comes_before_high_before_normal_then_the_oldest_first(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    _waiting(db_session, person, "normal-old", "legal_aid", "none", at=-60)
    _waiting(db_session, person, "high", "domestic_violence", "elevated", at=0)
    _waiting(db_session, person, "urgent-new", "self_harm", "high", at=10)
    _waiting(db_session, person, "urgent-old", "emotional_support", "high", at=5)
    _, done = _waiting(db_session, person, "done", "self_harm", "high", at=1)
    claim_ticket(db_session, done, staff_member("lan"), now=_minutes(2))
    resolve_ticket(db_session, done, "counselled", actor="lan", now=_minutes(3))

    queue = work_queue(db_session, now=_minutes(20))

    assert [(e.priority, e.topic) for e in queue] == [
        ("urgent", "emotional_support"),
        ("urgent", "self_harm"),
        ("high", "domestic_violence"),
        ("normal", "legal_aid"),
    ]
    assert [e.waiting_seconds for e in queue] == [15 * 60, 10 * 60, 20 * 60, 80 * 60]
    assert {(e.status, e.handoff_state, e.escalated, e.assignee) for e in queue} == {
        ("open", "waiting", False, None)
    }


def test_an_assigned_ticket_waits_from_the_first_unanswered_message(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan")
    conversation, ticket = _waiting(db_session, person, "p", "family_conflict", "none", at=0)
    claim_ticket(db_session, ticket, lan, now=_minutes(3))
    # Claimed but not answered yet: the person has waited since the ticket was opened.
    assert work_queue(db_session, now=_minutes(4))[0].waiting_seconds == 4 * 60

    record_outbound(
        db_session, conversation, "Chào bạn", author="staff", staff_username="lan", now=_minutes(5)
    )
    assert work_queue(db_session, now=_minutes(6))[0].waiting_seconds == 0

    record_inbound(db_session, conversation, "em cảm ơn", "p-2", now=_minutes(7))
    record_inbound(db_session, conversation, "em nói tiếp", "p-3", now=_minutes(8))
    entry = work_queue(db_session, now=_minutes(10))[0]
    assert (entry.status, entry.assignee, entry.handoff_state) == ("assigned", "lan", "assigned")
    assert entry.waiting_seconds == 3 * 60


def test_waiting_is_never_negative(db_session: Session, person: Person) -> None:
    _waiting(db_session, person, "p", "legal_aid", "none", at=10)
    assert work_queue(db_session, now=_minutes(0))[0].waiting_seconds == 0


def test_each_entry_shows_the_last_messages_oldest_first(
    db_session: Session, person: Person
) -> None:
    conversation, ticket = _waiting(db_session, person, "p", "legal_aid", "none", at=0)
    record_outbound(db_session, conversation, "Bạn ở tỉnh nào?", now=_minutes(1))
    record_inbound(db_session, conversation, "Đồng Tháp", "p-2", now=_minutes(2))
    record_outbound(db_session, conversation, "Mình chuyển nhân viên nhé", now=_minutes(3))
    other, _ = _waiting(db_session, person, "q", "legal_aid", "none", at=1)

    entries = {e.code: e for e in work_queue(db_session, now=_minutes(5))}

    assert entries[ticket.code].last_messages == (
        TranscriptLine(author="bot", text="Bạn ở tỉnh nào?", at=_minutes(1)),
        TranscriptLine(author="person", text="Đồng Tháp", at=_minutes(2)),
        TranscriptLine(author="bot", text="Mình chuyển nhân viên nhé", at=_minutes(3)),
    )
    assert [
        line.text for e in entries.values() if e.code != ticket.code for line in e.last_messages
    ] == ["tin nhắn của q"]
    assert len(work_queue(db_session, now=_minutes(5), last_messages=1)[1].last_messages) == 1
    assert work_queue(db_session, now=_minutes(5), last_messages=0)[0].last_messages == ()
    assert entries[ticket.code].conversation_id == conversation.id != other.id


def test_a_ticket_without_its_conversation_shows_no_messages(
    db_session: Session, person: Person
) -> None:
    _, ticket = _waiting(db_session, person, "p", "legal_aid", "none", at=0)
    ticket.conversation_id = None
    entry = work_queue(db_session, now=_minutes(1))[0]
    assert (entry.last_messages, entry.conversation_id, entry.handoff_state) == ((), None, "bot")


def test_one_staff_members_queue(db_session: Session, person: Person, staff_member: Staff) -> None:
    lan, minh = staff_member("lan"), staff_member("minh")
    for sender, who in (("a", lan), ("b", minh), ("c", None)):
        _, ticket = _waiting(db_session, person, sender, "legal_aid", "none", at=0)
        if who is not None:
            claim_ticket(db_session, ticket, who, now=_minutes(1))
    assert [e.assignee for e in work_queue(db_session, assignee="lan", now=_minutes(2))] == ["lan"]
    assert len(work_queue(db_session, now=_minutes(2))) == 3


def test_the_entry_carries_place_risk_and_escalation(db_session: Session, person: Person) -> None:
    conversation = person("zalo", "z")
    ticket = open_ticket(
        db_session,
        conversation,
        topic="child_protection",
        risk="high",
        location_text="xã Mỹ Hiệp",
        province="Tỉnh Đồng Tháp",
        commune="Xã Mỹ Hiệp",
        now=T0,
    )
    ticket.escalated_at = _minutes(2)
    entry = work_queue(db_session, now=_minutes(3))[0]
    assert (entry.channel, entry.risk, entry.province, entry.commune, entry.location_text) == (
        "zalo",
        "high",
        "Tỉnh Đồng Tháp",
        "Xã Mỹ Hiệp",
        "xã Mỹ Hiệp",
    )
    assert entry.escalated and entry.created_at == T0 and entry.handoff_state == "bot"


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    connection = session.connection()

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def test_reading_the_queue_costs_the_same_few_queries_however_long_it_is(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan")
    for n in range(8):
        _, ticket = _waiting(db_session, person, f"p{n}", "legal_aid", "none", at=n)
        if n % 2:
            claim_ticket(db_session, ticket, lan, now=_minutes(10))
    db_session.flush()
    with _statements(db_session) as statements:
        assert len(work_queue(db_session, now=_minutes(20))) == 8
    assert len(statements) == 3
