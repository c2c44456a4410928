"""The gateway's two units of work per message, written in plain SQL statements
(`helpdesk.conversations.store_inbound` and `record_replies`), leave the same rows as the
ORM functions the rest of the helpdesk uses, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from helpdesk.conversations import (
    get_or_create_conversation,
    mark_delivery,
    record_inbound,
    record_outbound,
    record_replies,
    store_inbound,
)
from helpdesk.models import AuditEvent, Conversation, Message
from hotline.db import make_session_factory

# What differs between two conversations' rows by nature: keys and times.
VARYING = {"id", "conversation_id", "created_at", "sent_at"}


def rows(engine: Engine, channel: str, sender_id: str) -> tuple[Conversation, list[dict[str, Any]]]:
    with make_session_factory(engine)() as session:
        conversation = session.scalars(
            select(Conversation).where(
                Conversation.channel == channel, Conversation.sender_id == sender_id
            )
        ).one()
        messages = session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        ).all()
        return conversation, [
            {column.key: getattr(message, column.key) for column in Message.__table__.columns}
            for message in messages
        ]


def audit(engine: Engine, conversation_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    with Session(engine) as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.conversation_id == conversation_id)
            .order_by(AuditEvent.id)
        )
        return [(event.actor, event.action, event.details) for event in events]


def comparable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in message.items() if k not in VARYING} for message in messages]


def test_a_turn_leaves_the_rows_the_orm_functions_leave(
    db_engine: Engine, unique_id: Callable[[str], str]
) -> None:
    by_orm, by_statements = unique_id("orm"), unique_id("core")
    with make_session_factory(db_engine).begin() as session:
        conversation = get_or_create_conversation(session, "api", by_orm)
        for text in ("chào ad", "bạn là ai"):
            record_inbound(session, conversation, text)
            reply = record_outbound(session, conversation, f"trả lời: {text}")
            mark_delivery(session, reply, delivered=True)
    for text in ("chào ad", "bạn là ai"):
        with db_engine.begin() as connection:
            stored = store_inbound(connection, "api", by_statements, text)
        with db_engine.begin() as connection:
            recorded = record_replies(
                connection, stored.conversation_id, [f"trả lời: {text}"], delivered_on={"api"}
            )
        assert recorded is not None
        head, (message,) = recorded
        assert (head.id, message.conversation_id) == (stored.conversation_id, head.id)

    orm_conversation, orm_rows = rows(db_engine, "api", by_orm)
    conversation, statement_rows = rows(db_engine, "api", by_statements)
    assert comparable(statement_rows) == comparable(orm_rows)
    assert conversation.handoff_state == orm_conversation.handoff_state == "bot"
    assert audit(db_engine, conversation.id) == audit(db_engine, orm_conversation.id)
    assert audit(db_engine, conversation.id) == [
        ("system", "conversation.created", {"channel": "api"})
    ]
    assert conversation.last_message_at == max(row["created_at"] for row in statement_rows)
    assert all(row["sent_at"] is not None for row in statement_rows if row["direction"] == "out")


def test_a_sender_id_too_long_for_a_conversation_is_refused(
    db_engine: Engine, unique_id: Callable[[str], str]
) -> None:
    with (
        db_engine.begin() as connection,
        pytest.raises(ValueError, match="^channel or sender id too long$"),
    ):
        store_inbound(connection, "api", "x" * 129, "chào")


def test_a_redelivered_message_is_stored_once_and_changes_nothing(
    db_engine: Engine, unique_id: Callable[[str], str]
) -> None:
    sender, update_id = unique_id("tg"), unique_id("update")
    with db_engine.begin() as connection:
        store_inbound(connection, "telegram", sender, "chào", unique_id("update"))
    with db_engine.begin() as connection:
        first = store_inbound(connection, "telegram", sender, "cứu em với", update_id)
    conversation_before, before = rows(db_engine, "telegram", sender)
    with db_engine.begin() as connection:
        again = store_inbound(connection, "telegram", sender, "cứu em với", update_id)
    conversation_after, after = rows(db_engine, "telegram", sender)
    assert (again.duplicate, again.message_id, again.created_at) == (
        True,
        first.message_id,
        first.created_at,
    )
    assert again.conversation_id == first.conversation_id
    assert after == before
    assert conversation_after.last_message_at == conversation_before.last_message_at


def test_replies_to_a_deleted_conversation_are_not_recorded(
    db_engine: Engine, unique_id: Callable[[str], str]
) -> None:
    with db_engine.begin() as connection:
        stored = store_inbound(connection, "api", unique_id("gone"), "xóa dữ liệu")
    with make_session_factory(db_engine).begin() as session:
        conversation = session.get(Conversation, stored.conversation_id)
        session.delete(conversation)
    with db_engine.begin() as connection:
        assert record_replies(connection, stored.conversation_id, ["Đã xóa."]) is None
