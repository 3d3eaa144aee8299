"""The insight part of one account's report section, from the one readings query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..periods import Period, period_bounds
from .besttime import BestTime, best_time
from .normals import FormatRow, Normal, Normals, formats_table
from .readings import LOOKBACK, Item, read_items

FORMATS_DAYS = 90  # the formats table covers the period, and at least its last 90 days


@dataclass
class AccountInsight:
    normals: dict[int, Normal] = field(default_factory=dict)  # media pk -> its judgement
    formats: list[FormatRow] = field(default_factory=list)
    formats_from: date | None = None  # the formats table's days, in the client's zone
    formats_to: date | None = None
    best_time: BestTime | None = None  # over the formats table's days


def formats_window(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime, date]:
    """(since, until, first day): the period, stretched back to FORMATS_DAYS when shorter."""
    since, until = period_bounds(period, zone)
    first = min(period.start, period.end - timedelta(days=FORMATS_DAYS - 1))
    return min(since, period_bounds(Period(first, period.end), zone)[0]), until, first


def read_account_items(
    account_ids: list[int], period: Period, zone: ZoneInfo
) -> dict[int, list[Item]]:
    since, until, _ = formats_window(period, zone)
    return read_items(account_ids, since - LOOKBACK, until)


def account_insight(
    items: list[Item], period: Period, zone: ZoneInfo, shown: list[int]
) -> AccountInsight:
    """Judgements for the media pks `shown` and the formats table."""
    normals = Normals(items)
    judged = {pk: n for pk in shown if (n := normals.judge(pk)) is not None}
    since, until, first = formats_window(period, zone)
    return AccountInsight(
        judged,
        formats_table(normals, since, until),
        first,
        period.end,
        best_time(items, since, until, zone),
    )
