"""Staff logins: the right password opens a session, nothing else does, sessions end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

import helpdesk.staff
from helpdesk.errors import StaffAccountError
from helpdesk.models import AuditEvent, StaffMember, StaffSession
from helpdesk.sessions import (
    SESSION_TTL,
    authenticate,
    end_session,
    hash_token,
    staff_for_token,
    start_session,
)
from helpdesk.staff import deactivate_staff

from .conftest import PASSWORD

Staff = Callable[..., StaffMember]
T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)


def _failed_logins(session: Session) -> list[dict[str, object]]:
    return [
        event.details
        for event in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "staff.login_failed")
            .order_by(AuditEvent.id)
        )
    ]


def test_the_right_password_logs_in_and_the_token_finds_the_staff_member(
    db_session: Session, staff_member: Staff, audit_actions: Callable[..., list[str]]
) -> None:
    lan = staff_member("lan.nguyen")
    assert authenticate(db_session, " Lan.Nguyen ", PASSWORD, now=T0) is lan
    token, login = start_session(db_session, lan, now=T0)

    assert staff_for_token(db_session, token, now=T0 + dt.timedelta(hours=1)) == (lan, login)
    assert login.expires_at == T0 + SESSION_TTL
    assert len(login.csrf_token) >= 40 and login.csrf_token != token
    # Only the token's hash is stored.
    stored = db_session.scalars(select(StaffSession.token_hash)).all()
    assert stored == [hash_token(token)] and token not in stored
    assert audit_actions()[-1] == "staff.login"


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("lan.nguyen", PASSWORD + "x", "password"),
        ("LAN.NGUYEN", "", "password"),
        ("nobody", PASSWORD, "unknown_user"),
        ("", PASSWORD, "unknown_user"),
        ("lan.nguyen", "x" * 5000, "password"),
    ],
)
def test_a_failed_login_answers_none_whatever_was_wrong(
    db_session: Session, staff_member: Staff, username: str, password: str, reason: str
) -> None:
    staff_member("lan.nguyen")
    assert authenticate(db_session, username, password, now=T0) is None
    assert _failed_logins(db_session) == [{"username": username.lower(), "reason": reason}]


def test_the_audit_of_a_failed_login_keeps_at_most_64_characters_of_the_name(
    db_session: Session,
) -> None:
    assert authenticate(db_session, "A" * 300, PASSWORD) is None
    assert _failed_logins(db_session) == [{"username": "a" * 64, "reason": "unknown_user"}]


def test_unknown_and_locked_accounts_cost_a_password_check_too(
    db_session: Session, staff_member: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answering faster for unknown names would tell an attacker which names exist."""
    checks: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            checks.append("verify")
            return super().verify(hash, password)

    hasher = CountingHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(helpdesk.staff, "password_hasher", lambda: hasher)
    minh = staff_member("minh")
    deactivate_staff(db_session, "minh")

    assert authenticate(db_session, "nobody", PASSWORD) is None
    assert authenticate(db_session, "minh", PASSWORD) is None
    assert checks == ["verify", "verify"]
    assert _failed_logins(db_session)[-1] == {"username": "minh", "reason": "inactive"}
    with pytest.raises(StaffAccountError, match="đã bị khóa"):
        start_session(db_session, minh)


def test_a_session_expires(db_session: Session, staff_member: Staff) -> None:
    lan = staff_member("lan")
    token, _ = start_session(db_session, lan, ttl=dt.timedelta(hours=1), now=T0)
    assert staff_for_token(db_session, token, now=T0 + dt.timedelta(minutes=59)) is not None
    assert staff_for_token(db_session, token, now=T0 + dt.timedelta(hours=1)) is None


def test_logging_out_ends_the_session_once(
    db_session: Session, staff_member: Staff, audit_actions: Callable[..., list[str]]
) -> None:
    lan = staff_member("lan")
    token, login = start_session(db_session, lan, now=T0)
    other_token, _ = start_session(db_session, lan, now=T0)

    assert end_session(db_session, token, now=T0 + dt.timedelta(minutes=5))
    assert login.revoked_at == T0 + dt.timedelta(minutes=5)
    assert staff_for_token(db_session, token, now=T0 + dt.timedelta(minutes=6)) is None
    assert not end_session(db_session, token)
    # Another browser of the same person stays logged in.
    assert staff_for_token(db_session, other_token, now=T0 + dt.timedelta(minutes=6))
    assert audit_actions().count("staff.logout") == 1


def test_locking_an_account_ends_its_sessions(db_session: Session, staff_member: Staff) -> None:
    lan = staff_member("lan")
    token, login = start_session(db_session, lan, now=T0)
    deactivate_staff(db_session, "lan", actor="ha.tran", now=T0 + dt.timedelta(minutes=1))
    assert staff_for_token(db_session, token, now=T0 + dt.timedelta(minutes=2)) is None
    db_session.refresh(login)
    assert login.revoked_at == T0 + dt.timedelta(minutes=1)


def test_an_inactive_account_loses_access_even_with_a_live_session(
    db_session: Session, staff_member: Staff
) -> None:
    lan = staff_member("lan")
    token, _ = start_session(db_session, lan, now=T0)
    lan.active = False  # e.g. locked directly in the database
    assert staff_for_token(db_session, token, now=T0) is None


@pytest.mark.parametrize("token", [None, "", "not-a-token", "x" * 10_000])
def test_anything_but_a_live_token_is_nobody(
    db_session: Session, staff_member: Staff, token: str | None
) -> None:
    start_session(db_session, staff_member("lan"), now=T0)
    assert staff_for_token(db_session, token, now=T0) is None


def test_last_seen_is_written_at_most_once_a_minute(
    db_session: Session, staff_member: Staff
) -> None:
    token, login = start_session(db_session, staff_member("lan"), now=T0)
    staff_for_token(db_session, token, now=T0 + dt.timedelta(seconds=30))
    assert login.last_seen_at == T0
    staff_for_token(db_session, token, now=T0 + dt.timedelta(seconds=90))
    assert login.last_seen_at == T0 + dt.timedelta(seconds=90)
