"""Tables of the helpdesk: conversations and their transcript, tickets, staff, audit log.

- `Conversation`: one per person and channel, with the handoff state
  (`bot` → `waiting` → `assigned` → `resolved` → `bot`).
- `Message`: the transcript, inbound and outbound; outbound rows track their delivery.
- `Ticket`: a request for a person, with a public code that only its sender can look up.
- `StaffMember`: social workers, supervisors and admins (argon2 password hashes).
- `AuditEvent`: who did what to which ticket or conversation, without message text or
  phone numbers.
- `TicketNote`: staff's private notes on a ticket (never shown to the person).
- `CannedReply`: ready-made Vietnamese replies staff pick from; supervisors edit them.
- `StaffSession`: a staff login to the console, kept as the sha256 of its token.

Times are stored in UTC and always read back as aware datetimes, on SQLite too. The
migrations `0002_helpdesk` and `0004_staff_console` create exactly these tables; a test
compares the two.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    CursorResult,
    DateTime,
    Dialect,
    Executable,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from hotline.db import Base

CHANNELS = ("web", "telegram", "zalo", "zalo_bot", "api", "terminal", "rest")
HANDOFF_STATES = ("bot", "waiting", "assigned", "resolved")
DIRECTIONS = ("in", "out")
AUTHORS = ("person", "bot", "staff", "system")
DELIVERY_STATUSES = ("pending", "sent", "failed")
RISKS = ("none", "elevated", "high")
TICKET_STATUSES = ("open", "assigned", "resolved", "closed")
ACTIVE_TICKET_STATUSES = ("open", "assigned")
PRIORITIES = ("urgent", "high", "normal")
STAFF_ROLES = ("staff", "supervisor", "admin")

_UUID = String(36)
_USERNAME = String(64)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def new_id() -> str:
    """A random identifier for a conversation or a ticket."""
    return str(uuid.uuid4())


def utc_now() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def execute_write(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session and say how many rows it touched."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp kept in UTC; SQLite drops the zone, so it is put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous here; pass an aware one")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Conversation(Base):
    """One person on one channel, and whether the bot or a staff member is answering."""

    __tablename__ = "conversation"
    __table_args__ = (
        UniqueConstraint("channel", "sender_id"),
        CheckConstraint(_in("handoff_state", HANDOFF_STATES), name="handoff_state"),
    )

    id: Mapped[str] = mapped_column(_UUID, primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(128))
    handoff_state: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_message_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)


class Message(Base):
    """One message of the transcript; outbound ones carry their delivery state."""

    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_in("author", AUTHORS), name="author"),
        CheckConstraint(
            "(direction = 'in' AND author = 'person' AND delivery_status IS NULL)"
            " OR (direction = 'out' AND author <> 'person'"
            " AND delivery_status IN ('pending', 'sent', 'failed'))",
            name="direction_fields",
        ),
        # Only inbound ids de-duplicate: outbound ids (Telegram's message_id) repeat across chats.
        Index(
            "uq_message_inbound_channel_message_id",
            "channel",
            "channel_message_id",
            unique=True,
            sqlite_where=text("direction = 'in' AND channel_message_id IS NOT NULL"),
            postgresql_where=text("direction = 'in' AND channel_message_id IS NOT NULL"),
        ),
        Index("ix_message_conversation_id_id", "conversation_id", "id"),
        Index("ix_message_delivery_status", "delivery_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    # The conversation's channel, repeated so that the de-duplication index can use it.
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(3))
    author: Mapped[str] = mapped_column(String(8))
    staff_username: Mapped[str | None] = mapped_column(_USERNAME)
    text: Mapped[str] = mapped_column(Text)
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    delivery_status: Mapped[str | None] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    conversation: Mapped[Conversation] = relationship()


class StaffMember(Base):
    """A person who works the queue: `staff`, `supervisor` or `admin`."""

    __tablename__ = "staff_member"
    __table_args__ = (CheckConstraint(_in("role", STAFF_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(_USERNAME, unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)


class Ticket(Base):
    """A request for a person, opened by the bot; its public code is shown to the sender only."""

    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint(_in("risk", RISKS), name="risk"),
        CheckConstraint(_in("status", TICKET_STATUSES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(
            "status <> 'assigned' OR assignee IS NOT NULL", name="assigned_has_assignee"
        ),
        Index("ix_ticket_channel_sender_id", "channel", "sender_id"),
        Index("ix_ticket_status_priority", "status", "priority"),
    )

    id: Mapped[str] = mapped_column(_UUID, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(9), unique=True)
    # Null once the conversation is deleted; the anonymized ticket stays for the figures.
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(32))
    risk: Mapped[str] = mapped_column(String(8), default="none")
    location_text: Mapped[str | None] = mapped_column(String(255))
    province: Mapped[str | None] = mapped_column(String(128))
    commune: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    assignee: Mapped[str | None] = mapped_column(ForeignKey("staff_member.username"))
    callback_phone: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    anonymized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    conversation: Mapped[Conversation | None] = relationship()

    @property
    def is_active(self) -> bool:
        """True while someone still has to act on the ticket (open or assigned)."""
        return self.status in ACTIVE_TICKET_STATUSES


class AuditEvent(Base):
    """Who did what, when, to which ticket or conversation. Never message text or phones."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48), index=True)
    ticket_id: Mapped[str | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    # No foreign key: the log outlives conversations deleted at the person's request.
    conversation_id: Mapped[str | None] = mapped_column(_UUID, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketNote(Base):
    """A private note of a staff member on a ticket; the audit log records that it exists."""

    __tablename__ = "ticket_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(_USERNAME)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)


class CannedReply(Base):
    """A ready-made reply staff can send as it is or adapt; inactive ones are hidden."""

    __tablename__ = "canned_reply"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(_USERNAME)
    updated_by: Mapped[str | None] = mapped_column(_USERNAME)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)


class StaffSession(Base):
    """A login to the staff console. Only the token's sha256 is kept: a copy of the table
    does not let anyone in."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(ForeignKey("staff_member.username"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
