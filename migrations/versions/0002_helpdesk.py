"""Helpdesk: conversations and their transcript, tickets, staff accounts, audit log.

Revision ID: 0002_helpdesk
Revises: 0001_directory
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_helpdesk"
down_revision: str | Sequence[str] | None = "0001_directory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INBOUND_WITH_ID = "direction = 'in' AND channel_message_id IS NOT NULL"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "conversation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("handoff_state", sa.String(length=16), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_message_at"),
        sa.CheckConstraint(
            "handoff_state IN ('bot', 'waiting', 'assigned', 'resolved')",
            name=op.f("ck_conversation_handoff_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation")),
        sa.UniqueConstraint("channel", "sender_id", name=op.f("uq_conversation_channel_sender_id")),
    )
    op.create_index(op.f("ix_conversation_handoff_state"), "conversation", ["handoff_state"])
    op.create_index(op.f("ix_conversation_last_message_at"), "conversation", ["last_message_at"])

    op.create_table(
        "staff_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint(
            "role IN ('staff', 'supervisor', 'admin')", name=op.f("ck_staff_member_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_member")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_member_username")),
    )

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("staff_username", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel_message_id", sa.String(length=128), nullable=True),
        _timestamp("created_at"),
        sa.Column("delivery_status", sa.String(length=8), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        _timestamp("sent_at", nullable=True),
        sa.CheckConstraint(
            "(direction = 'in' AND author = 'person' AND delivery_status IS NULL)"
            " OR (direction = 'out' AND author <> 'person'"
            " AND delivery_status IN ('pending', 'sent', 'failed'))",
            name=op.f("ck_message_direction_fields"),
        ),
        sa.CheckConstraint(
            "author IN ('person', 'bot', 'staff', 'system')", name=op.f("ck_message_author")
        ),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_message_direction")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_message_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
    )
    op.create_index("ix_message_conversation_id_id", "message", ["conversation_id", "id"])
    op.create_index("ix_message_delivery_status", "message", ["delivery_status"])
    op.create_index(
        "uq_message_inbound_channel_message_id",
        "message",
        ["channel", "channel_message_id"],
        unique=True,
        sqlite_where=sa.text(_INBOUND_WITH_ID),
        postgresql_where=sa.text(_INBOUND_WITH_ID),
    )

    op.create_table(
        "ticket",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("location_text", sa.String(length=255), nullable=True),
        sa.Column("province", sa.String(length=128), nullable=True),
        sa.Column("commune", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("callback_phone", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("assigned_at", nullable=True),
        _timestamp("resolved_at", nullable=True),
        _timestamp("escalated_at", nullable=True),
        _timestamp("anonymized_at", nullable=True),
        sa.CheckConstraint(
            "priority IN ('urgent', 'high', 'normal')", name=op.f("ck_ticket_priority")
        ),
        sa.CheckConstraint("risk IN ('none', 'elevated', 'high')", name=op.f("ck_ticket_risk")),
        sa.CheckConstraint(
            "status <> 'assigned' OR assignee IS NOT NULL",
            name=op.f("ck_ticket_assigned_has_assignee"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'assigned', 'resolved', 'closed')", name=op.f("ck_ticket_status")
        ),
        sa.ForeignKeyConstraint(
            ["assignee"],
            ["staff_member.username"],
            name=op.f("fk_ticket_assignee_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_ticket_conversation_id_conversation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("code", name=op.f("uq_ticket_code")),
    )
    op.create_index("ix_ticket_channel_sender_id", "ticket", ["channel", "sender_id"])
    op.create_index(op.f("ix_ticket_conversation_id"), "ticket", ["conversation_id"])
    op.create_index("ix_ticket_status_priority", "ticket", ["status", "priority"])

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=True),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_audit_event_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_action"), "audit_event", ["action"])
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"])
    op.create_index(op.f("ix_audit_event_conversation_id"), "audit_event", ["conversation_id"])
    op.create_index(op.f("ix_audit_event_ticket_id"), "audit_event", ["ticket_id"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("audit_event")
    op.drop_table("ticket")
    op.drop_table("message")
    op.drop_table("staff_member")
    op.drop_table("conversation")
