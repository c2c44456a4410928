"""Personal data: deletion on request (Decree 13/2023/NĐ-CP) and the retention period.

- `delete_person_data` runs when a person asks: their conversation and every message go;
  their tickets stay for the programme's figures, anonymized — the sender id becomes a
  salted hash, the callback number, the place text, the commune and staff's private
  notes are removed, the province, topic, risk, priority, status, outcome and dates are
  kept. An active ticket is closed first (`data_deleted`), since nobody can answer a
  deleted conversation.
- `purge_conversations` runs on a schedule (`hotline purge --older-than DAYS`, default
  `settings.retention_days`): messages older than the retention period go, conversations
  left without messages go, and tickets finished before it are anonymized the same way
  (their notes go too). Conversations still with staff (handoff state other than `bot`,
  or an active ticket) keep everything, however old. `dry_run=True` counts what would go
  and changes nothing, not even the audit log.

The hash is keyed with a secret salt (`ANONYMIZATION_SALT`), so a sender id cannot be
found again by hashing candidate ids; the same person hashes the same within one
deployment, which keeps "people helped" countable. The audit log gets counts only.
Rasa's tracker store keeps its own copy of the conversation: the caller deletes that too.

Usage:
    delete_person_data(session, "zalo", sender_id, salt=anonymization_salt(settings))
    report = purge_conversations(session, older_than_days=365, dry_run=True)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from helpdesk.audit import ACTOR_PERSON, ACTOR_SYSTEM, record_event
from helpdesk.conversations import get_conversation
from helpdesk.errors import HelpdeskConfigurationError
from helpdesk.models import (
    ACTIVE_TICKET_STATUSES,
    Conversation,
    Message,
    Ticket,
    TicketNote,
    execute_write,
    utc_now,
)
from helpdesk.tickets import close_ticket
from hotline.settings import Settings, get_settings

logger = logging.getLogger(__name__)

ANONYMOUS_PREFIX = "anon:"
# Only for development and tests, where no real person's data is kept.
_DEVELOPMENT_SALT = "hotline-development-salt"


@dataclass(frozen=True)
class DeletionReport:
    """What `delete_person_data` removed."""

    conversation_deleted: bool
    messages_deleted: int
    tickets_anonymized: int
    tickets_closed: int
    notes_deleted: int = 0


@dataclass(frozen=True)
class PurgeReport:
    """What `purge_conversations` removed or, in a dry run, would remove."""

    messages_deleted: int
    conversations_deleted: int
    tickets_anonymized: int
    notes_deleted: int = 0
    dry_run: bool = False


def anonymization_salt(settings: Settings) -> str:
    """The salt from the settings; a fixed one in development and test only."""
    if settings.anonymization_salt is not None:
        return settings.anonymization_salt.get_secret_value()
    if settings.environment in ("development", "test"):
        return _DEVELOPMENT_SALT
    raise HelpdeskConfigurationError("ANONYMIZATION_SALT chưa được đặt.")


def anonymous_sender_id(channel: str, sender_id: str, salt: str) -> str:
    """The salted hash that replaces a sender id on an anonymized ticket."""
    if not salt:
        raise HelpdeskConfigurationError("Thiếu muối (salt) để ẩn danh.")
    digest = hmac.new(
        salt.encode(), f"{channel}\x1f{sender_id}".encode(), hashlib.sha256
    ).hexdigest()
    return ANONYMOUS_PREFIX + digest[:40]


def _count_notes(session: Session, tickets: list[Ticket]) -> int:
    """How many private notes anonymizing these tickets will remove."""
    pending = [ticket.id for ticket in tickets if ticket.anonymized_at is None]
    if not pending:
        return 0
    return (
        session.scalar(
            select(func.count()).select_from(TicketNote).where(TicketNote.ticket_id.in_(pending))
        )
        or 0
    )


def anonymize_ticket(
    session: Session, ticket: Ticket, *, salt: str, actor: str, now: dt.datetime
) -> bool:
    """Strip a ticket of personal fields and private notes (once); False when it already was."""
    if ticket.anonymized_at is not None:
        return False
    execute_write(
        session,
        delete(TicketNote)
        .where(TicketNote.ticket_id == ticket.id)
        .execution_options(synchronize_session="fetch"),
    )
    conversation_id = ticket.conversation_id
    ticket.sender_id = anonymous_sender_id(ticket.channel, ticket.sender_id, salt)
    ticket.callback_phone = None
    ticket.location_text = None
    ticket.commune = None
    ticket.conversation_id = None
    ticket.anonymized_at = now
    ticket.updated_at = now
    record_event(
        session, actor, "ticket.anonymized", ticket=ticket, conversation_id=conversation_id, at=now
    )
    return True


def delete_person_data(
    session: Session,
    channel: str,
    sender_id: str,
    *,
    salt: str,
    actor: str = ACTOR_PERSON,
    now: dt.datetime | None = None,
) -> DeletionReport:
    """Delete the sender's conversation and messages; close and anonymize their tickets."""
    now = now or utc_now()
    sender_id = str(sender_id)
    conversation = get_conversation(session, channel, sender_id)
    conditions: list[ColumnElement[bool]] = [
        and_(Ticket.channel == channel, Ticket.sender_id == sender_id)
    ]
    if conversation is not None:
        conditions.append(Ticket.conversation_id == conversation.id)
    tickets = list(session.scalars(select(Ticket).where(or_(*conditions)).order_by(Ticket.id)))

    closed = 0
    for ticket in tickets:
        if ticket.status in ACTIVE_TICKET_STATUSES:
            close_ticket(session, ticket, actor=actor, outcome="data_deleted", now=now)
            closed += 1
    notes_deleted = _count_notes(session, tickets)
    anonymized = sum(
        anonymize_ticket(session, ticket, salt=salt, actor=actor, now=now) for ticket in tickets
    )

    messages_deleted = 0
    conversation_id = conversation.id if conversation is not None else None
    if conversation is not None:
        session.flush()
        messages_deleted = execute_write(
            session,
            delete(Message)
            .where(Message.conversation_id == conversation.id)
            .execution_options(synchronize_session="fetch"),
        )
        session.delete(conversation)
        session.flush()
    record_event(
        session,
        actor,
        "person.data_deleted",
        conversation_id=conversation_id,
        at=now,
        messages_deleted=messages_deleted,
        tickets_anonymized=anonymized,
        tickets_closed=closed,
        notes_deleted=notes_deleted,
    )
    logger.info(
        "data of conversation %s deleted: %d messages, %d tickets anonymized",
        conversation_id,
        messages_deleted,
        anonymized,
    )
    return DeletionReport(
        conversation_deleted=conversation is not None,
        messages_deleted=messages_deleted,
        tickets_anonymized=anonymized,
        tickets_closed=closed,
        notes_deleted=notes_deleted,
    )


def _conversations_with_staff() -> Select[str]:
    """Ids of conversations staff may still need: handed off, or with an active ticket."""
    # An alias, so that the subquery never correlates with an outer query on conversations.
    other = aliased(Conversation)
    return select(other.id).where(
        or_(
            other.handoff_state != "bot",
            exists().where(
                Ticket.conversation_id == other.id,
                Ticket.status.in_(ACTIVE_TICKET_STATUSES),
            ),
        )
    )


def sender_keys_with_staff(session: Session) -> list[str]:
    """`<channel>:<sender_id>` of the conversations a purge leaves alone (Rasa's names)."""
    rows = session.execute(
        select(Conversation.channel, Conversation.sender_id).where(
            Conversation.id.in_(_conversations_with_staff())
        )
    )
    return [f"{channel}:{sender_id}" for channel, sender_id in rows]


def _purge(
    session: Session, cutoff: dt.datetime, *, salt: str, actor: str, now: dt.datetime
) -> PurgeReport:
    busy = _conversations_with_staff()
    finished = list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.status.in_(("resolved", "closed")),
                Ticket.anonymized_at.is_(None),
                Ticket.updated_at < cutoff,
                or_(Ticket.conversation_id.is_(None), Ticket.conversation_id.not_in(busy)),
            )
            .order_by(Ticket.id)
        )
    )
    notes_deleted = _count_notes(session, finished)
    anonymized = sum(
        anonymize_ticket(session, ticket, salt=salt, actor=actor, now=now) for ticket in finished
    )
    session.flush()

    messages_deleted = execute_write(
        session,
        delete(Message)
        .where(Message.created_at < cutoff, Message.conversation_id.not_in(busy))
        .execution_options(synchronize_session="fetch"),
    )

    stale = list(
        session.scalars(
            select(Conversation).where(
                Conversation.last_message_at < cutoff,
                Conversation.id.not_in(busy),
                ~exists().where(Message.conversation_id == Conversation.id),
            )
        )
    )
    for conversation in stale:
        # Tickets of these conversations are finished; unlink them before the row goes.
        for ticket in session.scalars(
            select(Ticket).where(Ticket.conversation_id == conversation.id)
        ):
            ticket.conversation_id = None
        session.delete(conversation)
    session.flush()
    return PurgeReport(
        messages_deleted=messages_deleted,
        conversations_deleted=len(stale),
        tickets_anonymized=anonymized,
        notes_deleted=notes_deleted,
    )


def purge_conversations(
    session: Session,
    *,
    older_than_days: int,
    salt: str | None = None,
    actor: str = ACTOR_SYSTEM,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Remove text older than `older_than_days` and anonymize tickets finished before then.

    Conversations waiting for or assigned to staff, and those with an active ticket, keep
    everything: staff still need the context. The salt defaults to the settings' one. A
    dry run does the work in a savepoint and rolls it back: the counts are exactly what a
    real run would remove.
    """
    if older_than_days < 1:
        raise ValueError("the retention period is at least one day")
    now = now or utc_now()
    cutoff = now - dt.timedelta(days=older_than_days)
    salt = salt if salt is not None else anonymization_salt(get_settings())
    with session.begin_nested() as savepoint:
        report = _purge(session, cutoff, salt=salt, actor=actor, now=now)
        if dry_run:
            savepoint.rollback()
            logger.info("purge (dry run) would remove: %s", report)
            return replace(report, dry_run=True)
        record_event(
            session,
            actor,
            "retention.purged",
            at=now,
            older_than_days=older_than_days,
            messages_deleted=report.messages_deleted,
            conversations_deleted=report.conversations_deleted,
            tickets_anonymized=report.tickets_anonymized,
            notes_deleted=report.notes_deleted,
        )
    logger.info("purge: %s", report)
    return report
