"""Tickets: requests for a person, from the bot's first offer to the staff's outcome.

A ticket is `open` when the bot opens it, `assigned` when a staff member claims it,
`resolved` with an outcome, or `closed` without one. Each conversation has at most one
active (open or assigned) ticket: asking again reuses it, a crisis raises its priority.
The conversation's handoff state follows: `waiting` when a handoff is requested,
`assigned` on claim, back to `bot` when the ticket is resolved or closed.

A person can only ever see their own tickets: lookups by code also match the channel and
the sender, and answer the same `None` for a stranger's code as for a code that does not
exist. Every change writes an audit event; functions never commit.

Usage:
    ticket, created = open_or_reuse_ticket(session, conversation, topic="domestic_violence")
    request_handoff(session, conversation, ticket)
    claim_ticket(session, ticket, staff)          # TicketAlreadyClaimedError for the second
    resolve_ticket(session, ticket, "counselled", actor=staff.username)
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.audit import ACTOR_BOT, ACTOR_PERSON, ACTOR_SYSTEM, record_event
from helpdesk.codes import new_ticket_code, normalize_ticket_code
from helpdesk.conversations import set_handoff_state
from helpdesk.errors import (
    InvalidPhoneNumberError,
    InvalidTransitionError,
    StaffAccountError,
    TicketAlreadyClaimedError,
    TicketMismatchError,
    UnknownOutcomeError,
)
from helpdesk.models import (
    ACTIVE_TICKET_STATUSES,
    RISKS,
    Conversation,
    StaffMember,
    Ticket,
    execute_write,
    new_id,
    utc_now,
)

logger = logging.getLogger(__name__)

URGENT_TOPICS_HIGH_PRIORITY = frozenset({"domestic_violence", "child_protection"})
# Topics that say how a ticket came about, not what the person needs help with.
GENERIC_TOPICS = frozenset({"request_human", "assistant_unavailable", "find_service"})
PRIORITY_RANK = {"normal": 0, "high": 1, "urgent": 2}
RISK_RANK = {"none": 0, "elevated": 1, "high": 2}

# What staff record when they resolve or close a ticket; labels are what the console shows.
OUTCOMES: dict[str, str] = {
    "referred": "Đã kết nối tới dịch vụ phù hợp",
    "counselled": "Đã tham vấn, hỗ trợ",
    "information_given": "Đã cung cấp thông tin",
    "emergency_response": "Đã báo lực lượng khẩn cấp",
    "no_contact": "Đóng vì không liên lạc được",
    "duplicate": "Trùng với yêu cầu khác",
    "data_deleted": "Người dùng yêu cầu xóa dữ liệu",
    "other": "Khác",
}
STATUS_LABELS: dict[str, str] = {
    "open": "đang chờ nhân viên nhận",
    "assigned": "đã có nhân viên phụ trách",
    "resolved": "đã xử lý xong",
    "closed": "đã đóng",
}
MAX_LOCATION_CHARS = 255


def priority_for(topic: str | None, risk: str) -> str:
    """`urgent` for risk high; `high` for domestic violence and child protection; else `normal`."""
    if risk not in RISKS:
        raise ValueError(f"unknown risk level: {risk!r}")
    if risk == "high":
        return "urgent"
    if topic in URGENT_TOPICS_HIGH_PRIORITY:
        return "high"
    return "normal"


def _higher(rank: dict[str, int], current: str, proposed: str) -> str:
    return proposed if rank[proposed] > rank[current] else current


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:limit] or None


def active_ticket(session: Session, conversation: Conversation) -> Ticket | None:
    """The conversation's open or assigned ticket, if any (the newest, should there be two)."""
    return session.scalar(
        select(Ticket)
        .where(
            Ticket.conversation_id == conversation.id,
            Ticket.status.in_(ACTIVE_TICKET_STATUSES),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id)
        .limit(1)
    )


def open_ticket(
    session: Session,
    conversation: Conversation,
    *,
    topic: str,
    risk: str = "none",
    location_text: str | None = None,
    province: str | None = None,
    commune: str | None = None,
    actor: str = ACTOR_BOT,
    now: dt.datetime | None = None,
) -> Ticket:
    """A new `open` ticket for the conversation's sender, with a fresh public code."""
    if not topic:
        raise ValueError("a ticket needs a topic (the intent name)")
    now = now or utc_now()
    ticket = Ticket(
        id=new_id(),
        code=new_ticket_code(session),
        conversation_id=conversation.id,
        channel=conversation.channel,
        sender_id=conversation.sender_id,
        topic=topic[:32],
        risk=risk,
        location_text=_clip(location_text, MAX_LOCATION_CHARS),
        province=province,
        commune=commune,
        status="open",
        priority=priority_for(topic, risk),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    record_event(
        session,
        actor,
        "ticket.opened",
        ticket=ticket,
        at=now,
        code=ticket.code,
        topic=ticket.topic,
        risk=ticket.risk,
        priority=ticket.priority,
        channel=ticket.channel,
    )
    logger.info("ticket %s opened (%s, %s)", ticket.id, ticket.topic, ticket.priority)
    return ticket


def _raise_ticket(
    session: Session,
    ticket: Ticket,
    *,
    topic: str,
    risk: str,
    priority: str,
    location_text: str | None,
    province: str | None,
    commune: str | None,
    actor: str,
    now: dt.datetime,
) -> None:
    """Bring a reused ticket up to date: risk and priority only go up; a new place replaces;
    a ticket opened without a help topic ("I want a person") takes the topic named later."""
    changed: list[str] = []
    if ticket.topic in GENERIC_TOPICS and topic not in GENERIC_TOPICS:
        ticket.topic = topic[:32]
        changed.append("topic")
    new_risk = _higher(RISK_RANK, ticket.risk, risk)
    new_priority = _higher(PRIORITY_RANK, ticket.priority, priority)
    previous_priority = ticket.priority
    if new_risk != ticket.risk:
        ticket.risk = new_risk
        changed.append("risk")
    if new_priority != ticket.priority:
        ticket.priority = new_priority
        changed.append("priority")
    if location_text is not None or province is not None:
        ticket.location_text = _clip(location_text, MAX_LOCATION_CHARS)
        ticket.province = province
        ticket.commune = commune
        changed.append("location")
    if not changed:
        return
    ticket.updated_at = now
    if "priority" in changed:
        record_event(
            session,
            actor,
            "ticket.priority_raised",
            ticket=ticket,
            at=now,
            previous=previous_priority,
            priority=ticket.priority,
            risk=ticket.risk,
            fields=",".join(changed),
        )
    else:
        record_event(
            session, actor, "ticket.updated", ticket=ticket, at=now, fields=",".join(changed)
        )


def open_or_reuse_ticket(
    session: Session,
    conversation: Conversation,
    *,
    topic: str,
    risk: str = "none",
    location_text: str | None = None,
    province: str | None = None,
    commune: str | None = None,
    actor: str = ACTOR_BOT,
    now: dt.datetime | None = None,
) -> tuple[Ticket, bool]:
    """The conversation's active ticket (risk, priority and place brought up to date), or a
    new one; the flag says whether it was created."""
    now = now or utc_now()
    # Two messages of one person handled at once must not open two tickets: the second
    # waits on the conversation's row lock on PostgreSQL (on SQLite, a writer whose read
    # went stale fails instead of writing a duplicate).
    session.execute(
        select(Conversation.id).where(Conversation.id == conversation.id).with_for_update()
    )
    current = active_ticket(session, conversation)
    if current is None:
        ticket = open_ticket(
            session,
            conversation,
            topic=topic,
            risk=risk,
            location_text=location_text,
            province=province,
            commune=commune,
            actor=actor,
            now=now,
        )
        return ticket, True
    _raise_ticket(
        session,
        current,
        topic=topic,
        risk=risk,
        priority=priority_for(topic, risk),
        location_text=location_text,
        province=province,
        commune=commune,
        actor=actor,
        now=now,
    )
    return current, False


def open_urgent_ticket(
    session: Session,
    conversation: Conversation,
    *,
    topic: str,
    location_text: str | None = None,
    province: str | None = None,
    commune: str | None = None,
    actor: str = ACTOR_BOT,
    now: dt.datetime | None = None,
) -> tuple[Ticket, bool]:
    """An `urgent`, risk-`high` ticket: the active one raised to urgent, or a new one."""
    return open_or_reuse_ticket(
        session,
        conversation,
        topic=topic,
        risk="high",
        location_text=location_text,
        province=province,
        commune=commune,
        actor=actor,
        now=now,
    )


def _require_active(ticket: Ticket, doing: str) -> None:
    if not ticket.is_active:
        raise InvalidTransitionError(
            f"Không thể {doing}: yêu cầu {ticket.code} {STATUS_LABELS[ticket.status]}.",
            current=ticket.status,
        )


def request_handoff(
    session: Session,
    conversation: Conversation,
    ticket: Ticket,
    *,
    actor: str = ACTOR_BOT,
    now: dt.datetime | None = None,
) -> None:
    """Hand the conversation to staff: `waiting` until someone claims the ticket."""
    if ticket.conversation_id != conversation.id:
        raise TicketMismatchError(f"Yêu cầu {ticket.code} không thuộc cuộc trò chuyện này.")
    _require_active(ticket, "chuyển cho nhân viên")
    state = "assigned" if ticket.status == "assigned" else "waiting"
    set_handoff_state(session, conversation, state, actor=actor, ticket=ticket, now=now)


def _require_active_staff(staff: StaffMember) -> None:
    if not staff.active:
        raise StaffAccountError(f"Tài khoản {staff.username} đã bị khóa.")


def _conversation_of(session: Session, ticket: Ticket) -> Conversation | None:
    if ticket.conversation_id is None:
        return None
    return session.get(Conversation, ticket.conversation_id)


def claim_ticket(
    session: Session, ticket: Ticket, staff: StaffMember, *, now: dt.datetime | None = None
) -> Ticket:
    """Give the open ticket to `staff`; a second claim raises `TicketAlreadyClaimedError`.

    One conditional UPDATE (`… WHERE status = 'open'`) decides: on PostgreSQL a concurrent
    claim waits for the first one's row lock and then finds the ticket no longer open; on
    SQLite writers are serialized. No read-then-write window is left.
    """
    _require_active_staff(staff)
    now = now or utc_now()
    claimed = execute_write(
        session,
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == "open")
        .values(status="assigned", assignee=staff.username, assigned_at=now, updated_at=now)
        .execution_options(synchronize_session=False),
    )
    session.refresh(ticket)
    if claimed != 1:
        if ticket.status == "assigned":
            raise TicketAlreadyClaimedError(ticket.code, ticket.assignee)
        _require_active(ticket, "nhận")
        raise InvalidTransitionError(
            f"Không thể nhận yêu cầu {ticket.code}.", current=ticket.status
        )
    record_event(session, staff.username, "ticket.claimed", ticket=ticket, at=now)
    conversation = _conversation_of(session, ticket)
    if conversation is not None:
        set_handoff_state(
            session, conversation, "assigned", actor=staff.username, ticket=ticket, now=now
        )
    logger.info("ticket %s claimed", ticket.id)
    return ticket


def transfer_ticket(
    session: Session,
    ticket: Ticket,
    to: StaffMember,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> Ticket:
    """Give an open or assigned ticket to another staff member."""
    _require_active(ticket, "chuyển")
    _require_active_staff(to)
    if ticket.assignee == to.username:
        raise InvalidTransitionError(
            f"Yêu cầu {ticket.code} đã do {to.username} phụ trách.", current=ticket.status
        )
    now = now or utc_now()
    previous_status, previous_assignee = ticket.status, ticket.assignee
    moved = execute_write(
        session,
        update(Ticket)
        .where(
            Ticket.id == ticket.id,
            Ticket.status == previous_status,
            Ticket.assignee.is_(None)
            if previous_assignee is None
            else Ticket.assignee == previous_assignee,
        )
        .values(
            status="assigned",
            assignee=to.username,
            assigned_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False),
    )
    session.refresh(ticket)
    if moved != 1:
        # Someone else claimed, transferred or closed it in the meantime.
        raise InvalidTransitionError(
            f"Yêu cầu {ticket.code} vừa được người khác thay đổi; vui lòng tải lại.",
            current=ticket.status,
        )
    record_event(
        session,
        actor,
        "ticket.transferred",
        ticket=ticket,
        at=now,
        previous_assignee=previous_assignee,
        assignee=to.username,
    )
    conversation = _conversation_of(session, ticket)
    if conversation is not None:
        set_handoff_state(session, conversation, "assigned", actor=actor, ticket=ticket, now=now)
    return ticket


def _finish(
    session: Session,
    ticket: Ticket,
    *,
    status: str,
    outcome: str | None,
    actor: str,
    now: dt.datetime,
) -> Ticket:
    if outcome is not None and outcome not in OUTCOMES:
        raise UnknownOutcomeError(
            f"Kết quả không hợp lệ: {outcome}. Chọn một trong: {', '.join(OUTCOMES)}."
        )
    ticket.status = status
    ticket.outcome = outcome
    ticket.resolved_at = now
    ticket.updated_at = now
    session.flush()
    record_event(session, actor, f"ticket.{status}", ticket=ticket, at=now, outcome=outcome)
    conversation = _conversation_of(session, ticket)
    if conversation is not None and active_ticket(session, conversation) is None:
        set_handoff_state(session, conversation, "bot", actor=actor, ticket=ticket, now=now)
    logger.info("ticket %s %s", ticket.id, status)
    return ticket


def resolve_ticket(
    session: Session,
    ticket: Ticket,
    outcome: str,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> Ticket:
    """Mark an assigned ticket `resolved` with an outcome; the conversation returns to the bot."""
    if ticket.status != "assigned":
        raise InvalidTransitionError(
            f"Chỉ yêu cầu đang có người phụ trách mới được đánh dấu đã xử lý; "
            f"yêu cầu {ticket.code} {STATUS_LABELS[ticket.status]}.",
            current=ticket.status,
        )
    return _finish(
        session, ticket, status="resolved", outcome=outcome, actor=actor, now=now or utc_now()
    )


def close_ticket(
    session: Session,
    ticket: Ticket,
    *,
    actor: str,
    outcome: str | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Close an open or assigned ticket without resolving it (spam, duplicate, no contact)."""
    _require_active(ticket, "đóng")
    return _finish(
        session, ticket, status="closed", outcome=outcome, actor=actor, now=now or utc_now()
    )


def get_ticket_by_code(session: Session, code: str) -> Ticket | None:
    """The ticket with this code, for staff; persons go through `find_ticket_for_sender`."""
    normalized = normalize_ticket_code(code)
    if normalized is None:
        return None
    return session.scalar(select(Ticket).where(Ticket.code == normalized))


def tickets_of_sender(session: Session, channel: str, sender_id: str) -> list[Ticket]:
    """The sender's own tickets on this channel, newest first."""
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.channel == channel, Ticket.sender_id == str(sender_id))
            .order_by(Ticket.created_at.desc(), Ticket.id)
        )
    )


def find_ticket_for_sender(
    session: Session, code: str | None, channel: str, sender_id: str
) -> Ticket | None:
    """The ticket with this code if it is the sender's own; None for anyone else's code.

    A stranger's code and a code that does not exist give the same answer, so trying codes
    tells nothing.
    """
    normalized = normalize_ticket_code(code)
    if normalized is None:
        return None
    return session.scalar(
        select(Ticket).where(
            Ticket.code == normalized,
            Ticket.channel == channel,
            Ticket.sender_id == str(sender_id),
        )
    )


_PHONE_NOISE = re.compile(r"[\s.\-()\u00a0]")
_MOBILE = re.compile(r"[35789][0-9]{8}")
_LANDLINE = re.compile(r"2[0-9]{9}")


def validate_vietnamese_phone(text: str | None) -> str | None:
    """A Vietnamese number in its national `0…` form, or None.

    Accepts `0`, `84` and `+84` prefixes with spaces, dots, dashes or brackets: mobile
    numbers are 10 digits starting 03/05/07/08/09, landlines 11 digits starting 02.
    Short codes (111, 113) and 1800/1900 lines are not numbers anyone can be called back on.
    """
    if not text or len(text) > 40:
        return None
    compact = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", text))
    if compact.startswith("+"):
        if not compact.startswith("+84"):
            return None
        national = compact[3:]
    elif compact.startswith("0"):
        national = compact[1:]
    elif compact.startswith("84"):
        national = compact[2:]
    else:
        return None
    if compact[0] != "0" and national.startswith("0"):
        national = national[1:]  # "+84 (0) 912…", as people often write it
    if _MOBILE.fullmatch(national) or _LANDLINE.fullmatch(national):
        return "0" + national
    return None


_PHONE_CANDIDATE = re.compile(r"(?<![\d+])(?:\+\s?84|84|0)[\d\s.\-()\u00a0]{8,16}\d(?!\d)")


def find_vietnamese_phone(text: str | None) -> str | None:
    """The first callable Vietnamese number written anywhere in `text` (`0…` form)."""
    for candidate in _PHONE_CANDIDATE.findall(unicodedata.normalize("NFKC", text or "")[:2000]):
        phone = validate_vietnamese_phone(candidate)
        if phone is not None:
            return phone
    return None


def set_callback_phone(
    session: Session,
    ticket: Ticket,
    phone: str,
    *,
    actor: str = ACTOR_PERSON,
    now: dt.datetime | None = None,
) -> str:
    """Store the number the person agreed to be called back on; returns its `0…` form.

    Call only after the person consented; the audit records that a number was given,
    never the number.
    """
    normalized = validate_vietnamese_phone(phone)
    if normalized is None:
        raise InvalidPhoneNumberError(
            "Số điện thoại chưa đúng. Bạn nhập số di động 10 chữ số (ví dụ 0912 345 678) "
            "hoặc số cố định có mã vùng nhé."
        )
    _require_active(ticket, "lưu số gọi lại")
    now = now or utc_now()
    ticket.callback_phone = normalized
    ticket.updated_at = now
    record_event(session, actor, "ticket.callback_phone_set", ticket=ticket, at=now)
    return normalized


def set_ticket_location(
    session: Session,
    ticket: Ticket,
    *,
    location_text: str | None,
    province: str | None,
    commune: str | None = None,
    actor: str = ACTOR_PERSON,
    now: dt.datetime | None = None,
) -> Ticket:
    """Replace the ticket's place with what the person just said (and what it resolved to)."""
    _require_active(ticket, "cập nhật nơi ở")
    ticket.location_text = _clip(location_text, MAX_LOCATION_CHARS)
    ticket.province = province
    ticket.commune = commune
    now = now or utc_now()
    ticket.updated_at = now
    record_event(session, actor, "ticket.updated", ticket=ticket, at=now, fields="location")
    return ticket


def tickets_due_for_escalation(
    session: Session, *, minutes: float, now: dt.datetime | None = None
) -> list[Ticket]:
    """Urgent tickets still open `minutes` after they were opened and not yet escalated."""
    now = now or utc_now()
    deadline = now - dt.timedelta(minutes=minutes)
    return list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.status == "open",
                Ticket.priority == "urgent",
                Ticket.escalated_at.is_(None),
                Ticket.created_at <= deadline,
            )
            .order_by(Ticket.created_at, Ticket.id)
        )
    )


def mark_escalated(
    session: Session,
    ticket: Ticket,
    *,
    actor: str = ACTOR_SYSTEM,
    now: dt.datetime | None = None,
) -> Ticket:
    """Record that the supervisors were alerted about this unclaimed urgent ticket."""
    try_mark_escalated(session, ticket, actor=actor, now=now)
    return ticket


def try_mark_escalated(
    session: Session,
    ticket: Ticket,
    *,
    actor: str = ACTOR_SYSTEM,
    now: dt.datetime | None = None,
) -> bool:
    """Mark a still-open ticket escalated, once; False when it was claimed or escalated
    in the meantime (the escalation check of another process got there first)."""
    now = now or utc_now()
    marked = execute_write(
        session,
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == "open", Ticket.escalated_at.is_(None))
        .values(escalated_at=now, updated_at=now)
        .execution_options(synchronize_session=False),
    )
    session.refresh(ticket)
    if marked != 1:
        return False
    record_event(session, actor, "ticket.escalated", ticket=ticket, at=now)
    return True
