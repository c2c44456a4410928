"""The audit log: one `AuditEvent` per change, written in the caller's transaction.

Details are small JSON objects of ids, states and counts. They never hold message text,
phone numbers, sender ids or place text; `record_event` refuses such keys so that a
careless caller fails in the tests instead of leaking personal data into the log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.models import AuditEvent, Conversation, Ticket, utc_now

ACTOR_BOT = "bot"
ACTOR_SYSTEM = "system"
ACTOR_PERSON = "person"

_PERSONAL_KEYS = frozenset(
    {"text", "message", "phone", "callback_phone", "sender_id", "location_text", "commune", "error"}
)
_SCALARS = (str, int, float, bool, type(None))


def record_event(
    session: Session,
    actor: str,
    action: str,
    *,
    ticket: Ticket | None = None,
    conversation: Conversation | None = None,
    conversation_id: str | None = None,
    at: dt.datetime | None = None,
    **details: Any,
) -> AuditEvent:
    """Add one audit event; `details` are plain values without personal data."""
    leaked = _PERSONAL_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"personal data does not go into the audit log: {sorted(leaked)}")
    for key, value in details.items():
        if not isinstance(value, _SCALARS):
            raise ValueError(f"audit detail {key!r} must be a plain value")
    if conversation is not None:
        conversation_id = conversation.id
    elif ticket is not None and conversation_id is None:
        conversation_id = ticket.conversation_id
    event = AuditEvent(
        at=at or utc_now(),
        actor=actor,
        action=action,
        ticket_id=ticket.id if ticket is not None else None,
        conversation_id=conversation_id,
        details=details,
    )
    session.add(event)
    return event


def events_of_ticket(session: Session, ticket: Ticket) -> list[AuditEvent]:
    """The ticket's history, oldest first (the console's "history" panel)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.ticket_id == ticket.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
