"""Account-level reads: the profile snapshot, daily metrics, per-day totals and window reach
(graph-api.md §3.1, §4, §10).

Everything a run needs is queued on the run's `RequestPlan`, so on graph.facebook.com the whole
daily read is one batch request:
- the profile (`followers_count`, `follows_count`, `media_count`) → today's ProfileSnapshot;
- `reach` as a daily time series (`period=day`) from the first day Prism still needs, ≤ 30 days
  per operation;
- Meta's de-duplicated reach of the trailing 7 and 28 days ending on the last complete Pacific
  day, each one `metric_type=total_value` request over `since`/`until` (the documented way; the
  `week`/`days_28` periods are gone from the reference, docs/graph-api.md §4), re-read until
  settled; on an account's first read also the windows just before them (a report's default
  comparison periods);
- `follower_count` (new followers per day; Meta keeps 30 days);
- per-day totals of the total_value-only metrics, one operation per day (Meta's total_value
  gives one total per request) plus one per breakdown, for each day that is new or not settled
  (Meta's numbers move for up to 48 h, so a day is re-read until a read ≥ 48 h after its end);
- the calendar month's totals (reach de-duplicated, counts summed by Meta) for the current month
  and, until it settles, the previous one. Meta caps a request at 30 days, so a 31-day month's
  window holds its first 30 days and says so (`end`, `complete`).

Days Meta answers beyond Prism's own "yesterday" (Meta's clock ahead of Prism's) are read too:
their totals are queued when the time series shows them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Max

from ..meta import catalogue, parse
from ..meta.client import ErrorKind, MetaError
from ..models import AccountDaily, ProfileSnapshot, WindowKind, WindowMetric
from . import region, store

log = logging.getLogger(__name__)

SETTLE = timedelta(hours=48)
REREAD_AFTER = timedelta(hours=20)  # an unsettled day is read again about once a day
DAILY_LOOKBACK_DAYS = 90  # a longer gap than this is left to the backfill
RECENT_DAYS = 40  # stored days checked for settling and for holes on every run
# A reach window missing for one of the last few days while the day before has one (a run that
# stopped before it wrote, then Meta's day ended) is asked again; Meta answers any range.
WINDOW_REPAIR_DAYS = 3
# Whole Pacific days per time-series operation: 30 would lose its last day across the autumn
# DST change (30 days and an hour exceed Meta's 2,592,000-second cap).
SERIES_DAYS = catalogue.MAX_WINDOW_DAYS - 1


@dataclass
class Rejection:
    metric: str
    error: MetaError


@dataclass
class AccountRead:
    """What the queued operations brought back, written in one fenced transaction."""

    daily: dict = field(default_factory=dict)  # (metric, dimension, day) -> AccountDaily
    windows: dict = field(default_factory=dict)
    profile: ProfileSnapshot | None = None
    rejections: list[Rejection] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # Of those, the failures that asking again later cures (an outage, a rate limit).
    passing_failures: int = 0
    days_queued: set[date] = field(default_factory=set)
    follower_count_queued: bool = False
    failed_days: set[date] = field(default_factory=set)  # its totals or its series read failed
    failed_windows: set[tuple[str, date]] = field(default_factory=set)  # (kind, end)
    series_days: set[date] = field(default_factory=set)
    empty_windows: int = 0

    @property
    def lasting_failures(self) -> int:
        return len(self.failures) - self.passing_failures

    def stats(self) -> dict:
        return {
            "daily_values": len(self.daily),
            "window_values": len(self.windows),
            "profile": self.profile is not None,
            "rejected_metrics": sorted({r.metric for r in self.rejections}),
            "failed_reads": len(self.failures),
            # Read again on the next run (days_due): the day's reach row exists, so nothing
            # else would bring the day back before its re-read a day later.
            "failed_days": sorted(d.isoformat() for d in self.failed_days),
            # Likewise the reach windows whose read failed: (kind, end) as "7d:2026-11-30".
            "failed_windows": sorted(f"{k}:{e.isoformat()}" for k, e in self.failed_windows),
        }


# --- Queuing reads ----------------------------------------------------------------------------


def queue_profile(ctx, read: AccountRead) -> None:
    def on_result(body):
        if isinstance(body, MetaError) or not isinstance(body, dict):
            read.failures.append(f"profile: {body}")
            return

        def count(name):
            value = body.get(name)
            return round(value) if parse.is_number(value) else None

        read.profile = ProfileSnapshot(
            account=ctx.account,
            day=parse.today_pacific(ctx.now),
            followers_count=count("followers_count"),
            follows_count=count("follows_count"),
            media_count=count("media_count"),
            captured_at=ctx.now,
        )

    ctx.plan.add(
        ctx.account.ig_user_id, {"fields": "followers_count,follows_count,media_count"}, on_result
    )


def queue_series(
    ctx, read: AccountRead, first: date, last: date, *, extra_days: bool, then=None
) -> None:
    """Daily reach for Pacific days first..last, in ≤ 30-day operations. With `extra_days`,
    days Meta answers past `last` get their per-day totals queued too. `then(day)` is called
    for each day of first..last Meta answered (the backfill asks those days' totals in the
    flush's next round, and none for days Meta no longer keeps)."""
    metrics = catalogue.without(catalogue.SERIES_DAY, ctx.rejected(""))
    if not metrics:
        return
    periods = ["day"]
    start = first
    while start <= max(first, last):
        since = parse.day_start(start)
        until = longest_until(since)

        def on_result(body, start=start):
            if isinstance(body, MetaError):
                _rejected_or_failed(ctx, read, body, metrics, f"series from {start}")
                if body.kind != ErrorKind.METRIC_UNSUPPORTED:
                    # Its days may still be stored by other operations (a breakdown's total
                    # gives a day its reach), settled at once when first read 48 h late: the
                    # days are recorded as failed, so the next run asks for them again.
                    covered = min(start + timedelta(days=SERIES_DAYS - 1), last)
                    read.failed_days |= {
                        start + timedelta(days=i) for i in range((covered - start).days + 1)
                    }
                return
            points = parse.series(body)
            if not points:
                read.empty_windows += 1
            for point in points:
                day = parse.pacific_day(point.end_time)
                if day > last and not extra_days:
                    # Past a backfill window's end (an operation spans 30 days and an hour):
                    # that day is the next window's, or the daily read's, with its totals. Kept
                    # here, it would look read and never get them.
                    continue
                if point.period == "day":
                    _daily(ctx, read, point.metric, "", day, point.value, point.end_time)
                    read.series_days.add(day)
                    if then is not None and day <= last:
                        then(day)
                    if extra_days and day > last and day not in read.days_queued:
                        queue_totals(ctx, read, day)
                        if not read.follower_count_queued:  # Meta completed it: ask now
                            queue_follower_count(ctx, read, day, complete=True)

        ctx.plan.add(
            f"{ctx.account.ig_user_id}/insights",
            {
                "metric": ",".join(metrics),
                "period": ",".join(periods),
                "metric_type": "time_series",
                "since": int(since.timestamp()),
                "until": int(until.timestamp()),
            },
            on_result,
        )
        start += timedelta(days=SERIES_DAYS)


def queue_window(ctx, read: AccountRead, kind: str, end: date) -> None:
    """Meta's de-duplicated reach over the `kind` days ending on `end` (one total_value
    request, docs/graph-api.md §4)."""
    if "reach" in ctx.rejected(""):
        return
    start = end - timedelta(days=catalogue.REACH_WINDOWS[kind] - 1)
    until = parse.day_end(end)

    def on_result(body):
        if isinstance(body, MetaError):
            _rejected_or_failed(ctx, read, body, ["reach"], f"{kind} reach to {end}")
            if body.kind != ErrorKind.METRIC_UNSUPPORTED:
                read.failed_windows.add((kind, end))
            return
        total = parse.totals(body).get("reach")
        if total is not None and total.value is not None:
            ctx.accepted(["reach"])
            _window(
                ctx, read, "reach", kind, start, end, total.value, complete=True, end_time=until
            )

    params = {
        "metric": "reach",
        "period": "day",
        "metric_type": "total_value",
        "since": int(parse.day_start(start).timestamp()),
        "until": int(until.timestamp()),
    }
    ctx.plan.add(f"{ctx.account.ig_user_id}/insights", params, on_result)


def queue_windows(ctx, read: AccountRead, last: date, *, asked: set = frozenset()) -> None:
    """The trailing windows ending on `last` (the last complete day), unless stored settled;
    windows of the last days not settled yet are read again; an account with none yet also gets
    the windows just before (the default report's comparison periods), and a window missing
    among the last days' (after a stored one, or the last run's) is asked again
    (WINDOW_REPAIR_DAYS). `asked`: (kind, end) already
    queued by this run (the last run's failed reads, see `plan`)."""
    stored = {
        (kind, end): settled or captured > ctx.now - REREAD_AFTER  # nothing to ask yet
        for kind, end, settled, captured in WindowMetric.objects.filter(
            account=ctx.account,
            metric="reach",
            dimension="",
            kind__in=list(catalogue.REACH_WINDOWS),
            end__gte=last - timedelta(days=60),
        ).values_list("kind", "end", "settled", "captured_at")
    }
    # The last complete day when the account's last run succeeded: its windows were stored then.
    previous = ctx.account.last_refresh_at
    previous_last = parse.today_pacific(previous) - timedelta(days=1) if previous else None
    for kind, days in catalogue.REACH_WINDOWS.items():
        ends = [last]
        ends += [e for (k, e), done in stored.items() if k == kind and not done and e < last]
        if not any(k == kind for k, _ in stored):
            ends.append(last - timedelta(days=days))
        for back in range(1, WINDOW_REPAIR_DAYS + 1):
            end = last - timedelta(days=back)
            if (kind, end) not in stored and (
                (kind, end - timedelta(days=1)) in stored or end == previous_last
            ):
                ends.append(end)
        for end in sorted(set(ends)):
            if not stored.get((kind, end)) and (kind, end) not in asked:
                queue_window(ctx, read, kind, end)


def previous_failed_windows(ctx) -> set[tuple[str, date]]:
    previous = (ctx.account.last_refresh_stats or {}).get("account", {})
    out = set()
    for item in previous.get("failed_windows", []):
        kind, _, end = item.partition(":")
        if kind in catalogue.REACH_WINDOWS:
            out.add((kind, date.fromisoformat(end)))
    return out


def stored_windows(account, *, metric: str = "reach") -> list[tuple[str, date, date]]:
    """The de-duplicated windows Prism holds for an account, `(kind, start, end)` newest first
    (kinds 7d, 28d, month; WindowMetric). For the reports: which ranges have Meta's own
    de-duplicated reach."""
    return list(
        WindowMetric.objects.filter(account=account, metric=metric, dimension="")
        .order_by("-end", "kind")
        .values_list("kind", "start", "end")
    )


def queue_follower_count(ctx, read: AccountRead, first: date, *, complete: bool = False) -> None:
    """New followers per day; Meta answers only for the last 30 days excluding today. With
    `complete`, Meta's series already showed `first` complete (its clock ahead of Prism's), so
    Prism's own today is asked too."""
    if catalogue.FOLLOWER_COUNT in ctx.rejected(""):
        return
    today = parse.today_pacific(ctx.now)
    first = max(first, today - timedelta(days=catalogue.FOLLOWER_COUNT_DAYS - 2))
    if first > today or (first == today and not complete):
        return
    read.follower_count_queued = True

    def on_result(body):
        if isinstance(body, MetaError):
            if "30 days" in body.message:  # asked too far back: a range problem, not a rejection
                read.failures.append(f"follower_count: {body}")
                return
            _rejected_or_failed(ctx, read, body, [catalogue.FOLLOWER_COUNT], "follower_count")
            return
        for point in parse.series(body):
            day = parse.pacific_day(point.end_time)
            _daily(ctx, read, point.metric, "", day, point.value, point.end_time)

    ctx.plan.add(
        f"{ctx.account.ig_user_id}/insights",
        {
            "metric": catalogue.FOLLOWER_COUNT,
            "period": "day",
            "since": int(parse.day_start(first).timestamp()),
            "until": int(parse.day_start(today + timedelta(days=1)).timestamp()),
        },
        on_result,
    )


def queue_totals(ctx, read: AccountRead, day: date, *, breakdowns: bool = True) -> None:
    """One day's totals of the total_value-only metrics, and their breakdowns."""
    read.days_queued.add(day)
    rejected = ctx.rejected("")
    groups = [("", catalogue.without(catalogue.TOTALS, rejected))]
    if breakdowns:
        groups += [
            (
                b.dimension,
                catalogue.without(b.metrics, rejected | ctx.rejected(f"breakdown:{b.dimension}")),
            )
            for b in catalogue.BREAKDOWNS
        ]
    since, until = parse.day_start(day), parse.day_end(day)
    for dimension, metrics in groups:
        if metrics:
            _queue_total(ctx, read, dimension, metrics, since, until, day)


def _queue_total(ctx, read, dimension, metrics, since, until, day) -> None:
    params = {
        "metric": ",".join(metrics),
        "period": "day",
        "metric_type": "total_value",
        "since": int(since.timestamp()),
        "until": int(until.timestamp()),
    }
    if dimension:
        params["breakdown"] = dimension

    def on_result(body):
        if isinstance(body, MetaError):
            if body.kind != ErrorKind.METRIC_UNSUPPORTED:
                read.failed_days.add(day)
            scope = f"breakdown:{dimension}" if dimension else ""
            for part in _rejected_or_failed(
                ctx, read, body, metrics, f"totals {day} {dimension}", scope=scope
            ):
                _queue_total(ctx, read, dimension, part, since, until, day)
            return
        totals = parse.totals(body)
        # A refusal being asked again (MetricRejection.retry_at) is over once Meta answers.
        ctx.accepted(list(totals), f"breakdown:{dimension}" if dimension else "")
        for metric, total in totals.items():
            if total.value is not None:
                _daily(ctx, read, metric, "", day, total.value, until)
            for dim, value in total.parts.items():
                _daily(ctx, read, metric, dim, day, value, until)

    ctx.plan.add(f"{ctx.account.ig_user_id}/insights", params, on_result)


def longest_until(since: datetime) -> datetime:
    """Meta's cap is 2,592,000 seconds, not 30 calendar days: across the autumn DST change 30
    Pacific days last 30 days and an hour, which Meta refuses."""
    return since.astimezone(UTC) + timedelta(days=catalogue.MAX_WINDOW_DAYS)


def month_window(month_start: date, last_day: date) -> tuple[date, date, bool]:
    """(start, end, complete) of the calendar month Meta can answer: whole Pacific days within
    Meta's 30-day cap, and no later than `last_day`."""
    next_month = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    month_end = next_month - timedelta(days=1)
    end = min(month_end, last_day)
    cap = longest_until(parse.day_start(month_start))
    while end >= month_start and parse.day_end(end) > cap:
        end -= timedelta(days=1)
    return month_start, end, end == month_end


def queue_month(ctx, read: AccountRead, month_start: date, last_day: date) -> None:
    start, end, complete = month_window(month_start, last_day)
    metrics = catalogue.without(catalogue.WINDOW_TOTALS, ctx.rejected(""))
    if end >= start and metrics:
        _queue_window_totals(ctx, read, metrics, start, end, complete)


def _queue_window_totals(ctx, read, metrics, start, end, complete) -> None:
    until = parse.day_end(end)

    def on_result(body):
        if isinstance(body, MetaError):
            for part in _rejected_or_failed(ctx, read, body, metrics, f"month {start}"):
                _queue_window_totals(ctx, read, part, start, end, complete)
            return
        for metric, total in parse.totals(body).items():
            if total.value is not None:
                _window(
                    ctx,
                    read,
                    metric,
                    WindowKind.MONTH,
                    start,
                    end,
                    total.value,
                    complete=complete,
                    end_time=until,
                )

    params = {
        "metric": ",".join(metrics),
        "period": "day",
        "metric_type": "total_value",
        "since": int(parse.day_start(start).timestamp()),
        "until": int(until.timestamp()),
    }
    ctx.plan.add(f"{ctx.account.ig_user_id}/insights", params, on_result)


# --- Collecting answers -----------------------------------------------------------------------


def _daily(ctx, read, metric, dimension, day, value, end_time) -> None:
    read.daily[(metric, dimension, day)] = AccountDaily(
        account=ctx.account,
        metric=metric,
        dimension=dimension,
        day=day,
        value=value,
        end_time=end_time,
        captured_at=ctx.now,
        settled=ctx.now >= end_time + SETTLE,
    )


def _window(ctx, read, metric, kind, start, end, value, *, complete, end_time) -> None:
    read.windows[(metric, "", kind, start)] = WindowMetric(
        account=ctx.account,
        metric=metric,
        kind=kind,
        start=start,
        end=end,
        value=value,
        complete=complete,
        captured_at=ctx.now,
        settled=complete and ctx.now >= end_time + SETTLE,
    )


_WORD = re.compile(r"[a-z][a-z_]+")


def named_metrics(error: MetaError, metrics: list[str]) -> list[str]:
    """The metrics Meta's message names: "metric[2] must be one of…" (an index into the
    request), "(views)", "the views metric"."""
    index = re.search(r"metric\[(\d+)\]", error.message)
    if index and int(index.group(1)) < len(metrics):
        return [metrics[int(index.group(1))]]
    head = error.message.split("must be one of")[0].lower()
    words = set(_WORD.findall(head))
    return [m for m in metrics if m in words]


def _rejected_or_failed(ctx, read, error, metrics, what, *, scope: str = "") -> list[list[str]]:
    """A failed operation. A rejected metric is recorded and the others asked again (returned
    as groups to re-queue); anything else is noted and the day stays due."""
    if error.kind != ErrorKind.METRIC_UNSUPPORTED:
        read.failures.append(f"{what}: {error}")
        if error.kind in (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED):
            read.passing_failures += 1
        return []
    named = named_metrics(error, list(metrics))
    if named:
        for metric in named:
            read.rejections.append(Rejection(metric, error))
            ctx.reject(metric, scope, error)
        rest = [m for m in metrics if m not in named]
        return [rest] if rest else []
    if len(metrics) == 1:
        read.rejections.append(Rejection(metrics[0], error))
        ctx.reject(metrics[0], scope, error)
        return []
    half = len(metrics) // 2
    return [list(metrics[:half]), list(metrics[half:])]


# --- Planning a run and writing it -------------------------------------------------------------


def recent_reach(ctx) -> dict[date, tuple[bool, datetime]]:
    """The last RECENT_DAYS days' stored daily reach: day -> (settled, captured_at)."""
    since = parse.today_pacific(ctx.now) - timedelta(days=RECENT_DAYS)
    rows = AccountDaily.objects.filter(
        account=ctx.account, metric="reach", dimension="", day__gte=since
    ).values_list("day", "settled", "captured_at")
    return {day: (settled, captured) for day, settled, captured in rows}


def days_due(ctx, known: dict[date, tuple[bool, datetime]]) -> list[date]:
    """Pacific days whose daily values a run should read: new days since the newest stored one
    (at most DAILY_LOOKBACK_DAYS back), stored days not settled and not read lately, and
    holes in the recent history (`known`: `recent_reach`)."""
    today = parse.today_pacific(ctx.now)
    yesterday = today - timedelta(days=1)
    newest = max(known, default=None)
    if newest is None:
        newest = AccountDaily.objects.filter(
            account=ctx.account, metric="reach", dimension=""
        ).aggregate(m=Max("day"))["m"]
    if newest is None:
        first = yesterday - timedelta(days=2)
    else:
        first = max(newest + timedelta(days=1), today - timedelta(days=DAILY_LOOKBACK_DAYS))
    due = {first + timedelta(days=i) for i in range(max(0, (yesterday - first).days + 1))}
    for day, (settled, captured) in known.items():
        if not settled and captured < ctx.now - REREAD_AFTER and day <= yesterday:
            due.add(day)
    previous = (ctx.account.last_refresh_stats or {}).get("account", {})
    recorded = {  # the last run's failed reads: asked again
        day
        for day in map(date.fromisoformat, previous.get("failed_days", []))
        if day >= today - timedelta(days=DAILY_LOOKBACK_DAYS)
    }
    due |= recorded
    if ctx.account.backfilled_at is not None and known:
        # A day missing between stored ones (a read that never landed, whatever the cause) is
        # new again: history has no holes. While a backfill runs, its windows fill them.
        # (Accounts backfilled before 694a240 lack one day's totals: this fills it too.)
        oldest = min(known)
        gaps = {
            oldest + timedelta(days=i)
            for i in range((newest - oldest).days)
            if oldest + timedelta(days=i) not in known
        }
        # A day with its reach but without the per-day totals the other days have.
        totals = catalogue.without(catalogue.TOTALS, ctx.rejected(""))
        if totals:
            with_totals = set(
                AccountDaily.objects.filter(
                    account=ctx.account, metric=totals[0], dimension="", day__gte=oldest
                ).values_list("day", flat=True)
            )
            if with_totals:
                first_total = min(with_totals)
                gaps |= {
                    day
                    for day in known
                    if first_total <= day <= yesterday and day not in with_totals
                }
        if unexplained := gaps - recorded:  # a recorded failure is expected
            log.warning(
                "account %s: re-reading days missing from its history: %s",
                ctx.account.pk,
                sorted(unexplained),
            )
        due |= gaps
    return sorted(due)


def plan(ctx, read: AccountRead) -> None:
    """Queue this run's account reads. The time series always goes out (one operation): Meta's
    answer shows which days it has completed, so days past Prism's own "yesterday" (Meta's
    clock ahead, or the sandbox's moved) are found and their totals read in the same flush."""
    known = recent_reach(ctx)
    days = days_due(ctx, known)
    today = parse.today_pacific(ctx.now)
    yesterday = today - timedelta(days=1)
    if days or not ProfileSnapshot.objects.filter(account=ctx.account, day=today).exists():
        queue_profile(ctx, read)
    newest = AccountDaily.objects.filter(
        account=ctx.account, metric="reach", dimension=""
    ).aggregate(m=Max("day"))["m"]
    first = days[0] if days else (newest + timedelta(days=1) if newest else yesterday)
    # Unsettled recent days ride along in the series (same operation): Meta's clock may have
    # moved further than Prism's, and their reach keeps settling for 48 h.
    unsettled = (
        AccountDaily.objects.filter(
            account=ctx.account,
            metric="reach",
            dimension="",
            settled=False,
            day__gte=today - timedelta(days=5),
        )
        .order_by("day")
        .values_list("day", flat=True)
        .first()
    )
    if unsettled and unsettled < first:
        first = unsettled
    queue_series(ctx, read, first, yesterday, extra_days=True)
    # Reach windows whose read failed on the last run: nothing else would ask a settled one.
    retried = previous_failed_windows(ctx)
    for kind, end in sorted(retried):
        queue_window(ctx, read, kind, end)
    if not days:
        return
    # With the day's reads (and their settling re-reads), not on every hourly run.
    queue_windows(ctx, read, yesterday, asked=retried)
    queue_follower_count(ctx, read, first)
    for day in days:
        queue_totals(ctx, read, day)
    month = yesterday.replace(day=1)
    queue_month(ctx, read, month, yesterday)
    previous = (month - timedelta(days=1)).replace(day=1)
    settled = WindowMetric.objects.filter(
        account=ctx.account, metric="reach", kind=WindowKind.MONTH, start=previous, settled=True
    ).exists()
    if not settled and (yesterday - month).days < 5:
        queue_month(ctx, read, previous, yesterday)


def save(ctx, read: AccountRead) -> datetime | None:
    """Write what was read (call inside the fenced transaction). Returns the new "data as of":
    the end of the newest day with daily reach."""
    mark_zeroed_replies(ctx, read)
    store.upsert_daily(list(read.daily.values()))
    store.upsert_windows(list(read.windows.values()))
    if read.profile is not None:
        store.upsert_profile([read.profile])
    ends = [
        row.end_time
        for (metric, dim, _), row in read.daily.items()
        if metric == "reach" and not dim
    ]
    return max(ends, default=None)


def mark_zeroed_replies(ctx, read: AccountRead) -> None:
    """Replies of 0 that Meta's EU / Japan rule produced are marked, not presented as real
    zeros (`region`; the account's replies are its stories' replies). The region is looked up
    only when such a 0 came."""
    zeros = [
        row
        for row in (*read.daily.values(), *read.windows.values())
        if row.metric == "replies" and row.value == 0
    ]
    if not zeros:
        return
    rule = region.replies_rule(ctx.account)
    for row in zeros:
        first = row.day if isinstance(row, AccountDaily) else row.start
        row.zeroed_by_region = region.zeroed(row.value, rule, first)
