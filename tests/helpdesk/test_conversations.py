"""Conversations and the transcript: stored once, in order, with delivery kept visible."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.conversations import (
    get_or_create_conversation,
    mark_delivery,
    record_inbound,
    record_outbound,
    transcript,
    undelivered_messages,
)
from helpdesk.models import AuditEvent, Conversation, Message, StaffMember

Actions = Callable[..., list[str]]
T0 = dt.datetime(2025, 11, 24, 3, 0, tzinfo=dt.UTC)


def test_a_sender_has_one_conversation_per_channel(
    db_session: Session, audit_actions: Actions
) -> None:
    first = get_or_create_conversation(db_session, "telegram", "777")
    again = get_or_create_conversation(db_session, "telegram", "777")
    zalo = get_or_create_conversation(db_session, "zalo", "777")
    assert again.id == first.id
    assert zalo.id != first.id
    assert first.handoff_state == "bot"
    assert audit_actions() == ["conversation.created", "conversation.created"]


def test_a_numeric_sender_id_is_kept_as_text(db_session: Session) -> None:
    conversation = get_or_create_conversation(db_session, "telegram", 123456789)  # type: ignore[arg-type]
    assert conversation.sender_id == "123456789"
    assert get_or_create_conversation(db_session, "telegram", "123456789").id == conversation.id


def test_a_redelivered_message_is_recorded_once(
    db_session: Session, person: Callable[..., Conversation]
) -> None:
    conversation = person()
    first, first_duplicate = record_inbound(db_session, conversation, "cứu em với", "upd-1")
    second, second_duplicate = record_inbound(db_session, conversation, "cứu em với", "upd-1")
    assert (first_duplicate, second_duplicate) == (False, True)
    assert second.id == first.id
    assert [m.text for m in transcript(db_session, conversation)] == ["cứu em với"]


def test_the_same_message_id_on_another_channel_is_another_message(
    db_session: Session, person: Callable[..., Conversation]
) -> None:
    _, duplicate_telegram = record_inbound(db_session, person("telegram", "1"), "chào", "42")
    _, duplicate_zalo = record_inbound(db_session, person("zalo", "1"), "chào", "42")
    assert not duplicate_telegram and not duplicate_zalo


def test_a_duplicate_that_slips_past_the_lookup_is_caught_by_the_unique_index(
    db_session: Session, person: Callable[..., Conversation], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two gateway replicas receiving the same update: both looked, neither found it.
    import helpdesk.conversations as conversations

    conversation = person()
    original, _ = record_inbound(db_session, conversation, "alo", "upd-9")
    monkeypatch.setattr(conversations, "_find_inbound", _found_only_on_second_call(original))
    again, duplicate = record_inbound(db_session, conversation, "alo", "upd-9")
    assert duplicate and again.id == original.id
    count = db_session.scalar(select(func.count()).select_from(Message))
    assert count == 1


def _found_only_on_second_call(message: Message) -> Callable[..., Message | None]:
    calls: list[int] = []

    def find(*_args: object) -> Message | None:
        calls.append(1)
        return None if len(calls) == 1 else message

    return find


def test_messages_without_a_channel_id_are_never_duplicates(
    db_session: Session, person: Callable[..., Conversation]
) -> None:
    conversation = person("terminal", "me")
    record_inbound(db_session, conversation, "chào", None)
    _, duplicate = record_inbound(db_session, conversation, "chào", None)
    assert not duplicate
    assert len(transcript(db_session, conversation)) == 2


def test_the_transcript_is_in_order_with_who_wrote_what(
    db_session: Session,
    person: Callable[..., Conversation],
    staff_member: Callable[..., StaffMember],
) -> None:
    staff_member("lan.nguyen")
    conversation = get_or_create_conversation(db_session, "telegram", "42", now=T0)
    record_inbound(db_session, conversation, "em cần giúp", "1", now=T0)
    record_outbound(db_session, conversation, "Mình nghe đây.", now=T0 + dt.timedelta(seconds=1))
    record_outbound(
        db_session,
        conversation,
        "Chào em, chị là Lan.",
        author="staff",
        staff_username="lan.nguyen",
        now=T0 + dt.timedelta(seconds=2),
    )
    record_inbound(db_session, conversation, "dạ", "2", now=T0 + dt.timedelta(seconds=3))
    lines = [(m.direction, m.author, m.text) for m in transcript(db_session, conversation)]
    assert lines == [
        ("in", "person", "em cần giúp"),
        ("out", "bot", "Mình nghe đây."),
        ("out", "staff", "Chào em, chị là Lan."),
        ("in", "person", "dạ"),
    ]
    assert conversation.last_message_at == T0 + dt.timedelta(seconds=3)


def test_staff_replies_and_transcript_views_are_audited_without_text(
    db_session: Session,
    person: Callable[..., Conversation],
    staff_member: Callable[..., StaffMember],
) -> None:
    staff_member("lan.nguyen")
    conversation = person()
    reply = record_outbound(
        db_session, conversation, "Chị gọi em nhé", author="staff", staff_username="lan.nguyen"
    )
    transcript(db_session, conversation, viewer="lan.nguyen")
    events = list(
        db_session.scalars(
            select(AuditEvent)
            .where(AuditEvent.conversation_id == conversation.id)
            .order_by(AuditEvent.id)
        )
    )
    assert [(e.actor, e.action) for e in events][-2:] == [
        ("lan.nguyen", "message.sent_by_staff"),
        ("lan.nguyen", "transcript.viewed"),
    ]
    assert events[-2].details == {"message_id": reply.id}
    assert all("Chị gọi em" not in str(e.details) for e in events)


def test_outbound_authors_are_checked(
    db_session: Session, person: Callable[..., Conversation]
) -> None:
    conversation = person()
    with pytest.raises(ValueError):
        record_outbound(db_session, conversation, "x", author="person")
    with pytest.raises(ValueError):
        record_outbound(db_session, conversation, "x", author="staff")


def test_a_failed_delivery_stays_visible_with_a_reason_free_of_text_and_tokens(
    db_session: Session, person: Callable[..., Conversation], audit_actions: Actions
) -> None:
    conversation = person()
    reply = record_outbound(db_session, conversation, "Số của trung tâm là 0277 3851 000")
    assert reply.delivery_status == "pending"
    mark_delivery(
        db_session,
        reply,
        delivered=False,
        error="HTTP 502 from https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/"
        "sendMessage with text 'Số của trung tâm là 0277 3851 000'",
    )
    assert reply.delivery_status == "failed"
    assert reply.attempts == 1
    assert reply.last_error is not None
    assert "0277" not in reply.last_error
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in reply.last_error
    assert "HTTP 502" in reply.last_error
    assert [m.id for m in undelivered_messages(db_session)] == [reply.id]
    assert audit_actions()[-1] == "message.delivery_failed"

    mark_delivery(db_session, reply, delivered=True, channel_message_id="9001")
    assert (reply.delivery_status, reply.attempts, reply.last_error) == ("sent", 2, None)
    assert reply.channel_message_id == "9001"
    assert undelivered_messages(db_session) == []


def test_outbound_channel_ids_may_repeat_across_chats(
    db_session: Session, person: Callable[..., Conversation]
) -> None:
    # Telegram numbers sent messages per chat: two chats both get a message 5.
    for sender in ("1", "2"):
        reply = record_outbound(db_session, person("telegram", sender), "Chào bạn")
        mark_delivery(db_session, reply, delivered=True, channel_message_id="5")
    db_session.flush()


def test_times_come_back_aware_in_utc(
    db_session: Session, person: Callable[..., Conversation]
) -> None:
    conversation = person()
    message, _ = record_inbound(db_session, conversation, "hi", "t1", now=T0)
    db_session.expire_all()
    assert message.created_at == T0
    assert message.created_at.tzinfo is not None


def test_ids_longer_than_the_columns_are_refused(db_session: Session) -> None:
    with pytest.raises(ValueError):
        get_or_create_conversation(db_session, "api", "x" * 129)
    with pytest.raises(ValueError):
        get_or_create_conversation(db_session, "", "someone")
    conversation = get_or_create_conversation(db_session, "api", "x" * 128)
    with pytest.raises(ValueError):
        record_inbound(db_session, conversation, "chào", "m" * 129)
