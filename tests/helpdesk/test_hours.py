"""Staff hours at their edges, and the opening time a person is told."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from helpdesk.hours import StaffHours, describe_opening, is_staff_hours, next_opening
from hotline.settings import Settings

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HOURS = StaffHours.from_settings(Settings(_env_file=None))  # the defaults


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in Vietnam in the week of Monday 24 November 2025."""
    return dt.datetime(2025, 11, day, hour, minute, tzinfo=VN)


MONDAY_OPENING = at(24, 7, 30)
NEXT_MONDAY_OPENING = dt.datetime(2025, 12, 1, 7, 30, tzinfo=VN)


@pytest.mark.parametrize(
    ("now", "open_now", "opening"),
    [
        (at(24, 7, 29), False, MONDAY_OPENING),  # Monday 7:29
        (at(24, 7, 30), True, MONDAY_OPENING),  # Monday 7:30
        (at(24, 12, 0), True, at(24, 12, 0)),
        (at(24, 16, 59), True, at(24, 16, 59)),
        (at(24, 17, 0), False, at(25, 7, 30)),  # Monday 17:00 -> Tuesday
        (at(28, 16, 59), True, at(28, 16, 59)),  # Friday 16:59
        (at(28, 17, 0), False, NEXT_MONDAY_OPENING),  # Friday 17:00 -> Monday
        (at(29, 10, 0), False, NEXT_MONDAY_OPENING),  # Saturday
        (at(30, 23, 59), False, NEXT_MONDAY_OPENING),  # Sunday night
        (at(25, 3, 0), False, at(25, 7, 30)),  # Tuesday before dawn
    ],
)
def test_staff_hours_at_the_edges(now: dt.datetime, open_now: bool, opening: dt.datetime) -> None:
    assert is_staff_hours(now, HOURS) is open_now
    assert next_opening(now, HOURS) == opening


def test_times_in_another_zone_are_compared_in_vietnam() -> None:
    # 00:30 UTC on Monday is 7:30 in Vietnam; 10:00 UTC on Friday is 17:00.
    assert is_staff_hours(dt.datetime(2025, 11, 24, 0, 30, tzinfo=dt.UTC), HOURS)
    assert not is_staff_hours(dt.datetime(2025, 11, 28, 10, 0, tzinfo=dt.UTC), HOURS)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        is_staff_hours(dt.datetime(2025, 11, 24, 9, 0), HOURS)


def test_hours_come_from_the_settings() -> None:
    settings = Settings(
        _env_file=None, staff_days="mon-sat", staff_hours_start="08:00", staff_hours_end="11:30"
    )
    hours = StaffHours.from_settings(settings)
    saturday_morning = at(29, 9, 0)
    assert is_staff_hours(saturday_morning, hours)
    assert not is_staff_hours(at(24, 7, 45), hours)
    assert next_opening(at(29, 11, 30), hours) == NEXT_MONDAY_OPENING.replace(hour=8, minute=0)


@pytest.mark.parametrize(
    "bad",
    [
        {"staff_days": "funday"},
        {"staff_days": "fri-mon"},
        {"staff_days": ""},
        {"staff_hours_start": "17:00", "staff_hours_end": "07:30"},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_impossible_hours_are_refused_at_start(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Settings(_env_file=None, **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(24, 6, 0), "7:30 hôm nay"),
        (at(24, 18, 0), "7:30 ngày mai"),
        (at(28, 17, 0), "7:30 thứ Hai, 1/12"),
        (at(29, 10, 0), "7:30 thứ Hai, 1/12"),
    ],
)
def test_the_opening_is_told_as_a_person_reads_it(now: dt.datetime, expected: str) -> None:
    assert describe_opening(next_opening(now, HOURS), now, HOURS) == expected
