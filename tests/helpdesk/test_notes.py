"""Private notes on a ticket: kept in order, refused when empty or too long, audited blind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import NoteError
from helpdesk.models import AuditEvent, Conversation
from helpdesk.notes import MAX_NOTE_CHARS, add_note, notes_of
from helpdesk.privacy import delete_person_data
from helpdesk.tickets import open_ticket

Person = Callable[..., Conversation]
T0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
SECRET = "Chị Hoa ở xóm 3, chồng hay say rượu"


def test_notes_are_kept_in_order_and_audited_without_their_text(
    db_session: Session, person: Person
) -> None:
    ticket = open_ticket(db_session, person(), topic="domestic_violence", now=T0)
    first = add_note(db_session, ticket, "lan", f"  {SECRET}  ", now=T0)
    second = add_note(db_session, ticket, "minh", "Đã gọi lại.", now=T0 + dt.timedelta(minutes=1))

    assert notes_of(db_session, ticket) == [first, second]
    assert (first.text, first.author, first.created_at) == (SECRET, "lan", T0)
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "ticket.note_added").order_by(AuditEvent.id)
    ).first()
    assert event is not None
    assert (event.actor, event.ticket_id, event.details) == (
        "lan",
        ticket.id,
        {"note_id": first.id},
    )
    everything = " ".join(str(e.details) for e in db_session.scalars(select(AuditEvent)))
    assert "Hoa" not in everything and "say rượu" not in everything


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Ghi chú đang để trống."),
        ("   \n ", "Ghi chú đang để trống."),
        ("x" * (MAX_NOTE_CHARS + 1), "Ghi chú dài quá 4000 ký tự; bạn rút gọn giúp nhé."),
    ],
)
def test_empty_and_overlong_notes_are_refused(
    db_session: Session, person: Person, text: str, message: str
) -> None:
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    with pytest.raises(NoteError) as refused:
        add_note(db_session, ticket, "lan", text)
    assert str(refused.value) == message and refused.value.code == "invalid_note"
    assert notes_of(db_session, ticket) == []


def test_a_note_of_exactly_the_limit_is_kept(db_session: Session, person: Person) -> None:
    ticket = open_ticket(db_session, person(), topic="legal_aid")
    assert len(add_note(db_session, ticket, "lan", "x" * MAX_NOTE_CHARS).text) == MAX_NOTE_CHARS


def test_deleting_a_persons_data_removes_the_notes_and_refuses_new_ones(
    db_session: Session, person: Person
) -> None:
    ticket = open_ticket(db_session, person("zalo", "z-1"), topic="legal_aid")
    add_note(db_session, ticket, "lan", SECRET)
    report = delete_person_data(db_session, "zalo", "z-1", salt="s")
    assert report.notes_deleted == 1
    assert notes_of(db_session, ticket) == []
    with pytest.raises(NoteError, match="đã được ẩn danh"):
        add_note(db_session, ticket, "lan", "ghi chú mới")
