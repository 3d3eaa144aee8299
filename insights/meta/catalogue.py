"""Which metrics Prism asks Meta for, and how (docs/graph-api.md §4, §5; Graph v27.0, Dec 2026).

One table drives every insights request: account metrics grouped into requests Meta accepts
(every metric of a request must take the same period, metric_type and breakdown, or the whole
request fails), and media metrics per media product type. A metric Meta rejects at run time is
recorded per account, product type and version (`MetricRejection`) and dropped from its group;
this table is the starting point, not a promise.

Nothing here imports the rest of Prism.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Account (IG user) insights ---------------------------------------------------------------

# Time series with period=day: one value per Pacific day (the only period the current `reach`
# reference lists; docs/graph-api.md §4).
SERIES_DAY = ("reach",)
# Meta's de-duplicated reach over a trailing window: `metric_type=total_value` over
# `since`/`until` (≤ 30 days), one request per window. Kind -> days.
REACH_WINDOWS = {"7d": 7, "28d": 28}
# follower_count: new followers per day; only the last 30 days, excluding today; needs ≥ 100
# followers. Asked on its own (it takes no other period).
FOLLOWER_COUNT = "follower_count"
FOLLOWER_COUNT_DAYS = 30

# Metrics Meta gives only as total_value: one total for the requested window. A per-day total
# needs one request per day (graph-api.md §4.2); a calendar-month total is one request per month.
TOTALS = (
    "views",
    "accounts_engaged",
    "total_interactions",
    "likes",
    "comments",
    "shares",
    "saves",
    "replies",
    "reposts",
    "profile_links_taps",
    "follows_and_unfollows",
)
# Unique-audience metrics: a window's value is de-duplicated, never the sum of its days.
DEDUPLICATED = frozenset({"reach", "accounts_engaged"})
# Window totals (calendar months): reach plus every total_value metric, in one request.
WINDOW_TOTALS = ("reach", *TOTALS)


@dataclass(frozen=True)
class Breakdown:
    """One per-day total_value request with a breakdown: every metric listed supports it."""

    dimension: str
    metrics: tuple[str, ...]


# Breakdowns are separate requests: a breakdown a metric lacks fails the whole request (§4.2).
# Several breakdowns in one request give their cross product, so each goes alone.
BREAKDOWNS = (
    Breakdown(
        "media_product_type",
        ("reach", "views", "total_interactions", "likes", "comments", "shares", "saves"),
    ),
    Breakdown("follow_type", ("reach", "follows_and_unfollows")),
    Breakdown("follower_type", ("views",)),
    Breakdown("contact_button_type", ("profile_links_taps",)),
)

# Audience demographics: lifetime, total_value, one breakdown per request, timeframe required.
# `this_month` (last 30 days) is the widest timeframe left for engaged audiences since v20.
DEMOGRAPHICS = ("follower_demographics", "engaged_audience_demographics")
DEMOGRAPHIC_BREAKDOWNS = ("age", "gender", "country", "city")
DEMOGRAPHIC_TIMEFRAME = "this_month"

# Meta caps since..until at 30 days (2,592,000 s) per account insights request (§4.1).
MAX_WINDOW_DAYS = 30

# Removed metrics never asked for again, whatever the version (graph-api.md §2).
REMOVED = frozenset(
    {
        "impressions",
        "profile_views",
        "website_clicks",
        "email_contacts",
        "get_directions_clicks",
        "phone_call_clicks",
        "text_message_clicks",
        "online_followers",
        "plays",
        "video_views",
        "clips_replays_count",
        "ig_reels_aggregated_all_plays_count",
    }
)

# --- Media insights (lifetime) ----------------------------------------------------------------

MEDIA_METRICS: dict[str, tuple[str, ...]] = {
    # FEED: images, videos and carousels (asked on the album; children have no insights).
    "FEED": (
        "views",
        "reach",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "reposts",
        "follows",
        "profile_visits",
    ),
    "REELS": (
        "views",
        "reach",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "reposts",
        "ig_reels_avg_watch_time",  # milliseconds
        "ig_reels_video_view_total_time",  # milliseconds
        "reels_skip_rate",  # a percentage (float)
    ),
    "STORY": (
        "views",
        "reach",
        "replies",
        "shares",
        "total_interactions",
        "reposts",  # 2025-12-03
        "follows",
        "profile_visits",
        "navigation",
    ),
}
# Metrics a product type gains on one login path only (docs/graph-api.md §5): story
# `link_clicks` (taps on a link sticker, Instagram changelog 2026-06-22) is Facebook Login only.
FACEBOOK_LOGIN_ONLY: dict[str, tuple[str, ...]] = {"STORY": ("link_clicks",)}
# Every metric, with the product types that have it and the day Meta introduced it (for the
# reports' glossary and the notes: what Prism stores and since when Meta gives it).
INTRODUCED = {
    "reels_skip_rate": "2025-12-03",
    "reposts": "2025-12-03",
    "link_clicks": "2026-06-22",
}
# Metrics every feed product type (FEED, REELS) has: the ones a field expansion of insights over
# the /media edge can carry, since one item refusing a metric fails the whole page (§12.9).
COMMON_FEED = (
    "views",
    "reach",
    "likes",
    "comments",
    "saved",
    "shares",
    "total_interactions",
    "reposts",
)


def media_metrics_for(product: str, *, facebook_login: bool) -> tuple[str, ...]:
    """The product type's metrics on this login path."""
    extra = FACEBOOK_LOGIN_ONLY.get(product, ()) if facebook_login else ()
    return (*MEDIA_METRICS[product], *extra)


# Breakdown metrics of media, asked apart (§5.3); values come back in lower case.
MEDIA_BREAKDOWNS = {
    "FEED": Breakdown("action_type", ("profile_activity",)),
    "STORY": Breakdown("story_navigation_action_type", ("navigation",)),
}
# Not asked: the Facebook-Login-only totals (total_likes...), and facebook_views /
# crossposted_views, which fail for every media not shared to Facebook: one such media would
# fail a whole multi-media request.

# Meta keeps media metrics for two years (§5.5): no sample is asked after that.
MEDIA_RETENTION_DAYS = 730
# No multi-ID request (`?ids=`): new apps cannot use them since 2026-11-04 (docs/graph-api.md §1).

# Media kinds: Meta accepts or refuses a metric per kind rather than per product type (`views`
# is refused for some feed videos and not for images [OBS, §12.4]), so rejections are recorded
# per kind and one refusal never costs another kind its metric.
MEDIA_KINDS = ("IMAGE", "CAROUSEL_ALBUM", "FEED_VIDEO", "REELS", "STORY")


def media_product(product_type: str, *, is_story: bool = False) -> str:
    """The catalogue's key for a media: FEED, REELS or STORY (AD and unknown types as FEED)."""
    if is_story or product_type == "STORY":
        return "STORY"
    return "REELS" if product_type == "REELS" else "FEED"


def media_kind(media_type: str, product_type: str, *, is_story: bool = False) -> str:
    """IMAGE, CAROUSEL_ALBUM, FEED_VIDEO, REELS or STORY."""
    product = media_product(product_type, is_story=is_story)
    if product != "FEED":
        return product
    if media_type == "VIDEO":
        return "FEED_VIDEO"
    return "CAROUSEL_ALBUM" if media_type == "CAROUSEL_ALBUM" else "IMAGE"


def kind_product(kind: str) -> str:
    return kind if kind in ("REELS", "STORY") else "FEED"


def without(metrics: tuple[str, ...] | list[str], rejected: set[str]) -> list[str]:
    return [m for m in metrics if m not in rejected and m not in REMOVED]
