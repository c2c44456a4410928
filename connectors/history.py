"""What a person's own client may read back: the messages of their conversation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.conversations import get_conversation
from helpdesk.models import Message

MAX_MESSAGES = 500


def messages_after(
    session: Session, channel: str, sender_id: str, after: int = 0, limit: int = MAX_MESSAGES
) -> list[Message]:
    """The conversation's messages with an id above `after`, oldest first (none if no
    conversation yet)."""
    conversation = get_conversation(session, channel, sender_id)
    if conversation is None:
        return []
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.id > after)
            .order_by(Message.id)
            .limit(limit)
        )
    )
