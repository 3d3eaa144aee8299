"""What the report template shows: a `Report` turned into display strings and SVG charts.

The page, the PDF and the shared-link page all render `templates/reports/_report.html` with
`report_context(report, ...)`, so the three can never differ. Callers choose how thumbnails are
addressed (`media_src`): an agency-checked URL on the page, a share-scoped URL on a shared page,
a `prism-media:` reference the PDF's URL fetcher resolves inside MEDIA_ROOT.
"""

from __future__ import annotations

import base64
import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.utils.html import escape
from django.utils.safestring import mark_safe

from . import charts
from .branding import Branding
from .display import KpiView, kpi_view, number, percent  # noqa: F401 - the page's names
from .glossary import glossary
from .insight.highlights import highlights
from .insight.normals import FormatRow, Normal
from .model import PostRow, Report, Section, StoryRow
from .periods import PACIFIC
from .places import demographic_label

MediaSrc = Callable[[str, int], str | None]  # (stored thumbnail name, media pk) -> src or None


@dataclass
class ChartView:
    title: str
    svg: str
    kind: str  # line | bars | hbars | heatmap
    caption: str = ""


@dataclass
class PostView:
    row: PostRow
    src: str | None
    published: str
    metrics: list[tuple[str, str]]
    interactions: str
    rate: str
    normal: Normal | None = None  # against the account's own normal (insight.normals)


@dataclass
class StoryView:
    row: StoryRow
    src: str | None
    published: str
    reach: str
    views: str
    replies: str
    shares: str
    normal: Normal | None = None


@dataclass
class FormatView:
    format: str
    age: str
    items: str
    median: str
    spread: str  # the middle half, "900–1,500"


def format_view(row: FormatRow) -> FormatView:
    spread = f"{number(row.low)}–{number(row.high)}" if row.low is not None else "—"
    return FormatView(
        row.format, row.checkpoint.label, number(row.items), number(row.median), spread
    )


@dataclass
class SectionView:
    section: Section
    title: str
    kpis: list[KpiView]
    charts: list[ChartView]
    audience: list[ChartView]
    heatmap: ChartView | None
    markers: list
    posts: list[PostView]
    reels: list[PostView]
    stories: list[StoryView]
    data_as_of: str
    health: str
    gaps: list
    reach_months: list[tuple[str, str]]  # (month, de-duplicated reach) for long periods
    formats: list[FormatView] = field(default_factory=list)
    formats_window: str = ""  # the days the formats table covers
    best_time: ChartView | None = None  # reach by weekday and hour of posting
    best_time_claim: str = ""  # the best weekday and hour, when the sample allows


def _month_label(start: date, end: date) -> str:
    """Nov 2026, or 1–24 Nov 2026 for a window that stops before the month's end."""
    last = calendar.monthrange(start.year, start.month)[1]
    head = "" if start.day == 1 and end.day == last else f"{start.day}–{end.day} "
    return f"{head}{start.strftime('%b')} {start.year}"


def as_of_label(moment) -> str:
    """ "Data as of" a Pacific day: `data_as_of` is the end of Meta's last day with data
    (midnight Pacific), and that day is what the client page and the report both name."""
    return _day((moment.astimezone(PACIFIC) - timedelta(days=1)).date())


def _when(moment) -> str:
    return f"{moment.day} {moment.strftime('%b %Y, %H:%M')}"


def _day(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


def _line(
    report: Report,
    section: Section,
    name: str,
    series,
    palette,
    zero_based: bool = True,
    empty: str = "No data for this period",
) -> ChartView:
    period = report.period
    days = period.days
    items = [charts.Series("This period", series.values, area=True)]
    if series.previous is not None and report.comparison is not None:
        items.append(
            charts.Series(
                f"{report.compare_label} ({report.comparison.label})", series.previous, dashed=True
            )
        )
    markers = [
        charts.Marker((m.day - period.start).days, m.number, m.text, m.kind)
        for m in section.markers
        if m.day in period
    ]
    gaps = [
        charts.Gap((g.start - period.start).days, (g.end - period.start).days, g.label)
        for g in section.gaps
    ]
    svg = charts.line_chart(
        f"{section.slug}-{name.replace('_', '-')}",
        title=f"{series.label}, {period.label}",
        days=days,
        series=items,
        markers=markers,
        gaps=gaps,
        palette=palette,
        zero_based=zero_based,
        empty=empty,
    )
    return ChartView(series.label, svg, "line")


def _rate_of(row: PostRow) -> float | None:
    return row.engagement_rate


def _post_view(row: PostRow, media_src: MediaSrc | None) -> PostView:
    m = row.metrics
    return PostView(
        row=row,
        src=media_src(row.thumbnail, row.media_pk) if media_src and row.thumbnail else None,
        published=_when(row.published),
        metrics=[
            ("Reach", number(m["reach"])),
            ("Views", number(m["views"])),
            ("Eng. rate", percent(_rate_of(row))),
            ("Likes", number(m["likes"])),
            ("Comments", number(m["comments"])),
            ("Saves", number(m["saved"])),
            ("Shares", number(m["shares"])),
        ],
        interactions=number(m["interactions"]),
        rate=percent(row.engagement_rate),
    )


def _story_view(row: StoryRow, media_src: MediaSrc | None) -> StoryView:
    m = row.metrics
    return StoryView(
        row=row,
        src=media_src(row.thumbnail, row.media_pk) if media_src and row.thumbnail else None,
        published=_when(row.published),
        reach=number(m["reach"]),
        views=number(m["views"]),
        replies=number(m["replies"]),
        shares=number(m["shares"]),
    )


DEMOGRAPHIC_TITLES = (
    ("age", "Age"),
    ("gender", "Gender"),
    ("country", "Top countries"),
    ("city", "Top cities"),
)


def section_view(
    report: Report, section: Section, media_src: MediaSrc | None, palette
) -> SectionView:
    chart_list = []
    for metric in ("reach", "views", "total_interactions"):  # follower_count: after followers
        if metric in section.daily:
            chart_list.append(_line(report, section, metric, section.daily[metric], palette))
    # A followers chart needs two counts to draw a line: with fewer it would only ever be empty
    # (the tiles and the glossary say when the follower history starts).
    if sum(v is not None for v in section.followers.values) >= 2:
        chart_list.append(
            _line(
                report,
                section,
                "followers",
                section.followers,
                palette,
                zero_based=False,
                empty=section.followers_empty,
            )
        )
    new_follows = section.daily.get("follower_count")
    if new_follows and any(v is not None for v in new_follows.values):
        view = _line(report, section, "follower_count", new_follows, palette)
        view.caption = "Instagram keeps new follows for 30 days."
        chart_list.append(view)
    if section.content_split:
        svg = charts.stacked_bars(
            f"{section.slug}-split",
            title=f"Views by content type, {report.period.label}",
            categories=[label for label, _ in section.content_split],
            series=[
                charts.Series(t, [values[t] for _, values in section.content_split])
                for t in section.content_types
            ],
            palette=palette,
        )
        step = "week" if report.period.length > 14 else "day"
        caption = f"Each bar is one {step}."
        if section.content_split_from and section.content_split_from > report.period.start:
            caption += f" The split by type starts on {_day(section.content_split_from)}."
        chart_list.append(ChartView("Views by content type", svg, "bars", caption))
    heat = None
    if section.account is not None and section.online_followers:  # left out when none
        svg = charts.heatmap(
            f"{section.slug}-hours",
            title="When followers are online",
            grid=section.online_followers,
            color=palette[0],
        )
        heat = ChartView(
            "When followers are online",
            svg,
            "heatmap",
            f"Average online followers per hour, in {report.time_zone} time.",
        )
    audience = []
    for key, title in DEMOGRAPHIC_TITLES:
        buckets = section.demographics.get(key)
        if not buckets:
            continue
        items = [(demographic_label(key, k), float(v)) for k, v in buckets]
        if key == "age":
            items.sort(key=lambda item: item[0])
        svg = charts.hbars(
            f"{section.slug}-demo-{key}",
            title=title,
            items=items,
            color=palette[0],
            max_label_width=175 if key == "city" else 130,  # "San Francisco, California"
        )
        audience.append(ChartView(title, svg, "hbars"))
    account = section.account
    insight = section.insight
    normals = insight.normals if insight else {}
    posts = [_post_view(p, media_src) for p in section.top_posts]
    reels = [_post_view(p, media_src) for p in section.top_reels]
    stories = [_story_view(s, media_src) for s in section.stories]
    for view in (*posts, *reels, *stories):
        view.normal = normals.get(view.row.media_pk)
    best, claim = _best_time(report, section, palette)
    return SectionView(
        section=section,
        title=section.title,
        kpis=[kpi_view(k) for k in section.kpis],
        charts=chart_list,
        audience=audience,
        heatmap=heat,
        markers=[m for m in section.markers if m.day in report.period],
        posts=posts,
        reels=reels,
        stories=stories,
        data_as_of=as_of_label(section.data_as_of) if section.data_as_of else "",
        health=account.get_health_display() if account else "",
        gaps=section.gaps,
        reach_months=[(_month_label(a, b), number(v)) for a, b, v in section.reach_months],
        formats=[format_view(r) for r in insight.formats] if insight else [],
        formats_window=_span(insight.formats_from, insight.formats_to) if insight else "",
        best_time=best,
        best_time_claim=claim,
    )


def best_time_claim(best) -> str:
    """The best weekday and hour in words, each with its median and posts; '' when neither
    has the sample (insight.besttime)."""
    parts = [
        f"{slot.label} (median reach {number(slot.median)}, {slot.posts} posts)"
        for slot in (best.weekday, best.hour)
        if slot is not None
    ]
    return f"Best so far: {' and '.join(parts)}." if parts else ""


def _best_time(report: Report, section: Section, palette) -> tuple[ChartView | None, str]:
    insight = section.insight
    best = insight.best_time if insight else None
    if best is None:
        return None, ""
    svg = charts.heatmap(
        f"{section.slug}-best-time",
        title=f"Median reach {best.checkpoint.label} by hour of posting",
        grid=best.grid,
        counts=best.counts,
        color=palette[0],
        value_format=number,
        empty="No hour has 3 posts yet",
    )
    caption = (
        f"Posts, reels and carousels published {_span(insight.formats_from, insight.formats_to)}"
        f", by weekday and hour in {report.time_zone} time: median reach {best.checkpoint.label}"
        " where an hour has 3 posts; each cell says how many posts it has."
    )
    return ChartView("Best posting hours", svg, "heatmap", caption), best_time_claim(best)


def _span(first: date | None, last: date | None) -> str:
    if first is None or last is None:
        return ""
    head = f"{first.day} {first.strftime('%b')}" + (
        f" {first.year}" if first.year != last.year else ""
    )
    return f"{head} – {_day(last)}"


def as_image(svg: str, title: str) -> str:
    """The same SVG as an <img> (a data: URL) for WeasyPrint. Inline, every SVG node would go
    through the HTML cascade and box layout, which made a report's PDF several times slower; as
    an image WeasyPrint draws it directly, with the document's fonts all the same."""
    data = base64.b64encode(str(svg).encode()).decode()
    return mark_safe(
        f'<img class="chart-img" alt="{escape(title)}" src="data:image/svg+xml;base64,{data}">'
    )


def report_context(
    report: Report,
    *,
    branding: Branding | None = None,
    media_src: MediaSrc | None = None,
    mode: str = "page",
) -> dict:
    """The template context of `reports/_report.html` (mode: page | pdf | shared)."""
    branding = branding or Branding(agency_name=report.client.agency.name)
    palette = (branding.primary, branding.accent, *charts.PALETTE[2:])
    sections = [section_view(report, s, media_src, palette) for s in report.all_sections]
    if mode == "pdf":
        for view in sections:
            for chart in [*view.charts, *view.audience, view.heatmap, view.best_time]:
                if chart is not None and chart.svg:
                    chart.svg = as_image(chart.svg, chart.title)
    return {
        "report": report,
        "branding": branding,
        "mode": mode,
        "period_label": report.period.label,
        "comparison_label": report.comparison.label if report.comparison else "",
        "data_as_of": as_of_label(report.data_as_of) if report.data_as_of else "",
        "generated": _when(report.generated_at.astimezone(ZoneInfo(report.time_zone))),
        "sections": sections,
        "glossary": glossary(report),
        "highlights": highlights(report),
        "history_filling": [(s.title, *s.backfill) for s in report.sections if s.backfill],
    }
