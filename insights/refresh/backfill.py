"""The history backfill on connect: as much account history as Meta gives, in ≤ 30-day windows,
resumable, with its progress derived from `BackfillWindow` rows.

- The plan: windows of 30 Pacific days going back from just before the daily refresh's own
  days (which it leaves to `daily`) to BACKFILL_DAYS ago (Meta keeps two years).
- Per window: daily reach (a `period=day` time series) and the totals of each calendar month
  starting in it. Meta's 7 / 28-day reach is read by the daily step for the windows ending on
  the last complete day (and, on an account's first read, the ones before them), not for
  history: one total_value request per window and end day (docs/graph-api.md §4).
- Per-day totals of the total_value-only metrics cost one operation per day (and per
  breakdown), asked in the flush's next round for the days the series answered (none past
  Meta's horizon), so that a report's previous period and the same period a year before have
  them (`wants_totals`):
  - with batch requests (Facebook Login) for the last BACKFILL_DAILY_TOTALS_DAYS (460: every
    preset range up to 90 days, its previous period and the same period a year before; Meta
    documents 90 days of user metrics but has answered two years back). Fifty operations ride
    in one HTTP request, so a two-year backfill of a 1,000-media account stays within 40.
  - without them (Instagram Login: Meta documents no batch on graph.instagram.com, so every
    day is an HTTP request of its own) for the last TOTALS_RECENT_DAYS and the same
    TOTALS_LAST_YEAR_DAYS a year before: the default report's previous period and its same
    period last year, within the first backfill's budget of 350 requests.
  Their breakdowns: the most recent BACKFILL_BREAKDOWN_DAYS.
- Windows go pending → started → done (Zulip's FillState). A chunk of windows is marked started,
  read, then written and marked done in one fenced transaction; a crash leaves `started`
  windows that the next run reads again (the writes are idempotent upserts).
- A window Meta answers with no data is done and marked empty (the older ones are still asked:
  a quiet stretch is not the end of the history). A window that fails is asked again on a
  later run (the next one RETRY_AFTER away; never twice in one run). Outages and rate limits
  never use up its attempts (history is not given up because Meta was busy); any other
  failure does, and after MAX_ATTEMPTS the window is given up with its error kept.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from ..meta import catalogue, parse
from ..models import BackfillWindow, InstagramAccount, LoginPath
from . import daily

CHUNK_OPERATIONS = 500  # about ten batch requests per chunk: visible progress, few requests
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)  # the next run, after a window failed
DAILY_OVERLAP = 3  # the most recent days are the daily refresh's


def _settings(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# Instagram Login (no batch): per-day totals for the last 60 days (the 28-day default report
# and its previous period, with room for a month) and for 35 days a year before them.
TOTALS_RECENT_DAYS = 60
TOTALS_LAST_YEAR_DAYS = 35


def wants_totals(day: date, today: date, *, batch: bool) -> bool:
    """Whether the backfill asks `day`'s per-day totals (see the module's docstring)."""
    age = (today - day).days
    if batch:
        return age <= _settings("BACKFILL_DAILY_TOTALS_DAYS", 460)
    return age <= TOTALS_RECENT_DAYS or 365 <= age <= 365 + TOTALS_LAST_YEAR_DAYS


def window_operations(window_start: date, window_end: date, today: date, *, batch: bool) -> int:
    """How many operations a window needs: its series, its months, its per-day totals."""
    breakdowns_from = today - timedelta(days=_settings("BACKFILL_BREAKDOWN_DAYS", 28))
    months = sum(
        1
        for i in range((window_end - window_start).days + 1)
        if (window_start + timedelta(days=i)).day == 1
    )
    days = [window_start + timedelta(days=i) for i in range((window_end - window_start).days + 1)]
    per_day = sum(1 for d in days if wants_totals(d, today, batch=batch))
    per_breakdown = sum(1 for d in days if d >= breakdowns_from) * len(catalogue.BREAKDOWNS)
    return 1 + months + per_day + per_breakdown


def ensure_plan(account: InstagramAccount, now=None) -> int:
    """Create the windows once (idempotent under the unique key). Returns how many exist."""
    now = now or timezone.now()
    existing = BackfillWindow.objects.filter(account=account, kind=BackfillWindow.Kind.ACCOUNT)
    if existing.exists():
        return existing.count()
    today = parse.today_pacific(now)
    batch = account.login_path != LoginPath.INSTAGRAM  # as the run's RequestPlan decides
    end = today - timedelta(days=DAILY_OVERLAP + 1)
    oldest = today - timedelta(days=_settings("BACKFILL_DAYS", 730))
    rows = []
    while end >= oldest:
        start = max(oldest, end - timedelta(days=daily.SERIES_DAYS - 1))
        rows.append(
            BackfillWindow(
                account=account,
                kind=BackfillWindow.Kind.ACCOUNT,
                start=start,
                end=end,
                steps=window_operations(start, end, today, batch=batch),
            )
        )
        end = start - timedelta(days=1)
    BackfillWindow.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _open_windows(account: InstagramAccount):
    return BackfillWindow.objects.filter(account=account, kind=BackfillWindow.Kind.ACCOUNT).exclude(
        state=BackfillWindow.State.DONE
    )


def queue_window(ctx, read: daily.AccountRead, window: BackfillWindow, today: date) -> None:
    breakdowns_from = today - timedelta(days=_settings("BACKFILL_BREAKDOWN_DAYS", 28))

    def totals(day: date) -> None:
        # Asked only for the days the series showed Meta still keeps: past its horizon (90
        # days to two years, Meta does not say) the window costs its series and months only.
        if wants_totals(day, today, batch=ctx.plan.use_batch):
            daily.queue_totals(ctx, read, day, breakdowns=day >= breakdowns_from)

    daily.queue_series(ctx, read, window.start, window.end, extra_days=False, then=totals)
    if window.end >= today - timedelta(days=catalogue.FOLLOWER_COUNT_DAYS - 2):
        # Meta's new followers per day exist only for its last 30 days: the newest window asks
        # for all of them (the daily read asks only for the days since the last refresh).
        daily.queue_follower_count(ctx, read, window.start)
    day = window.start
    while day <= window.end:
        if day.day == 1:
            daily.queue_month(ctx, read, day, today - timedelta(days=1))
        day += timedelta(days=1)


def run(ctx) -> dict:
    """Continue the backfill for as long as the run's time budget allows."""
    account = ctx.account
    with ctx.fenced():
        ensure_plan(account, ctx.now)
    today = parse.today_pacific(ctx.now)
    chunks, failed = 0, 0
    tried: set[int] = set()  # a window is asked once per run
    while chunks == 0 or not ctx.out_of_time:  # at least one chunk per run
        windows = list(_open_windows(account).exclude(pk__in=tried).order_by("-start"))
        if not windows:
            break
        chunk, ops = [], 0
        for window in windows:
            if chunk and ops + window.steps > CHUNK_OPERATIONS:
                break
            chunk.append(window)
            ops += window.steps
        with ctx.fenced():
            BackfillWindow.objects.filter(pk__in=[w.pk for w in chunk]).update(
                state=BackfillWindow.State.STARTED, started_at=timezone.now()
            )
        reads = {}
        for window in chunk:
            reads[window.pk] = daily.AccountRead()
            queue_window(ctx, reads[window.pk], window, today)
        ctx.plan.flush()
        _save_chunk(ctx, chunk, reads)
        chunks += 1
        tried.update(w.pk for w in chunk)
        failed += sum(1 for read in reads.values() if read.failures)
        if failed:  # Meta is failing: the rest waits for the next run, RETRY_AFTER away
            break
    return progress(account) | {"chunks": chunks, "failed_windows": failed}


def _save_chunk(ctx, chunk: list[BackfillWindow], reads: dict) -> None:
    now = timezone.now()
    with ctx.fenced():
        for window in chunk:
            read = reads[window.pk]
            failed = bool(read.failures)
            daily.save(ctx, read)
            if read.empty_windows and not read.daily and not failed:
                # Meta had nothing here. Older windows are still asked: a quiet stretch of an
                # account is not the end of its history, and asking costs one operation each.
                BackfillWindow.objects.filter(pk=window.pk).update(
                    state=BackfillWindow.State.DONE, empty=True, done_at=now
                )
                continue
            attempts = window.attempts + (1 if read.lasting_failures or not failed else 0)
            if failed and (not read.lasting_failures or attempts < MAX_ATTEMPTS):
                BackfillWindow.objects.filter(pk=window.pk).update(
                    state=BackfillWindow.State.PENDING,
                    attempts=attempts,
                    error="; ".join(read.failures)[:1000],
                )
            else:
                BackfillWindow.objects.filter(pk=window.pk).update(
                    state=BackfillWindow.State.DONE,
                    attempts=attempts,
                    done_at=now,
                    error="; ".join(read.failures)[:1000],
                )
        ctx.save_rejections()
        if not _open_windows(ctx.account).exists():
            InstagramAccount.objects.filter(pk=ctx.account.pk).update(backfilled_at=now)
            ctx.account.backfilled_at = now


def progress(account: InstagramAccount) -> dict:
    """Steps done of total and an estimate of the time left, from the window rows."""
    windows = BackfillWindow.objects.filter(account=account, kind=BackfillWindow.Kind.ACCOUNT)
    total = windows.aggregate(s=Sum("steps"))["s"] or 0
    done_rows = windows.filter(state=BackfillWindow.State.DONE)
    done = done_rows.aggregate(s=Sum("steps"))["s"] or 0
    pending = windows.exclude(state=BackfillWindow.State.DONE).count()
    first = windows.order_by("started_at").values_list("started_at", flat=True).first()
    last = done_rows.order_by("-done_at").values_list("done_at", flat=True).first()
    seconds_left = None
    if pending and done and first and last and last > first:
        rate = done / (last - first).total_seconds()
        seconds_left = round((total - done) / rate) if rate > 0 else None
    return {
        "steps_done": done,
        "steps_total": total,
        "pending": pending,
        "seconds_left": seconds_left,
        "percent": round(100 * done / total) if total else 100,
    }
