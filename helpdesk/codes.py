"""Public ticket codes: `HT-` and six characters a person can read aloud and retype.

The characters leave out 0/O, 1/I/L so a code read over the phone is not mistaken, and
they are drawn with `secrets`: codes are neither sequential nor guessable (31⁶ ≈ 887
million). A code alone never reveals a ticket; `tickets.find_ticket_for_sender` also
checks the sender.

Usage:
    code = new_ticket_code(session)            # unique in the ticket table
    normalize_ticket_code("ht 7kq2mx")         # "HT-7KQ2MX"
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import HelpdeskError
from helpdesk.models import Ticket

TICKET_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_PREFIX = "HT-"
CODE_LENGTH = 6
MAX_DRAWS = 10

# `HT`, an optional separator (dash, en or em dash, space, dot, underscore), six characters.
_SLOPPY_CODE = re.compile(
    rf"HT[\s\-\u2013\u2014._]*([{TICKET_ALPHABET}]{{{CODE_LENGTH}}})", re.IGNORECASE
)


def generate_ticket_code() -> str:
    """A random code such as `HT-7KQ2MX`; not checked for uniqueness."""
    return CODE_PREFIX + "".join(secrets.choice(TICKET_ALPHABET) for _ in range(CODE_LENGTH))


def new_ticket_code(session: Session, *, draw: Callable[[], str] = generate_ticket_code) -> str:
    """A code no ticket has yet, drawing again on a collision."""
    for _ in range(MAX_DRAWS):
        code = draw()
        if session.scalar(select(Ticket.id).where(Ticket.code == code)) is None:
            return code
    # Ten collisions in a row mean the draw is broken, not bad luck.
    raise HelpdeskError("Không tạo được mã yêu cầu mới; vui lòng thử lại.")


def normalize_ticket_code(text: str | None) -> str | None:
    """`ht7kq2mx`, `HT 7KQ2MX`, `ht-7kq2mx` → `HT-7KQ2MX`; anything else → None."""
    if not text:
        return None
    match = _SLOPPY_CODE.fullmatch(text.strip())
    if match is None:
        return None
    return CODE_PREFIX + match.group(1).upper()
