"""The staff console: one page at `/staff`, a small front end on the staff JSON API.

The page holds no data of its own: it logs in through `POST /api/v1/staff/login` (the
session cookie is HttpOnly, so scripts never see it), reads the queue and tickets from
the API, sends changes with the session's CSRF token, and follows the queue live with
server-sent events. Every text a person wrote is put on the page as text, never as
HTML, and the page forbids inline scripts and framing (Content-Security-Policy).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "staff"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(tags=["staff console"], include_in_schema=False)


@router.get("/staff")
async def console() -> FileResponse:
    """The console page (it shows the login form until the session is valid)."""
    return FileResponse(STATIC_DIR / "console.html", headers=SECURITY_HEADERS)


@router.get("/staff/")
async def console_slash() -> RedirectResponse:
    return RedirectResponse("/staff", status_code=308)
