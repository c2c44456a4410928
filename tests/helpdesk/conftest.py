"""Fixtures of the helpdesk tests: people writing in, staff accounts, the audit trail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

import helpdesk.staff
from helpdesk.conversations import get_or_create_conversation
from helpdesk.models import AuditEvent, Conversation, StaffMember
from helpdesk.staff import add_staff

PASSWORD = "mật khẩu đủ dài 2025"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the tests check behaviour, not hashing cost."""
    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(helpdesk.staff, "password_hasher", lambda: hasher)


@pytest.fixture
def person(db_session: Session) -> Callable[..., Conversation]:
    """A person writing on a channel: `person("telegram", "111")` is their conversation."""

    def make(channel: str = "telegram", sender_id: str = "100200300") -> Conversation:
        return get_or_create_conversation(db_session, channel, sender_id)

    return make


@pytest.fixture
def staff_member(db_session: Session) -> Callable[..., StaffMember]:
    """A staff account: `staff_member("lan")`, `staff_member("ha", role="supervisor")`."""

    def make(username: str, role: str = "staff") -> StaffMember:
        return add_staff(db_session, username, role, PASSWORD, display_name=username.title())

    return make


@pytest.fixture
def audit_actions(db_session: Session) -> Callable[..., list[str]]:
    """The audit log's actions so far, oldest first, optionally for one ticket."""

    def read(ticket_id: str | None = None) -> list[str]:
        query = select(AuditEvent.action).order_by(AuditEvent.id)
        if ticket_id is not None:
            query = query.where(AuditEvent.ticket_id == ticket_id)
        return list(db_session.scalars(query))

    return read
