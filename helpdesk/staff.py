"""Staff accounts: social workers, supervisors and admins, with argon2 password hashes.

Roles on endpoints belong to the console (connectors/), logins and their sessions to
`helpdesk.sessions`; this module keeps the accounts. `hotline staff add USERNAME --role
ROLE` calls `add_staff`, `hotline staff deactivate USERNAME` calls `deactivate_staff`.

Usage:
    staff = add_staff(session, "lan.nguyen", "staff", password, display_name="Nguyễn Thị Lan")
    verify_password(staff, attempt)   # True or False, never an exception
    deactivate_staff(session, "lan.nguyen", actor="ha.tran")   # and every login ends
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.audit import ACTOR_BOT, ACTOR_PERSON, ACTOR_SYSTEM, record_event
from helpdesk.errors import StaffAccountError
from helpdesk.models import STAFF_ROLES, StaffMember, StaffSession, execute_write, utc_now

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
# These names mean someone else in the audit log.
_RESERVED_USERNAMES = frozenset({ACTOR_BOT, ACTOR_SYSTEM, ACTOR_PERSON})


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHasher:
    """The process's argon2id hasher (argon2-cffi's recommended parameters)."""
    return PasswordHasher()


def normalize_username(username: str) -> str:
    """Usernames are compared in lower case, without surrounding spaces."""
    return username.strip().lower()


def get_staff(session: Session, username: str) -> StaffMember | None:
    """The account with this username, active or not."""
    return session.scalar(
        select(StaffMember).where(StaffMember.username == normalize_username(username))
    )


def add_staff(
    session: Session,
    username: str,
    role: str,
    password: str,
    *,
    display_name: str | None = None,
    actor: str = ACTOR_SYSTEM,
) -> StaffMember:
    """Create an active account; the password is stored only as an argon2 hash."""
    username = normalize_username(username)
    if not _USERNAME.fullmatch(username) or username in _RESERVED_USERNAMES:
        raise StaffAccountError(
            f"Tên đăng nhập không hợp lệ: {username!r}. Dùng 3–64 ký tự: chữ thường không dấu, "
            "số, dấu chấm, gạch dưới hoặc gạch ngang."
        )
    if role not in STAFF_ROLES:
        raise StaffAccountError(
            f"Vai trò không hợp lệ: {role!r}. Chọn một trong: {', '.join(STAFF_ROLES)}."
        )
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise StaffAccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD_CHARS} ký tự.")
    if get_staff(session, username) is not None:
        raise StaffAccountError(f"Tên đăng nhập {username} đã có người dùng.")
    staff = StaffMember(
        username=username,
        display_name=(display_name or "").strip() or username,
        password_hash=password_hasher().hash(password),
        role=role,
        active=True,
        created_at=utc_now(),
    )
    session.add(staff)
    session.flush()
    record_event(session, actor, "staff.added", staff=username, role=role)
    return staff


def list_staff(session: Session) -> list[StaffMember]:
    """Every account, active or not, by username."""
    return list(session.scalars(select(StaffMember).order_by(StaffMember.username)))


def deactivate_staff(
    session: Session, username: str, *, actor: str = ACTOR_SYSTEM, now: dt.datetime | None = None
) -> StaffMember:
    """Lock the account and end its open console sessions; the account and its history stay.

    Locking an account that is already locked changes nothing and writes no event.
    """
    staff = get_staff(session, username)
    if staff is None:
        raise StaffAccountError(f"Không có tài khoản {normalize_username(username)}.")
    if not staff.active:
        return staff
    now = now or utc_now()
    staff.active = False
    revoked = execute_write(
        session,
        update(StaffSession)
        .where(StaffSession.username == staff.username, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now),
    )
    record_event(
        session, actor, "staff.deactivated", at=now, staff=staff.username, sessions_revoked=revoked
    )
    return staff


def verify_password(staff: StaffMember, password: str) -> bool:
    """Whether `password` is the account's password (an inactive account never matches)."""
    if not staff.active:
        return False
    return verify_password_hash(password_hasher(), staff.password_hash, password)


def verify_password_hash(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    """Whether `password` matches the argon2 hash; a damaged hash is a mismatch."""
    try:
        return hasher.verify(password_hash, password)
    except (Argon2Error, InvalidHashError):
        return False
