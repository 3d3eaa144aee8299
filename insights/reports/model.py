"""The report model: what a report is made of, whatever renders it (page, PDF, exports).

Plain dataclasses, built by insights.reports.build from what insights.reports.read reads.
Missing data stays None (shown as "—"), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..models import (
    Client,
    Compare,
    InstagramAccount,
    ReportNote,
    StoryState,
)
from .periods import Period

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

STORY_STATE_LABELS = {
    StoryState.CAPTURED: "Captured",
    StoryState.LATE: "Captured late",
    StoryState.MISSED: "Missed",
    StoryState.PENDING: "Live",
}


@dataclass
class Kpi:
    key: str
    label: str
    value: float | None
    previous: float | None = None
    unit: str = "count"  # count | percent
    note: str = ""  # one short line: what the figure is, e.g. "de-duplicated, 28 days"
    coverage: str = ""  # e.g. "26 of 28 days": some days had no data
    # The figure is from a day outside the period (the nearest count there is), said in `note`.
    outside: bool = False
    # Why no change is shown although there is a comparison, e.g. "previous period: 3 of 28
    # days with data": the two periods' figures do not cover comparable data.
    why: str = ""

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None or self.why:
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
    kind: str  # note | account (its connection history) | meta (Instagram's changes)
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
    replies_zeroed: bool = False  # a story's replies were given as 0 (Meta's EU/Japan rule)
    interactions_without_replies: bool = False  # the same rule on the account's daily totals
    content_split_from: date | None = None  # the first day of the period with a split
    followers_empty: str = "No data for this period"  # the followers chart's empty message
    follower_history: str = ""  # where the account's follower history starts
    slug: str = ""
    story_count: int = 0  # stories published in the period (`stories` lists the latest)
    # Per-post sums ("cur"/"prev" -> kpis.PostSums) and the follower counts at each period's
    # end, for the roll-up's engagement rate.
    post_sums: dict = field(default_factory=dict)
    follower_counts: dict[str, float | None] = field(default_factory=dict)
    # Calendar months inside a long period with Meta's de-duplicated reach: (start, end, reach).
    reach_months: list[tuple[date, date, float]] = field(default_factory=list)
    # The history backfill while it runs: (steps done, steps planned); None once it is over.
    backfill: tuple[int, int] | None = None
    media_listed: bool = True  # Meta's list of the account's media has been read
    stories_since: date | None = None  # stories are captured from this day (the connection)
    # Each shown post against the account's own normal, and the formats table: an
    # insights.reports.insight.account.AccountInsight (that package reads this module, so it
    # is not imported here); None for the roll-up.
    insight: Any = None

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


# --- Media rows as the report shows them --------------------------------------------------------


def _post_metric(metrics: dict, name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if isinstance(value, int | float) else None


def rate(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator * 100


def post_row(row: dict, account: InstagramAccount, zone: ZoneInfo) -> PostRow:
    """A row of insights.reports.read.MEDIA_FIELDS as a post of the report."""
    metrics = row["latest_metrics"] or {}
    values = {
        "reach": _post_metric(metrics, "reach"),
        "views": _post_metric(metrics, "views"),
        "likes": _post_metric(metrics, "likes"),
        "comments": _post_metric(metrics, "comments"),
        "saved": _post_metric(metrics, "saved"),
        "shares": _post_metric(metrics, "shares"),
        # Meta's own total (likes, comments, saves, shares, reposts...): the same figure the
        # report's SQL ranks and averages by, so page, PDF and exports agree.
        "interactions": _post_metric(metrics, "total_interactions"),
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
        engagement_rate=rate(values["interactions"], values["reach"]),
    )


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
