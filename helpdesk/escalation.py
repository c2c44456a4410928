"""Escalation: an urgent ticket nobody claimed in time alerts the supervisors, once.

The gateway runs `escalate_unclaimed` every few seconds with `settings.escalation_minutes`
(2 by default) and, for each escalation it returns, alerts the supervisors in the console
and sends the person the emergency numbers again on their channel. Each ticket is
escalated at most once, even with several gateway processes checking at the same time
(`tickets.try_mark_escalated` is one conditional UPDATE), and each escalation is audited
(`ticket.escalated`). Claimed, high and normal tickets are never escalated.

Usage:
    for escalation in escalate_unclaimed(session, minutes=settings.escalation_minutes):
        alert_supervisors(escalation.code, escalation.waited_seconds)
        resend_emergency_numbers(escalation.conversation_id, escalation.channel)
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from helpdesk.models import utc_now
from helpdesk.tickets import tickets_due_for_escalation, try_mark_escalated

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Escalation:
    """An urgent ticket that waited too long: what the alert and the re-sent numbers need."""

    ticket_id: str
    code: str
    conversation_id: str | None
    channel: str
    topic: str
    waited_seconds: int


def escalate_unclaimed(
    session: Session, *, minutes: float, now: dt.datetime | None = None
) -> list[Escalation]:
    """Escalate every urgent ticket still open `minutes` after it was opened (each once)."""
    now = now or utc_now()
    escalations: list[Escalation] = []
    for ticket in tickets_due_for_escalation(session, minutes=minutes, now=now):
        if not try_mark_escalated(session, ticket, now=now):
            continue
        waited = max(0, int((now - ticket.created_at).total_seconds()))
        escalations.append(
            Escalation(
                ticket_id=ticket.id,
                code=ticket.code,
                conversation_id=ticket.conversation_id,
                channel=ticket.channel,
                topic=ticket.topic,
                waited_seconds=waited,
            )
        )
        logger.warning("urgent ticket %s unclaimed for %d s: escalated", ticket.id, waited)
    return escalations
