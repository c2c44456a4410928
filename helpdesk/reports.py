"""The supervisor's figures: the queue now, and what the last `days` days brought.

- **Queue now**: open and assigned tickets, and how long the open ones have waited (mean
  and longest), in all and by risk and by topic.
- **Tickets per day**: tickets opened on each local date (Asia/Ho_Chi_Minh by default) of
  the window, every day present.
- **Handled within target**: by priority, the share of the window's tickets that a staff
  member took (claim or transfer, from the audit log: `assigned_at` moves on transfer)
  within the priority's target — by default urgent 2 minutes, high 30, normal 4 hours.
  Tickets whose target has not passed yet, and tickets closed unclaimed before it did
  (the person deleted their data, a duplicate), are not counted either way.
- **People helped**, by topic and by province: distinct people (channel and sender) with a
  ticket of the window resolved as referred, counselled, information given or emergency
  response. Anonymized tickets carry a salted hash instead of the sender id, still one per
  person; pass the deployment's `salt` to also match them with the same person's newer,
  not yet anonymized tickets.
- **The programme indicators** the provincial programmes report against:
  `share_counselled` — of the people with a ticket in the window, the share who were
  counselled or referred; `children_supported` — people whose child-protection or school
  counselling ticket was resolved as helped.

"The window" is the tickets opened from local midnight `days - 1` days ago until `now`.
Everything is a count or a duration: no text, no sender ids. The report is frozen
dataclasses of plain values; `dataclasses.asdict(report)` goes straight to JSON.

Usage:
    report = supervisor_report(session, days=30, tz=settings.timezone)
    json.dumps(dataclasses.asdict(report), ensure_ascii=False)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.models import ACTIVE_TICKET_STATUSES, PRIORITIES, AuditEvent, Ticket, utc_now
from helpdesk.privacy import ANONYMOUS_PREFIX, anonymous_sender_id

# Outcomes that mean the person got help (not: no contact, duplicate, data deleted, other).
HELPED_OUTCOMES = frozenset({"referred", "counselled", "information_given", "emergency_response"})
COUNSELLED_OUTCOMES = frozenset({"counselled", "referred"})
# The intents (shared/INTENTS.md) of "children in special circumstances".
CHILD_TOPICS = frozenset({"child_protection", "school_counseling"})
DEFAULT_TARGETS: Mapping[str, dt.timedelta] = {
    "urgent": dt.timedelta(minutes=2),
    "high": dt.timedelta(minutes=30),
    "normal": dt.timedelta(hours=4),
}
RISK_ORDER = ("high", "elevated", "none")
CLAIM_ACTIONS = ("ticket.claimed", "ticket.transferred")
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class QueueGroup:
    """The queue of one risk level or one topic."""

    group: str
    open: int
    assigned: int
    mean_waiting_seconds: int
    max_waiting_seconds: int


@dataclass(frozen=True)
class QueueFigures:
    """The queue now; waiting times are those of the open (unclaimed) tickets."""

    open: int
    assigned: int
    mean_waiting_seconds: int
    max_waiting_seconds: int
    by_risk: tuple[QueueGroup, ...]
    by_topic: tuple[QueueGroup, ...]


@dataclass(frozen=True)
class DayCount:
    """Tickets opened on one local date (ISO `YYYY-MM-DD`)."""

    date: str
    tickets: int


@dataclass(frozen=True)
class TargetFigures:
    """How many of one priority's tickets were taken by staff within the target."""

    priority: str
    target_seconds: int
    tickets: int
    within_target: int
    share: float | None


@dataclass(frozen=True)
class TopicPeople:
    """Distinct people helped on one topic."""

    topic: str
    people: int


@dataclass(frozen=True)
class ProvincePeople:
    """Distinct people helped in one province (None: the place is not known)."""

    province: str | None
    people: int


@dataclass(frozen=True)
class SupervisorReport:
    """Everything the supervisor view shows; times as ISO strings."""

    generated_at: str
    timezone: str
    days: int
    first_day: str
    last_day: str
    queue: QueueFigures
    tickets_per_day: tuple[DayCount, ...]
    handled_within_target: tuple[TargetFigures, ...]
    people_with_tickets: int
    people_helped: int
    people_helped_by_topic: tuple[TopicPeople, ...]
    people_helped_by_province: tuple[ProvincePeople, ...]
    people_counselled: int
    share_counselled: float | None
    children_supported: int


def _seconds(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds()))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _queue_group(group: str, tickets: list[Ticket], now: dt.datetime) -> QueueGroup:
    waits = [_seconds(now - t.created_at) for t in tickets if t.status == "open"]
    return QueueGroup(
        group=group,
        open=len(waits),
        assigned=sum(t.status == "assigned" for t in tickets),
        mean_waiting_seconds=round(fmean(waits)) if waits else 0,
        max_waiting_seconds=max(waits, default=0),
    )


def queue_figures(session: Session, *, now: dt.datetime) -> QueueFigures:
    """The active tickets counted, in all, by risk (every level) and by topic (busiest first)."""
    active = list(session.scalars(select(Ticket).where(Ticket.status.in_(ACTIVE_TICKET_STATUSES))))
    total = _queue_group("", active, now)
    by_topic: dict[str, list[Ticket]] = defaultdict(list)
    for ticket in active:
        by_topic[ticket.topic].append(ticket)
    topics = sorted(by_topic, key=lambda topic: (-len(by_topic[topic]), topic))
    return QueueFigures(
        open=total.open,
        assigned=total.assigned,
        mean_waiting_seconds=total.mean_waiting_seconds,
        max_waiting_seconds=total.max_waiting_seconds,
        by_risk=tuple(
            _queue_group(risk, [t for t in active if t.risk == risk], now) for risk in RISK_ORDER
        ),
        by_topic=tuple(_queue_group(topic, by_topic[topic], now) for topic in topics),
    )


def _window_tickets(session: Session, start: dt.datetime, now: dt.datetime) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.created_at >= start, Ticket.created_at <= now)
            .order_by(Ticket.created_at, Ticket.id)
        )
    )


def _first_claims(session: Session, start: dt.datetime, now: dt.datetime) -> dict[str, dt.datetime]:
    """When a staff member first took each ticket of the window."""
    rows = session.execute(
        select(AuditEvent.ticket_id, func.min(AuditEvent.at))
        .join(Ticket, Ticket.id == AuditEvent.ticket_id)
        .where(
            AuditEvent.action.in_(CLAIM_ACTIONS),
            Ticket.created_at >= start,
            Ticket.created_at <= now,
        )
        .group_by(AuditEvent.ticket_id)
    )
    return {ticket_id: at for ticket_id, at in rows if ticket_id is not None}


def _taken_in_time(
    ticket: Ticket, first_claim: dt.datetime | None, target: dt.timedelta, now: dt.datetime
) -> bool | None:
    """True or False once it can be told; None while the target has not passed, or when
    the ticket was closed unclaimed before it did."""
    deadline = ticket.created_at + target
    if first_claim is not None:
        return first_claim <= deadline
    ended = ticket.resolved_at or now
    return None if ended <= deadline else False


def within_target(
    tickets: list[Ticket],
    first_claims: Mapping[str, dt.datetime],
    targets: Mapping[str, dt.timedelta],
    now: dt.datetime,
) -> tuple[TargetFigures, ...]:
    """The handled-within-target figures of each priority, urgent first."""
    figures = []
    for priority in PRIORITIES:
        verdicts = [
            _taken_in_time(t, first_claims.get(t.id) or t.assigned_at, targets[priority], now)
            for t in tickets
            if t.priority == priority
        ]
        counted = [verdict for verdict in verdicts if verdict is not None]
        figures.append(
            TargetFigures(
                priority=priority,
                target_seconds=_seconds(targets[priority]),
                tickets=len(counted),
                within_target=sum(counted),
                share=_share(sum(counted), len(counted)),
            )
        )
    return tuple(figures)


def _person(ticket: Ticket, salt: str | None) -> tuple[str, str]:
    """Who the ticket is for, as a key that stays the same after anonymization (with salt)."""
    if salt is None or ticket.sender_id.startswith(ANONYMOUS_PREFIX):
        return ticket.channel, ticket.sender_id
    return ticket.channel, anonymous_sender_id(ticket.channel, ticket.sender_id, salt)


def _helped(ticket: Ticket, outcomes: frozenset[str] = HELPED_OUTCOMES) -> bool:
    return ticket.status == "resolved" and ticket.outcome in outcomes


def _people_by(
    tickets: Iterable[Ticket], group: Callable[[Ticket], str | None], salt: str | None
) -> list[tuple[Any, int]]:
    """Distinct people per group, the largest group first, unknown (None) last."""
    people: dict[str | None, set[tuple[str, str]]] = defaultdict(set)
    for ticket in tickets:
        people[group(ticket)].add(_person(ticket, salt))
    return sorted(
        ((key, len(found)) for key, found in people.items()),
        key=lambda item: (-item[1], item[0] is None, item[0] or ""),
    )


def _local_days(
    tickets: list[Ticket], first_day: dt.date, last_day: dt.date, zone: ZoneInfo
) -> tuple[DayCount, ...]:
    counts = Counter(t.created_at.astimezone(zone).date() for t in tickets)
    span = (last_day - first_day).days + 1
    days = (first_day + dt.timedelta(days=offset) for offset in range(span))
    return tuple(DayCount(date=day.isoformat(), tickets=counts[day]) for day in days)


def _targets(overrides: Mapping[str, dt.timedelta] | None) -> dict[str, dt.timedelta]:
    targets = dict(DEFAULT_TARGETS)
    for priority, target in (overrides or {}).items():
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority for a target: {priority!r}")
        targets[priority] = target
    return targets


def supervisor_report(
    session: Session,
    *,
    now: dt.datetime | None = None,
    days: int = 30,
    targets: Mapping[str, dt.timedelta] | None = None,
    tz: str = DEFAULT_TIMEZONE,
    salt: str | None = None,
) -> SupervisorReport:
    """The supervisor's figures for the last `days` local days (today included)."""
    if days < 1:
        raise ValueError("a report covers at least one day")
    now = now or utc_now()
    zone = ZoneInfo(tz)
    last_day = now.astimezone(zone).date()
    first_day = last_day - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)

    tickets = _window_tickets(session, start, now)
    helped = [t for t in tickets if _helped(t)]
    counselled = {_person(t, salt) for t in tickets if _helped(t, COUNSELLED_OUTCOMES)}
    everyone = {_person(t, salt) for t in tickets}
    return SupervisorReport(
        generated_at=now.isoformat(),
        timezone=tz,
        days=days,
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        queue=queue_figures(session, now=now),
        tickets_per_day=_local_days(tickets, first_day, last_day, zone),
        handled_within_target=within_target(
            tickets, _first_claims(session, start, now), _targets(targets), now
        ),
        people_with_tickets=len(everyone),
        people_helped=len({_person(t, salt) for t in helped}),
        people_helped_by_topic=tuple(
            TopicPeople(topic=topic, people=people)
            for topic, people in _people_by(helped, lambda t: t.topic, salt)
        ),
        people_helped_by_province=tuple(
            ProvincePeople(province=province, people=people)
            for province, people in _people_by(helped, lambda t: t.province, salt)
        ),
        people_counselled=len(counselled),
        share_counselled=_share(len(counselled), len(everyone)),
        children_supported=len({_person(t, salt) for t in helped if t.topic in CHILD_TOPICS}),
    )
