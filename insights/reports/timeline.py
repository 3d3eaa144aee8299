"""The report's timeline: daily series, views by content type, online hours, and what happened
on the charts (the agency's notes, Meta's metric changes, the account's connection history and
the gaps in its data)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..models import NO_ACCESS, Health, InstagramAccount, ReportNote
from .model import PRODUCT_LABELS, DailySeries, Gap, Marker
from .periods import PACIFIC, Period
from .read import BREAKDOWN_PREFIX, Numbers

# Meta's metric changes, shown as annotations on the charts (graph-api.md §4.2, §5.2).
META_CHANGES = (
    (date(2025, 1, 8), "Instagram stops reporting profile visits and video views"),
    (date(2025, 1, 21), "Instagram introduces views: plays and displays of every kind of content"),
    (date(2025, 4, 21), "Instagram retires impressions; views replaces them"),
    (date(2025, 12, 3), "Instagram adds reposts to interactions"),
)


def series_values(values: dict[date, int], period: Period | None) -> list[float | None] | None:
    if period is None:
        return None
    return [float(values[d]) if d in values else None for d in period.days]


def content_split(
    daily: dict[tuple[str, str], dict[date, int]], period: Period
) -> tuple[list[tuple[str, dict[str, float | None]]], list[str]]:
    """Views by content type per week (Meta's per-day totals with the media_product_type
    breakdown are additive)."""
    by_type: dict[str, dict[date, int]] = defaultdict(dict)
    for (metric, dimension), values in daily.items():
        if metric == "views" and dimension.startswith(BREAKDOWN_PREFIX):
            label = PRODUCT_LABELS.get(dimension.removeprefix(BREAKDOWN_PREFIX), "Other")
            for day, value in values.items():
                if day in period:
                    by_type[label][day] = by_type[label].get(day, 0) + value
    if not by_type:
        return [], []
    types = sorted(by_type, key=lambda t: -sum(by_type[t].values()))
    step = 7 if period.length > 14 else 1
    buckets = []
    for offset in range(0, period.length, step):
        days = period.days[offset : offset + step]
        label = f"{days[0].day} {days[0].strftime('%b')}"
        values = {}
        for t in types:
            present = [by_type[t][d] for d in days if d in by_type[t]]
            values[t] = float(sum(present)) if present else None
        buckets.append((label, values))
    return buckets, types


def online_followers(daily, period: Period, zone: ZoneInfo) -> list[list[float | None]] | None:
    """Meta's online followers (hour keys in Pacific time, stored as `hour=H` dimensions),
    averaged per weekday and hour in the client's zone. None when Meta gave none."""
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (metric, dimension), values in daily.items():
        if metric != "online_followers" or not dimension.startswith("hour="):
            continue
        hour = int(dimension.removeprefix("hour="))
        for day, value in values.items():
            if day not in period:
                continue
            local = datetime.combine(day, time(hour), PACIFIC).astimezone(zone)
            cells[(local.weekday(), local.hour)].append(value)
    if not cells:
        return None
    return [
        [
            (sum(cells[(d, h)]) / len(cells[(d, h)])) if cells.get((d, h)) else None
            for h in range(24)
        ]
        for d in range(7)
    ]


OFFLINE_LABELS = {
    Health.DISCONNECTED: "Disconnected",
    Health.NEEDS_RECONNECT: "Disconnected: Instagram asked for a reconnection",
    Health.MISSING_PERMISSION: "Disconnected: a permission was withdrawn",
    Health.NOT_PROFESSIONAL: "Disconnected: not a professional account",
}


OFFLINE_MARKERS = {
    Health.DISCONNECTED: "disconnected",
    Health.NEEDS_RECONNECT: "lost access: Instagram asked for a reconnection",
    Health.MISSING_PERMISSION: "lost access: a permission was withdrawn",
    Health.NOT_PROFESSIONAL: "lost access: no longer a professional account",
}


def _history(account: InstagramAccount, numbers: Numbers) -> list[tuple[date, str]]:
    """The account's connection changes (Pacific day, health entered), oldest first. An account
    with no recorded history but no access now is taken as offline since its last health
    change."""
    changes = [(day, health) for day, health, _ in numbers.changes]
    if not changes and account.health in NO_ACCESS:
        changes = [(account.health_changed_at.astimezone(PACIFIC).date(), account.health)]
    return changes


def _offline_spans(history: list[tuple[date, str]], period: Period) -> list[Gap]:
    """The days of the period the account had no access, from its connection history."""
    spans, since, why = [], None, ""
    for day, health in [*history, (None, Health.CONNECTED)]:
        if health in NO_ACCESS and since is None:
            since, why = day, health
        elif health not in NO_ACCESS and since is not None:
            end = day if day is not None else period.end
            start, stop = max(since, period.start), min(end, period.end)
            if start <= stop:
                spans.append(Gap(start, stop, OFFLINE_LABELS.get(why, "Disconnected")))
            since = None
    return spans


def gaps(
    account: InstagramAccount,
    numbers: Numbers,
    period: Period,
    zone,
    *,
    backfilling: bool = False,
) -> list[Gap]:
    """Runs of days inside the period with no daily data at all, labelled with what is known:
    the account was disconnected (from its connection history), Instagram's data not in yet,
    history still being filled in (`backfilling`), before the history Instagram gave, or simply
    nothing from Instagram. Days of a disconnection that the backfill filled in afterwards have
    data, so they are no gap (the markers still say when)."""
    covered = set()
    for (metric, dimension), values in numbers.daily.items():
        if not dimension and metric in ("reach", "views", "total_interactions"):
            covered.update(values)
    offline = _offline_spans(_history(account, numbers), period)
    if not covered and not offline:
        return []
    as_of_day = account.data_as_of_day
    first_covered = min(covered) if covered else None

    def label(day: date) -> str:
        for span in offline:
            if span.start <= day <= span.end:
                return span.label
        if as_of_day and day > as_of_day:
            return "Not in from Instagram yet"
        if backfilling:
            return "History still being filled in"
        if first_covered and day < first_covered:
            return "Before the account's history"
        return "No data from Instagram"

    found: list[Gap] = []
    for day in period.days:
        if day in covered:
            continue
        text = label(day)
        last = found[-1] if found else None
        if last and last.label == text and last.end == day - timedelta(days=1):
            last.end = day
        else:
            found.append(Gap(day, day, text))
    return found


def markers(
    account: InstagramAccount | None,
    notes: Iterable[ReportNote],
    period: Period,
    numbers: Numbers | None,
    zone,
) -> list[Marker]:
    """The agency's notes, Instagram's metric changes and, per account, its connection history:
    when it was connected, lost access and was reconnected."""
    found = [
        Marker(n.day, n.text, "note")
        for n in notes
        if account is None or n.account_id in (None, account.pk)
    ]
    found += [Marker(day, text, "meta") for day, text in META_CHANGES if day in period]
    if account is not None and numbers is not None:
        name = f"@{account.username}"
        history = _history(account, numbers)
        for i, (day, health) in enumerate(history):
            if day not in period:
                continue
            if health in NO_ACCESS:
                text = f"{name} {OFFLINE_MARKERS.get(health, 'lost access')}"
            elif i == 0:
                text = f"{name} connected"
            else:
                text = f"{name} reconnected"
            found.append(Marker(day, text, "account"))
        connected = account.connected_at.astimezone(zone).date() if account.connected_at else None
        if not numbers.changes and connected in period:  # history from before it was recorded
            found.append(Marker(connected, f"{name} connected", "account"))
    found.sort(key=lambda m: (m.day, m.kind))
    for number, marker in enumerate(found, 1):
        marker.number = number
    return found


ACCOUNT_SERIES = (
    ("reach", "Daily reach"),
    ("views", "Views"),
    ("total_interactions", "Interactions"),
    ("follower_count", "New followers per day"),
)


def account_series(
    numbers: Numbers, period: Period, comparison: Period | None
) -> tuple[dict[str, DailySeries], DailySeries]:
    """An account's daily series (period and comparison, day by day) and its followers."""
    series = {}
    for metric, label in ACCOUNT_SERIES:
        values = numbers.daily.get((metric, ""), {})
        series[metric] = DailySeries(
            metric, label, series_values(values, period), series_values(values, comparison)
        )
    followers = DailySeries(
        "followers",
        "Followers",
        series_values(numbers.followers, period),
        series_values(numbers.followers, comparison),
    )
    return series, followers


def split_from(numbers: Numbers, period: Period) -> date | None:
    """The first day of the period with Meta's views split by content type."""
    days = [
        day
        for (metric, dimension), values in numbers.daily.items()
        if metric == "views" and dimension.startswith(BREAKDOWN_PREFIX)
        for day in values
        if day in period
    ]
    return min(days) if days else None
