"""Reading snapshots for a report: the one place with the report's queries.

A fixed number of queries whatever the range, the number of accounts and the data (the page's
count is pinned in tests/test_reports.py): every number in the range is read in one UNION
query, the media in one ranked query, the demographics in one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, NullIf, RowNumber, TruncDate

from ..models import (
    AccountDaily,
    BackfillWindow,
    ConnectionChange,
    DemographicSnapshot,
    Media,
    ProfileSnapshot,
    WindowKind,
    WindowMetric,
)
from .periods import PACIFIC, Period, period_bounds

# Account metrics the report reads (AccountDaily): per-day totals, additive except reach.
DAILY_METRICS = (
    "reach",
    "views",
    "total_interactions",
    "profile_links_taps",
    "profile_views",
    "online_followers",
    "follower_count",  # Meta's new followers per day (it keeps only the last 30 days)
    "replies",  # read only where Meta zeroed it (EU/Japan rule): those days get a note
)
BREAKDOWN_PREFIX = "media_product_type="
TOP_POSTS = 6  # top posts and top reels shown per account


@dataclass
class Numbers:
    """Everything read for one account in the range, keyed for lookups."""

    daily: dict[tuple[str, str], dict[date, int]] = field(default_factory=lambda: defaultdict(dict))
    followers: dict[date, int] = field(default_factory=dict)
    windows: dict[tuple[str, date, date], int] = field(default_factory=dict)
    # The account's connection history up to the periods' end: (Pacific day, health, pk).
    changes: list[tuple[date, str, int]] = field(default_factory=list)
    # Prism's first follower count ever, and the first after each period's end: (day, count).
    first_followers: tuple[date, int] | None = None
    next_followers: dict[date, tuple[date, int]] = field(default_factory=dict)
    # The history backfill's steps: done and planned (0 and 0 before it was planned).
    backfill_done: int = 0
    backfill_total: int = 0

    def window(self, start: date, end: date) -> int | None:
        """Meta's de-duplicated reach for exactly start..end, whatever kind of window stored it
        (7 or 28 days, a calendar month, a report's own period)."""
        for (_kind, first, last), value in self.windows.items():
            if (first, last) == (start, end):
                return value
        return None

    def months(self, period: Period) -> list[tuple[date, date, int]]:
        """The calendar-month windows inside `period` (start, end, reach), oldest first; a
        month's window may end before the month does (Meta's 30-day cap, a month not over)."""
        return sorted(
            (first, last, value)
            for (kind, first, last), value in self.windows.items()
            if kind == WindowKind.MONTH and first in period and last in period
        )


def read_numbers(account_ids: list[int], periods: list[Period]) -> dict[int, Numbers]:
    """Daily metrics, follower counts and window reach for the accounts, in one UNION query.
    Only the periods' own days (and the day before each, for follower growth) are read, not the
    year between a period and its comparison."""
    text, day = CharField(), DateField()
    days = Q()
    for p in periods:
        days |= Q(day__range=(p.start - timedelta(days=1), p.end))
    daily = (
        AccountDaily.objects.filter(days, account_id__in=account_ids, metric__in=DAILY_METRICS)
        .exclude(metric="replies", zeroed_by_region=False)
        .filter(
            Q(dimension="")
            | Q(metric="views", dimension__startswith=BREAKDOWN_PREFIX)
            | Q(metric="online_followers", dimension__startswith="hour=")
        )
        .exclude(dimension__contains="|")
        .order_by()
        .annotate(src=Value("d", output_field=text), kind=Value("", output_field=text))
        .annotate(first_day=F("day"), last_day=F("day"))
        .values_list(
            "src", "account_id", "metric", "dimension", "kind", "first_day", "last_day", "value"
        )
    )
    profile = _profile_rows(
        ProfileSnapshot.objects.filter(
            days, account_id__in=account_ids, followers_count__isnull=False
        ),
        "p",
        None,
    )
    # Windows ending on a period's last day (the period's own reach), and the calendar months
    # inside a period (a long period's reach, month by month).
    ends = Q(end__in=[p.end for p in periods])
    for p in periods:
        ends |= Q(kind=WindowKind.MONTH, start__range=(p.start, p.end))
    windows = (
        WindowMetric.objects.filter(ends, account_id__in=account_ids, metric="reach", dimension="")
        .order_by()
        .annotate(src=Value("w", output_field=text), first_day=F("start"), last_day=F("end"))
        .values_list(
            "src", "account_id", "metric", "dimension", "kind", "first_day", "last_day", "value"
        )
    )
    # The nearest follower counts outside the periods: a freshly connected account's history
    # starts today, so "last 28 days" has none, and the report says what Prism has and from when.
    known = ProfileSnapshot.objects.filter(
        account_id=OuterRef("account_id"), followers_count__isnull=False
    ).order_by("day")
    nearest = [_profile_branch(account_ids, "f", None, known)]
    nearest += [
        _profile_branch(account_ids, "n", p.end, known.filter(day__gt=p.end)) for p in periods
    ]
    until = datetime.combine(max(p.end for p in periods) + timedelta(days=1), time.min, PACIFIC)
    changes = (
        ConnectionChange.objects.filter(account_id__in=account_ids, at__lt=until)
        .order_by()
        .annotate(
            src=Value("c", output_field=text),
            dimension=Value("", output_field=text),
            kind=Value("", output_field=text),
            first_day=TruncDate("at", tzinfo=PACIFIC),
            last_day=Value(None, output_field=day),
        )
        .values_list(
            "src", "account_id", "health", "dimension", "kind", "first_day", "last_day", "pk"
        )
    )
    backfill = (
        BackfillWindow.objects.filter(account_id__in=account_ids)
        .order_by()
        .annotate(
            src=Value("b", output_field=text),
            metric=F("state"),
            dimension=F("kind"),
            window_kind=Value("", output_field=text),
            first_day=F("start"),
            last_day=F("end"),
        )
        .values_list(
            "src",
            "account_id",
            "metric",
            "dimension",
            "window_kind",
            "first_day",
            "last_day",
            "steps",
        )
    )
    out: dict[int, Numbers] = {pk: Numbers() for pk in account_ids}
    for src, account_id, metric, dimension, kind, first_day, last_day, value in daily.union(
        profile, windows, *nearest, changes, backfill, all=True
    ):
        numbers = out[account_id]
        if src == "d":
            numbers.daily[(metric, dimension)][_as_date(first_day)] = value
        elif src == "p":
            numbers.followers[_as_date(first_day)] = value
        elif src == "f":
            numbers.first_followers = (_as_date(first_day), value)
        elif src == "n":
            numbers.next_followers[_as_date(last_day)] = (_as_date(first_day), value)
        elif src == "c":
            numbers.changes.append((_as_date(first_day), metric, value))
        elif src == "b":
            numbers.backfill_total += value
            numbers.backfill_done += value if metric == BackfillWindow.State.DONE else 0
        else:
            numbers.windows[(kind, _as_date(first_day), _as_date(last_day))] = value
    for numbers in out.values():
        numbers.changes.sort(key=lambda c: (c[0], c[2]))
    return out


def _profile_branch(account_ids: list[int], src: str, after: date | None, candidates):
    """One follower count per account: the first of `candidates` (a ProfileSnapshot queryset on
    OuterRef("account_id"), ordered by day); `after` rides along as last_day to key it."""
    return _profile_rows(
        ProfileSnapshot.objects.filter(
            account_id__in=account_ids, day=Subquery(candidates.values("day")[:1])
        ),
        src,
        after,
    )


def _profile_rows(snapshots, src: str, last_day: date | None):
    """Follower counts shaped as a branch of the numbers' UNION query."""
    text = CharField()
    return (
        snapshots.order_by()
        .annotate(
            src=Value(src, output_field=text),
            metric=Value("followers_count", output_field=text),
            dimension=Value("", output_field=text),
            kind=Value("", output_field=text),
            first_day=F("day"),
            last_day=Value(last_day, output_field=DateField()),
        )
        .values_list(
            "src",
            "account_id",
            "metric",
            "dimension",
            "kind",
            "first_day",
            "last_day",
            "followers_count",
        )
    )


def _as_date(value) -> date:
    # SQLite hands UNION columns back as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# The Media columns a report row is made of (`media_item`): the report's ranked query and the
# posts export read the same ones.
MEDIA_FIELDS = (
    "pk",
    "account_id",
    "media_id",
    "media_type",
    "product_type",
    "caption",
    "permalink",
    "timestamp",
    "thumbnail",
    "is_story",
    "story_state",
    "replies_zeroed_by_region",
    "latest_metrics",
    "last_sampled_at",
)
MAX_STORIES = 40  # the most recent stories shown per account; the posts CSV lists them all


@dataclass
class MediaSummary:
    """Counts and per-post engagement for the period and its comparison, plus only the rows the
    report shows (top posts, top reels, recent stories), so memory stays bounded however many
    media an account has."""

    posts: dict[str, int] = field(default_factory=dict)  # "cur"/"prev" -> posts published
    stories: int = 0
    # Per post (stories aside), "cur"/"prev" -> the sum of interactions ÷ reach × 100 and of
    # interactions over the posts that have them, and how many posts that is.
    rate_sum: dict[str, float] = field(default_factory=dict)
    rate_n: dict[str, int] = field(default_factory=dict)
    interactions_sum: dict[str, float] = field(default_factory=dict)
    interactions_n: dict[str, int] = field(default_factory=dict)
    top: list[dict] = field(default_factory=list)  # posts and reels, best first
    story_rows: list[dict] = field(default_factory=list)


def _metric(name: str):
    return Cast(KT(f"latest_metrics__{name}"), FloatField())


def read_media(
    account_ids: list[int], period: Period, comparison: Period | None, zone: ZoneInfo
) -> dict[int, MediaSummary]:
    """One query: window functions rank each account's media per period and kind, count them
    and add up per-post engagement; only the ranked rows the report shows come back. Posting
    times are placed in the periods' days in the client's zone."""
    since, until = period_bounds(period, zone)
    in_range = Q(timestamp__gte=since, timestamp__lt=until)
    if comparison:
        before, after = period_bounds(comparison, zone)
        in_range |= Q(timestamp__gte=before, timestamp__lt=after)
    flag = Case(
        When(timestamp__gte=since, then=Value("cur")),
        default=Value("prev"),
        output_field=CharField(),
    )
    kind = Case(
        When(is_story=True, then=Value("story")),
        When(product_type="REELS", then=Value("reel")),
        default=Value("post"),
        output_field=CharField(),
    )
    interactions = _metric("total_interactions")
    rate = interactions * 100.0 / NullIf(_metric("reach"), 0.0)
    by_kind = [F("account_id"), F("flag"), F("kind")]
    by_story = [F("account_id"), F("flag"), F("is_story")]
    order_key = Case(When(is_story=True, then=Value(0.0)), default=interactions)
    ranked = (
        Media.objects.filter(in_range, account_id__in=account_ids)
        .order_by()  # not Media's default ordering: it joins the account to sort by username
        .annotate(flag=flag)
        .annotate(kind=kind, rate=rate)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=by_kind,
                order_by=[order_key.desc(nulls_last=True), F("timestamp").desc(), F("pk")],
            ),
            n_kind=Window(Count("pk"), partition_by=by_kind),
            rate_sum=Window(Sum("rate"), partition_by=by_story),
            rate_n=Window(Count("rate"), partition_by=by_story),
            interactions_sum=Window(Sum(interactions), partition_by=by_story),
            interactions_n=Window(Count(interactions), partition_by=by_story),
        )
        .filter(Q(rank__lte=TOP_POSTS) | Q(kind="story", flag="cur", rank__lte=MAX_STORIES))
        .values("pk", *RANKED)
    )
    out: dict[int, MediaSummary] = {pk: MediaSummary() for pk in account_ids}
    for row in _with_media_columns(ranked):
        summary = out[row["account_id"]]
        flag_, kind_ = row["flag"], row["kind"]
        if row["rank"] == 1:
            if kind_ == "story":
                summary.stories += row["n_kind"] if flag_ == "cur" else 0
            else:
                summary.posts[flag_] = summary.posts.get(flag_, 0) + row["n_kind"]
                summary.rate_sum[flag_] = row["rate_sum"] or 0.0
                summary.rate_n[flag_] = row["rate_n"] or 0
                summary.interactions_sum[flag_] = row["interactions_sum"] or 0.0
                summary.interactions_n[flag_] = row["interactions_n"] or 0
        if flag_ != "cur":
            continue
        if kind_ == "story":
            summary.story_rows.append(row)
        else:
            summary.top.append(row)
    return out


RANKED = (
    "flag",
    "kind",
    "rank",
    "n_kind",
    "rate_sum",
    "rate_n",
    "interactions_sum",
    "interactions_n",
)


def _with_media_columns(ranked) -> list[dict]:
    """The ranked rows (pk and RANKED only) joined to their Media columns, still one query.
    The windows sort every media of the range; sorting only these narrow columns and reading
    captions and metrics for the few rows that win keeps the sort in memory: with 30,000
    media in a two-year range the wide rows spilled ~10 MB to disk on PostgreSQL. The ORM
    cannot join a subquery, so the outer SELECT is written here around the ORM's own SQL."""
    inner, params = ranked.query.sql_with_params()
    quote = connection.ops.quote_name
    fields = [Media._meta.pk if n == "pk" else Media._meta.get_field(n) for n in MEDIA_FIELDS]
    columns = ", ".join(f"m.{quote(f.column)}" for f in fields)
    extra = ", ".join(f"r.{quote(name)}" for name in RANKED)
    # Only quoted names and the ORM's compiled SQL go into the text; values stay parameters.
    sql = (
        f"SELECT {columns}, {extra} FROM ({inner}) r "  # noqa: S608
        f"INNER JOIN {quote(Media._meta.db_table)} m ON m.{quote('id')} = r.{quote('pk')}"
    )
    # What the ORM does to each column it reads (JSON decoded, dates typed on SQLite...).
    expression = [f.cached_col for f in fields]
    converters = [
        [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]
        for col in expression
    ]
    rows = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for values in cursor.fetchall():
            row = {}
            for i, name in enumerate(MEDIA_FIELDS):
                value = values[i]
                for convert in converters[i]:
                    value = convert(value, expression[i], connection)
                row[name] = value
            row.update(zip(RANKED, values[len(MEDIA_FIELDS) :], strict=True))
            rows.append(row)
    return rows


def read_demographics(account_ids: list[int], as_of: date) -> dict[int, dict]:
    """The follower-demographics snapshot of each breakdown nearest to `as_of` (the newest on or
    before it; for an account connected since, the first after it, whose date the report
    shows), with its buckets, in one query. Snapshots are never merged (Meta returns only the
    top 45). A snapshot with no buckets (Meta gave none, e.g. under 100 followers) still sets
    `as_of`, so the report can tell "Meta gave none" from "not captured yet"."""
    before = Q(captured_on__lte=as_of)
    nearest = (
        DemographicSnapshot.objects.filter(
            account_id=OuterRef("account_id"),
            metric="follower_demographics",
            breakdown=OuterRef("breakdown"),
        )
        .order_by(
            Case(When(before, then=Value(0)), default=Value(1)),
            Case(When(before, then=F("captured_on"))).desc(nulls_last=True),
            "captured_on",
            "-pk",
        )
        .values("pk")[:1]
    )
    rows = (
        DemographicSnapshot.objects.filter(
            account_id__in=account_ids, metric="follower_demographics", pk=Subquery(nearest)
        )
        .order_by("-buckets__value", "buckets__key")
        .values_list("account_id", "breakdown", "captured_on", "buckets__key", "buckets__value")
    )
    out: dict[int, dict] = defaultdict(lambda: {"as_of": None, "buckets": defaultdict(list)})
    for account_id, breakdown, captured_on, key, value in rows:
        entry = out[account_id]
        if key is not None:
            entry["buckets"][breakdown].append((key, value))
        entry["as_of"] = max(filter(None, [entry["as_of"], captured_on]))
    return out


def iter_period_media(account_ids, period: Period, zone: ZoneInfo) -> Iterator[dict]:
    """Every post and story of the accounts published in the period (in the client's zone),
    oldest first, as MEDIA_FIELDS rows read in chunks (the exports' memory stays flat)."""
    since, until = period_bounds(period, zone)
    rows = (
        Media.objects.filter(account_id__in=account_ids, timestamp__gte=since, timestamp__lt=until)
        .order_by("timestamp", "pk")
        .values(*MEDIA_FIELDS)
    )
    yield from rows.iterator(chunk_size=500)
