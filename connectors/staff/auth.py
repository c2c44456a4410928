"""Who is calling the staff side, and whether they may.

One session, two ways to show it, both from `POST /api/v1/staff/login`:
- the console's cookie `hotline_staff` (HttpOnly, Secure, SameSite=Strict);
- `Authorization: Bearer <token>` for integrations and tests.

A cookie travels with every request the browser makes, so a request authenticated by
the cookie that changes something must also carry the session's CSRF token in
`X-CSRF-Token` (the console reads it from `GET /api/v1/staff/me`) and, when the browser
says where it comes from (`Origin`), come from this site. A bearer token is never sent
by a browser on its own: it needs neither. Logins are rate limited per username and per
client address, counting failures only.

Usage:
    async def handler(staff: StaffDep) -> ...            # any role
    async def handler(staff: SupervisorDep) -> ...       # supervisor or admin
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from connectors.deps import GatewayDep
from connectors.staff.principal import Principal
from helpdesk.sessions import staff_for_token

SESSION_COOKIE = "hotline_staff"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

NOT_LOGGED_IN = "Bạn cần đăng nhập bằng tài khoản nhân viên."
FORBIDDEN_ROLE = "Tài khoản của bạn không có quyền làm việc này."
BAD_CSRF = "Phiên làm việc không hợp lệ (thiếu mã CSRF). Bạn tải lại trang rồi thử lại."
BAD_ORIGIN = "Yêu cầu không đến từ trang quản trị của tổng đài."


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def same_origin(request: Request) -> bool:
    """True unless the browser says the request comes from another site."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser, or a browser that sends no Origin on this request
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def _lookup(session: Session, token: str, via_cookie: bool) -> Principal | None:
    found = staff_for_token(session, token)
    if found is None:
        return None
    staff, staff_session = found
    return Principal(
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        csrf_token=staff_session.csrf_token,
        via_cookie=via_cookie,
    )


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, NOT_LOGGED_IN, headers={"WWW-Authenticate": "Bearer"}
    )


async def current_staff(request: Request, gateway: GatewayDep) -> Principal:
    """The logged-in staff member, or 401; cookie requests that change things need CSRF."""
    token = bearer_token(request)
    via_cookie = token is None
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 256:
        raise _unauthorized()
    principal = await gateway.store.run(lambda s: _lookup(s, token, via_cookie))
    if principal is None:
        raise _unauthorized()
    if via_cookie and request.method not in SAFE_METHODS:
        if not same_origin(request):
            raise HTTPException(status.HTTP_403_FORBIDDEN, BAD_ORIGIN)
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), principal.csrf_token.encode()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, BAD_CSRF)
    return principal


StaffDep = Annotated[Principal, Depends(current_staff)]


async def require_supervisor(staff: StaffDep) -> Principal:
    """Supervisors and admins only."""
    if not staff.is_supervisor:
        raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN_ROLE)
    return staff


SupervisorDep = Annotated[Principal, Depends(require_supervisor)]
