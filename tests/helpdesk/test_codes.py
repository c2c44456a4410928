"""Ticket codes: readable, random, unique, and recognized however a person types them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session

from helpdesk.codes import (
    TICKET_ALPHABET,
    generate_ticket_code,
    new_ticket_code,
    normalize_ticket_code,
)
from helpdesk.errors import HelpdeskError
from helpdesk.models import Conversation
from helpdesk.tickets import open_ticket

CODE_FORMAT = re.compile(r"HT-[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}")


def test_codes_leave_out_characters_that_are_misread_aloud() -> None:
    assert not set("0O1IL") & set(TICKET_ALPHABET)
    assert len(set(TICKET_ALPHABET)) == len(TICKET_ALPHABET) == 31


def test_generated_codes_have_the_printed_format_and_do_not_repeat_or_follow_a_sequence() -> None:
    codes = [generate_ticket_code() for _ in range(2000)]
    assert all(CODE_FORMAT.fullmatch(code) for code in codes)
    assert len(set(codes)) == len(codes)
    # Not sequential: consecutive codes share no common pattern such as a counter suffix.
    assert len({code[-1] for code in codes}) == len(TICKET_ALPHABET)
    assert len({code[3] for code in codes}) == len(TICKET_ALPHABET)
    assert sorted(codes) != codes


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("HT-7KQ2MX", "HT-7KQ2MX"),
        ("ht7kq2mx", "HT-7KQ2MX"),
        ("HT 7KQ2MX", "HT-7KQ2MX"),
        ("ht-7kq2mx", "HT-7KQ2MX"),
        ("  Ht–7kq2mx ", "HT-7KQ2MX"),
        ("ht_7kq2mx", "HT-7KQ2MX"),
        ("ht.7kq2mx", "HT-7KQ2MX"),
        ("HT-7KQ2M", None),  # too short
        ("HT-7KQ2MXA", None),  # too long
        ("HT-7KQ2M0", None),  # zero is never printed
        ("HT-OKQ2MX", None),  # nor the letter O
        ("7KQ2MX", None),  # the prefix says it is a code
        ("mã của tôi là HT-7KQ2MX", None),  # finding codes in sentences is the NLU's job
        ("", None),
        (None, None),
    ],
)
def test_sloppy_input_is_normalized_or_refused(typed: str | None, expected: str | None) -> None:
    assert normalize_ticket_code(typed) == expected


def test_a_collision_draws_again(db_session: Session, person: Callable[..., Conversation]) -> None:
    taken = open_ticket(db_session, person(), topic="legal_aid").code
    draws: Iterator[str] = iter([taken, taken, "HT-22222A"])
    assert new_ticket_code(db_session, draw=lambda: next(draws)) == "HT-22222A"


def test_endless_collisions_fail_clearly_instead_of_looping(
    db_session: Session, person: Callable[..., Conversation]
) -> None:
    taken = open_ticket(db_session, person(), topic="legal_aid").code
    with pytest.raises(HelpdeskError, match="Không tạo được mã yêu cầu mới"):
        new_ticket_code(db_session, draw=lambda: taken)


def test_codes_of_many_tickets_are_unique(
    db_session: Session, person: Callable[..., Conversation]
) -> None:
    codes = {
        open_ticket(db_session, person("web", f"visitor-{n}"), topic="find_service").code
        for n in range(40)
    }
    assert len(codes) == 40
