"""The one report model: a client's numbers for a date range and its comparison, built from
snapshots only (never from Meta), and rendered as the page, the PDF and the exports.

Rules this module keeps (see insights.models.snapshots for the storage side):

- Missing data stays None and is shown as "—"; a sum over a period with some days missing says how
  many days it covers. Nothing missing is ever turned into 0.
- Reach is never a sum of daily reach. The reach tile shows Meta's de-duplicated window figure when
  the period is one Meta gives (7 or 28 days ending on the period's last day, or a calendar
  month); otherwise it shows the *average daily* reach, labelled as daily.
- Daily figures are Meta's days, which end at midnight Pacific time; the report says so. Posting
  times and "best hours" are shown in the client's own time zone.
- A fixed number of queries whatever the range, the number of accounts and the data (the page's
  count is pinned in tests/test_reports.py): every number in the range is read in one UNION query.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
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
from django.utils import timezone

from ..models import (
    ENGAGEMENT_FORMULA_HELP,
    NO_ACCESS,
    AccountDaily,
    Client,
    Compare,
    ConnectionChange,
    DemographicSnapshot,
    EngagementFormula,
    Health,
    InstagramAccount,
    Media,
    ProfileSnapshot,
    RangePreset,
    ReportNote,
    ReportSettings,
    StoryState,
    WindowKind,
    WindowMetric,
)

PACIFIC = ZoneInfo("America/Los_Angeles")
MAX_DAYS = 731  # a custom range may cover two years (Meta keeps media metrics that long)

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

# Meta's metric changes, shown as annotations on the charts (graph-api.md §4.2, §5.2).
META_CHANGES = (
    (date(2025, 1, 8), "Meta removes profile visits and video_views from its API"),
    (date(2025, 1, 21), "Meta introduces views: plays and displays of every kind of content"),
    (date(2025, 4, 21), "Meta removes impressions for every API version; views replaces it"),
    (date(2025, 12, 3), "Meta adds reposts to interactions"),
)

PRODUCT_LABELS = {
    "FEED": "Posts",
    "POST": "Posts",
    "CAROUSEL_CONTAINER": "Carousels",
    "CAROUSEL_ALBUM": "Carousels",
    "REELS": "Reels",
    "REEL": "Reels",
    "STORY": "Stories",
    "AD": "Ads",
    "IGTV": "Videos",
}


# --- Periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @cached_property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        if self.start == self.end:
            return _long(self.start)
        if self.start.year == self.end.year:
            head = f"{self.start.day} {self.start.strftime('%b')}"
            return f"{head} – {_long(self.end)}"
        return f"{_long(self.start)} – {_long(self.end)}"

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def _long(day: date) -> str:
    return f"{day.day} {day.strftime('%b')} {day.year}"


def client_today(client: Client, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(ZoneInfo(client.time_zone)).date()


def preset_range(preset: str, today: date) -> Period:
    """A preset's days. Ranges end yesterday: today is not over, and Meta has no day for it."""
    yesterday = today - timedelta(days=1)
    if preset in (RangePreset.LAST_7, RangePreset.LAST_28, RangePreset.LAST_90):
        length = int(preset.split("_")[1])
        return Period(yesterday - timedelta(days=length - 1), yesterday)
    if preset == RangePreset.THIS_MONTH:
        start = today.replace(day=1)
        return Period(start, max(start, yesterday))
    if preset == RangePreset.LAST_MONTH:
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    raise ValueError(f"unknown range preset {preset!r}")


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def comparison_period(period: Period, compare: str) -> Period | None:
    if compare == Compare.NONE:
        return None
    if compare == Compare.PREVIOUS:
        end = period.start - timedelta(days=1)
        return Period(end - timedelta(days=period.length - 1), end)
    if compare == Compare.YEAR:
        return Period(_year_before(period.start), _year_before(period.end))
    raise ValueError(f"unknown comparison {compare!r}")


def is_calendar_month(period: Period) -> bool:
    last = calendar.monthrange(period.end.year, period.end.month)[1]
    return (
        period.start.day == 1
        and period.end.day == last
        and (period.start.year, period.start.month) == (period.end.year, period.end.month)
    )


# --- The report model -------------------------------------------------------------------------


@dataclass
class Kpi:
    key: str
    label: str
    value: float | None
    previous: float | None = None
    unit: str = "count"  # count | percent
    note: str = ""  # what the figure is, e.g. "de-duplicated, 28 days" or the formula
    coverage: str = ""  # e.g. "26 of 28 days": some days had no data
    # The figure is from a day outside the period (the nearest Prism has), said in `note`.
    outside: bool = False

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def delta_percent(self) -> float | None:
        """Relative change for counts; rates compare in percentage points (see `delta`)."""
        if self.unit != "count" or self.delta is None or not self.previous:
            return None
        return self.delta / abs(self.previous) * 100


@dataclass
class DailySeries:
    metric: str
    label: str
    values: list[float | None]
    previous: list[float | None] | None = None


@dataclass
class PostRow:
    media_pk: int
    media_id: str
    account_id: int
    account: str
    published: datetime  # in the client's zone
    kind: str  # Posts, Reels, Carousels...
    media_type: str
    caption: str
    permalink: str
    thumbnail: str  # the stored file's name, '' when none
    metrics: dict[str, float | None]
    sampled_at: datetime | None
    engagement_rate: float | None

    @property
    def short_caption(self) -> str:
        text = " ".join(self.caption.split())
        return text if len(text) <= 90 else text[:88].rstrip() + "…"


@dataclass
class StoryRow:
    media_pk: int
    account: str
    published: datetime
    thumbnail: str
    state: str  # captured | late | missed | pending
    state_label: str
    metrics: dict[str, float | None]
    replies_zeroed: bool  # Meta's EU/Japan rule: replies reported as 0 are not real zeros


@dataclass
class Marker:
    day: date
    text: str
    kind: str  # note | prism | meta
    number: int = 0


@dataclass
class Gap:
    start: date
    end: date
    label: str


@dataclass
class Section:
    """One account's report, or the roll-up of all the client's accounts (`account` None)."""

    title: str
    account: InstagramAccount | None
    kpis: list[Kpi]
    daily: dict[str, DailySeries]
    followers: DailySeries
    content_split: list[tuple[str, dict[str, float | None]]]  # (week label, {type: views})
    content_types: list[str]
    online_followers: list[list[float | None]] | None  # 7 × 24 in the client's zone
    top_posts: list[PostRow]
    top_reels: list[PostRow]
    stories: list[StoryRow]
    demographics: dict[str, list[tuple[str, float]]]
    demographics_as_of: date | None
    markers: list[Marker]
    gaps: list[Gap]
    data_as_of: datetime | None
    replies_zeroed: bool = False
    content_split_from: date | None = None  # the first day of the period with a split
    followers_empty: str = "No data for this period"  # the followers chart's empty message
    formula_note: str = ""  # which day's followers the engagement rate divides by
    slug: str = ""
    story_count: int = 0  # stories published in the period (`stories` lists the latest)
    # Per-post engagement, summed, and how many posts had it: "cur"/"prev" -> (sum, n).
    rate_sums: dict[str, tuple[float, int]] = field(default_factory=dict)

    def comparison_interval(self, report: Report) -> str:
        if report.comparison is None:
            return ""
        return f"{report.comparison.start.isoformat()}/{report.comparison.end.isoformat()}"


@dataclass
class Report:
    client: Client
    period: Period
    comparison: Period | None
    compare: str
    time_zone: str
    engagement_formula: str
    engagement_help: str
    sections: list[Section]
    rollup: Section | None
    generated_at: datetime
    data_as_of: datetime | None
    notes: list[ReportNote] = field(default_factory=list)

    @property
    def compare_label(self) -> str:
        return Compare(self.compare).label

    @property
    def all_sections(self) -> list[Section]:
        return ([self.rollup] if self.rollup else []) + self.sections

    @property
    def has_data(self) -> bool:
        return any(k.value is not None for s in self.sections for k in s.kpis)


# --- Reading snapshots ------------------------------------------------------------------------


@dataclass
class _Numbers:
    """Everything read for one account in the range, keyed for lookups."""

    daily: dict[tuple[str, str], dict[date, int]] = field(default_factory=lambda: defaultdict(dict))
    followers: dict[date, int] = field(default_factory=dict)
    windows: dict[tuple[str, date, date], int] = field(default_factory=dict)
    # The account's connection history up to the periods' end: (Pacific day, health, pk).
    changes: list[tuple[date, str, int]] = field(default_factory=list)
    # Prism's first follower count ever, and the first after each period's end: (day, count).
    first_followers: tuple[date, int] | None = None
    next_followers: dict[date, tuple[date, int]] = field(default_factory=dict)


def _read_numbers(account_ids: list[int], periods: list[Period]) -> dict[int, _Numbers]:
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
    windows = (
        WindowMetric.objects.filter(
            account_id__in=account_ids,
            metric="reach",
            dimension="",
            end__in=[p.end for p in periods],
        )
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
    out: dict[int, _Numbers] = {pk: _Numbers() for pk in account_ids}
    for src, account_id, metric, dimension, kind, first_day, last_day, value in daily.union(
        profile, windows, *nearest, changes, all=True
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
class _MediaSummary:
    """Counts and per-post engagement for the period and its comparison, plus only the rows the
    report shows (top posts, top reels, recent stories), so memory stays bounded however many
    media an account has."""

    posts: dict[str, int] = field(default_factory=dict)  # "cur"/"prev" -> posts published
    stories: int = 0
    rate_sum: dict[str, float] = field(default_factory=dict)
    rate_n: dict[str, int] = field(default_factory=dict)
    top: list[dict] = field(default_factory=list)  # posts and reels, best first
    story_rows: list[dict] = field(default_factory=list)


def _metric(name: str):
    return Cast(KT(f"latest_metrics__{name}"), FloatField())


def _read_media(
    account_ids: list[int], period: tuple[datetime, datetime], comparison: tuple | None
) -> dict[int, _MediaSummary]:
    """One query: window functions rank each account's media per period and kind, count them
    and add up per-post engagement; only the ranked rows the report shows come back."""
    in_range = Q(timestamp__gte=period[0], timestamp__lt=period[1])
    if comparison:
        in_range |= Q(timestamp__gte=comparison[0], timestamp__lt=comparison[1])
    flag = Case(
        When(timestamp__gte=period[0], then=Value("cur")),
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
        )
        .filter(Q(rank__lte=TOP_POSTS) | Q(kind="story", flag="cur", rank__lte=MAX_STORIES))
        .values("pk", *RANKED)
    )
    out: dict[int, _MediaSummary] = {pk: _MediaSummary() for pk in account_ids}
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
        if flag_ != "cur":
            continue
        if kind_ == "story":
            summary.story_rows.append(row)
        else:
            summary.top.append(row)
    return out


RANKED = ("flag", "kind", "rank", "n_kind", "rate_sum", "rate_n")


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


def _read_demographics(account_ids: list[int], as_of: date) -> dict[int, dict]:
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


# --- Building ---------------------------------------------------------------------------------


_UNSET = object()


def build_report(
    client: Client,
    start: date,
    end: date,
    compare: str = "previous",
    *,
    settings: ReportSettings | None = _UNSET,  # type: ignore[assignment]
) -> Report:
    """The report of `client` for the days `start`..`end` (inclusive), compared with the previous
    period, the same period a year before, or nothing (`compare` in previous/year/none).
    `settings`: the client's ReportSettings (or None) when the caller has read them already."""
    if end < start:
        raise ValueError("the range ends before it starts")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValueError(f"a report covers at most {MAX_DAYS} days")
    Compare(compare)  # ValueError for anything else
    period = Period(start, end)
    comparison = comparison_period(period, compare)
    zone = ZoneInfo(client.time_zone)

    accounts = list(
        InstagramAccount.objects.filter(client=client).order_by("disconnected_at", "username")
    )
    if settings is _UNSET:
        settings = ReportSettings.objects.filter(client=client).first()
    formula = settings.engagement_formula if settings else EngagementFormula.FOLLOWERS
    notes = list(
        ReportNote.objects.filter(client=client, day__range=(start, end)).order_by("day", "pk")
    )

    ids = [a.pk for a in accounts]
    numbers = _read_numbers(ids, [p for p in (period, comparison) if p]) if ids else {}
    media = (
        _read_media(
            ids,
            period_bounds(period, zone),
            period_bounds(comparison, zone) if comparison else None,
        )
        if ids
        else {}
    )
    demographics = _read_demographics(ids, end) if ids else {}

    sections = [
        _account_section(
            account,
            numbers[account.pk],
            media[account.pk],
            demographics.get(account.pk),
            period,
            comparison,
            zone,
            formula,
            notes,
        )
        for account in accounts
    ]
    rollup = _rollup(sections, period, comparison, formula, notes) if len(sections) > 1 else None
    as_of = [s.data_as_of for s in sections if s.data_as_of]
    return Report(
        client=client,
        period=period,
        comparison=comparison,
        compare=compare,
        time_zone=client.time_zone,
        engagement_formula=formula,
        engagement_help=ENGAGEMENT_FORMULA_HELP[EngagementFormula(formula)],
        sections=sections,
        rollup=rollup,
        generated_at=timezone.now(),
        data_as_of=min(as_of) if as_of else None,
        notes=notes,
    )


def _sum(values: dict[date, int], period: Period) -> tuple[float | None, str]:
    present = [values[d] for d in period.days if d in values]
    if not present:
        return None, ""
    coverage = "" if len(present) == period.length else f"{len(present)} of {period.length} days"
    return float(sum(present)), coverage


def _series(values: dict[date, int], period: Period | None) -> list[float | None] | None:
    if period is None:
        return None
    return [float(values[d]) if d in values else None for d in period.days]


def _window_reach(numbers: _Numbers, period: Period) -> tuple[float | None, str]:
    """Meta's de-duplicated reach for exactly this period, if it is a window Meta answers."""
    candidates = []
    if period.length == 7:
        candidates.append((WindowKind.DAYS_7, "de-duplicated, 7 days"))
    if period.length == 28:
        candidates.append((WindowKind.DAYS_28, "de-duplicated, 28 days"))
    if is_calendar_month(period):
        candidates.append((WindowKind.MONTH, "de-duplicated, calendar month"))
    for kind, note in candidates:
        value = numbers.windows.get((kind.value, period.start, period.end))
        if value is not None:
            return float(value), note
    return None, ""


def _followers_at(
    followers: dict[date, int], day: date, not_before: date
) -> tuple[date, int] | None:
    """The follower count on `day`, or on the closest earlier day down to `not_before`."""
    current = day
    while current >= not_before:
        if current in followers:
            return current, followers[current]
        current -= timedelta(days=1)
    return None


def history_start_note(account: InstagramAccount, numbers: _Numbers) -> str:
    """Where Prism's follower history starts, and why there is none before (Meta keeps no
    follower history: the profile gives today's count only)."""
    first = numbers.first_followers
    if first is None:
        return "Prism has captured no follower count for this account yet"
    connected = account.connected_at.astimezone(PACIFIC).date() if account.connected_at else None
    when = ", when it was connected" if connected == first[0] else ""
    return f"Prism's follower history starts on {_long(first[0])}{when}"


@dataclass
class _Followers:
    kpis: list[Kpi]
    end_day: date | None  # the day of the follower count the period's figures use
    outside: bool  # that count is from after the period (none inside it)
    empty_chart: str  # what the followers chart says when the period has no count


def _followers_kpis(
    account: InstagramAccount, numbers: _Numbers, period: Period, comparison: Period | None
) -> _Followers:
    history = history_start_note(account, numbers)
    first_day = numbers.first_followers[0] if numbers.first_followers else None

    def at_end(p: Period) -> tuple[date, int] | None:
        return _followers_at(numbers.followers, p.end, p.start)

    def growth(p: Period) -> tuple[int | None, date | None]:
        before = _followers_at(
            numbers.followers, p.start - timedelta(days=1), p.start - timedelta(1)
        )
        since = None
        if before is None:  # no count the day before: from the first count inside the period
            inside = [d for d in p.days if d in numbers.followers]
            before = (inside[0], numbers.followers[inside[0]]) if inside else None
            since = inside[0] if inside else None
        after = at_end(p)
        if after is None or before is None:
            return None, None
        return after[1] - before[1], since

    end, outside = at_end(period), False
    note = f"on {_long(period.end)}"
    if end is None and period.end in numbers.next_followers:
        # None in the period: the nearest later count, clearly labelled; never invented history.
        end, outside = numbers.next_followers[period.end], True
        note = f"on {_long(end[0])}, after this period · {history}"
    elif end is not None and end[0] != period.end:
        note = f"on {_long(end[0])}, the period's last day with a count"
    net, since = growth(period)
    if net is None:
        net_note = f"{history}; Meta keeps no follower history"
    elif since is not None:
        net_note = f"since {_long(since)}, the first day with a count in the period"
        if since == first_day:
            net_note += f" · {history}"
    else:
        net_note = "followers at the end minus the day before the period"
    previous_end = at_end(comparison) if comparison else None
    kpis = [
        Kpi(
            "followers",
            "Followers",
            _f(end[1] if end else None),
            _f(previous_end[1] if previous_end else None),
            note=note,
            outside=outside,
        ),
        Kpi(
            "net_growth",
            "Net follower growth",
            _f(net),
            _f(growth(comparison)[0]) if comparison else None,
            note=net_note,
        ),
    ]
    new_follows = numbers.daily.get(("follower_count", ""), {})
    new, new_cov = _sum(new_follows, period)
    previous_new = _sum(new_follows, comparison)[0] if comparison else None
    if new is not None or previous_new is not None:
        kpis.append(
            Kpi(
                "new_followers",
                "New followers",
                new,
                previous_new,
                note="Meta's new follows per day (unfollows not counted; Meta keeps 30 days)",
                coverage=new_cov,
            )
        )
    if first_day is not None and first_day > period.end:
        empty = f"{history}. Meta keeps no follower history."
    elif first_day is None:
        empty = f"{history}."
    else:
        empty = "No follower count in this period"
    return _Followers(kpis, end[0] if end else None, outside, empty)


def _f(value) -> float | None:
    return None if value is None else float(value)


def _post_metric(metrics: dict, name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if isinstance(value, int | float) else None


def _interactions(metrics: dict) -> float | None:
    # Meta's own total (likes, comments, saves, shares, reposts...): the same figure the report's
    # SQL ranks and averages by, so page, PDF and exports agree.
    return _post_metric(metrics, "total_interactions")


def _rate(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator * 100


def _engagement(
    formula: str,
    interactions: float | None,
    followers: float | None,
    reach: float | None,
    views: float | None,
    post_average: float | None,
) -> float | None:
    if formula == EngagementFormula.FOLLOWERS:
        return _rate(interactions, followers)
    if formula == EngagementFormula.REACH:
        return _rate(interactions, reach)
    if formula == EngagementFormula.VIEWS:
        return _rate(interactions, views)
    return post_average


def post_row(row: dict, account: InstagramAccount, zone: ZoneInfo) -> PostRow:
    metrics = row["latest_metrics"] or {}
    values = {
        "reach": _post_metric(metrics, "reach"),
        "views": _post_metric(metrics, "views"),
        "likes": _post_metric(metrics, "likes"),
        "comments": _post_metric(metrics, "comments"),
        "saved": _post_metric(metrics, "saved"),
        "shares": _post_metric(metrics, "shares"),
        "interactions": _interactions(metrics),
    }
    kind = row["product_type"] or row["media_type"]
    if row["media_type"] == "CAROUSEL_ALBUM":
        kind = "CAROUSEL_ALBUM"
    return PostRow(
        media_pk=row["pk"],
        media_id=row["media_id"],
        account_id=account.pk,
        account=f"@{account.username}",
        published=row["timestamp"].astimezone(zone),
        kind=PRODUCT_LABELS.get(kind, kind.title() or "Posts"),
        media_type=row["media_type"],
        caption=row["caption"] or "",
        permalink=row["permalink"] or "",
        thumbnail=row["thumbnail"] or "",
        metrics=values,
        sampled_at=row["last_sampled_at"],
        engagement_rate=_rate(values["interactions"], values["reach"]),
    )


STORY_STATE_LABELS = {
    StoryState.CAPTURED: "Captured",
    StoryState.LATE: "Captured late",
    StoryState.MISSED: "Missed",
    StoryState.PENDING: "Live",
}


def story_row(row: dict, account: InstagramAccount, zone: ZoneInfo) -> StoryRow:
    metrics = row["latest_metrics"] or {}
    zeroed = bool(row["replies_zeroed_by_region"])
    state = row["story_state"] or StoryState.MISSED
    return StoryRow(
        media_pk=row["pk"],
        account=f"@{account.username}",
        published=row["timestamp"].astimezone(zone),
        thumbnail=row["thumbnail"] or "",
        state=state,
        state_label=STORY_STATE_LABELS.get(state, state),
        metrics={
            "reach": _post_metric(metrics, "reach"),
            "views": _post_metric(metrics, "views"),
            "replies": None if zeroed else _post_metric(metrics, "replies"),
            "shares": _post_metric(metrics, "shares"),
            "navigation": _post_metric(metrics, "navigation"),
        },
        replies_zeroed=zeroed,
    )


def media_item(row: dict, account: InstagramAccount, zone: ZoneInfo) -> PostRow | StoryRow:
    """A row of MEDIA_FIELDS as what the report shows: a story or a post."""
    return story_row(row, account, zone) if row["is_story"] else post_row(row, account, zone)


def _account_section(
    account: InstagramAccount,
    numbers: _Numbers,
    media: list[dict],
    demographics: dict | None,
    period: Period,
    comparison: Period | None,
    zone: ZoneInfo,
    formula: str,
    notes: list[ReportNote],
) -> Section:
    daily = numbers.daily

    def total(metric: str, p: Period | None) -> tuple[float | None, str]:
        return _sum(daily.get((metric, ""), {}), p) if p else (None, "")

    top = sorted(
        (post_row(m, account, zone) for m in media.top),
        key=lambda p: (p.metrics["interactions"] or -1, p.published),
        reverse=True,
    )
    stories = [story_row(m, account, zone) for m in media.story_rows]

    def post_rate(flag: str) -> float | None:
        n = media.rate_n.get(flag, 0)
        return media.rate_sum[flag] / n if n else None

    follower_figures = _followers_kpis(account, numbers, period, comparison)
    kpis = follower_figures.kpis
    followers_end, followers_prev = kpis[0].value, kpis[0].previous

    reach, reach_note = _window_reach(numbers, period)
    prev_reach = _window_reach(numbers, comparison)[0] if comparison else None
    if reach is not None or prev_reach is not None:
        kpis.append(Kpi("reach", "Reach", reach, prev_reach, note=reach_note))
    else:
        daily_reach = daily.get(("reach", ""), {})
        avg = _average(daily_reach, period)
        kpis.append(
            Kpi(
                "reach_daily",
                "Average daily reach",
                avg[0],
                _average(daily_reach, comparison)[0] if comparison else None,
                note="the average of Meta's daily reach; daily reach cannot be added up, and "
                "Meta gives de-duplicated reach only for 7 and 28 days and calendar months",
                coverage=avg[1],
            )
        )

    views, views_cov = total("views", period)
    prev_views = total("views", comparison)[0]
    interactions, inter_cov = total("total_interactions", period)
    prev_interactions = total("total_interactions", comparison)[0]
    kpis.append(Kpi("views", "Views", views, prev_views, coverage=views_cov))
    # Days Meta reported story replies as 0 under its EU/Japan rule (AccountDaily.zeroed_by_region):
    # the interactions are Meta's figure, without replies, and the tile says so.
    zeroed = [d for d in daily.get(("replies", ""), {}) if period.start <= d <= period.end]
    kpis.append(
        Kpi(
            "interactions",
            "Interactions",
            interactions,
            prev_interactions,
            note="likes, comments, saves, shares and reposts; Meta gives story replies as 0 "
            "for accounts in the EU and Japan, so none are counted"
            if zeroed
            else "likes, comments, saves, shares, replies and reposts",
            coverage=inter_cov,
        )
    )
    formula_note = ""
    if formula == EngagementFormula.FOLLOWERS and follower_figures.end_day is not None:
        formula_note = f"interactions ÷ followers on {_long(follower_figures.end_day)}"
        if follower_figures.outside:
            formula_note += " (after the period: Prism has no count inside it)"
    kpis.append(
        Kpi(
            "engagement_rate",
            "Engagement rate",
            _engagement(formula, interactions, followers_end, reach, views, post_rate("cur")),
            _engagement(
                formula,
                prev_interactions,
                followers_prev,
                prev_reach,
                prev_views,
                post_rate("prev"),
            )
            if comparison
            else None,
            unit="percent",
            note=formula_note or EngagementFormula(formula).label,
            outside=follower_figures.outside and formula == EngagementFormula.FOLLOWERS,
        )
    )
    profile_views, pv_cov = total("profile_views", period)
    kpis.append(
        Kpi(
            "profile_activity",
            "Profile visits",
            profile_views,
            total("profile_views", comparison)[0],
            note="" if profile_views is not None else "Meta no longer reports profile visits",
            coverage=pv_cov,
        )
    )
    taps, taps_cov = total("profile_links_taps", period)
    kpis.append(
        Kpi(
            "link_taps",
            "Link taps",
            taps,
            total("profile_links_taps", comparison)[0],
            note="taps on the profile's contact and link buttons",
            coverage=taps_cov,
        )
    )
    kpis.append(
        Kpi(
            "posts",
            "Posts published",
            float(media.posts.get("cur", 0)),
            float(media.posts.get("prev", 0)) if comparison else None,
            note=f"and {media.stories} stories" if media.stories else "",
        )
    )

    series = {}
    for metric, label in (
        ("reach", "Daily reach"),
        ("views", "Views"),
        ("total_interactions", "Interactions"),
        ("follower_count", "New followers per day"),
    ):
        values = daily.get((metric, ""), {})
        series[metric] = DailySeries(
            metric, label, _series(values, period), _series(values, comparison)
        )
    followers = DailySeries(
        "followers",
        "Followers",
        _series(numbers.followers, period),
        _series(numbers.followers, comparison),
    )

    split, types = _content_split(daily, period)
    split_days = [
        day
        for (metric, dimension), values in daily.items()
        if metric == "views" and dimension.startswith(BREAKDOWN_PREFIX)
        for day in values
        if day in period
    ]
    gaps = _gaps(account, numbers, period, zone)
    markers = _markers(account, notes, period, numbers, zone)
    demo = demographics or {"as_of": None, "buckets": {}}
    as_of = account.data_as_of.astimezone(zone) if account.data_as_of else None
    return Section(
        title=f"@{account.username}",
        account=account,
        kpis=kpis,
        daily=series,
        followers=followers,
        content_split=split,
        content_types=types,
        online_followers=_online_followers(daily, period, zone),
        top_posts=[p for p in top if p.kind != "Reels"][:TOP_POSTS],
        top_reels=[p for p in top if p.kind == "Reels"][:TOP_POSTS],
        stories=sorted(stories, key=lambda s: s.published),
        demographics={k: v[:10] for k, v in demo["buckets"].items()},
        demographics_as_of=demo["as_of"],
        markers=markers,
        gaps=gaps,
        data_as_of=as_of,
        followers_empty=follower_figures.empty_chart,
        content_split_from=min(split_days) if split_days else None,
        formula_note=formula_note,
        replies_zeroed=any(s.replies_zeroed for s in stories),
        slug=f"a{account.pk}",
        story_count=media.stories,
        rate_sums={
            k: (media.rate_sum.get(k, 0.0), media.rate_n.get(k, 0)) for k in ("cur", "prev")
        },
    )


def _average(values: dict[date, int], period: Period | None) -> tuple[float | None, str]:
    if period is None:
        return None, ""
    present = [values[d] for d in period.days if d in values]
    if not present:
        return None, ""
    coverage = "" if len(present) == period.length else f"{len(present)} of {period.length} days"
    return sum(present) / len(present), coverage


def _content_split(
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


def _online_followers(daily, period: Period, zone: ZoneInfo) -> list[list[float | None]] | None:
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
    Health.DISCONNECTED: "Disconnected from Prism",
    Health.NEEDS_RECONNECT: "Disconnected: Meta needed a reconnect",
    Health.MISSING_PERMISSION: "Disconnected: a permission was withdrawn",
    Health.NOT_PROFESSIONAL: "Disconnected: not a professional account",
}


OFFLINE_MARKERS = {
    Health.DISCONNECTED: "disconnected from Prism by the agency",
    Health.NEEDS_RECONNECT: "lost access: Meta needed a reconnect",
    Health.MISSING_PERMISSION: "lost access: a permission was withdrawn",
    Health.NOT_PROFESSIONAL: "lost access: no longer a professional account",
}


def _history(account: InstagramAccount, numbers: _Numbers) -> list[tuple[date, str]]:
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


def _gaps(account: InstagramAccount, numbers: _Numbers, period: Period, zone) -> list[Gap]:
    """Runs of days inside the period with no daily data at all, labelled with what Prism knows:
    the account was disconnected (from its connection history), Meta's data not in yet, before
    the history Meta gave, or simply nothing from Meta. Days of a disconnection that the
    backfill filled in afterwards have data, so they are no gap (the markers still say when)."""
    covered = set()
    for (metric, dimension), values in numbers.daily.items():
        if not dimension and metric in ("reach", "views", "total_interactions"):
            covered.update(values)
    offline = _offline_spans(_history(account, numbers), period)
    if not covered and not offline:
        return []
    as_of_day = account.data_as_of.astimezone(PACIFIC).date() if account.data_as_of else None
    first_covered = min(covered) if covered else None

    def label(day: date) -> str:
        for span in offline:
            if span.start <= day <= span.end:
                return span.label
        if as_of_day and day > as_of_day:
            return "Not in from Meta yet"
        if first_covered and day < first_covered:
            return "Before Prism's history"
        return "No data from Meta"

    gaps: list[Gap] = []
    for day in period.days:
        if day in covered:
            continue
        text = label(day)
        last = gaps[-1] if gaps else None
        if last and last.label == text and last.end == day - timedelta(days=1):
            last.end = day
        else:
            gaps.append(Gap(day, day, text))
    return gaps


def _markers(
    account: InstagramAccount | None,
    notes: Iterable[ReportNote],
    period: Period,
    numbers: _Numbers | None,
    zone,
) -> list[Marker]:
    """The agency's notes, Meta's metric changes and, per account, Prism's own: when it was
    connected, lost access and was reconnected (its recorded connection history)."""
    markers = [
        Marker(n.day, n.text, "note")
        for n in notes
        if account is None or n.account_id in (None, account.pk)
    ]
    markers += [Marker(day, text, "meta") for day, text in META_CHANGES if day in period]
    if account is not None and numbers is not None:
        name = f"@{account.username}"
        history = _history(account, numbers)
        for i, (day, health) in enumerate(history):
            if day not in period:
                continue
            if health in NO_ACCESS:
                text = f"{name} {OFFLINE_MARKERS.get(health, 'lost access')}"
            elif i == 0:
                text = f"{name} connected to Prism"
            else:
                text = f"{name} reconnected"
            markers.append(Marker(day, text, "prism"))
        connected = account.connected_at.astimezone(zone).date() if account.connected_at else None
        if not numbers.changes and connected in period:  # history from before it was recorded
            markers.append(Marker(connected, f"{name} connected to Prism", "prism"))
    markers.sort(key=lambda m: (m.day, m.kind))
    for number, marker in enumerate(markers, 1):
        marker.number = number
    return markers


def _pooled(sections: list[Section], flag: str) -> float | None:
    total = sum(s.rate_sums.get(flag, (0.0, 0))[0] for s in sections)
    count = sum(s.rate_sums.get(flag, (0.0, 0))[1] for s in sections)
    return total / count if count else None


def period_bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A period's days as [start, end) instants in the client's zone (posting times)."""
    return (
        datetime.combine(period.start, time.min, zone),
        datetime.combine(period.end + timedelta(days=1), time.min, zone),
    )


def _rollup(
    sections: list[Section],
    period: Period,
    comparison: Period | None,
    formula: str,
    notes: list[ReportNote],
) -> Section:
    """All the client's accounts together. Counts add up; reach does not (one person can follow
    two accounts), so the roll-up shows none."""

    def add(key: str, attr: str) -> float | None:
        values = [getattr(k, attr) for s in sections for k in s.kpis if k.key == key]
        known = [v for v in values if v is not None]
        return float(sum(known)) if known else None

    kpis = []
    for key, label in (
        ("followers", "Followers"),
        ("net_growth", "Net follower growth"),
        ("views", "Views"),
        ("interactions", "Interactions"),
        ("link_taps", "Link taps"),
        ("posts", "Posts published"),
    ):
        kpis.append(Kpi(key, label, add(key, "value"), add(key, "previous")))
    outside = [
        s.title for s in sections for k in s.kpis if k.key == "followers" and k.outside and k.value
    ]
    if outside:
        kpis[0].outside = True
        kpis[0].note = f"includes counts from after the period for {', '.join(outside)}"
    kpis.insert(
        2,
        Kpi(
            "reach",
            "Reach",
            None,
            None,
            note="not added across accounts: the same person can be reached by several",
        ),
    )
    values = {k.key: k for k in kpis}

    def rate(attr: str, post_average: float | None) -> float | None:
        interactions = getattr(values["interactions"], attr)
        if formula == EngagementFormula.FOLLOWERS:
            return _rate(interactions, getattr(values["followers"], attr))
        if formula == EngagementFormula.VIEWS:
            return _rate(interactions, getattr(values["views"], attr))
        if formula == EngagementFormula.POST_REACH:
            return post_average
        return None  # by reach: no de-duplicated reach across accounts

    kpis.insert(
        5,
        Kpi(
            "engagement_rate",
            "Engagement rate",
            rate("value", _pooled(sections, "cur")),
            rate("previous", _pooled(sections, "prev")) if comparison else None,
            unit="percent",
            note=EngagementFormula(formula).label,
            outside=kpis[0].outside and formula == EngagementFormula.FOLLOWERS,
        ),
    )
    if any(k.key == "new_followers" for s in sections for k in s.kpis):
        new = Kpi(
            "new_followers",
            "New followers",
            *(add("new_followers", a) for a in ("value", "previous")),
        )
        kpis.insert(2, new)

    def add_series(getter) -> tuple[list[float | None], list[float | None] | None]:
        def combine(lists):
            lists = [lst for lst in lists if lst is not None]
            if not lists:
                return None
            out = []
            for values in zip(*lists, strict=True):
                known = [v for v in values if v is not None]
                out.append(float(sum(known)) if len(known) == len(values) else None)
            return out

        return combine([getter(s).values for s in sections]), combine(
            [getter(s).previous for s in sections]
        )

    daily = {}
    for metric, label in (
        ("views", "Views"),
        ("total_interactions", "Interactions"),
        ("follower_count", "New followers per day"),
    ):
        current, previous = add_series(lambda s, m=metric: s.daily[m])
        daily[metric] = DailySeries(metric, label, current, previous)
    current, previous = add_series(lambda s: s.followers)
    as_of = [s.data_as_of for s in sections if s.data_as_of]
    return Section(
        title="All accounts",
        account=None,
        kpis=kpis,
        daily=daily,
        followers=DailySeries("followers", "Followers", current, previous),
        content_split=[],
        content_types=[],
        online_followers=None,
        top_posts=[],  # each account's section lists its own
        top_reels=[],
        stories=[],
        demographics={},
        demographics_as_of=None,
        markers=_markers(None, notes, period, None, None),
        gaps=[],
        data_as_of=min(as_of) if as_of else None,
        slug="all",
    )
