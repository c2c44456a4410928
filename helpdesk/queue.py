"""The staff work queue: active tickets, most urgent first, with what staff need to pick one.

Order: priority (urgent, high, normal), then the longest-waiting first. Each entry carries
the ticket's topic, risk, place and channel, how long the person has been waiting, and the
conversation's last few messages. The console polls this every few seconds, so it costs
three queries however long the queue is (tickets, unanswered times, last messages).

Waiting time: an open ticket waits since it was opened; an assigned one waits since the
person's oldest message that no staff reply has followed yet (counted from the ticket's
opening at the earliest: what came before was the bot's to answer), and 0 once answered.

Reading the queue is not a view of a transcript: opening one is (`conversations.transcript`
with a `viewer`), and that is audited.

Usage:
    for entry in work_queue(session):                    # everyone's queue
        print(entry.code, entry.priority, entry.waiting_seconds)
    mine = work_queue(session, assignee="lan.nguyen")    # what one staff member holds
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from helpdesk.models import (
    ACTIVE_TICKET_STATUSES,
    PRIORITIES,
    Conversation,
    Message,
    Ticket,
    utc_now,
)


@dataclass(frozen=True)
class TranscriptLine:
    """One message as the queue shows it: who wrote it (`person`, `bot`, `staff`, `system`)."""

    author: str
    text: str
    at: dt.datetime


@dataclass(frozen=True)
class QueueEntry:
    """One active ticket in the queue, with what staff need to decide to take it."""

    code: str
    status: str
    priority: str
    topic: str
    risk: str
    channel: str
    province: str | None
    commune: str | None
    location_text: str | None
    assignee: str | None
    created_at: dt.datetime
    waiting_seconds: int
    escalated: bool
    handoff_state: str
    conversation_id: str | None
    last_messages: tuple[TranscriptLine, ...]


def _seconds_between(start: dt.datetime | None, end: dt.datetime) -> int:
    if start is None:
        return 0
    return max(0, int((end - start).total_seconds()))


def _active_tickets(session: Session, assignee: str | None) -> list[tuple[Ticket, str | None]]:
    """Active tickets in queue order, each with its conversation's handoff state."""
    # PRIORITIES runs from the most to the least urgent.
    rank = case(
        {priority: index for index, priority in enumerate(PRIORITIES)},
        value=Ticket.priority,
        else_=len(PRIORITIES),
    )
    query = (
        select(Ticket, Conversation.handoff_state)
        .outerjoin(Conversation, Conversation.id == Ticket.conversation_id)
        .where(Ticket.status.in_(ACTIVE_TICKET_STATUSES))
        .order_by(rank, Ticket.created_at, Ticket.id)
    )
    if assignee is not None:
        query = query.where(Ticket.assignee == assignee)
    return [(ticket, state) for ticket, state in session.execute(query)]


def first_unanswered_messages(
    session: Session, conversation_ids: list[str]
) -> dict[str, dt.datetime]:
    """For each conversation, when the person's oldest message with no staff reply after it
    was written; conversations whose person was answered are absent."""
    if not conversation_ids:
        return {}
    reply = aliased(Message)
    last_staff_reply = (
        select(func.max(reply.created_at))
        .where(reply.conversation_id == Message.conversation_id, reply.author == "staff")
        .scalar_subquery()
    )
    rows = session.execute(
        select(Message.conversation_id, func.min(Message.created_at))
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.author == "person",
            or_(last_staff_reply.is_(None), Message.created_at > last_staff_reply),
        )
        .group_by(Message.conversation_id)
    )
    return {key: at for key, at in rows}


def last_messages_of(
    session: Session, conversation_ids: list[str], count: int
) -> dict[str, tuple[TranscriptLine, ...]]:
    """The last `count` messages of each conversation, oldest first, in one query."""
    if not conversation_ids or count < 1:
        return {}
    newest_first = (
        func.row_number()
        .over(
            partition_by=Message.conversation_id,
            order_by=(Message.created_at.desc(), Message.id.desc()),
        )
        .label("newest_first")
    )
    recent = (
        select(
            Message.conversation_id,
            Message.author,
            Message.text,
            Message.created_at,
            Message.id,
            newest_first,
        )
        .where(Message.conversation_id.in_(conversation_ids))
        .subquery()
    )
    rows = session.execute(
        select(recent.c.conversation_id, recent.c.author, recent.c.text, recent.c.created_at)
        .where(recent.c.newest_first <= count)
        .order_by(recent.c.conversation_id, recent.c.created_at, recent.c.id)
    )
    lines: dict[str, list[TranscriptLine]] = defaultdict(list)
    for conversation_id, author, text, at in rows:
        lines[conversation_id].append(TranscriptLine(author=author, text=text, at=at))
    return {conversation_id: tuple(found) for conversation_id, found in lines.items()}


def _waiting_since(ticket: Ticket, unanswered: dict[str, dt.datetime]) -> dt.datetime | None:
    if ticket.status == "open":
        return ticket.created_at
    first = unanswered.get(ticket.conversation_id or "")
    if first is None:
        return None
    return max(first, ticket.created_at)


def work_queue(
    session: Session,
    *,
    now: dt.datetime | None = None,
    assignee: str | None = None,
    last_messages: int = 3,
) -> list[QueueEntry]:
    """Open and assigned tickets, urgent → high → normal, then oldest first."""
    now = now or utc_now()
    tickets = _active_tickets(session, assignee)
    linked = [t.conversation_id for t, _ in tickets if t.conversation_id is not None]
    assigned = [
        t.conversation_id for t, _ in tickets if t.status == "assigned" and t.conversation_id
    ]
    unanswered = first_unanswered_messages(session, assigned)
    recent = last_messages_of(session, linked, last_messages)
    return [
        QueueEntry(
            code=ticket.code,
            status=ticket.status,
            priority=ticket.priority,
            topic=ticket.topic,
            risk=ticket.risk,
            channel=ticket.channel,
            province=ticket.province,
            commune=ticket.commune,
            location_text=ticket.location_text,
            assignee=ticket.assignee,
            created_at=ticket.created_at,
            waiting_seconds=_seconds_between(_waiting_since(ticket, unanswered), now),
            escalated=ticket.escalated_at is not None,
            # A ticket whose conversation is gone has nobody left to talk to.
            handoff_state=handoff_state or "bot",
            conversation_id=ticket.conversation_id,
            last_messages=recent.get(ticket.conversation_id or "", ()),
        )
        for ticket, handoff_state in tickets
    ]
