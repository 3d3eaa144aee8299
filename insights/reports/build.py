"""The one report: a client's numbers for a `ReportRequest`, built from snapshots only (never
from Meta), and rendered as the page, the PDF and the exports.

The concerns live beside this module, each in one place:

- `request`: the one resolver from a page, download, share link or email to a ReportRequest;
- `periods`: days, presets, comparisons, a client's today;
- `read`: the queries (a fixed number whatever the range, the accounts and the data);
- `kpis`: the key figures; `timeline`: the daily series, markers and gaps;
- `model`: the dataclasses a Report is made of.

Rules every part keeps:

- Missing data stays None and is shown as "—"; a sum over a period with some days missing says how
  many days it covers. Nothing missing is ever turned into 0.
- Reach is never a sum of daily reach (see `kpis`).
- Daily figures are Meta's days, which end at midnight Pacific time; the report says so. Posting
  times and "best hours" are shown in the client's own time zone.
"""

from __future__ import annotations

from django.utils import timezone

from ..models import InstagramAccount, ReportNote
from . import kpis as figures
from . import timeline
from .insight.account import account_insight, read_account_items
from .model import DailySeries, Report, Section, post_row, story_row
from .read import (
    TOP_POSTS,
    MediaSummary,
    Numbers,
    read_demographics,
    read_media,
    read_numbers,
)
from .request import ReportRequest


def build_report(request: ReportRequest) -> Report:
    """The report `request` asks for (insights.reports.request makes one)."""
    client, period, comparison = request.client, request.period, request.comparison
    zone = request.zone
    accounts = list(
        InstagramAccount.objects.filter(client=client).order_by("disconnected_at", "username")
    )
    notes = list(
        ReportNote.objects.filter(client=client, day__range=(period.start, period.end)).order_by(
            "day", "pk"
        )
    )

    ids = [a.pk for a in accounts]
    numbers = read_numbers(ids, [p for p in (period, comparison) if p]) if ids else {}
    media = read_media(ids, period, comparison, zone) if ids else {}
    demographics = read_demographics(ids, period.end) if ids else {}
    items = read_account_items(ids, period, request.zone) if ids else {}

    sections = [
        _account_section(
            request,
            account,
            numbers[account.pk],
            media[account.pk],
            demographics.get(account.pk),
            notes,
            items.get(account.pk, []),
        )
        for account in accounts
    ]
    rollup = _rollup(request, sections, notes) if len(sections) > 1 else None
    as_of = [s.data_as_of for s in sections if s.data_as_of]
    return Report(
        client=client,
        period=period,
        comparison=comparison,
        compare=request.compare,
        time_zone=request.time_zone,
        engagement_formula=request.engagement_formula,
        engagement_help=request.engagement_help,
        sections=sections,
        rollup=rollup,
        generated_at=timezone.now(),
        data_as_of=min(as_of) if as_of else None,
        notes=notes,
    )


def _account_section(
    request: ReportRequest,
    account: InstagramAccount,
    numbers: Numbers,
    media: MediaSummary,
    demographics: dict | None,
    notes: list[ReportNote],
    items: list,
) -> Section:
    period, comparison, zone = request.period, request.comparison, request.zone
    top = sorted(
        (post_row(m, account, zone) for m in media.top),
        key=lambda p: (p.metrics["interactions"] or -1, p.published),
        reverse=True,
    )
    stories = [story_row(m, account, zone) for m in media.story_rows]
    formula, name = request.engagement_formula, request.compare_name
    key_figures = figures.account_kpis(account, numbers, media, period, comparison, formula, name)
    followers = key_figures.followers
    series, follower_series = timeline.account_series(numbers, period, comparison)
    split, types = timeline.content_split(numbers.daily, period)
    demo = demographics or {"as_of": None, "buckets": {}}
    backfilling = account.backfilled_at is None and numbers.backfill_total > 0
    top_posts = [p for p in top if p.kind != "Reels"][:TOP_POSTS]
    top_reels = [p for p in top if p.kind == "Reels"][:TOP_POSTS]
    shown = [p.media_pk for p in (*top_posts, *top_reels, *stories)]
    return Section(
        title=f"@{account.username}",
        account=account,
        kpis=key_figures.kpis,
        daily=series,
        followers=follower_series,
        content_split=split,
        content_types=types,
        online_followers=timeline.online_followers(numbers.daily, period, zone),
        top_posts=top_posts,
        top_reels=top_reels,
        stories=sorted(stories, key=lambda s: s.published),
        demographics={k: v[:10] for k, v in demo["buckets"].items()},
        demographics_as_of=demo["as_of"],
        markers=timeline.markers(account, notes, period, numbers, zone),
        gaps=timeline.gaps(account, numbers, period, zone, backfilling=backfilling),
        data_as_of=account.data_as_of.astimezone(zone) if account.data_as_of else None,
        followers_empty=followers.empty_chart,
        follower_history=followers.history,
        content_split_from=timeline.split_from(numbers, period),
        replies_zeroed=any(s.replies_zeroed for s in stories),
        interactions_without_replies=key_figures.interactions_without_replies,
        slug=f"a{account.pk}",
        story_count=media.stories,
        post_sums=key_figures.post_sums,
        follower_counts={"cur": followers.end_count, "prev": followers.previous_count},
        reach_months=[
            (start, end, float(value))
            for start, end, value in numbers.months(period)
            if period.length > figures.MAX_WINDOW_DAYS
        ],
        backfill=(numbers.backfill_done, numbers.backfill_total) if backfilling else None,
        media_listed=account.media_listed_at is not None,
        stories_since=account.connected_at.astimezone(zone).date()
        if account.connected_at
        else None,
        insight=account_insight(items, period, zone, shown),
    )


def _added(sections: list[Section], getter) -> tuple[list | None, list | None]:
    """Series of all accounts added day by day; a day counts only when every account has it."""

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


def _rollup(request: ReportRequest, sections: list[Section], notes: list[ReportNote]) -> Section:
    """All the client's accounts together (see kpis.rollup_kpis for what adds up)."""
    daily = {}
    for metric, label in (
        ("views", "Views"),
        ("total_interactions", "Interactions"),
        ("follower_count", "New followers per day"),
    ):
        current, previous = _added(sections, lambda s, m=metric: s.daily[m])
        daily[metric] = DailySeries(metric, label, current, previous)
    current, previous = _added(sections, lambda s: s.followers)
    as_of = [s.data_as_of for s in sections if s.data_as_of]
    backfills = [s.backfill for s in sections if s.backfill]
    return Section(
        title="All accounts",
        account=None,
        kpis=figures.rollup_kpis(sections, request.comparison, request.engagement_formula),
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
        markers=timeline.markers(None, notes, request.period, None, None),
        gaps=[],
        data_as_of=min(as_of) if as_of else None,
        slug="all",
        backfill=(
            (sum(done for done, _ in backfills), sum(total for _, total in backfills))
            if backfills
            else None
        ),
    )
