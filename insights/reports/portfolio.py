"""The agency portfolio: every client on one screen with its connection health, last capture,
headline numbers of the last 28 days and a follower sparkline.

Built from a fixed number of queries whatever the number of clients (one per kind of row,
grouped in Python), so the page stays fast as an agency grows; tests pin the count.
Numbers follow the report's rules: a missing value is "—", never 0, and reach is left out
because daily reach cannot be added up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Sum
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
    ReportDelivery,
)
from . import charts

PACIFIC = ZoneInfo("America/Los_Angeles")  # Meta's days end at midnight Pacific time
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


_SEVERITY = [
    Health.NEEDS_RECONNECT,
    Health.MISSING_PERMISSION,
    Health.NOT_PROFESSIONAL,
    Health.ERROR,
    Health.EXPIRING_SOON,
    Health.CONNECTED,
    Health.DISCONNECTED,
]


def build_portfolio(clients, *, today: date | None = None) -> list[PortfolioRow]:
    """One row per client of `clients` (a queryset), in its order."""
    today = today or timezone.now().astimezone(PACIFIC).date()
    last = today - timedelta(days=1)  # the last complete Pacific day, for summed metrics
    first = last - timedelta(days=DAYS - 1)
    rows = [PortfolioRow(client=c) for c in clients.prefetch_related("ig_accounts")]
    by_account = {}
    for row in rows:
        row.accounts = [a for a in row.client.ig_accounts.all() if a.disconnected_at is None]
        for account in row.accounts:
            by_account[account.pk] = row
    ids = list(by_account)

    followers = defaultdict(dict)  # account -> day -> followers
    for account_id, day, count in (
        ProfileSnapshot.objects.filter(
            account_id__in=ids, day__range=(today - timedelta(days=DAYS), today)
        )
        .exclude(followers_count=None)
        .order_by("account_id", "day", "captured_at")
        .values_list("account_id", "day", "followers_count")
    ):
        followers[account_id][day] = count  # the day's last reading wins
    sums = defaultdict(dict)
    for account_id, metric, total in (
        AccountDaily.objects.filter(
            account_id__in=ids, metric__in=SUMMED, dimension="", day__range=(first, last)
        )
        .values("account_id", "metric")
        .annotate(total=Sum("value"))
        .order_by()
        .values_list("account_id", "metric", "total")
    ):
        sums[account_id][metric] = total
    since = timezone.now() - timedelta(days=DAYS)
    posts = dict(
        Media.objects.filter(account_id__in=ids, is_story=False, timestamp__gte=since)
        .values("account_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("account_id", "n")
    )
    latest = dict(
        ReportDelivery.objects.filter(client__in=[r.client for r in rows])
        .values("client_id")
        .annotate(last=Max("pk"))
        .order_by()
        .values_list("client_id", "last")
    )
    deliveries = ReportDelivery.objects.in_bulk(list(latest.values()))
    days = [today - timedelta(days=DAYS - i) for i in range(DAYS + 1)]  # follower readings

    for row in rows:
        _fill(row, followers, sums, posts, days)
        row.last_delivery = deliveries.get(latest.get(row.client.pk))
    return rows


def _add(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _fill(row: PortfolioRow, followers, sums, posts, days: list[date]) -> None:
    if row.accounts:
        worst = min(row.accounts, key=lambda a: _SEVERITY.index(Health(a.health)))
        row.health = worst.health
        row.health_label = worst.get_health_display()
        row.badge = HEALTH_BADGE[Health(worst.health)]
        captures = [a.last_refresh_at for a in row.accounts if a.last_refresh_at]
        row.last_capture = max(captures) if captures else None
    else:
        return
    series: list[float | None] = []
    for day in days:
        # A day counts only when every account has a reading: a partial sum is not the client's.
        readings = [followers[a.pk].get(day) for a in row.accounts]
        series.append(None if None in readings else sum(readings))
    known = [v for v in series if v is not None]
    row.followers = int(known[-1]) if known else None
    if series[0] is not None and known:
        row.growth = int(known[-1] - series[0])
    row.views = _add([sums[a.pk].get("views") for a in row.accounts])
    row.interactions = _add([sums[a.pk].get("total_interactions") for a in row.accounts])
    if row.last_capture is not None:  # never captured: unknown, not zero
        row.posts = sum(posts.get(a.pk, 0) for a in row.accounts)
    row.sparkline = charts.sparkline(
        f"spark-{row.client.pk}",
        title=f"{row.client.name}: followers over the last {DAYS} days",
        values=series,
    )


def late_or_failed(rows: list[PortfolioRow]) -> list[PortfolioRow]:
    return [
        r
        for r in rows
        if r.last_delivery is not None and r.last_delivery.status == DeliveryStatus.FAILED
    ]
