"""Report periods: the days a report covers, its comparison, and what "today" is for a client.

Every date here is a calendar day. Meta's daily values are Pacific days (they end at midnight
America/Los_Angeles); a client's "today" is in the client's own zone. The one place that turns
a range preset into days is `preset_range`; the one "today" of a client is `client_today`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django.utils import timezone

from ..models import Client, Compare, RangePreset

PACIFIC = ZoneInfo("America/Los_Angeles")  # Meta's days end at midnight Pacific time
MAX_DAYS = 731  # a custom range may cover two years (Meta keeps media metrics that long)


def long_date(day: date) -> str:
    """5 Nov 2026: Python's own formatting, never the active locale's."""
    return f"{day.day} {day.strftime('%b')} {day.year}"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @cached_property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        if self.start == self.end:
            return long_date(self.start)
        if self.start.year == self.end.year:
            head = f"{self.start.day} {self.start.strftime('%b')}"
            return f"{head} – {long_date(self.end)}"
        return f"{long_date(self.start)} – {long_date(self.end)}"

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def client_today(client: Client, now: datetime | None = None) -> date:
    """The client's calendar day now, in its own time zone."""
    return (now or timezone.now()).astimezone(ZoneInfo(client.time_zone)).date()


def pacific_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(PACIFIC).date()


def last_complete_day(client: Client, now: datetime | None = None) -> date:
    """The last day a report can show whole: the client's yesterday, or Meta's (Pacific)
    yesterday when that is earlier. Meta's day ends at midnight Pacific time, so in Europe, and
    in New York until 03:00, the client's yesterday is not over at Meta yet: a range ending on
    it would have no de-duplicated reach and a partial last day."""
    now = now or timezone.now()
    return min(client_today(client, now), pacific_today(now)) - timedelta(days=1)


def preset_range(preset: str, today: date, last_day: date | None = None) -> Period:
    """A preset's days, on the client's `today`. Rolling ranges end on `last_day` (the last
    complete day, see `last_complete_day`; yesterday when not given): today is not over, and
    Meta has no day for it. Calendar months follow the client's calendar."""
    last = min(last_day or today, today - timedelta(days=1))
    if preset in (RangePreset.LAST_7, RangePreset.LAST_28, RangePreset.LAST_90):
        length = int(preset.split("_")[1])
        return Period(last - timedelta(days=length - 1), last)
    if preset == RangePreset.THIS_MONTH:
        start = today.replace(day=1)
        return Period(start, max(start, last))
    if preset == RangePreset.LAST_MONTH:
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    raise ValueError(f"unknown range preset {preset!r}")


def year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def comparison_period(period: Period, compare: str) -> Period | None:
    """The period a report compares with. "Previous" is the same number of days just before;
    for a calendar month it is the previous calendar month, and for a month so far (the 1st to
    some day) the same days of the previous month."""
    if compare == Compare.NONE:
        return None
    if compare == Compare.PREVIOUS:
        same_month = (period.start.year, period.start.month) == (period.end.year, period.end.month)
        if period.start.day == 1 and same_month:
            before = period.start - timedelta(days=1)  # the previous month's last day
            start = before.replace(day=1)
            if is_calendar_month(period):
                return Period(start, before)
            return Period(start, start.replace(day=min(period.end.day, before.day)))
        end = period.start - timedelta(days=1)
        return Period(end - timedelta(days=period.length - 1), end)
    if compare == Compare.YEAR:
        return Period(year_before(period.start), year_before(period.end))
    raise ValueError(f"unknown comparison {compare!r}")


def is_calendar_month(period: Period) -> bool:
    last = calendar.monthrange(period.end.year, period.end.month)[1]
    return (
        period.start.day == 1
        and period.end.day == last
        and (period.start.year, period.start.month) == (period.end.year, period.end.month)
    )


def period_bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A period's days as [start, end) instants in the client's zone (posting times)."""
    return (
        datetime.combine(period.start, time.min, zone),
        datetime.combine(period.end + timedelta(days=1), time.min, zone),
    )
