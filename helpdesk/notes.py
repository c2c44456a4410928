"""Private notes of staff on a ticket: context for colleagues, never shown to the person.

Notes hold personal data like the transcript does: they go when the ticket is anonymized
(deletion on request, retention purge), and the audit log records only that a note was
added, never its text.

Usage:
    note = add_note(session, ticket, "lan.nguyen", "Đã gọi lại lúc 9 giờ, chị ổn hơn.")
    for note in notes_of(session, ticket): ...
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.audit import record_event
from helpdesk.errors import NoteError
from helpdesk.models import Ticket, TicketNote, utc_now

MAX_NOTE_CHARS = 4000


def add_note(
    session: Session, ticket: Ticket, author: str, text: str, *, now: dt.datetime | None = None
) -> TicketNote:
    """Add a note by `author` (a staff username); NoteError for an empty or too long one."""
    text = (text or "").strip()
    if not text:
        raise NoteError("Ghi chú đang để trống.")
    if len(text) > MAX_NOTE_CHARS:
        raise NoteError(f"Ghi chú dài quá {MAX_NOTE_CHARS} ký tự; bạn rút gọn giúp nhé.")
    if ticket.anonymized_at is not None:
        # Its personal data is gone; a note would bring some back.
        raise NoteError(f"Yêu cầu {ticket.code} đã được ẩn danh, không thể thêm ghi chú.")
    now = now or utc_now()
    note = TicketNote(ticket_id=ticket.id, author=author, text=text, created_at=now)
    session.add(note)
    session.flush()
    record_event(session, author, "ticket.note_added", ticket=ticket, at=now, note_id=note.id)
    return note


def notes_of(session: Session, ticket: Ticket) -> list[TicketNote]:
    """The ticket's notes, oldest first."""
    return list(
        session.scalars(
            select(TicketNote)
            .where(TicketNote.ticket_id == ticket.id)
            .order_by(TicketNote.created_at, TicketNote.id)
        )
    )
