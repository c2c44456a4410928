"""Callback numbers: what a person types, and what staff will dial."""

from __future__ import annotations

import pytest

from helpdesk.tickets import find_vietnamese_phone, validate_vietnamese_phone


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("091-234-5678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("(+84) 912 345 678", "0912345678"),
        ("+84 (0) 912 345 678", "0912345678"),
        ("0312345678", "0312345678"),
        ("0567 890 123", "0567890123"),
        ("0789012345", "0789012345"),
        ("0843 123 456", "0843123456"),  # 084 is a mobile prefix, not the country code
        ("０９１２３４５６７８", "0912345678"),  # full-width digits from some keyboards
        ("028 3829 1234", "02838291234"),  # Hồ Chí Minh City landline
        ("0277.3851.000", "02773851000"),  # Đồng Tháp landline
        ("+84 24 3825 1234", "02438251234"),  # Hà Nội landline
    ],
)
def test_valid_numbers_are_normalized(typed: str, normalized: str) -> None:
    assert validate_vietnamese_phone(typed) == normalized


@pytest.mark.parametrize(
    "typed",
    [
        "",
        None,
        "113",  # emergency short codes are not callback numbers
        "111",
        "1900 969 680",  # paid service lines neither
        "1800 1567",
        "091234567",  # 9 digits
        "09123456789",  # 11 digits on a mobile prefix
        "0112345678",  # no 01x mobiles since 2018
        "0412345678",
        "0612345678",
        "0283829123",  # landline one digit short
        "+85291234567",  # Hong Kong
        "+1 912 345 6789",
        "912345678",  # no prefix at all
        "0912abc678",
        "0912 345 678 ext 2",
        "0" * 50,
    ],
)
def test_other_text_is_refused(typed: str | None) -> None:
    assert validate_vietnamese_phone(typed) is None


@pytest.mark.parametrize(
    ("message", "found"),
    [
        ("sđt e 0912345678", "0912345678"),
        ("số của tôi là 0912 345 678, gọi sau 8 giờ nhé", "0912345678"),
        ("goi cho em qua +84 912.345.678 nha", "0912345678"),
        ("bàn: 028 3829 1234", "02838291234"),
        ("gọi 113 giúp em", None),  # an emergency number is not a callback number
        ("năm 2024 em 17 tuổi, mã HT-7K2M9Q", None),
        ("đường dây 1900 969 680", None),
        ("0123", None),
    ],
)
def test_a_number_is_found_inside_a_message(message: str, found: str | None) -> None:
    assert find_vietnamese_phone(message) == found
