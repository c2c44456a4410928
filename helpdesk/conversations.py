"""Conversations and their transcript: who writes from where, every message in and out.

The gateway stores each inbound message before anything else (`record_inbound`, which
also drops a channel's re-delivery of the same message), stores each reply before
sending it (`record_outbound`), and records how the sending went (`mark_delivery`).
Functions take the caller's session and never commit: one unit of work, one transaction.

Usage:
    conversation = get_or_create_conversation(session, "telegram", "123456")
    message, duplicate = record_inbound(session, conversation, text, "update-991")
    reply = record_outbound(session, conversation, "Chào bạn…")
    mark_delivery(session, reply, delivered=True, channel_message_id="5521")
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy import select
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


def get_or_create_conversation(
    session: Session, channel: str, sender_id: str, *, now: dt.datetime | None = None
) -> Conversation:
    """The sender's conversation on this channel, created (state `bot`) on first contact."""
    sender_id = str(sender_id)
    if not channel or not sender_id:
        raise ValueError("a conversation needs a channel and a sender id")
    if len(channel) > MAX_CHANNEL_CHARS or len(sender_id) > MAX_SENDER_ID_CHARS:
        raise ValueError("channel or sender id too long")
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
    if author not in AUTHORS or author == "person":
        raise ValueError(f"outbound messages are written by bot, staff or system, not {author!r}")
    if (author == "staff") != (staff_username is not None):
        raise ValueError("a staff reply names its staff member, and only a staff reply does")
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
