"""Staff accounts: argon2 hashes, roles, clear refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from helpdesk.errors import StaffAccountError
from helpdesk.models import AuditEvent
from helpdesk.staff import add_staff, deactivate_staff, get_staff, list_staff, verify_password

from .conftest import PASSWORD


def test_a_new_account_keeps_only_an_argon2_hash(
    db_session: Session, audit_actions: Callable[..., list[str]]
) -> None:
    staff = add_staff(
        db_session, "  Lan.Nguyen ", "supervisor", PASSWORD, display_name="Nguyễn Thị Lan"
    )
    assert (staff.username, staff.role, staff.active) == ("lan.nguyen", "supervisor", True)
    assert staff.display_name == "Nguyễn Thị Lan"
    assert staff.password_hash.startswith("$argon2id$")
    assert PASSWORD not in staff.password_hash
    assert verify_password(staff, PASSWORD)
    assert not verify_password(staff, PASSWORD + "x")
    assert get_staff(db_session, "LAN.NGUYEN") is staff
    assert audit_actions() == ["staff.added"]
    event = db_session.query(AuditEvent).one()
    assert event.details == {"staff": "lan.nguyen", "role": "supervisor"}


def test_an_inactive_account_never_matches(db_session: Session) -> None:
    staff = add_staff(db_session, "minh", "staff", PASSWORD)
    staff.active = False
    assert not verify_password(staff, PASSWORD)


def test_a_damaged_hash_does_not_crash_a_login(db_session: Session) -> None:
    staff = add_staff(db_session, "minh", "staff", PASSWORD)
    staff.password_hash = "not-a-hash"
    assert not verify_password(staff, PASSWORD)


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("lan", "boss", PASSWORD, "Vai trò không hợp lệ"),
        ("lan", "staff", "short", "Mật khẩu cần ít nhất 10 ký tự"),
        ("l", "staff", PASSWORD, "Tên đăng nhập không hợp lệ"),
        ("lan nguyen", "staff", PASSWORD, "Tên đăng nhập không hợp lệ"),
        ("lân", "staff", PASSWORD, "Tên đăng nhập không hợp lệ"),
        ("bot", "staff", PASSWORD, "Tên đăng nhập không hợp lệ"),  # means the bot in the audit
        ("system", "admin", PASSWORD, "Tên đăng nhập không hợp lệ"),
    ],
)
def test_bad_accounts_are_refused_clearly(
    db_session: Session, username: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(StaffAccountError, match=message):
        add_staff(db_session, username, role, password)


def test_a_username_is_taken_once(db_session: Session) -> None:
    add_staff(db_session, "lan", "staff", PASSWORD)
    with pytest.raises(StaffAccountError, match="đã có người dùng"):
        add_staff(db_session, "LAN", "admin", PASSWORD)


def test_locking_an_account_keeps_it_listed_and_is_audited_once(
    db_session: Session, audit_actions: Callable[..., list[str]]
) -> None:
    add_staff(db_session, "minh", "staff", PASSWORD)
    add_staff(db_session, "lan", "supervisor", PASSWORD)
    minh = deactivate_staff(db_session, "Minh", actor="lan")
    assert not minh.active and not verify_password(minh, PASSWORD)
    deactivate_staff(db_session, "minh", actor="lan")
    assert [(s.username, s.active) for s in list_staff(db_session)] == [
        ("lan", True),
        ("minh", False),
    ]
    assert audit_actions().count("staff.deactivated") == 1
    event = db_session.query(AuditEvent).filter_by(action="staff.deactivated").one()
    assert (event.actor, event.details) == ("lan", {"staff": "minh", "sessions_revoked": 0})


def test_locking_an_unknown_account_is_refused(db_session: Session) -> None:
    with pytest.raises(StaffAccountError, match="Không có tài khoản nobody."):
        deactivate_staff(db_session, "nobody")
