"""`hotline staff ...` and `hotline purge`: staff accounts and the retention purge.

Usage:
    hotline staff add lan.nguyen --role supervisor --name "Nguyễn Thị Lan"
    echo "$PASSWORD" | hotline staff add minh.tran --role staff
    hotline staff list
    hotline staff deactivate minh.tran
    hotline purge                       # text older than RETENTION_DAYS (365 by default)
    hotline purge --older-than 180 --dry-run

The password is read from the terminal without echo (asked twice), or as one line from
stdin when it is piped, never from the command line, where `ps` and the shell history
would show it. A refusal ends with a Vietnamese message on stderr and exit code 1; no
traceback reaches the person at the keyboard. The database is DATABASE_URL.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from helpdesk.errors import HelpdeskError
from helpdesk.models import utc_now
from helpdesk.privacy import anonymization_salt, purge_conversations, sender_keys_with_staff
from helpdesk.staff import add_staff, deactivate_staff, list_staff
from hotline.db import make_engine, make_session_factory
from hotline.rasa_tracker import forget_events_before
from hotline.settings import get_settings

log = logging.getLogger(__name__)

staff_app = typer.Typer(
    help="Tài khoản nhân viên: thêm, xem danh sách, khóa.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

NOT_READY = "Hãy chạy 'hotline db upgrade' để tạo hoặc nâng cấp cơ sở dữ liệu."
ROLE_LABELS = {"staff": "nhân viên", "supervisor": "giám sát", "admin": "quản trị"}


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextmanager
def _transaction() -> Iterator[Session]:
    """One transaction on DATABASE_URL, committed when the block ends without error."""
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine).begin() as session:
            yield session
    except HelpdeskError as error:
        _fail(str(error))
    except SQLAlchemyError as error:
        log.debug("database error", exc_info=True)
        _fail(f"Lỗi cơ sở dữ liệu ({error.__class__.__name__}). {NOT_READY}")
    finally:
        engine.dispose()


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    """The new password: asked twice without echo on a terminal, else one line of stdin."""
    if _stdin_is_terminal():
        password = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            _fail("Hai lần nhập mật khẩu không khớp nhau.")
        return password
    return sys.stdin.readline().rstrip("\r\n")


@staff_app.callback()
def _staff() -> None:
    """Tài khoản nhân viên."""


@staff_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="tên đăng nhập, ví dụ lan.nguyen")],
    role: Annotated[
        str, typer.Option("--role", help="staff (nhân viên), supervisor (giám sát) hoặc admin")
    ] = "staff",
    name: Annotated[str | None, typer.Option("--name", help="họ tên hiển thị")] = None,
) -> None:
    """Thêm tài khoản; mật khẩu đọc từ bàn phím (không hiện) hoặc một dòng stdin."""
    password = _read_password()
    if not password:
        _fail("Chưa nhận được mật khẩu. Nhập mật khẩu, hoặc chuyển nó vào stdin.")
    with _transaction() as session:
        staff = add_staff(session, username, role, password, display_name=name)
        created = (staff.username, staff.display_name, ROLE_LABELS[staff.role])
    typer.echo("Đã thêm tài khoản {} ({}, {}).".format(*created))


@staff_app.command("list")
def list_() -> None:
    """Liệt kê mọi tài khoản, kể cả tài khoản đã khóa."""
    with _transaction() as session:
        rows = [
            (s.username, s.role, "hoạt động" if s.active else "đã khóa", s.display_name)
            for s in list_staff(session)
        ]
    if not rows:
        typer.echo("Chưa có tài khoản nào. Thêm bằng: hotline staff add TÊN --role VAI_TRÒ")
        return
    width = max(len(username) for username, *_ in rows)
    for username, role, state, display_name in rows:
        typer.echo(f"{username:<{width}}  {role:<10}  {state:<9}  {display_name}")


@staff_app.command("deactivate")
def deactivate(
    username: Annotated[str, typer.Argument(help="tên đăng nhập cần khóa")],
) -> None:
    """Khóa tài khoản và đăng xuất mọi phiên đang mở; lịch sử vẫn được giữ."""
    with _transaction() as session:
        staff = deactivate_staff(session, username)
        locked = staff.username
    typer.echo(f"Đã khóa tài khoản {locked}.")


def purge(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            min=1,
            help="số ngày lưu giữ; mặc định RETENTION_DAYS (365)",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="chỉ đếm những gì sẽ bị xóa, không thay đổi gì")
    ] = False,
) -> None:
    """Xóa nội dung trò chuyện đã xử lý xong quá thời hạn lưu giữ; ẩn danh các yêu cầu."""
    settings = get_settings()
    days = older_than or settings.retention_days
    now = utc_now()
    with _transaction() as session:
        report = purge_conversations(
            session,
            older_than_days=days,
            salt=anonymization_salt(settings),
            now=now,
            dry_run=dry_run,
        )
        keep = sender_keys_with_staff(session)
    verb = "Sẽ xóa (chạy thử, chưa thay đổi gì)" if dry_run else "Đã xóa"
    typer.echo(
        f"{verb} dữ liệu cũ hơn {days} ngày: {report.messages_deleted} tin nhắn, "
        f"{report.conversations_deleted} cuộc trò chuyện, {report.notes_deleted} ghi chú; "
        f"{report.tickets_anonymized} yêu cầu được ẩn danh (số liệu thống kê vẫn giữ)."
    )
    if dry_run:
        return
    # Rasa keeps its own copy of every conversation: the same period applies to it.
    cutoff = now - dt.timedelta(days=days)
    events = forget_events_before(settings.rasa_tracker_database, cutoff, keep=keep)
    typer.echo(f"Đã xóa {events} sự kiện cũ trong kho hội thoại của Rasa.")


if __name__ == "__main__":
    staff_app()
