"""Staff hours: whether a person can answer now, and when one will.

Default 7:30–17:00, Monday to Friday, Asia/Ho_Chi_Minh (settings `STAFF_HOURS_START`,
`STAFF_HOURS_END`, `STAFF_DAYS`, `TIMEZONE`). The start is inside the hours, the end is
not: at 17:00 on Friday the next opening is 7:30 on Monday.

Usage:
    hours = StaffHours.from_settings(get_settings())
    if not is_staff_hours(now, hours):
        when = next_opening(now, hours)
        describe_opening(when, now)   # "7:30 thứ Hai, 24/11"
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hotline.settings import Settings, get_settings

WEEKDAY_NAMES = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


@dataclass(frozen=True)
class StaffHours:
    """When staff are on duty: from `start` (included) to `end` (excluded) on `days`."""

    start: dt.time
    end: dt.time
    days: frozenset[int]  # Python weekdays, 0 = Monday
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffHours:
        """The hours configured for this deployment."""
        return cls(
            start=settings.staff_hours_start,
            end=settings.staff_hours_end,
            days=frozenset(settings.staff_days),
            zone=ZoneInfo(settings.timezone),
        )


def _local(now: dt.datetime, hours: StaffHours) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime: a naive one has no time zone to compare")
    return now.astimezone(hours.zone)


def _hours(hours: StaffHours | None) -> StaffHours:
    return hours if hours is not None else StaffHours.from_settings(get_settings())


def is_staff_hours(now: dt.datetime, hours: StaffHours | None = None) -> bool:
    """Whether staff are on duty at `now` (an aware datetime)."""
    hours = _hours(hours)
    local = _local(now, hours)
    return local.weekday() in hours.days and hours.start <= local.time() < hours.end


def next_opening(now: dt.datetime, hours: StaffHours | None = None) -> dt.datetime:
    """`now` during staff hours, else the next start of staff hours, in the hours' zone."""
    hours = _hours(hours)
    local = _local(now, hours)
    if is_staff_hours(local, hours):
        return local
    for days_ahead in range(8):
        day = local.date() + dt.timedelta(days=days_ahead)
        if day.weekday() not in hours.days:
            continue
        opening = dt.datetime.combine(day, hours.start, tzinfo=hours.zone)
        if opening > local:
            return opening
    raise ValueError("staff hours have no day")  # settings refuse an empty day list


def describe_opening(when: dt.datetime, now: dt.datetime, hours: StaffHours | None = None) -> str:
    """The opening as a person reads it: `7:30 hôm nay`, `7:30 ngày mai`, `7:30 thứ Hai, 24/11`."""
    hours = _hours(hours)
    local_when, local_now = _local(when, hours), _local(now, hours)
    clock = f"{local_when.hour}:{local_when.minute:02d}"
    days_ahead = (local_when.date() - local_now.date()).days
    if days_ahead == 0:
        return f"{clock} hôm nay"
    if days_ahead == 1:
        return f"{clock} ngày mai"
    return f"{clock} {WEEKDAY_NAMES[local_when.weekday()]}, {local_when.day}/{local_when.month}"
