"""Staff logins to the console: password check, session tokens, logout.

A login gives the browser a random token (in a cookie) and a CSRF token (for forms); the
database keeps only the token's sha256, so a copy of the table lets nobody in. A session
ends when it expires (`SESSION_TTL`), when the staff member logs out, or when the account
is locked (`staff.deactivate_staff` revokes them; an inactive account never passes here).

A failed login says nothing about which part was wrong, and costs the same argon2 check
whether the username exists or not, so that timing does not reveal who has an account.
Every login, failure and logout is audited; functions never commit.

Usage:
    staff = authenticate(session, form.username, form.password)
    if staff is not None:
        token, login = start_session(session, staff)   # set token as an HttpOnly cookie
    found = staff_for_token(session, cookie)            # (staff, login) or None
    end_session(session, cookie)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import staff as staff_accounts
from helpdesk.audit import ACTOR_SYSTEM, record_event
from helpdesk.errors import StaffAccountError
from helpdesk.models import StaffMember, StaffSession, utc_now

SESSION_TTL = dt.timedelta(hours=12)
# Writing last_seen_at on every request of a console that polls every few seconds would
# turn each read into a write; once a minute is precise enough to see who is online.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)
MAX_TOKEN_CHARS = 256
MAX_LOGGED_USERNAME_CHARS = 64


def hash_token(token: str) -> str:
    """The sha256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the hasher's own parameters, so that checking it costs what a real one does."""
    return hasher.hash(secrets.token_urlsafe(16))


def _check_password(account: StaffMember | None, password: str) -> bool:
    """The argon2 check, done in full even without a usable account."""
    hasher = staff_accounts.password_hasher()
    if account is None or not account.active:
        staff_accounts.verify_password_hash(hasher, _dummy_hash(hasher), password)
        return False
    return staff_accounts.verify_password(account, password)


def authenticate(
    session: Session, username: str, password: str, *, now: dt.datetime | None = None
) -> StaffMember | None:
    """The active account whose password this is, or None (audited as `staff.login_failed`)."""
    now = now or utc_now()
    given = staff_accounts.normalize_username(username or "")[:MAX_LOGGED_USERNAME_CHARS]
    account = staff_accounts.get_staff(session, given) if given else None
    # An over-long password cannot be right; hashing megabytes would only slow the server.
    acceptable = len(password or "") <= staff_accounts.MAX_PASSWORD_CHARS
    if acceptable and _check_password(account, password or ""):
        return account
    reason = "unknown_user" if account is None else "inactive" if not account.active else "password"
    record_event(session, ACTOR_SYSTEM, "staff.login_failed", at=now, username=given, reason=reason)
    return None


def start_session(
    session: Session,
    staff: StaffMember,
    *,
    ttl: dt.timedelta = SESSION_TTL,
    now: dt.datetime | None = None,
) -> tuple[str, StaffSession]:
    """A new login for an active account: the token to give the browser, and its row."""
    if not staff.active:
        raise StaffAccountError(f"Tài khoản {staff.username} đã bị khóa.")
    now = now or utc_now()
    token = secrets.token_urlsafe(32)
    login = StaffSession(
        token_hash=hash_token(token),
        username=staff.username,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + ttl,
        last_seen_at=now,
    )
    session.add(login)
    session.flush()
    record_event(session, staff.username, "staff.login", at=now, session_id=login.id)
    return token, login


def _live_session(
    session: Session, token: str | None, now: dt.datetime
) -> tuple[StaffMember, StaffSession] | None:
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    row = session.execute(
        select(StaffMember, StaffSession)
        .join(StaffSession, StaffSession.username == StaffMember.username)
        .where(StaffSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    account, login = row
    if login.revoked_at is not None or login.expires_at <= now or not account.active:
        return None
    return account, login


def staff_for_token(
    session: Session, token: str | None, *, now: dt.datetime | None = None
) -> tuple[StaffMember, StaffSession] | None:
    """The staff member and session of a live token; None for anything else."""
    now = now or utc_now()
    found = _live_session(session, token, now)
    if found is not None and now - found[1].last_seen_at >= LAST_SEEN_RESOLUTION:
        found[1].last_seen_at = now
    return found


def end_session(session: Session, token: str, *, now: dt.datetime | None = None) -> bool:
    """Log out: revoke the session; False when the token was not a live session."""
    now = now or utc_now()
    found = _live_session(session, token, now)
    if found is None:
        return False
    account, login = found
    login.revoked_at = now
    record_event(session, account.username, "staff.logout", at=now, session_id=login.id)
    return True
