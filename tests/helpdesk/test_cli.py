"""`hotline staff ...` and `hotline purge` as an operator uses them, on an SQLite file
migrated with Alembic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import helpdesk.cli
from helpdesk.conversations import get_or_create_conversation, record_inbound
from helpdesk.models import Message, Ticket
from helpdesk.staff import add_staff, get_staff, verify_password
from helpdesk.tickets import claim_ticket, open_ticket, resolve_ticket
from hotline.cli import app
from hotline.db import make_engine, make_session_factory, upgrade_database
from hotline.rasa_tracker import EVENTS
from hotline.settings import get_settings

from .conftest import PASSWORD

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL of a freshly migrated SQLite file, for this test only."""
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    upgrade_database(url)
    monkeypatch.setenv("DATABASE_URL", url)
    # Never the developer's own var/rasa-tracker.db.
    monkeypatch.setenv("RASA_TRACKER_URL", f"sqlite:///{tmp_path / 'rasa-tracker.db'}")
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    """A session on the same file, to prepare data and look at what the command did."""
    engine = make_engine(database)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def _add(username: str, *options: str, password: str = PASSWORD) -> object:
    return runner.invoke(app, ["staff", "add", username, *options], input=f"{password}\n")


def test_adding_an_account_reads_the_password_from_stdin(database: str, session: Session) -> None:
    result = _add("Lan.Nguyen", "--role", "supervisor", "--name", "Nguyễn Thị Lan")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Đã thêm tài khoản lan.nguyen (Nguyễn Thị Lan, giám sát).\n"
    staff = get_staff(session, "lan.nguyen")
    assert staff is not None and staff.role == "supervisor"
    assert verify_password(staff, PASSWORD)
    assert PASSWORD not in result.output


def test_the_role_defaults_to_staff(database: str, session: Session) -> None:
    assert _add("minh").exit_code == 0
    staff = get_staff(session, "minh")
    assert staff is not None and (staff.role, staff.display_name) == ("staff", "minh")


@pytest.mark.parametrize(
    ("arguments", "password", "message"),
    [
        (["lan", "--role", "boss"], PASSWORD, "Vai trò không hợp lệ: 'boss'."),
        (["lan"], "ngắn", "Mật khẩu cần ít nhất 10 ký tự."),
        (["lan"], "", "Chưa nhận được mật khẩu."),
        (["lân"], PASSWORD, "Tên đăng nhập không hợp lệ"),
    ],
)
def test_bad_accounts_are_refused_in_vietnamese(
    database: str, session: Session, arguments: list[str], password: str, message: str
) -> None:
    result = _add(*arguments, password=password)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert get_staff(session, "lan") is None


def test_a_username_is_taken_once(database: str) -> None:
    assert _add("lan").exit_code == 0
    again = _add("LAN")
    assert again.exit_code == 1
    assert "Tên đăng nhập lan đã có người dùng." in again.stderr


def test_on_a_terminal_the_password_is_asked_twice_without_echo(
    database: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(helpdesk.cli, "_stdin_is_terminal", lambda: True)
    monkeypatch.setattr(helpdesk.cli.getpass, "getpass", lambda prompt: next(answers))
    result = runner.invoke(app, ["staff", "add", "lan"])
    assert result.exit_code == 1
    assert "Hai lần nhập mật khẩu không khớp nhau." in result.stderr
    assert get_staff(session, "lan") is None


def test_listing_and_locking_accounts(database: str) -> None:
    _add("lan.nguyen", "--role", "supervisor", "--name", "Nguyễn Thị Lan")
    _add("minh")
    locked = runner.invoke(app, ["staff", "deactivate", "minh"])
    assert locked.exit_code == 0 and locked.stdout == "Đã khóa tài khoản minh.\n"

    listed = runner.invoke(app, ["staff", "list"])
    assert listed.exit_code == 0
    assert listed.stdout.splitlines() == [
        "lan.nguyen  supervisor  hoạt động  Nguyễn Thị Lan",
        "minh        staff       đã khóa    minh",
    ]
    unknown = runner.invoke(app, ["staff", "deactivate", "nobody"])
    assert unknown.exit_code == 1 and "Không có tài khoản nobody." in unknown.stderr


def test_an_empty_list_says_how_to_add(database: str) -> None:
    result = runner.invoke(app, ["staff", "list"])
    assert result.exit_code == 0 and "hotline staff add" in result.stdout


def test_an_unmigrated_database_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["staff", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "hotline db upgrade" in result.stderr and "Traceback" not in result.output


def _old_resolved_conversation(session: Session, sender: str, days_ago: int) -> None:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    conversation = get_or_create_conversation(session, "web", sender, now=at)
    record_inbound(session, conversation, "em cần giúp đỡ", f"{sender}-1", now=at)
    ticket = open_ticket(session, conversation, topic="legal_aid", now=at)
    staff = get_staff(session, "lan") or add_staff(session, "lan", "staff", PASSWORD)
    claim_ticket(session, ticket, staff, now=at)
    resolve_ticket(session, ticket, "information_given", actor="lan", now=at)
    session.commit()


def _messages(session: Session) -> int:
    # Ends its transaction: on SQLite every transaction holds the write lock the command needs.
    with session.begin():
        return session.scalar(select(func.count()).select_from(Message)) or 0


def test_purge_previews_then_removes_text_past_the_retention_period(
    database: str, session: Session
) -> None:
    _old_resolved_conversation(session, "old", days_ago=400)
    _old_resolved_conversation(session, "recent", days_ago=10)

    preview = runner.invoke(app, ["purge", "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert preview.stdout == (
        "Sẽ xóa (chạy thử, chưa thay đổi gì) dữ liệu cũ hơn 365 ngày: 1 tin nhắn, "
        "1 cuộc trò chuyện, 0 ghi chú; 1 yêu cầu được ẩn danh (số liệu thống kê vẫn giữ).\n"
    )
    assert _messages(session) == 2

    done = runner.invoke(app, ["purge"])
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("Đã xóa dữ liệu cũ hơn 365 ngày: 1 tin nhắn, 1 cuộc trò chuyện")
    assert _messages(session) == 1
    tickets = session.scalars(select(Ticket).order_by(Ticket.created_at)).all()
    assert [t.sender_id.startswith("anon:") for t in tickets] == [True, False]
    assert {t.topic for t in tickets} == {"legal_aid"}


def test_purge_takes_the_period_from_the_option_or_the_settings(
    database: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _old_resolved_conversation(session, "recent", days_ago=10)
    assert "0 tin nhắn" in runner.invoke(app, ["purge", "--dry-run"]).stdout
    assert "1 tin nhắn" in runner.invoke(app, ["purge", "--older-than", "5", "--dry-run"]).stdout
    monkeypatch.setenv("RETENTION_DAYS", "7")
    get_settings.cache_clear()
    result = runner.invoke(app, ["purge", "--dry-run"])
    assert "cũ hơn 7 ngày: 1 tin nhắn" in result.stdout
    assert runner.invoke(app, ["purge", "--older-than", "0"]).exit_code != 0


def _rasa_events(url: str, rows: list[tuple[str, dt.datetime]]) -> None:
    """Rasa's tracker store as Rasa 3.6 lays it out, with events of these ages."""
    engine = create_engine(url)
    EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(EVENTS), [{"sender_id": key, "timestamp": at.timestamp()} for key, at in rows]
        )
    engine.dispose()


def _rasa_senders(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        senders = connection.execute(select(EVENTS.c.sender_id).order_by(EVENTS.c.id)).scalars()
        found = list(senders)
    engine.dispose()
    return found


def test_purge_also_removes_rasas_old_copy_but_not_of_conversations_with_staff(
    database: str, session: Session, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    old, recent = now - dt.timedelta(days=400), now - dt.timedelta(days=3)
    waiting = get_or_create_conversation(session, "telegram", "42", now=old)
    waiting.handoff_state = "waiting"
    session.commit()
    tracker = f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
    _rasa_events(tracker, [("web:old", old), ("web:old", recent), ("telegram:42", old)])

    assert "sự kiện" not in runner.invoke(app, ["purge", "--dry-run"]).stdout
    assert _rasa_senders(tracker) == ["web:old", "web:old", "telegram:42"]
    done = runner.invoke(app, ["purge"])

    assert done.exit_code == 0, done.output
    assert "Đã xóa 1 sự kiện cũ trong kho hội thoại của Rasa." in done.stdout
    assert _rasa_senders(tracker) == ["web:old", "telegram:42"]
