"""The agency portfolio: every client on one screen with its connection health, last capture,
headline numbers of the last 28 days and a follower sparkline.

"Last 28 days" is each client's own report window (insights.reports.periods: the client's
calendar, ending on Meta's last complete day), so a client's row and its report agree.
Built from a fixed number of queries whatever the number of clients (one per kind of row,
grouped in Python), so the page stays fast as an agency grows; tests pin the count.
Numbers follow the report's rules: a missing value is "—", never 0, and reach is left out
because daily reach cannot be added up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Max
from django.utils import timezone
from django.utils.safestring import SafeString

from ..models import (
    HEALTH_BADGE,
    AccountDaily,
    Client,
    DeliveryStatus,
    Health,
    Media,
    ProfileSnapshot,
    RangePreset,
    ReportDelivery,
)
from . import charts
from .periods import Period, client_today, last_complete_day, period_bounds, preset_range

DAYS = 28
SUMMED = ("views", "total_interactions")  # additive per day, unlike reach


@dataclass
class PortfolioRow:
    client: Client
    accounts: list = field(default_factory=list)
    health: str = ""  # the worst of its accounts
    health_label: str = "No account connected"
    badge: str = ""
    last_capture: object = None
    followers: int | None = None
    growth: int | None = None
    views: int | None = None
    interactions: int | None = None
    posts: int | None = None
    sparkline: SafeString | None = None
    last_delivery: ReportDelivery | None = None
    period: Period | None = None  # the client's report window


_SEVERITY = [
    Health.NEEDS_RECONNECT,
    Health.MISSING_PERMISSION,
    Health.NOT_PROFESSIONAL,
    Health.ERROR,
    Health.EXPIRING_SOON,
    Health.CONNECTED,
    Health.DISCONNECTED,
]


def window(client: Client, now: datetime) -> Period:
    """The client's report window for "last 28 days"."""
    return preset_range(
        RangePreset.LAST_28, client_today(client, now), last_complete_day(client, now)
    )


def build_portfolio(clients, *, now: datetime | None = None) -> list[PortfolioRow]:
    """One row per client of `clients` (a queryset), in its order."""
    now = now or timezone.now()
    rows = [PortfolioRow(client=c) for c in clients.prefetch_related("ig_accounts")]
    by_account = {}
    for row in rows:
        row.period = window(row.client, now)
        row.accounts = [a for a in row.client.ig_accounts.all() if a.disconnected_at is None]
        for account in row.accounts:
            by_account[account.pk] = row
    if not rows:
        return rows
    ids = list(by_account)
    first = min(r.period.start for r in rows) - timedelta(days=1)
    last = max(r.period.end for r in rows)

    followers = defaultdict(dict)  # account -> day -> followers
    for account_id, day, count in (
        ProfileSnapshot.objects.filter(account_id__in=ids, day__range=(first, last))
        .exclude(followers_count=None)
        .values_list("account_id", "day", "followers_count")
    ):
        followers[account_id][day] = count
    daily = defaultdict(lambda: defaultdict(dict))  # account -> metric -> day -> value
    for account_id, metric, day, value in AccountDaily.objects.filter(
        account_id__in=ids, metric__in=SUMMED, dimension="", day__range=(first, last)
    ).values_list("account_id", "metric", "day", "value"):
        daily[account_id][metric][day] = value
    # The earliest instant any client's window can start (the zone furthest ahead).
    earliest = datetime.combine(first, datetime.min.time(), ZoneInfo("Pacific/Kiritimati"))
    posted = defaultdict(list)
    for account_id, at in Media.objects.filter(
        account_id__in=ids, is_story=False, timestamp__gte=earliest
    ).values_list("account_id", "timestamp"):
        posted[account_id].append(at)
    latest = dict(
        ReportDelivery.objects.filter(client__in=[r.client for r in rows])
        .values("client_id")
        .annotate(last=Max("pk"))
        .order_by()
        .values_list("client_id", "last")
    )
    deliveries = ReportDelivery.objects.in_bulk(list(latest.values()))
    for row in rows:
        _fill(row, followers, daily, posted)
        row.last_delivery = deliveries.get(latest.get(row.client.pk))
    return rows


def _add(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _fill(row: PortfolioRow, followers, daily, posted) -> None:
    if row.accounts:
        worst = min(row.accounts, key=lambda a: _SEVERITY.index(Health(a.health)))
        row.health = worst.health
        row.health_label = worst.get_health_display()
        row.badge = HEALTH_BADGE[Health(worst.health)]
        captures = [a.last_refresh_at for a in row.accounts if a.last_refresh_at]
        row.last_capture = max(captures) if captures else None
    else:
        return
    period = row.period
    days = [period.start - timedelta(days=1), *period.days]  # the day before: growth
    series: list[float | None] = []
    for day in days:
        # A day counts only when every account has a reading: a partial sum is not the client's.
        readings = [followers[a.pk].get(day) for a in row.accounts]
        series.append(None if None in readings else sum(readings))
    known = [v for v in series if v is not None]
    row.followers = int(known[-1]) if known else None
    if series[0] is not None and series[-1] is not None:
        row.growth = int(series[-1] - series[0])  # as the report: the end minus the day before

    def total(metric: str) -> int | None:
        values = [daily[a.pk][metric].get(d) for a in row.accounts for d in period.days]
        return _add(values)

    row.views = total("views")
    row.interactions = total("total_interactions")
    if all(a.media_listed_at for a in row.accounts):  # media not read yet: unknown, not zero
        since, until = period_bounds(period, ZoneInfo(row.client.time_zone))
        row.posts = sum(1 for a in row.accounts for at in posted[a.pk] if since <= at < until)
    row.sparkline = charts.sparkline(
        f"spark-{row.client.pk}",
        title=f"{row.client.name}: followers, {period.label}",
        values=series[1:],
    )


def late_or_failed(rows: list[PortfolioRow]) -> list[PortfolioRow]:
    return [
        r
        for r in rows
        if r.last_delivery is not None and r.last_delivery.status == DeliveryStatus.FAILED
    ]
