"""The staff's work on tickets: one code path for the console and the JSON API.

Each method checks what the caller may do, does the work in one transaction with the
helpdesk functions (which write the audit log), and then tells whoever must know: the
person, on the channel they wrote from (a staff member joined, the staff reply, the
conversation is back with the assistant), and the open consoles (the event hub).

Who may do what (`auth.ROLE_RANK`: staff < supervisor < admin):
- anyone logged in: read the queue, open a ticket (every opening is audited), claim an
  open ticket, add a private note, read the canned replies;
- the ticket's assignee: reply, transfer, resolve; supervisors and admins may do these
  on any ticket, to cover for a colleague, and may assign an unclaimed ticket;
- supervisors and admins: edit the canned replies and read the report.

Usage:
    desk = StaffDesk(store, outbound, hub, texts, settings)
    await desk.claim(principal, "HT-7K2M9Q")
    await desk.reply(principal, "HT-7K2M9Q", "Chào bạn, mình là Lan...")
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from connectors.events import ALL, EventHub
from connectors.outbound import Delivered, Outbound
from connectors.staff.principal import Principal
from connectors.store import Store
from connectors.texts import GatewayTexts
from helpdesk.audit import events_of_ticket, record_event
from helpdesk.canned import add_canned_reply, canned_replies, update_canned_reply
from helpdesk.conversations import transcript
from helpdesk.errors import HelpdeskError, InvalidTransitionError
from helpdesk.models import (
    AuditEvent,
    CannedReply,
    Conversation,
    Message,
    Ticket,
    TicketNote,
    utc_now,
)
from helpdesk.notes import add_note, notes_of
from helpdesk.privacy import anonymization_salt
from helpdesk.queue import QueueEntry, work_queue
from helpdesk.reports import SupervisorReport, supervisor_report
from helpdesk.staff import get_staff
from helpdesk.tickets import (
    OUTCOMES,
    claim_ticket,
    get_ticket_by_code,
    resolve_ticket,
    transfer_ticket,
)
from hotline.settings import Settings
from knowledge.errors import DirectoryError
from knowledge.search import ServiceMatch, search_services

logger = logging.getLogger(__name__)

SERVICES_SHOWN = 3
MAX_REPLY_CHARS = 4000
QUEUE_AUDIT_PERIOD = dt.timedelta(minutes=10)


class DeskError(Exception):
    """A request the desk refuses, with the HTTP status that says why."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def _not_found(code: str) -> DeskError:
    return DeskError(404, f"Không tìm thấy yêu cầu {code}.")


def _forbidden(message: str) -> DeskError:
    return DeskError(403, message)


@dataclass(frozen=True)
class TicketView:
    """Everything the console shows about one ticket."""

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
    outcome: str | None
    callback_phone: str | None
    created_at: dt.datetime
    assigned_at: dt.datetime | None
    resolved_at: dt.datetime | None
    escalated: bool
    handoff_state: str | None
    # The rows themselves: loaded in the unit of work, readable after it (no expiry).
    messages: tuple[Message, ...]
    notes: tuple[TicketNote, ...]
    history: tuple[AuditEvent, ...]
    services: tuple[ServiceMatch, ...]


@dataclass(frozen=True)
class ActionResult:
    """A ticket after a staff action, and the message sent to the person if there was one."""

    code: str
    status: str
    assignee: str | None
    notice: Delivered | None = None


def _ticket(session: Session, code: str) -> Ticket:
    ticket = get_ticket_by_code(session, code)
    if ticket is None:
        raise _not_found(code)
    return ticket


def _require_handler(ticket: Ticket, staff: Principal, doing: str) -> None:
    """Only the assignee, or a supervisor covering for them, acts on an assigned ticket."""
    if staff.is_supervisor or ticket.assignee == staff.username:
        return
    if ticket.assignee is None:
        raise DeskError(409, f"Bạn cần nhận yêu cầu {ticket.code} trước khi {doing}.")
    raise _forbidden(
        f"Yêu cầu {ticket.code} do {ticket.assignee} phụ trách; bạn không thể {doing}."
    )


def _services(session: Session, ticket: Ticket) -> tuple[ServiceMatch, ...]:
    place = ", ".join(p for p in (ticket.commune, ticket.province) if p) or ticket.location_text
    try:
        return tuple(search_services(session, ticket.topic, place, limit=SERVICES_SHOWN))
    except DirectoryError:
        return ()  # a topic without services (e.g. the assistant was down) or an unknown place


def _view(session: Session, ticket: Ticket, viewer: str) -> TicketView:
    conversation = (
        session.get(Conversation, ticket.conversation_id) if ticket.conversation_id else None
    )
    messages = transcript(session, conversation, viewer=viewer) if conversation else []
    return TicketView(
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
        outcome=ticket.outcome,
        callback_phone=ticket.callback_phone,
        created_at=ticket.created_at,
        assigned_at=ticket.assigned_at,
        resolved_at=ticket.resolved_at,
        escalated=ticket.escalated_at is not None,
        handoff_state=conversation.handoff_state if conversation else None,
        messages=tuple(messages),
        notes=tuple(notes_of(session, ticket)),
        history=tuple(events_of_ticket(session, ticket)),
        services=_services(session, ticket),
    )


def _result(ticket: Ticket, notice: Delivered | None = None) -> ActionResult:
    return ActionResult(ticket.code, ticket.status, ticket.assignee, notice)


class StaffDesk:
    """The staff's actions on the queue, shared by the console and the staff API."""

    def __init__(
        self,
        store: Store,
        outbound: Outbound,
        hub: EventHub,
        texts: GatewayTexts,
        settings: Settings,
    ) -> None:
        self._store = store
        self._outbound = outbound
        self._hub = hub
        self._texts = texts
        self._settings = settings
        self._queue_audited: dict[str, dt.datetime] = {}

    async def _run(self, work: Any) -> Any:
        """A unit of work; the helpdesk's refusals become `DeskError`s with a status."""
        try:
            return await self._store.run(work)
        except DeskError:
            raise
        except HelpdeskError as error:
            raise DeskError(_status_of(error), str(error)) from None

    def _announce(self, ticket: ActionResult, change: str, staff: Principal) -> None:
        """Tell the open consoles that a ticket changed, so they refresh the queue."""
        self._hub.publish(
            ALL,
            {
                "type": "ticket",
                "change": change,
                "code": ticket.code,
                "status": ticket.status,
                "assignee": ticket.assignee,
                "by": staff.username,
            },
        )

    # --- reading ----------------------------------------------------------------------

    async def queue(self, staff: Principal, *, mine: bool = False) -> list[QueueEntry]:
        """Active tickets, urgent first, then the longest waiting.

        The queue shows the last messages of each ticket, so reading it is audited; the
        console reads it every few seconds, so once per `QUEUE_AUDIT_PERIOD` per person.
        """
        assignee = staff.username if mine else None
        now = utc_now()
        last = self._queue_audited.get(staff.username)
        audit = last is None or now - last >= QUEUE_AUDIT_PERIOD

        def work(session: Session) -> list[QueueEntry]:
            entries = work_queue(session, assignee=assignee, now=now)
            if audit:
                record_event(session, staff.username, "queue.viewed", at=now, tickets=len(entries))
            return entries

        entries = await self._run(work)
        if audit:
            self._queue_audited[staff.username] = now
        return entries

    async def ticket(self, staff: Principal, code: str) -> TicketView:
        """The ticket with its transcript, notes, history and matched services (audited)."""
        return await self._run(lambda s: _view(s, _ticket(s, code), staff.username))

    # --- acting on a ticket -----------------------------------------------------------

    async def claim(self, staff: Principal, code: str) -> ActionResult:
        """Take an open ticket; the person is told a social worker has joined."""

        def work(session: Session) -> tuple[ActionResult, str | None]:
            ticket = _ticket(session, code)
            member = get_staff(session, staff.username)
            assert member is not None  # the session was just checked
            claim_ticket(session, ticket, member)
            return _result(ticket), ticket.conversation_id

        result, conversation_id = await self._run(work)
        notice = await self._tell(conversation_id, self._texts.staff_joined, staff)
        result = ActionResult(result.code, result.status, result.assignee, notice)
        self._announce(result, "claimed", staff)
        return result

    async def reply(self, staff: Principal, code: str, text: str) -> Delivered:
        """Send the staff member's words to the person, on the person's channel."""
        text = text.strip()
        if not text:
            raise DeskError(422, "Tin nhắn trống: hãy nhập nội dung.")
        if len(text) > MAX_REPLY_CHARS:
            raise DeskError(422, f"Tin nhắn dài quá {MAX_REPLY_CHARS} ký tự.")

        def check(session: Session) -> str:
            ticket = _ticket(session, code)
            _require_handler(ticket, staff, "trả lời")
            if ticket.status != "assigned" or ticket.conversation_id is None:
                raise DeskError(409, f"Yêu cầu {ticket.code} không còn mở để trả lời.")
            return ticket.conversation_id

        conversation_id = await self._run(check)
        return await self._outbound.send_to_person(
            conversation_id, text, author="staff", staff_username=staff.username
        )

    async def note(self, staff: Principal, code: str, text: str) -> TicketNote:
        """A private note on the ticket, for colleagues only."""

        def work(session: Session) -> TicketNote:
            note = add_note(session, _ticket(session, code), staff.username, text)
            session.flush()
            return note

        entry = await self._run(work)
        self._announce(ActionResult(code, "", None), "note", staff)
        return entry

    async def transfer(self, staff: Principal, code: str, to: str) -> ActionResult:
        """Give the ticket to a colleague; the person is told who now answers."""

        def work(session: Session) -> tuple[ActionResult, str | None, str]:
            ticket = _ticket(session, code)
            if ticket.assignee is None and not staff.is_supervisor:
                raise _forbidden("Chỉ giám sát viên mới giao được yêu cầu chưa có người nhận.")
            _require_handler(ticket, staff, "chuyển yêu cầu")
            target = get_staff(session, to)
            if target is None:
                raise DeskError(422, f"Không có nhân viên {to}.")
            transfer_ticket(session, ticket, target, actor=staff.username)
            return _result(ticket), ticket.conversation_id, target.display_name

        result, conversation_id, name = await self._run(work)
        notice = await self._tell(conversation_id, self._texts.staff_joined, None, name=name)
        result = ActionResult(result.code, result.status, result.assignee, notice)
        self._announce(result, "transferred", staff)
        return result

    async def resolve(self, staff: Principal, code: str, outcome: str) -> ActionResult:
        """Close the case with an outcome; the conversation goes back to the assistant."""
        if outcome not in OUTCOMES:
            raise DeskError(422, f"Kết quả không hợp lệ: {outcome}. Chọn: {', '.join(OUTCOMES)}.")

        def work(session: Session) -> tuple[ActionResult, str | None, bool]:
            ticket = _ticket(session, code)
            _require_handler(ticket, staff, "đóng yêu cầu")
            resolve_ticket(session, ticket, outcome, actor=staff.username)
            conversation = (
                session.get(Conversation, ticket.conversation_id)
                if ticket.conversation_id
                else None
            )
            back_to_bot = conversation is not None and conversation.handoff_state == "bot"
            return _result(ticket), ticket.conversation_id, back_to_bot

        result, conversation_id, back_to_bot = await self._run(work)
        notice = None
        if back_to_bot:
            notice = await self._tell(conversation_id, self._texts.returned_to_assistant, None)
        result = ActionResult(result.code, result.status, result.assignee, notice)
        self._announce(result, "resolved", staff)
        return result

    async def _tell(
        self,
        conversation_id: str | None,
        template: str,
        staff: Principal | None,
        *,
        name: str | None = None,
    ) -> Delivered | None:
        """A notice from the service to the person (a system message, in order)."""
        if conversation_id is None:
            return None  # the person deleted their conversation: nobody to tell
        text = template.format(staff_name=name or (staff.display_name if staff else ""))
        try:
            return await self._outbound.send_to_person(conversation_id, text, author="system")
        except Exception:  # the change is done; a lost notice must not undo it
            logger.exception("conversation %s: notice not sent", conversation_id)
            return None

    # --- canned replies and the report ------------------------------------------------

    async def canned(
        self, staff: Principal, *, include_inactive: bool = False
    ) -> list[CannedReply]:
        """The canned replies; supervisors also see the retired ones when they ask."""
        show_all = include_inactive and staff.is_supervisor
        return await self._run(lambda s: canned_replies(s, include_inactive=show_all))

    async def add_canned(self, staff: Principal, title: str, text: str) -> CannedReply:
        _require_supervisor(staff)

        def work(session: Session) -> CannedReply:
            reply = add_canned_reply(session, title, text, actor=staff.username)
            session.flush()
            return reply

        return await self._run(work)

    async def update_canned(
        self,
        staff: Principal,
        reply_id: int,
        *,
        title: str | None = None,
        text: str | None = None,
        active: bool | None = None,
    ) -> CannedReply:
        _require_supervisor(staff)

        def work(session: Session) -> CannedReply:
            reply = update_canned_reply(
                session, reply_id, actor=staff.username, title=title, text=text, active=active
            )
            session.flush()
            return reply

        return await self._run(work)

    async def report(self, staff: Principal, *, days: int = 30) -> SupervisorReport:
        """The supervisor's figures (queue, waiting times, targets, people helped)."""
        _require_supervisor(staff)
        # With the salt, a person's anonymized and later tickets count as one person.
        salt = anonymization_salt(self._settings)
        return await self._run(
            lambda s: supervisor_report(s, days=days, tz=self._settings.timezone, salt=salt)
        )


def _require_supervisor(staff: Principal) -> None:
    if not staff.is_supervisor:
        raise _forbidden("Chỉ giám sát viên hoặc quản trị viên mới làm được việc này.")


def _status_of(error: HelpdeskError) -> int:
    """Conflicts with the ticket's state are 409; everything else is a bad request (422)."""
    if isinstance(error, InvalidTransitionError):
        return 409
    return 422
