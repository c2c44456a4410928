"""Canned replies: the shipped Vietnamese defaults, seeded once, editable, never deleted."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import knowledge.seed
from helpdesk.canned import (
    MAX_TEXT_CHARS,
    add_canned_reply,
    canned_replies,
    parse_default_replies,
    read_default_replies,
    seed_canned_replies,
    update_canned_reply,
)
from helpdesk.errors import CannedReplyError
from helpdesk.models import AuditEvent
from hotline.db import make_engine, make_session_factory
from hotline.settings import Settings

T0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


def test_the_shipped_replies_are_vietnamese_with_the_numbers_staff_need() -> None:
    replies = read_default_replies()
    assert 8 <= len(replies) <= 12
    everything = " ".join(reply.text for reply in replies)
    for number in ("111", "1900 969 680", "113", "115"):
        assert number in everything
    for reply in replies:
        assert unicodedata.is_normalized("NFC", reply.title + reply.text)
        # Written with diacritics, not in the unaccented register people sometimes type.
        assert any(ord(char) > 127 for char in reply.text), reply.title


@pytest.mark.parametrize(
    "document",
    [
        None,
        {"version": 2, "replies": [{"title": "a", "text": "b"}]},
        {"version": 1, "replies": []},
        {"version": 1, "replies": [{"title": "a"}]},
        {"version": 1, "replies": [{"title": "", "text": "b"}]},
        {"version": 1, "replies": [{"title": "a", "text": "b"}, {"title": "a", "text": "c"}]},
        {"version": 1, "replies": [{"title": "a", "text": "x" * (MAX_TEXT_CHARS + 1)}]},
    ],
)
def test_a_broken_defaults_file_is_refused(document: object) -> None:
    with pytest.raises(ValueError):
        parse_default_replies(document)


def test_seeding_fills_an_empty_table_once(
    db_session: Session, audit_actions: Callable[..., list[str]]
) -> None:
    shipped = read_default_replies()
    assert seed_canned_replies(db_session, now=T0) == len(shipped)
    assert seed_canned_replies(db_session, now=T0) == 0
    replies = canned_replies(db_session)
    assert sorted(r.title for r in replies) == sorted(r.title for r in shipped)
    assert {(r.created_by, r.active) for r in replies} == {("system", True)}
    assert audit_actions() == ["canned_reply.seeded"]


def test_a_retired_default_does_not_come_back_on_restart(db_session: Session) -> None:
    seed_canned_replies(db_session)
    first = canned_replies(db_session)[0]
    update_canned_reply(db_session, first.id, actor="ha", active=False)
    assert seed_canned_replies(db_session) == 0
    assert first not in canned_replies(db_session)
    assert first in canned_replies(db_session, include_inactive=True)


def test_replies_are_listed_by_title_as_a_vietnamese_reader_expects(db_session: Session) -> None:
    for title in ("Đề nghị gọi lại", "Xin chờ", "Ấm áp", "Dặn dò", "Bảo mật"):
        add_canned_reply(db_session, title, "Nội dung", actor="ha")
    assert [r.title for r in canned_replies(db_session)] == [
        "Ấm áp",
        "Bảo mật",
        "Dặn dò",
        "Đề nghị gọi lại",
        "Xin chờ",
    ]


def test_supervisors_add_and_edit_replies_and_every_change_is_audited(
    db_session: Session,
) -> None:
    reply = add_canned_reply(db_session, "  Hẹn gọi lại ", " Mình sẽ gọi lại bạn. ", actor="ha")
    assert (reply.title, reply.text, reply.active, reply.created_by) == (
        "Hẹn gọi lại",
        "Mình sẽ gọi lại bạn.",
        True,
        "ha",
    )
    update_canned_reply(
        db_session, reply.id, actor="lan", text="Chiều nay mình gọi lại bạn.", now=T0
    )
    assert (reply.title, reply.text, reply.updated_by, reply.updated_at) == (
        "Hẹn gọi lại",
        "Chiều nay mình gọi lại bạn.",
        "lan",
        T0,
    )
    # Nothing changed: nothing written.
    update_canned_reply(db_session, reply.id, actor="minh", title="Hẹn gọi lại")
    assert reply.updated_by == "lan"
    update_canned_reply(db_session, reply.id, actor="ha", active=False)
    assert canned_replies(db_session) == []

    events = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor, e.details) for e in events] == [
        ("canned_reply.added", "ha", {"reply_id": reply.id}),
        ("canned_reply.updated", "lan", {"reply_id": reply.id, "fields": "text"}),
        ("canned_reply.updated", "ha", {"reply_id": reply.id, "fields": "active"}),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "  "}, "Câu trả lời mẫu cần có tiêu đề."),
        ({"text": ""}, "Câu trả lời mẫu cần có nội dung."),
        ({"title": "x" * 121}, "Tiêu đề dài quá 120 ký tự."),
    ],
)
def test_a_reply_without_title_or_text_is_refused(
    db_session: Session, change: dict[str, str], message: str
) -> None:
    reply = add_canned_reply(db_session, "Chào hỏi", "Chào bạn", actor="ha")
    with pytest.raises(CannedReplyError) as refused:
        update_canned_reply(db_session, reply.id, actor="ha", **change)
    assert str(refused.value) == message
    assert (reply.title, reply.text) == ("Chào hỏi", "Chào bạn")


def test_an_unknown_reply_is_refused(db_session: Session) -> None:
    with pytest.raises(CannedReplyError, match="Không có câu trả lời mẫu số 999."):
        update_canned_reply(db_session, 999, actor="ha", text="x")
    with pytest.raises(CannedReplyError):
        add_canned_reply(db_session, "", "x", actor="ha")


def test_preparing_the_database_on_start_seeds_the_replies_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.run import prepare_database  # here: it pulls in the gateway's modules

    monkeypatch.setattr(knowledge.seed, "ensure_seeded", lambda sessions: None)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'start.db'}")
    prepare_database(settings)
    prepare_database(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            assert len(canned_replies(session)) == len(read_default_replies())
    finally:
        engine.dispose()
