"""Deleting a person's data on request, and purging text past the retention period."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.conversations import (
    get_conversation,
    get_or_create_conversation,
    record_inbound,
    record_outbound,
    transcript,
)
from helpdesk.errors import HelpdeskConfigurationError
from helpdesk.models import AuditEvent, Conversation, Message, StaffMember, Ticket
from helpdesk.notes import add_note, notes_of
from helpdesk.privacy import (
    PurgeReport,
    anonymization_salt,
    anonymous_sender_id,
    delete_person_data,
    purge_conversations,
)
from helpdesk.tickets import (
    claim_ticket,
    find_ticket_for_sender,
    open_or_reuse_ticket,
    open_ticket,
    request_handoff,
    resolve_ticket,
    set_callback_phone,
    tickets_of_sender,
)
from hotline.settings import Settings, get_settings

Person = Callable[..., Conversation]
Staff = Callable[..., StaffMember]
SALT = "test-salt-not-for-production"
NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=400)
RECENTLY = NOW - dt.timedelta(days=10)


def _count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _person_with_history(
    session: Session, staff: StaffMember, sender: str, *, at: dt.datetime
) -> tuple[Conversation, Ticket]:
    """A person who wrote, got a resolved ticket with a callback number and place."""
    conversation = get_or_create_conversation(session, "zalo", sender, now=at)
    record_inbound(
        session, conversation, "chồng em đánh em, em ở xã Mỹ Hiệp", f"{sender}-1", now=at
    )
    record_outbound(session, conversation, "Mình rất tiếc. Bạn đang ở đâu?", now=at)
    ticket, _ = open_or_reuse_ticket(
        session,
        conversation,
        topic="domestic_violence",
        risk="elevated",
        location_text="xã Mỹ Hiệp, Cao Lãnh",
        province="Tỉnh Đồng Tháp",
        commune="Xã Mỹ Hiệp",
        now=at,
    )
    set_callback_phone(session, ticket, "0912 345 678", now=at)
    request_handoff(session, conversation, ticket)
    claim_ticket(session, ticket, staff, now=at)
    resolve_ticket(session, ticket, "referred", actor=staff.username, now=at)
    return conversation, ticket


def test_deletion_removes_text_and_personal_fields_and_keeps_an_anonymized_ticket(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    conversation, ticket = _person_with_history(db_session, lan, "u-1", at=RECENTLY)
    conversation_id = conversation.id
    other, _ = _person_with_history(db_session, lan, "u-2", at=RECENTLY)

    report = delete_person_data(db_session, "zalo", "u-1", salt=SALT, now=NOW)

    assert (report.conversation_deleted, report.messages_deleted, report.tickets_anonymized) == (
        True,
        2,
        1,
    )
    assert get_conversation(db_session, "zalo", "u-1") is None
    assert _count(db_session, Message, Message.conversation_id == conversation_id) == 0
    db_session.refresh(ticket)
    assert ticket.sender_id == anonymous_sender_id("zalo", "u-1", SALT)
    assert "u-1" not in ticket.sender_id
    assert (ticket.callback_phone, ticket.location_text, ticket.commune) == (None, None, None)
    assert ticket.conversation_id is None and ticket.anonymized_at == NOW
    # What the programme reports on stays.
    assert (ticket.province, ticket.topic, ticket.risk, ticket.status, ticket.outcome) == (
        "Tỉnh Đồng Tháp",
        "domestic_violence",
        "elevated",
        "resolved",
        "referred",
    )
    # The person's own lookups find nothing any more; the other person is untouched.
    assert tickets_of_sender(db_session, "zalo", "u-1") == []
    assert find_ticket_for_sender(db_session, ticket.code, "zalo", "u-1") is None
    assert len(transcript(db_session, other)) == 2
    assert len(tickets_of_sender(db_session, "zalo", "u-2")) == 1


def test_the_audit_of_a_deletion_holds_no_personal_data(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    _person_with_history(db_session, lan, "u-1", at=RECENTLY)
    delete_person_data(db_session, "zalo", "u-1", salt=SALT, now=NOW)
    events = list(db_session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [e.action for e in events][-2:] == ["ticket.anonymized", "person.data_deleted"]
    assert events[-1].details == {
        "messages_deleted": 2,
        "tickets_anonymized": 1,
        "tickets_closed": 0,
        "notes_deleted": 0,
    }
    everything = " ".join(f"{e.actor} {e.details}" for e in events)
    for personal in ("u-1", "0912", "912345678", "Mỹ Hiệp", "chồng em"):
        assert personal not in everything


def test_deleting_during_a_handoff_closes_the_active_ticket_first(
    db_session: Session, person: Person
) -> None:
    conversation = person("telegram", "555")
    ticket = open_ticket(db_session, conversation, topic="emotional_support")
    request_handoff(db_session, conversation, ticket)
    report = delete_person_data(db_session, "telegram", "555", salt=SALT, now=NOW)
    assert report.tickets_closed == 1
    assert (ticket.status, ticket.outcome) == ("closed", "data_deleted")
    assert ticket.sender_id.startswith("anon:")


def test_writing_again_after_deletion_starts_afresh(db_session: Session, person: Person) -> None:
    conversation = person("web", "w-1")
    record_inbound(db_session, conversation, "xin chào", "m1")
    open_ticket(db_session, conversation, topic="legal_aid")
    delete_person_data(db_session, "web", "w-1", salt=SALT)
    fresh = person("web", "w-1")
    assert fresh.id != conversation.id
    assert transcript(db_session, fresh) == []
    assert tickets_of_sender(db_session, "web", "w-1") == []


def test_deleting_someone_unknown_changes_nothing_but_is_recorded(db_session: Session) -> None:
    report = delete_person_data(db_session, "web", "nobody", salt=SALT)
    assert (report.conversation_deleted, report.messages_deleted, report.tickets_anonymized) == (
        False,
        0,
        0,
    )
    assert db_session.scalars(select(AuditEvent.action)).all() == ["person.data_deleted"]


def test_the_hash_is_salted(db_session: Session) -> None:
    assert anonymous_sender_id("zalo", "u-1", "a") != anonymous_sender_id("zalo", "u-1", "b")
    assert anonymous_sender_id("zalo", "u-1", "a") == anonymous_sender_id("zalo", "u-1", "a")
    assert anonymous_sender_id("zalo", "u-1", "a") != anonymous_sender_id("web", "u-1", "a")


def test_production_needs_a_real_salt() -> None:
    assert anonymization_salt(Settings(_env_file=None, anonymization_salt="s3cret")) == "s3cret"
    assert anonymization_salt(Settings(_env_file=None, environment="test"))
    with pytest.raises(ValueError, match="ANONYMIZATION_SALT"):
        Settings(_env_file=None, environment="production")
    unsalted = Settings(_env_file=None, anonymization_salt="x").model_copy(
        update={"environment": "production", "anonymization_salt": None}
    )
    with pytest.raises(HelpdeskConfigurationError):
        anonymization_salt(unsalted)


def test_purge_removes_old_text_and_keeps_anonymized_figures(
    db_session: Session, person: Person, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    old_conversation, old_ticket = _person_with_history(db_session, lan, "old", at=LONG_AGO)
    old_id = old_conversation.id
    recent, recent_ticket = _person_with_history(db_session, lan, "recent", at=RECENTLY)
    # Still with staff, however old: nothing of it goes.
    waiting = get_or_create_conversation(db_session, "telegram", "waiting", now=LONG_AGO)
    record_inbound(db_session, waiting, "em vẫn chờ", "w-1", now=LONG_AGO)
    pending, _ = open_or_reuse_ticket(db_session, waiting, topic="legal_aid", now=LONG_AGO)
    request_handoff(db_session, waiting, pending)

    report = purge_conversations(db_session, older_than_days=365, salt=SALT, now=NOW)

    assert (report.messages_deleted, report.conversations_deleted, report.tickets_anonymized) == (
        2,
        1,
        1,
    )
    assert db_session.get(Conversation, old_id) is None
    assert _count(db_session, Message, Message.conversation_id == old_id) == 0
    db_session.refresh(old_ticket)
    assert old_ticket.sender_id.startswith("anon:") and old_ticket.callback_phone is None
    assert (old_ticket.province, old_ticket.topic, old_ticket.outcome) == (
        "Tỉnh Đồng Tháp",
        "domestic_violence",
        "referred",
    )
    assert len(transcript(db_session, recent)) == 2
    assert recent_ticket.callback_phone == "0912345678"
    assert [m.text for m in transcript(db_session, waiting)] == ["em vẫn chờ"]
    assert pending.anonymized_at is None
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.action == "retention.purged"
    assert event.details["older_than_days"] == 365

    again = purge_conversations(db_session, older_than_days=365, salt=SALT, now=NOW)
    assert (again.messages_deleted, again.conversations_deleted, again.tickets_anonymized) == (
        0,
        0,
        0,
    )


def test_purge_trims_old_text_of_a_conversation_that_goes_on(
    db_session: Session, person: Person
) -> None:
    conversation = get_or_create_conversation(db_session, "web", "regular", now=LONG_AGO)
    record_inbound(db_session, conversation, "tin nhắn cũ", "r-1", now=LONG_AGO)
    record_inbound(db_session, conversation, "tin nhắn mới", "r-2", now=RECENTLY)
    report = purge_conversations(db_session, older_than_days=365, salt=SALT, now=NOW)
    assert (report.messages_deleted, report.conversations_deleted) == (1, 0)
    assert [m.text for m in transcript(db_session, conversation)] == ["tin nhắn mới"]


def test_a_retention_period_under_a_day_is_refused(db_session: Session) -> None:
    with pytest.raises(ValueError):
        purge_conversations(db_session, older_than_days=0, salt=SALT)


def test_purge_removes_the_notes_of_the_tickets_it_anonymizes(
    db_session: Session, staff_member: Staff
) -> None:
    lan = staff_member("lan.nguyen")
    _, old_ticket = _person_with_history(db_session, lan, "old", at=LONG_AGO)
    _, recent_ticket = _person_with_history(db_session, lan, "recent", at=RECENTLY)
    add_note(db_session, old_ticket, "lan.nguyen", "Chị ấy ở với mẹ đẻ", now=LONG_AGO)
    add_note(db_session, old_ticket, "lan.nguyen", "Đã gọi lại", now=LONG_AGO)
    add_note(db_session, recent_ticket, "lan.nguyen", "Hẹn gọi lại thứ Hai", now=RECENTLY)

    report = purge_conversations(db_session, older_than_days=365, salt=SALT, now=NOW)

    assert (report.notes_deleted, report.tickets_anonymized, report.dry_run) == (2, 1, False)
    assert notes_of(db_session, old_ticket) == []
    assert [n.text for n in notes_of(db_session, recent_ticket)] == ["Hẹn gọi lại thứ Hai"]
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.purged")
    ).one()
    assert event.details == {
        "older_than_days": 365,
        "messages_deleted": 2,
        "conversations_deleted": 1,
        "tickets_anonymized": 1,
        "notes_deleted": 2,
    }


def test_a_dry_run_counts_and_changes_nothing(db_session: Session, staff_member: Staff) -> None:
    lan = staff_member("lan.nguyen")
    conversation, ticket = _person_with_history(db_session, lan, "old", at=LONG_AGO)
    add_note(db_session, ticket, "lan.nguyen", "ghi chú", now=LONG_AGO)
    audit_before = _count(db_session, AuditEvent)

    preview = purge_conversations(db_session, older_than_days=365, salt=SALT, now=NOW, dry_run=True)

    assert preview == PurgeReport(
        messages_deleted=2,
        conversations_deleted=1,
        tickets_anonymized=1,
        notes_deleted=1,
        dry_run=True,
    )
    assert db_session.get(Conversation, conversation.id) is not None
    assert len(transcript(db_session, conversation)) == 2
    db_session.refresh(ticket)
    assert ticket.anonymized_at is None and ticket.sender_id == "old"
    assert len(notes_of(db_session, ticket)) == 1
    assert _count(db_session, AuditEvent) == audit_before
    # The real run then removes exactly what the preview announced.
    real = purge_conversations(db_session, older_than_days=365, salt=SALT, now=NOW)
    assert dataclasses.replace(real, dry_run=True) == preview


@pytest.mark.parametrize("state", ["waiting", "assigned", "resolved"])
def test_a_conversation_not_back_with_the_bot_keeps_everything(
    db_session: Session, staff_member: Staff, state: str
) -> None:
    lan = staff_member("lan.nguyen")
    conversation, ticket = _person_with_history(db_session, lan, "old", at=LONG_AGO)
    add_note(db_session, ticket, "lan.nguyen", "ghi chú", now=LONG_AGO)
    conversation.handoff_state = state

    report = purge_conversations(db_session, older_than_days=365, salt=SALT, now=NOW)

    assert report == PurgeReport(0, 0, 0, notes_deleted=0)
    assert len(transcript(db_session, conversation)) == 2
    assert ticket.anonymized_at is None and len(notes_of(db_session, ticket)) == 1


def test_the_salt_defaults_to_the_settings(db_session: Session, staff_member: Staff) -> None:
    lan = staff_member("lan.nguyen")
    _, ticket = _person_with_history(db_session, lan, "old", at=LONG_AGO)
    purge_conversations(db_session, older_than_days=365, now=NOW)
    expected_salt = anonymization_salt(get_settings())
    assert ticket.sender_id == anonymous_sender_id("zalo", "old", expected_salt)
