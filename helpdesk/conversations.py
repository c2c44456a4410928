"""Conversations and their transcript: who writes from where, every message in and out.

The gateway stores each inbound message before anything else (`record_inbound`, which
also drops a channel's re-delivery of the same message), stores each reply before
sending it (`record_outbound`), and records how the sending went (`mark_delivery`).
Functions take the caller's session and never commit: one unit of work, one transaction.

The gateway's two units of work per message (store what the person wrote; record the
replies) use `store_inbound` and `record_replies`: the same rows as the functions above,
in plain SQL statements on the caller's connection (and transaction) instead of the
ORM's unit of work, which cost more than the database itself on the busiest path.

Usage:
    conversation = get_or_create_conversation(session, "telegram", "123456")
    message, duplicate = record_inbound(session, conversation, text, "update-991")
    reply = record_outbound(session, conversation, "Chào bạn…")
    mark_delivery(session, reply, delivered=True, channel_message_id="5521")

    with engine.begin() as connection:
        stored = store_inbound(connection, "telegram", "123456", text, "update-991")
    with engine.begin() as connection:
        head, replies = record_replies(connection, stored.conversation_id, ["Chào bạn…"])
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk.audit import ACTOR_SYSTEM, record_event
from helpdesk.errors import InvalidTransitionError
from helpdesk.models import (
    AUTHORS,
    HANDOFF_STATES,
    Conversation,
    Message,
    Ticket,
    UTCDateTime,
    new_id,
    utc_now,
)

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500
MAX_CHANNEL_CHARS = 32
MAX_SENDER_ID_CHARS = 128
MAX_CHANNEL_MESSAGE_ID_CHARS = 128
# Bot API URLs carry the token (`/bot123:AA…/sendMessage`); OAuth errors may echo tokens.
_SECRET_PATTERNS = (
    re.compile(r"bot\d+:[\w-]{20,}"),
    re.compile(r"(access_token|refresh_token|secret|token)=[^&\s\"']+", re.IGNORECASE),
)


def get_conversation(session: Session, channel: str, sender_id: str) -> Conversation | None:
    """The conversation of this sender on this channel, if there is one."""
    return session.scalar(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.sender_id == str(sender_id)
        )
    )


def _check_sender(channel: str, sender_id: str) -> None:
    if not channel or not sender_id:
        raise ValueError("a conversation needs a channel and a sender id")
    if len(channel) > MAX_CHANNEL_CHARS or len(sender_id) > MAX_SENDER_ID_CHARS:
        raise ValueError("channel or sender id too long")


def get_or_create_conversation(
    session: Session, channel: str, sender_id: str, *, now: dt.datetime | None = None
) -> Conversation:
    """The sender's conversation on this channel, created (state `bot`) on first contact."""
    sender_id = str(sender_id)
    _check_sender(channel, sender_id)
    found = get_conversation(session, channel, sender_id)
    if found is not None:
        return found
    now = now or utc_now()
    conversation = Conversation(
        id=new_id(),
        channel=channel,
        sender_id=sender_id,
        handoff_state="bot",
        created_at=now,
        last_message_at=now,
    )
    try:
        # Two first messages at once (two gateway replicas) must end in one conversation.
        with session.begin_nested():
            session.add(conversation)
    except IntegrityError:
        found = get_conversation(session, channel, sender_id)
        if found is None:
            raise
        return found
    record_event(
        session,
        ACTOR_SYSTEM,
        "conversation.created",
        conversation=conversation,
        at=now,
        channel=channel,
    )
    logger.info("conversation %s created on %s", conversation.id, channel)
    return conversation


def _find_inbound(session: Session, channel: str, channel_message_id: str) -> Message | None:
    return session.scalar(
        select(Message).where(
            Message.channel == channel,
            Message.channel_message_id == channel_message_id,
            Message.direction == "in",
        )
    )


def record_inbound(
    session: Session,
    conversation: Conversation,
    text: str,
    channel_message_id: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> tuple[Message, bool]:
    """Store what the person wrote; `(message, True)` when the channel already delivered it.

    The message is the record of itself, so it writes no audit event.
    """
    if channel_message_id is not None:
        channel_message_id = str(channel_message_id)
        if len(channel_message_id) > MAX_CHANNEL_MESSAGE_ID_CHARS:
            raise ValueError("channel message id too long")
        existing = _find_inbound(session, conversation.channel, channel_message_id)
        if existing is not None:
            return existing, True
    now = now or utc_now()
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction="in",
        author="person",
        text=text,
        channel_message_id=channel_message_id,
        created_at=now,
        attempts=0,
    )
    try:
        # A re-delivery racing the first delivery hits the unique index: answer it once.
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        if channel_message_id is None:
            raise
        existing = _find_inbound(session, conversation.channel, channel_message_id)
        if existing is None:
            raise
        return existing, True
    conversation.last_message_at = max(conversation.last_message_at, now)
    return message, False


def record_outbound(
    session: Session,
    conversation: Conversation,
    text: str,
    *,
    author: str = "bot",
    staff_username: str | None = None,
    now: dt.datetime | None = None,
) -> Message:
    """Store a reply before it is sent (delivery `pending`); staff replies are audited."""
    _check_author(author, staff_username)
    now = now or utc_now()
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction="out",
        author=author,
        staff_username=staff_username,
        text=text,
        created_at=now,
        delivery_status="pending",
        attempts=0,
    )
    session.add(message)
    session.flush()
    conversation.last_message_at = max(conversation.last_message_at, now)
    if author == "staff":
        assert staff_username is not None
        record_event(
            session,
            staff_username,
            "message.sent_by_staff",
            conversation=conversation,
            at=now,
            message_id=message.id,
        )
    return message


def _check_author(author: str, staff_username: str | None) -> None:
    if author not in AUTHORS or author == "person":
        raise ValueError(f"outbound messages are written by bot, staff or system, not {author!r}")
    if (author == "staff") != (staff_username is not None):
        raise ValueError("a staff reply names its staff member, and only a staff reply does")


def _scrub_error(error: str, text: str) -> str:
    """The error without the message's text or anything that looks like a token."""
    if text and len(text) >= 4:
        error = error.replace(text, "[nội dung tin nhắn]")
    for pattern in _SECRET_PATTERNS:
        error = pattern.sub("[đã ẩn]", error)
    return error[:MAX_ERROR_CHARS]


def mark_delivery(
    session: Session,
    message: Message,
    *,
    delivered: bool,
    error: str | None = None,
    channel_message_id: str | None = None,
    now: dt.datetime | None = None,
) -> Message:
    """Record one sending attempt of an outbound message: `sent`, or `failed` with a reason.

    The reason is stored without the message's text or tokens, so it can be shown to staff.
    A failed message stays visible (`undelivered_messages`) until a later attempt succeeds.
    """
    if message.direction != "out":
        raise ValueError("only outbound messages are delivered")
    now = now or utc_now()
    message.attempts += 1
    if delivered:
        message.delivery_status = "sent"
        message.sent_at = now
        message.last_error = None
        if channel_message_id is not None:
            message.channel_message_id = str(channel_message_id)
    else:
        message.delivery_status = "failed"
        message.last_error = _scrub_error(error or "lỗi không rõ", message.text)
        record_event(
            session,
            ACTOR_SYSTEM,
            "message.delivery_failed",
            conversation_id=message.conversation_id,
            at=now,
            message_id=message.id,
            attempts=message.attempts,
        )
        logger.warning("delivery of message %s failed (attempt %d)", message.id, message.attempts)
    return message


def undelivered_messages(session: Session, *, limit: int = 100) -> list[Message]:
    """Outbound messages still `pending` or `failed`, oldest first (for a retry worker)."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.direction == "out", Message.delivery_status.in_(("pending", "failed")))
            .order_by(Message.id)
            .limit(limit)
        )
    )


def transcript(
    session: Session, conversation: Conversation, *, viewer: str | None = None
) -> list[Message]:
    """Every message of the conversation in order; a staff `viewer` is written to the audit."""
    if viewer is not None:
        record_event(session, viewer, "transcript.viewed", conversation=conversation)
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at, Message.id)
        )
    )


def set_handoff_state(
    session: Session,
    conversation: Conversation,
    state: str,
    *,
    actor: str,
    ticket: Ticket | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Move the conversation to `state` and audit it (no event when nothing changes)."""
    if state not in HANDOFF_STATES:
        raise InvalidTransitionError(
            f"Trạng thái chuyển tiếp không hợp lệ: {state}.", current=conversation.handoff_state
        )
    previous = conversation.handoff_state
    if previous == state:
        return
    conversation.handoff_state = state
    record_event(
        session,
        actor,
        "conversation.handoff_state",
        conversation=conversation,
        ticket=ticket,
        at=now,
        previous=previous,
        state=state,
    )
    logger.info("conversation %s: %s -> %s", conversation.id, previous, state)


# --- the gateway's busiest units of work, in plain SQL statements ----------------------
# Built once: composing a statement costs more than SQLite takes to run it, and a
# statement object keeps its cache key.

_CONVERSATIONS = cast(Table, Conversation.__table__)
_MESSAGES = cast(Table, Message.__table__)
_HEAD_COLUMNS = (
    _CONVERSATIONS.c.id,
    _CONVERSATIONS.c.channel,
    _CONVERSATIONS.c.sender_id,
    _CONVERSATIONS.c.handoff_state,
    _CONVERSATIONS.c.last_message_at,
)
_HEAD_BY_ID = select(*_HEAD_COLUMNS).where(_CONVERSATIONS.c.id == bindparam("conversation_id"))
_NOW = bindparam("now", type_=UTCDateTime)
# Reads the conversation and moves `last_message_at` forward (never back) in one statement.
_TOUCH = update(_CONVERSATIONS).values(
    last_message_at=case(
        (_CONVERSATIONS.c.last_message_at < _NOW, _NOW),
        else_=_CONVERSATIONS.c.last_message_at,
    )
)
_TOUCH_BY_ID = _TOUCH.where(_CONVERSATIONS.c.id == bindparam("conversation_id")).returning(
    *_HEAD_COLUMNS
)
# (An UPDATE's bind parameters may not be named like its columns.)
_TOUCH_BY_SENDER = _TOUCH.where(
    _CONVERSATIONS.c.channel == bindparam("of_channel"),
    _CONVERSATIONS.c.sender_id == bindparam("of_sender_id"),
).returning(*_HEAD_COLUMNS)
_INBOUND_BY_CHANNEL_ID = (
    select(
        _MESSAGES.c.id,
        _MESSAGES.c.created_at,
        _CONVERSATIONS.c.id.label("conversation_id"),
        _CONVERSATIONS.c.handoff_state,
    )
    .join(_CONVERSATIONS, _CONVERSATIONS.c.id == _MESSAGES.c.conversation_id)
    .where(
        _MESSAGES.c.channel == bindparam("channel"),
        _MESSAGES.c.channel_message_id == bindparam("channel_message_id"),
        _MESSAGES.c.direction == "in",
    )
)
_INSERT_MESSAGE = insert(_MESSAGES)
_INSERT_CONVERSATION = insert(_CONVERSATIONS)


@dataclass(frozen=True)
class ConversationHead:
    """The columns of a conversation that the gateway reads for every message."""

    id: str
    channel: str
    sender_id: str
    handoff_state: str
    last_message_at: dt.datetime


@dataclass(frozen=True)
class StoredInbound:
    """What `store_inbound` wrote, or found already written (`duplicate`)."""

    conversation_id: str
    handoff_state: str
    message_id: int
    created_at: dt.datetime
    duplicate: bool


def conversation_head(connection: Connection, conversation_id: str) -> ConversationHead | None:
    """The conversation's head, or None when it does not exist (any more)."""
    row = connection.execute(_HEAD_BY_ID, {"conversation_id": conversation_id}).first()
    return ConversationHead(*row) if row is not None else None


def store_inbound(
    connection: Connection,
    channel: str,
    sender_id: str,
    text: str,
    channel_message_id: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> StoredInbound:
    """`get_or_create_conversation`, then `record_inbound`: the same rows (audit event of
    a new conversation included) and the same de-duplication, in two statements when the
    conversation exists and the channel gives no message id."""
    sender_id = str(sender_id)
    if channel_message_id is not None:
        channel_message_id = str(channel_message_id)
        if len(channel_message_id) > MAX_CHANNEL_MESSAGE_ID_CHARS:
            raise ValueError("channel message id too long")
        existing = _stored_inbound(connection, channel, channel_message_id)
        if existing is not None:
            return existing
    now = now or utc_now()
    try:
        # A re-delivery racing the first delivery hits the unique index: answer it once,
        # and leave the conversation as the first delivery left it.
        with connection.begin_nested() if channel_message_id is not None else nullcontext():
            head = _touch_by_sender(connection, channel, sender_id, now)
            if head is None:
                head = _create_conversation(connection, channel, sender_id, now)
            message_id = _insert_message(
                connection,
                {
                    "conversation_id": head.id,
                    "channel": head.channel,
                    "direction": "in",
                    "author": "person",
                    "text": text,
                    "channel_message_id": channel_message_id,
                    "created_at": now,
                    "attempts": 0,
                },
            )
    except IntegrityError:
        if channel_message_id is None:
            raise
        existing = _stored_inbound(connection, channel, channel_message_id)
        if existing is None:
            raise
        return existing
    return StoredInbound(head.id, head.handoff_state, message_id, now, False)


def _touch_by_sender(
    connection: Connection, channel: str, sender_id: str, now: dt.datetime
) -> ConversationHead | None:
    row = connection.execute(
        _TOUCH_BY_SENDER, {"of_channel": channel, "of_sender_id": sender_id, "now": now}
    ).first()
    return ConversationHead(*row) if row is not None else None


def _create_conversation(
    connection: Connection, channel: str, sender_id: str, now: dt.datetime
) -> ConversationHead:
    """`get_or_create_conversation`'s creating half: a conversation in state `bot`, and
    its audit event."""
    _check_sender(channel, sender_id)
    head = ConversationHead(new_id(), channel, sender_id, "bot", now)
    try:
        # Two first messages at once (two gateway replicas) must end in one conversation.
        with connection.begin_nested():
            connection.execute(
                _INSERT_CONVERSATION,
                {
                    "id": head.id,
                    "channel": channel,
                    "sender_id": sender_id,
                    "handoff_state": head.handoff_state,
                    "created_at": now,
                    "last_message_at": now,
                },
            )
    except IntegrityError:
        found = _touch_by_sender(connection, channel, sender_id, now)
        if found is None:
            raise
        return found
    with _session_in(connection) as session:
        record_event(
            session,
            ACTOR_SYSTEM,
            "conversation.created",
            conversation_id=head.id,
            at=now,
            channel=channel,
        )
        session.flush()
    logger.info("conversation %s created on %s", head.id, channel)
    return head


def record_replies(
    connection: Connection,
    conversation_id: str,
    texts: Sequence[str],
    *,
    author: str = "bot",
    staff_username: str | None = None,
    delivered_on: Collection[str] = (),
) -> tuple[ConversationHead, list[Message]] | None:
    """`record_outbound` for each text, followed by `mark_delivery(delivered=True)` when
    the conversation's channel is one of `delivered_on` (channels whose clients fetch
    their messages: recorded is delivered), in plain statements: the same rows. Returns
    the conversation and the messages (not in any session), or None when the
    conversation no longer exists."""
    _check_author(author, staff_username)
    if not texts:
        found = conversation_head(connection, conversation_id)
        return (found, []) if found is not None else None
    times = [utc_now() for _ in texts]
    touched = connection.execute(
        _TOUCH_BY_ID, {"conversation_id": conversation_id, "now": times[-1]}
    ).first()
    if touched is None:
        return None
    head = ConversationHead(*touched)
    delivered = head.channel in delivered_on
    messages = []
    for text, now in zip(texts, times):
        values = {
            "conversation_id": head.id,
            "channel": head.channel,
            "direction": "out",
            "author": author,
            "staff_username": staff_username,
            "text": text,
            "created_at": now,
            "delivery_status": "sent" if delivered else "pending",
            "attempts": 1 if delivered else 0,
            "last_error": None,
            "sent_at": now if delivered else None,
        }
        message_id = _insert_message(connection, values)
        if author == "staff":
            assert staff_username is not None
            with _session_in(connection) as session:
                record_event(
                    session,
                    staff_username,
                    "message.sent_by_staff",
                    conversation_id=head.id,
                    at=now,
                    message_id=message_id,
                )
                session.flush()
        messages.append(Message(id=message_id, **values))
    return head, messages


def _session_in(connection: Connection) -> Session:
    """An ORM session inside the connection's transaction, for the rare writes that go
    through the ORM: it flushes there, and leaves committing to the connection's owner."""
    return Session(bind=connection, join_transaction_mode="rollback_only")


def _insert_message(connection: Connection, values: Mapping[str, object]) -> int:
    key = connection.execute(_INSERT_MESSAGE, values).inserted_primary_key
    assert key is not None
    return int(key[0])


def _stored_inbound(
    connection: Connection, channel: str, channel_message_id: str
) -> StoredInbound | None:
    found = connection.execute(
        _INBOUND_BY_CHANNEL_ID, {"channel": channel, "channel_message_id": channel_message_id}
    )
    row = found.first()
    if row is None:
        return None
    return StoredInbound(row.conversation_id, row.handoff_state, row.id, row.created_at, True)
