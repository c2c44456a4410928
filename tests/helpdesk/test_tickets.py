"""Tickets: priority rules, reuse, handoff states, valid and invalid transitions, privacy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.audit import events_of_ticket
from helpdesk.errors import (
    InvalidPhoneNumberError,
    InvalidTransitionError,
    StaffAccountError,
    TicketAlreadyClaimedError,
    TicketMismatchError,
    UnknownOutcomeError,
)
from helpdesk.models import AuditEvent, Conversation, StaffMember
from helpdesk.tickets import (
    claim_ticket,
    close_ticket,
    find_ticket_for_sender,
    get_ticket_by_code,
    mark_escalated,
    open_or_reuse_ticket,
    open_ticket,
    open_urgent_ticket,
    priority_for,
    request_handoff,
    resolve_ticket,
    set_callback_phone,
    set_ticket_location,
    tickets_due_for_escalation,
    tickets_of_sender,
    transfer_ticket,
)

Person = Callable[..., Conversation]
Staff = Callable[..., StaffMember]
Actions = Callable[..., list[str]]
T0 = dt.datetime(2025, 11, 24, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("topic", "risk", "priority"),
    [
        ("emotional_support", "high", "urgent"),
        ("out_of_scope", "high", "urgent"),
        ("domestic_violence", "none", "high"),
        ("domestic_violence", "elevated", "high"),
        ("child_protection", "elevated", "high"),
        ("child_protection", "high", "urgent"),
        ("self_harm", "elevated", "normal"),
        ("disaster_relief", "none", "normal"),
        ("legal_aid", "elevated", "normal"),
    ],
)
def test_priority_rules(topic: str, risk: str, priority: str) -> None:
    assert priority_for(topic, risk) == priority


def test_an_unknown_risk_level_is_refused() -> None:
    with pytest.raises(ValueError):
        priority_for("legal_aid", "medium")


def test_a_new_ticket_is_open_with_the_senders_channel_and_an_audit_event(
    db_session: Session, person: Person, audit_actions: Actions
) -> None:
    conversation = person("zalo", "u-88")
    ticket = open_ticket(
        db_session,
        conversation,
        topic="child_protection",
        risk="elevated",
        location_text="xa My Hiep, huyen Cao Lanh",
        province="Tỉnh Đồng Tháp",
        commune="Xã Mỹ Hiệp",
        now=T0,
    )
    assert (ticket.status, ticket.priority, ticket.channel, ticket.sender_id) == (
        "open",
        "high",
        "zalo",
        "u-88",
    )
    assert (ticket.province, ticket.commune) == ("Tỉnh Đồng Tháp", "Xã Mỹ Hiệp")
    assert ticket.created_at == ticket.updated_at == T0
    assert audit_actions(ticket.id) == ["ticket.opened"]
    details = events_of_ticket(db_session, ticket)[0].details
    assert details["priority"] == "high" and details["topic"] == "child_protection"
    assert "u-88" not in str(details) and "My Hiep" not in str(details)


def test_asking_again_reuses_the_active_ticket_and_raises_its_priority(
    db_session: Session, person: Person, audit_actions: Actions
) -> None:
    conversation = person()
    first, created = open_or_reuse_ticket(db_session, conversation, topic="family_conflict")
    again, created_again = open_or_reuse_ticket(
        db_session, conversation, topic="domestic_violence", risk="elevated"
    )
    assert created and not created_again
    assert again.id == first.id
    assert (again.priority, again.risk, again.topic) == ("high", "elevated", "family_conflict")
    assert audit_actions(first.id) == ["ticket.opened", "ticket.priority_raised"]


def test_a_ticket_opened_without_a_topic_takes_the_one_named_later(
    db_session: Session, person: Person, audit_actions: Actions
) -> None:
    conversation = person()
    ticket, _ = open_or_reuse_ticket(db_session, conversation, topic="request_human")
    again, _ = open_or_reuse_ticket(db_session, conversation, topic="child_protection")
    later, _ = open_or_reuse_ticket(db_session, conversation, topic="legal_aid")
    assert again.id == later.id == ticket.id
    assert (later.topic, later.priority) == ("child_protection", "high")  # a real topic stays
    assert audit_actions(ticket.id) == ["ticket.opened", "ticket.priority_raised"]


def test_priority_and_risk_never_go_down_on_reuse(db_session: Session, person: Person) -> None:
    conversation = person()
    ticket, _ = open_urgent_ticket(db_session, conversation, topic="self_harm")
    again, _ = open_or_reuse_ticket(db_session, conversation, topic="greet", risk="none")
    assert again.id == ticket.id
    assert (again.priority, again.risk) == ("urgent", "high")


def test_a_crisis_raises_the_open_ticket_to_urgent(
    db_session: Session, person: Person, audit_actions: Actions
) -> None:
    conversation = person()
    ticket, _ = open_or_reuse_ticket(db_session, conversation, topic="legal_aid")
    urgent, created = open_urgent_ticket(db_session, conversation, topic="self_harm")
    assert not created and urgent.id == ticket.id
    assert (urgent.priority, urgent.risk) == ("urgent", "high")
    assert audit_actions(ticket.id)[-1] == "ticket.priority_raised"


def test_a_crisis_with_no_ticket_opens_an_urgent_one(db_session: Session, person: Person) -> None:
    ticket, created = open_urgent_ticket(db_session, person(), topic="disaster_relief")
    assert created and (ticket.priority, ticket.risk, ticket.status) == ("urgent", "high", "open")


def test_a_new_place_updates_the_reused_ticket(
    db_session: Session, person: Person, audit_actions: Actions
) -> None:
    conversation = person()
    ticket, _ = open_or_reuse_ticket(db_session, conversation, topic="elderly_care")
    open_or_reuse_ticket(
        db_session,
        conversation,
        topic="elderly_care",
        location_text="Cao Lãnh",
        province="Tỉnh Đồng Tháp",
    )
    assert (ticket.location_text, ticket.province) == ("Cao Lãnh", "Tỉnh Đồng Tháp")
    assert audit_actions(ticket.id) == ["ticket.opened", "ticket.updated"]
    set_ticket_location(db_session, ticket, location_text="Biên Hòa", province="Tỉnh Đồng Nai")
    assert ticket.province == "Tỉnh Đồng Nai"


def test_a_finished_ticket_is_not_reused(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    conversation = person()
    ticket, _ = open_or_reuse_ticket(db_session, conversation, topic="legal_aid")
    claim_ticket(db_session, ticket, lan)
    resolve_ticket(db_session, ticket, "referred", actor="lan.nguyen")
    fresh, created = open_or_reuse_ticket(db_session, conversation, topic="legal_aid")
    assert created and fresh.id != ticket.id and fresh.code != ticket.code


def test_the_full_handoff_walks_the_conversation_through_its_states(
    db_session: Session, person: Person, staff_member: Staff, audit_actions: Actions
) -> None:
    lan = staff_member("lan.nguyen")
    conversation = person()
    ticket, _ = open_or_reuse_ticket(db_session, conversation, topic="emotional_support", now=T0)
    assert conversation.handoff_state == "bot"

    request_handoff(db_session, conversation, ticket, now=T0)
    assert conversation.handoff_state == "waiting"
    request_handoff(db_session, conversation, ticket, now=T0)  # asking twice changes nothing
    assert conversation.handoff_state == "waiting"

    claim_ticket(db_session, ticket, lan, now=T0)
    assert (ticket.status, ticket.assignee, ticket.assigned_at) == ("assigned", "lan.nguyen", T0)
    assert conversation.handoff_state == "assigned"

    resolve_ticket(db_session, ticket, "counselled", actor="lan.nguyen", now=T0)
    assert (ticket.status, ticket.outcome, ticket.resolved_at) == ("resolved", "counselled", T0)
    assert conversation.handoff_state == "bot"

    assert audit_actions(ticket.id) == [
        "ticket.opened",
        "conversation.handoff_state",  # bot -> waiting
        "ticket.claimed",
        "conversation.handoff_state",  # waiting -> assigned
        "ticket.resolved",
        "conversation.handoff_state",  # assigned -> bot
    ]
    states = [
        (e.details["previous"], e.details["state"])
        for e in events_of_ticket(db_session, ticket)
        if e.action == "conversation.handoff_state"
    ]
    assert states == [("bot", "waiting"), ("waiting", "assigned"), ("assigned", "bot")]
    assert {e.actor for e in events_of_ticket(db_session, ticket)[2:]} == {"lan.nguyen"}


def test_a_second_claim_fails_with_who_has_it(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan, minh = staff_member("lan.nguyen"), staff_member("minh.tran")
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    claim_ticket(db_session, ticket, lan)
    with pytest.raises(TicketAlreadyClaimedError) as caught:
        claim_ticket(db_session, ticket, minh)
    assert str(caught.value) == f"Yêu cầu {ticket.code} đã được nhân viên lan.nguyen nhận."
    assert caught.value.code == "ticket_already_claimed"
    assert ticket.assignee == "lan.nguyen"


def test_an_inactive_account_cannot_claim(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    lan.active = False
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    with pytest.raises(StaffAccountError):
        claim_ticket(db_session, ticket, lan)
    assert ticket.status == "open"


@pytest.mark.parametrize("finish", ["resolve", "close"])
def test_finished_tickets_cannot_be_claimed_transferred_or_finished_again(
    db_session: Session, person: Person, staff_member: Staff, finish: str
) -> None:
    lan, minh = staff_member("lan.nguyen"), staff_member("minh.tran")
    conversation = person()
    ticket = open_ticket(db_session, conversation, topic="legal_aid")
    claim_ticket(db_session, ticket, lan)
    if finish == "resolve":
        resolve_ticket(db_session, ticket, "referred", actor="lan.nguyen")
    else:
        close_ticket(db_session, ticket, actor="lan.nguyen", outcome="no_contact")
    for attempt in (
        lambda: claim_ticket(db_session, ticket, minh),
        lambda: transfer_ticket(db_session, ticket, minh, actor="lan.nguyen"),
        lambda: resolve_ticket(db_session, ticket, "referred", actor="lan.nguyen"),
        lambda: close_ticket(db_session, ticket, actor="lan.nguyen"),
        lambda: request_handoff(db_session, conversation, ticket),
    ):
        with pytest.raises(InvalidTransitionError):
            attempt()
    assert ticket.status == ("resolved" if finish == "resolve" else "closed")


def test_an_open_ticket_cannot_be_resolved_before_someone_takes_it(
    db_session: Session, person: Person
) -> None:
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    with pytest.raises(InvalidTransitionError) as caught:
        resolve_ticket(db_session, ticket, "referred", actor="lan.nguyen")
    assert caught.value.current == "open"
    assert "đang chờ nhân viên nhận" in str(caught.value)


def test_an_unknown_outcome_is_refused(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    claim_ticket(db_session, ticket, lan)
    with pytest.raises(UnknownOutcomeError):
        resolve_ticket(db_session, ticket, "fixed it", actor="lan.nguyen")
    assert ticket.status == "assigned"


def test_closing_an_open_ticket_returns_the_conversation_to_the_bot(
    db_session: Session, person: Person, audit_actions: Actions
) -> None:
    conversation = person()
    ticket = open_ticket(db_session, conversation, topic="out_of_scope")
    request_handoff(db_session, conversation, ticket)
    close_ticket(db_session, ticket, actor="ha.supervisor", outcome="duplicate")
    assert (ticket.status, ticket.outcome, conversation.handoff_state) == (
        "closed",
        "duplicate",
        "bot",
    )
    assert "ticket.closed" in audit_actions(ticket.id)


def test_transfer_moves_the_ticket_and_keeps_the_conversation_with_staff(
    db_session: Session, person: Person, staff_member: Staff, audit_actions: Actions
) -> None:
    lan, minh = staff_member("lan.nguyen"), staff_member("minh.tran")
    conversation = person()
    ticket = open_ticket(db_session, conversation, topic="legal_aid")
    request_handoff(db_session, conversation, ticket)
    claim_ticket(db_session, ticket, lan)
    transfer_ticket(db_session, ticket, minh, actor="lan.nguyen")
    assert (ticket.status, ticket.assignee, conversation.handoff_state) == (
        "assigned",
        "minh.tran",
        "assigned",
    )
    event = events_of_ticket(db_session, ticket)[-1]
    assert (event.action, event.actor) == ("ticket.transferred", "lan.nguyen")
    assert event.details == {"previous_assignee": "lan.nguyen", "assignee": "minh.tran"}
    with pytest.raises(InvalidTransitionError):
        transfer_ticket(db_session, ticket, minh, actor="lan.nguyen")  # already theirs


def test_a_supervisor_can_hand_an_open_ticket_to_someone(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    minh = staff_member("minh.tran")
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    transfer_ticket(db_session, ticket, minh, actor="ha.supervisor")
    assert (ticket.status, ticket.assignee) == ("assigned", "minh.tran")


def test_a_handoff_with_someone_elses_ticket_is_refused(
    db_session: Session, person: Person
) -> None:
    mine, theirs = person("web", "a"), person("web", "b")
    their_ticket = open_ticket(db_session, theirs, topic="legal_aid")
    with pytest.raises(TicketMismatchError):
        request_handoff(db_session, mine, their_ticket)
    assert mine.handoff_state == "bot"


def test_asking_for_a_person_while_staff_already_answer_keeps_it_assigned(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    conversation = person()
    ticket = open_ticket(db_session, conversation, topic="legal_aid")
    claim_ticket(db_session, ticket, lan)
    request_handoff(db_session, conversation, ticket)
    assert conversation.handoff_state == "assigned"


def test_another_sender_can_never_read_a_ticket_by_its_code(
    db_session: Session, person: Person
) -> None:
    ticket = open_ticket(db_session, person("telegram", "owner"), topic="domestic_violence")
    sloppy = ticket.code.lower().replace("-", " ")
    assert find_ticket_for_sender(db_session, sloppy, "telegram", "owner") is ticket
    # Another person, the same id on another channel, a made-up code: all the same None.
    assert find_ticket_for_sender(db_session, ticket.code, "telegram", "stranger") is None
    assert find_ticket_for_sender(db_session, ticket.code, "zalo", "owner") is None
    assert find_ticket_for_sender(db_session, "HT-ZZZZZZ", "telegram", "stranger") is None
    assert find_ticket_for_sender(db_session, "not a code", "telegram", "owner") is None
    assert tickets_of_sender(db_session, "telegram", "stranger") == []
    assert get_ticket_by_code(db_session, sloppy) is ticket  # staff can


def test_a_sender_sees_all_of_their_own_tickets_newest_first(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    conversation = person("web", "me")
    old = open_ticket(db_session, conversation, topic="legal_aid", now=T0)
    claim_ticket(db_session, old, lan)
    resolve_ticket(db_session, old, "referred", actor="lan.nguyen")
    new = open_ticket(
        db_session, conversation, topic="social_allowance", now=T0 + dt.timedelta(days=1)
    )
    open_ticket(db_session, person("web", "someone else"), topic="legal_aid")
    assert [t.code for t in tickets_of_sender(db_session, "web", "me")] == [new.code, old.code]


def test_a_callback_number_is_stored_normalized_and_never_audited(
    db_session: Session, person: Person
) -> None:
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    assert set_callback_phone(db_session, ticket, "+84 912.345.678") == "0912345678"
    assert ticket.callback_phone == "0912345678"
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.action == "ticket.callback_phone_set"
    assert "912" not in str(event.details)


def test_an_invalid_callback_number_is_refused_with_a_hint(
    db_session: Session, person: Person
) -> None:
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    with pytest.raises(InvalidPhoneNumberError) as caught:
        set_callback_phone(db_session, ticket, "113")
    assert "10 chữ số" in str(caught.value)
    assert ticket.callback_phone is None


def test_unclaimed_urgent_tickets_come_due_for_escalation_once(
    db_session: Session, person: Person, staff_member: Staff, audit_actions: Actions
) -> None:
    lan = staff_member("lan.nguyen")
    urgent, _ = open_urgent_ticket(db_session, person("web", "a"), topic="self_harm", now=T0)
    claimed, _ = open_urgent_ticket(db_session, person("web", "b"), topic="self_harm", now=T0)
    claim_ticket(db_session, claimed, lan)
    open_ticket(
        db_session, person("web", "c"), topic="domestic_violence", now=T0
    )  # high, not urgent

    early = T0 + dt.timedelta(minutes=1, seconds=59)
    assert tickets_due_for_escalation(db_session, minutes=2, now=early) == []
    due = tickets_due_for_escalation(db_session, minutes=2, now=T0 + dt.timedelta(minutes=2))
    assert [t.id for t in due] == [urgent.id]
    mark_escalated(db_session, urgent, now=T0 + dt.timedelta(minutes=2))
    assert tickets_due_for_escalation(db_session, minutes=2, now=T0 + dt.timedelta(hours=1)) == []
    assert audit_actions(urgent.id)[-1] == "ticket.escalated"
