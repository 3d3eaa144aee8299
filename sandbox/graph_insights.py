"""Insights on the emulated Graph hosts: /{ig-user-id}/insights (graph-api.md §4) and
/{ig-media-id}/insights (§5), plus the request context the Graph handlers share.

Validation happens before any value is computed and the first problem fails the whole request,
as Meta does: one unsupported metric, one bad breakdown, one pre-conversion post is a 400 for
everything asked in that request (also through field expansion and ?ids=).

Where graph-api.md marks a behaviour [UNC] the choice made here is noted next to it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from . import core, world, world_settings
from .core import GraphError, SandboxRequest, parse_list
from .models import InstagramAccount

IG_HOST = "graph.instagram.com"
THIRTY_DAYS = 30 * 86400


@dataclass
class Ctx:
    """One Graph request as the handlers see it: the request, its sandbox time, and a memo of
    media metrics (a page of media with like_count and insights computes each item once)."""

    req: SandboxRequest
    at: datetime
    _metrics: dict = field(default_factory=dict)
    _settings: dict | None = None

    @classmethod
    def of(cls, req: SandboxRequest) -> Ctx:
        return cls(req, core.now())

    @property
    def host(self) -> str:
        return self.req.host

    @property
    def version(self) -> int:
        """The major version that serves the call (an expired one: the oldest available; an
        unversioned call: the app's version)."""
        return int(self.req.served_version.lstrip("v").split(".")[0])

    @property
    def settings(self) -> dict:
        """The world settings, read once per request."""
        if self._settings is None:
            self._settings = world_settings.current()
        return self._settings

    def metrics(self, item: world.MediaItem) -> dict:
        if item.id not in self._metrics:
            self._metrics[item.id] = world.media_metrics(item, self.at)
        return self._metrics[item.id]

    def link(self, path: str, params: dict) -> str:
        """A paging URL back to this host (Meta's always carry a version)."""
        version = self.req.served_version
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.req.base_url()}/{version}/{path}?{query}"


# --- Errors Meta gives for insights requests ---------------------------------------------------


def must_be_one_of(param: str, index: int, valid: list[str]) -> GraphError:
    return GraphError(
        f"(#100) {param}[{index}] must be one of the following values: {', '.join(valid)}", 100
    )


def impressions_removed() -> GraphError:
    # [OBS] text from user insights; media insights reuse it here ([UNC] for media).
    return GraphError(
        "(#100) Starting from version 22 and above, the impressions metric is no longer supported "
        "for the queried user. Please refer to the documentation at "
        "https://developers.facebook.com/docs/instagram-api/reference/ig-user/insights for a list "
        "of supported metrics.",
        100,
    )


def unknown_error() -> GraphError:
    # A breakdown the metric does not support: Meta's documented answer. Code 1 is Meta's
    # "API Unknown"; its HTTP status is the world setting unknown_breakdown_status [UNC].
    status = world_settings.get("unknown_breakdown_status")
    return GraphError("An unknown error has occurred.", 1, status=status)


def missing(param: str) -> GraphError:
    return GraphError(f"(#100) The parameter {param} is required", 100)


# --- since / until -------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^([+-]?\d+)\s*(day|days|week|weeks|hour|hours)(\s+ago)?$")


def parse_time(value: str | None, name: str, *, is_until: bool = False) -> datetime | None:
    """Unix seconds or a strtotime-like string. A bare date `until` means the end of that day
    (Meta expands it, which is why a nominal 30-day date range trips the 30-day cap)."""
    if value is None or value == "":
        return None
    value = value.strip()
    now = core.now()
    if re.fullmatch(r"-?\d+", value):
        return datetime.fromtimestamp(int(value), UTC)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 (a date, no time)
        # "End of that day" = the next Pacific midnight, so the day's own value is included.
        return world.day_end(day) if is_until else world.day_start(day)
    words = {"now": now, "today": world.day_start(world.pacific_day(now))}
    words["yesterday"] = words["today"] - timedelta(days=1)
    words["tomorrow"] = words["today"] + timedelta(days=1)
    if value.lower() in words:
        return words[value.lower()]
    match = _RELATIVE.match(value.lower())
    if match:
        amount = int(match.group(1)) * (-1 if match.group(3) else 1)
        unit = match.group(2).rstrip("s")
        return now + timedelta(**{unit + "s": amount})
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise GraphError(f"(#100) The parameter {name} must be a unix time or a strtotime string")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=core.PACIFIC)


# --- User insights (§4) ------------------------------------------------------------------------


@dataclass(frozen=True)
class UserMetric:
    periods: tuple[str, ...]
    types: tuple[str, ...]  # metric_type values it accepts
    breakdowns: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    kind: str = "daily"  # daily | demographic | online


DAILY = ("day", "week", "days_28", "total_over_range")
TOTAL = ("total_value",)
DEMO_BREAKDOWNS = ("age", "city", "country", "gender")
USER_METRICS: dict[str, UserMetric] = {
    "reach": UserMetric(
        DAILY,
        ("time_series", "total_value"),
        ("media_product_type", "follow_type"),
        "Accounts reached",
        "The number of unique accounts that have seen your content, at least once, including in "
        "ads. Content includes posts, stories, reels, videos and live videos. Reach is different "
        "from impressions, which may include multiple views of your content by the same accounts."
        " This metric is estimated.",
    ),
    "follower_count": UserMetric(
        ("day",),
        ("time_series",),
        (),
        "Follower count",
        "The number of accounts that started following you each day.",
    ),
    "online_followers": UserMetric(
        ("lifetime",),
        ("time_series",),
        (),
        "Online followers",
        "Total number of your followers who were online during the specified range.",
        "online",
    ),
    "accounts_engaged": UserMetric(
        DAILY,
        TOTAL,
        (),
        "Accounts engaged",
        "The number of accounts that have interacted with your content, including in ads. This "
        "metric is estimated.",
    ),
    "total_interactions": UserMetric(
        DAILY,
        TOTAL,
        ("media_product_type",),
        "Content interactions",
        "The total number of post interactions, story interactions, reels interactions, video "
        "interactions and live video interactions, including any interactions on boosted content.",
    ),
    "likes": UserMetric(
        DAILY,
        TOTAL,
        ("media_product_type",),
        "Likes",
        "The number of likes on your posts, reels and videos.",
    ),
    "comments": UserMetric(
        DAILY,
        TOTAL,
        ("media_product_type",),
        "Comments",
        "The number of comments on your posts, reels, videos and live videos.",
    ),
    "shares": UserMetric(
        DAILY,
        TOTAL,
        ("media_product_type",),
        "Shares",
        "The number of shares of your posts, stories, reels, videos and live videos.",
    ),
    "saves": UserMetric(
        DAILY,
        TOTAL,
        ("media_product_type",),
        "Saves",
        "The number of saves of your posts, reels and videos.",
    ),
    "replies": UserMetric(
        DAILY,
        TOTAL,
        (),
        "Replies",
        "The number of replies you received from your story, including text replies and quick "
        "reaction replies.",
    ),
    "reposts": UserMetric(
        DAILY, TOTAL, (), "Reposts", "The number of times your content was reposted."
    ),
    "views": UserMetric(
        DAILY,
        TOTAL,
        ("follower_type", "media_product_type"),
        "Views",
        "The number of times your content was played or displayed. Content includes reels, "
        "posts, stories.",
    ),
    "profile_links_taps": UserMetric(
        DAILY,
        TOTAL,
        ("contact_button_type",),
        "Profile links taps",
        "The number of taps on your business address, call button, email button and text button.",
    ),
    "follows_and_unfollows": UserMetric(
        DAILY,
        TOTAL,
        ("follow_type",),
        "Follows and unfollows",
        "The number of accounts that followed you and the number of accounts that unfollowed you "
        "or left Instagram in the selected time period.",
    ),
    "follower_demographics": UserMetric(
        ("lifetime",),
        TOTAL,
        DEMO_BREAKDOWNS,
        "Follower demographics",
        "The demographic characteristics of followers, including countries, cities and gender "
        "distribution.",
        "demographic",
    ),
    "engaged_audience_demographics": UserMetric(
        ("lifetime",),
        TOTAL,
        DEMO_BREAKDOWNS,
        "Engaged audience demographics",
        "The demographic characteristics of the engaged audience, including countries, cities "
        "and gender distribution.",
        "demographic",
    ),
    # Absent from the current reference but still referenced [UNC]: served like engaged.
    "reached_audience_demographics": UserMetric(
        ("lifetime",),
        TOTAL,
        DEMO_BREAKDOWNS,
        "Reached audience demographics",
        "The demographic characteristics of the reached audience, including countries, cities "
        "and gender distribution.",
        "demographic",
    ),
}
ALL_PERIODS = ("day", "week", "days_28", "month", "lifetime", "total_over_range")
# Periods the current reference no longer lists (world setting reach_legacy_periods).
LEGACY_PERIODS = ("week", "days_28")
USER_BREAKDOWNS = (
    "contact_button_type",
    "follow_type",
    "follower_type",
    "media_product_type",
    *DEMO_BREAKDOWNS,
)
AUDIENCE = {
    "follower_demographics": "follower",
    "engaged_audience_demographics": "engaged",
    "reached_audience_demographics": "reached",
}
TIMEFRAMES = (
    "this_week",
    "this_month",
    "last_14_days",
    "last_30_days",
    "last_90_days",
    "prev_month",
)
# Removed in v20 for engaged/reached demographics; the reference still lists them for followers.
CURRENT_TIMEFRAMES = ("this_week", "this_month")
NEEDS_100_FOLLOWERS = ("follower_count", "follows_and_unfollows")


@dataclass
class UserQuery:
    metrics: list[str]
    periods: list[str]
    metric_type: str | None
    breakdowns: list[str]
    timeframe: str | None
    since: datetime
    until: datetime
    explicit_window: bool


def user_insights(ctx: Ctx, account: InstagramAccount, params: dict, path: str) -> dict:
    q = parse_user_query(ctx, params)
    data = []
    for name in q.metrics:
        for period in q.periods:
            obj = user_metric(ctx, account, q, name, period)
            if obj is not None:
                data.append(obj)
    result: dict = {"data": data}
    if data and any(USER_METRICS[m].kind == "daily" for m in q.metrics):
        # Time-based paging: the same query with the window shifted back / forward [OBS].
        span = q.until - q.since
        rest = {k: v for k, v in params.items() if k not in ("since", "until")}

        def shifted(delta):
            return ctx.link(
                path,
                {
                    **rest,
                    "since": int((q.since + delta).timestamp()),
                    "until": int((q.until + delta).timestamp()),
                },
            )

        result["paging"] = {"previous": shifted(-span), "next": shifted(span)}
    return result


def parse_user_query(ctx: Ctx, params: dict) -> UserQuery:
    metrics = parse_list(params.get("metric"))
    if not metrics:
        raise missing("metric")
    for i, name in enumerate(metrics):
        if name == "impressions":
            raise impressions_removed()
        if name not in USER_METRICS:
            raise must_be_one_of("metric", i, list(USER_METRICS))
    periods = parse_list(params.get("period"))
    if not periods or any(p not in ALL_PERIODS for p in periods):
        raise GraphError("(#100) The value must be a valid insights period", 100)  # [UNC]
    legacy = ctx.settings["reach_legacy_periods"]
    for name in metrics:
        for period in periods:
            if period not in USER_METRICS[name].periods or (
                period in LEGACY_PERIODS and not legacy
            ):
                raise GraphError(
                    f"(#100) The following metric ({name}) is incompatible with the period "
                    f"({period})",  # modelled on the metric_type message [UNC]
                    100,
                )
    metric_type = check_metric_type(
        params.get("metric_type"), metrics, ctx.settings["total_value_required"]
    )
    breakdowns = check_breakdowns(parse_list(params.get("breakdown")), metrics, metric_type)
    timeframe = check_timeframe(
        params.get("timeframe"), metrics, ctx.settings["demographics_timeframe_required"]
    )
    since, until, explicit = user_window(ctx, params, metrics)
    return UserQuery(metrics, periods, metric_type, breakdowns, timeframe, since, until, explicit)


def check_metric_type(value: str | None, metrics: list[str], needy_answer: str = "error"):
    if value not in (None, "", "default", "time_series", "total_value"):
        raise GraphError(
            "(#100) Param metric_type must be one of {default, time_series, total_value} - "
            f'got "{value}"',
            100,
        )
    metric_type = value if value in ("time_series", "total_value") else None
    if metric_type != "total_value":
        # views, accounts_engaged, total_interactions, … exist only as one window total. [UNC:
        # one probe saw empty data instead; the error is the safer default.]
        needy = [m for m in metrics if USER_METRICS[m].types == TOTAL]
        if needy and needy_answer == "empty":
            return "needs_total_value"  # answered with empty data
        if needy:
            raise GraphError(
                f"(#100) The following metrics ({', '.join(needy)}) should be specified with "
                "parameter metric_type=total_value",
                100,
            )
    else:
        for name in metrics:
            if "total_value" not in USER_METRICS[name].types:
                raise GraphError(
                    f"(#100) The following metric ({name}) is incompatible with the metric type "
                    "(total_value)",
                    100,
                )
    return metric_type


def check_breakdowns(breakdowns: list[str], metrics: list[str], metric_type: str | None) -> list:
    for i, name in enumerate(breakdowns):
        if name not in USER_BREAKDOWNS:
            raise must_be_one_of("breakdown", i, list(USER_BREAKDOWNS))
    if metric_type != "total_value":
        return []  # breakdowns are ignored for time series [DOC]
    for name in metrics:
        if any(b not in USER_METRICS[name].breakdowns for b in breakdowns):
            raise unknown_error()
    return breakdowns


def check_timeframe(value: str | None, metrics: list[str], required: bool = True) -> str | None:
    demographic = [m for m in metrics if USER_METRICS[m].kind == "demographic"]
    if not demographic:
        return value
    if not value and not required:
        # Airbyte's maintained manifest sends none and Meta answers it (docs/graph-api.md §4);
        # which timeframe Meta then uses is not on record [UNC]: the widest current one.
        return "this_month"
    if not value:
        raise missing("timeframe")
    if value not in TIMEFRAMES:
        raise GraphError(
            f'(#100) Param timeframe must be one of {{{", ".join(TIMEFRAMES)}}} - got "{value}"',
            100,
        )
    for name in demographic:
        if name != "follower_demographics" and value not in CURRENT_TIMEFRAMES:
            raise GraphError(
                f"(#100) The timeframe ({value}) is no longer supported for the metric ({name}). "
                "Use this_week or this_month.",  # removed in v20 (2024-08-19); text [UNC]
                100,
            )
    return value


def user_window(ctx: Ctx, params: dict, metrics: list[str]) -> tuple[datetime, datetime, bool]:
    since = parse_time(params.get("since"), "since")
    until = parse_time(params.get("until"), "until", is_until=True)
    explicit = since is not None or until is not None
    if since is not None and since > ctx.at:
        # Real clients observed a 400 for a future `since` (issue #7); the text is [UNC].
        raise GraphError("(#100) The since parameter cannot be in the future", 100)
    # No since/until: roughly the last 24 hours [DOC].
    until = until or ctx.at
    since = since or until - timedelta(days=1)
    if since >= until:
        raise GraphError("(#100) The since parameter must be earlier than until", 100)  # [UNC]
    if (until - since).total_seconds() > THIRTY_DAYS:
        raise GraphError(
            "(#100) There cannot be more than 30 days (2592000 s) between since and until", 100
        )
    if "follower_count" in metrics:
        today = world.pacific_day(ctx.at)
        if since < world.day_start(today - timedelta(days=30)):
            raise GraphError(
                "(#100) (follower_count) metric only supports querying data for the last 30 days "
                "excluding the current day",
                100,
            )
    return since, until, explicit


def user_metric(ctx: Ctx, account, q: UserQuery, name: str, period: str) -> dict | None:
    """One metric object, or None where Meta answers with no data (empty set, never 0)."""
    spec = USER_METRICS[name]
    if q.metric_type == "needs_total_value" and spec.types == TOTAL:
        return None  # world setting total_value_required = "empty" (one probe saw this, §4.2)
    head = {"name": name, "period": period}
    tail = {
        "title": spec.title,
        "description": spec.description,
        "id": f"{account.ig_user_id}/insights/{name}/{period}",
    }
    if spec.kind == "online":
        # Effectively gone on v22+ for many accounts [OBS, §12.17]: empty unless the account
        # has it (InstagramAccount.online_followers).
        found = world.online_followers(account, q.since, q.until, at=ctx.at)
        if not found:
            return None
        values = [{"value": v, "end_time": core.meta_time(end)} for end, v in found]
        return {**head, "values": values, **tail}
    followers = world.followers_now(world.profile(account), ctx.at)
    if name in NEEDS_100_FOLLOWERS and followers < world.MIN_AUDIENCE:
        return None
    if spec.kind == "daily":
        # How far back Meta answers account insights (world setting account_history_days):
        # older days answer no data, a window across the limit only its newer part.
        depth = world.day_start(
            world.pacific_day(ctx.at) - timedelta(days=ctx.settings["account_history_days"])
        )
        if q.until <= depth:
            return None
        if q.since < depth:
            q = dataclasses.replace(q, since=depth)
    if spec.kind == "demographic":
        total = demographic_total(ctx, account, q, name)
        return None if total is None else {**head, **tail_before(tail, total)}
    if q.metric_type == "total_value":
        found = world.account_total(
            account,
            name,
            q.since,
            q.until,
            tuple(q.breakdowns),
            at=ctx.at,
            settle_hours=ctx.settings["settle_hours"],
        )
        if found is None:
            return None
        value, parts = found
        total: dict = {"value": value}
        if q.breakdowns:
            key = (account.ig_user_id, name, int(q.since.timestamp()), int(q.until.timestamp()))
            total["breakdowns"] = [breakdown_object(q.breakdowns, parts, key)]
        return {**head, **tail_before(tail, total)}
    series = world.account_series(
        account,
        name,
        period_of(period),
        q.since,
        q.until,
        at=ctx.at,
        settle_hours=ctx.settings["settle_hours"],
    )
    if not series:
        return None
    values = [{"value": v, "end_time": core.meta_time(end)} for end, v in series]
    return {**head, "values": values, **tail}


def period_of(period: str) -> str:
    return "day" if period == "total_over_range" else period


def tail_before(tail: dict, total: dict) -> dict:
    """total_value objects carry title/description before total_value, then id (doc example)."""
    return {
        "title": tail["title"],
        "description": tail["description"],
        "total_value": total,
        "id": tail["id"],
    }


def breakdown_object(dims: list[str], parts: dict, order_key: tuple = ()) -> dict:
    """Results in no guaranteed order, as Meta's: a deterministic shuffle per request, so code
    that assumes "largest first" (or any order) fails here too."""
    items = sorted((labels, value) for labels, value in parts.items() if value > 0)
    items.sort(key=lambda kv: world._h("order", *order_key, *kv[0]))
    results = [{"dimension_values": list(labels), "value": value} for labels, value in items]
    return {"dimension_keys": list(dims), "results": results}


def demographic_total(ctx: Ctx, account, q: UserQuery, name: str) -> dict | None:
    audience = AUDIENCE[name]
    dims = tuple(q.breakdowns)
    if not dims:
        size = world.audience_size(account, audience, q.timeframe, at=ctx.at)
        hidden = world.demographics(account, audience, ("age",), q.timeframe, at=ctx.at) is None
        return None if hidden else {"value": size}
    buckets = world.demographics(account, audience, dims, q.timeframe, at=ctx.at)
    if buckets is None:
        return None
    # No top-level value for demographics [DOC example]; only the requested keys [OBS fixtures].
    key = (account.ig_user_id, name, q.timeframe)
    return {"breakdowns": [breakdown_object(list(dims), buckets, key)]}


# --- Media insights (§5) -----------------------------------------------------------------------


@dataclass(frozen=True)
class MediaMetric:
    products: tuple[str, ...]
    title: str
    description: str
    breakdown: str | None = None
    facebook_login_only: bool = False
    needs_facebook_share: bool = False


ALL = ("FEED", "REELS", "STORY")
MEDIA_METRICS: dict[str, MediaMetric] = {
    "views": MediaMetric(ALL, "Views", "The number of times the content was played or displayed."),
    "reach": MediaMetric(
        ALL, "Reach", "Total number of unique accounts that have seen the media object"
    ),
    "likes": MediaMetric(("FEED", "REELS"), "Likes", "The number of likes on the media object."),
    "comments": MediaMetric(
        ("FEED", "REELS"), "Comments", "The number of comments on the media object."
    ),
    "saved": MediaMetric(("FEED", "REELS"), "Saved", "The number of saves of the media object."),
    "shares": MediaMetric(ALL, "Shares", "The number of shares of the media object."),
    "total_interactions": MediaMetric(
        ALL,
        "Interactions",
        "Likes, saves, comments and shares on the media, minus the number of unlikes, unsaves and "
        "deleted comments.",
    ),
    "reposts": MediaMetric(ALL, "Reposts", "The number of times the media object was reposted."),
    "follows": MediaMetric(
        ("FEED", "STORY"), "Follows", "The number of accounts that started following you."
    ),
    "profile_visits": MediaMetric(
        ("FEED", "STORY"), "Profile visits", "The number of times your profile was visited."
    ),
    "profile_activity": MediaMetric(
        ("FEED", "STORY"),
        "Profile activity",
        "The number of actions people take when they visit your profile after engaging with your "
        "post.",
        breakdown="action_type",
    ),
    "navigation": MediaMetric(
        ("STORY",),
        "Navigation",
        "The total number of actions taken from your story: forward, back, exit and next story.",
        breakdown="story_navigation_action_type",
    ),
    "replies": MediaMetric(("STORY",), "Replies", "The number of replies to the story."),
    "ig_reels_avg_watch_time": MediaMetric(
        ("REELS",), "Average watch time", "The average amount of time spent playing the reel."
    ),
    "ig_reels_video_view_total_time": MediaMetric(
        ("REELS",),
        "Watch time",
        "The total amount of time the reel was played, including any time spent replaying it.",
    ),
    "reels_skip_rate": MediaMetric(
        ("REELS",),
        "Skip rate",
        "The percentage of times the reel was skipped within the first 3 seconds.",
    ),
    "crossposted_views": MediaMetric(
        ("REELS",),
        "Crossposted views",
        "The number of views of the reel on Instagram and Facebook.",
        needs_facebook_share=True,
    ),
    "facebook_views": MediaMetric(
        ALL,
        "Facebook views",
        "The number of views of the content on Facebook.",
        needs_facebook_share=True,
    ),
    "total_likes": MediaMetric(
        ("FEED", "REELS"),
        "Total likes",
        "Likes on Instagram and Facebook, including ads.",
        facebook_login_only=True,
    ),
    "total_comments": MediaMetric(
        ("FEED", "REELS"),
        "Total comments",
        "Comments on Instagram and Facebook, including ads.",
        facebook_login_only=True,
    ),
    "total_views": MediaMetric(
        ALL,
        "Total views",
        "Views on Instagram and Facebook, including ads.",
        facebook_login_only=True,
    ),
    # Instagram changelog, 22 Jun 2026, "New Story Insights Metrics" (all versions).
    "link_clicks": MediaMetric(
        ("STORY",),
        "Link clicks",
        "The number of taps on links in your story, such as link stickers.",
        facebook_login_only=True,
    ),
}
MEDIA_BREAKDOWNS = ("action_type", "story_navigation_action_type")
FRESH = timedelta(minutes=10)  # metrics of a media item this young are "no data yet" (empty)


def media_metric_names(host: str) -> list[str]:
    """The valid set Meta enumerates in `metric[i] must be one of`; FB-Login-only metrics are
    not part of it on graph.instagram.com."""
    return [
        name
        for name, spec in MEDIA_METRICS.items()
        if host != IG_HOST or not spec.facebook_login_only
    ]


def media_insights(ctx: Ctx, item: world.MediaItem, params: dict) -> dict:
    metrics = parse_list(params.get("metric"))
    if not metrics:
        raise missing("metric")
    if item.is_child:
        # Insights exist only on the parent album [DOC]; the error text is [UNC].
        raise GraphError(
            "(#100) Insights are not available for carousel album children. Request insights on "
            "the parent CAROUSEL_ALBUM media.",
            100,
        )
    values = ctx.metrics(item)
    old_impressions = ctx.version <= 21 and "impressions" in values
    valid = media_metric_names(ctx.host) + (["impressions"] if old_impressions else [])
    for i, name in enumerate(metrics):
        if name == "impressions" and not old_impressions:
            raise impressions_removed()
        if name not in valid:
            raise must_be_one_of("metric", i, valid)
    breakdowns = parse_list(params.get("breakdown"))
    check_media_breakdowns(breakdowns, metrics)
    for name in metrics:
        check_product_type(item, name)
        if name == "views" and item.kind in ctx.settings["views_refused_for"]:
            # Observed for some media (airbyte#62902, §12.4); which ones is a world setting.
            raise unsupported_for_product("views")
    if item.pre_conversion:
        raise pre_conversion_error(ctx.host)
    if not values or (not item.is_story and ctx.at - item.posted_at < FRESH):
        return {"data": []}
    if item.is_story and values["reach"] < 5:
        raise GraphError("(#10) Not enough viewers for the media to show insights", 10)
    return {"data": [media_metric(item, name, values, breakdowns) for name in metrics]}


def check_media_breakdowns(breakdowns: list[str], metrics: list[str]) -> None:
    for i, name in enumerate(breakdowns):
        if name not in MEDIA_BREAKDOWNS:
            raise must_be_one_of("breakdown", i, list(MEDIA_BREAKDOWNS))
    for name in metrics:
        spec = MEDIA_METRICS.get(name)
        if breakdowns and (spec is None or any(b != spec.breakdown for b in breakdowns)):
            raise unknown_error()  # request breakdown metrics separately [DOC]


def check_product_type(item: world.MediaItem, name: str) -> None:
    if name == "impressions":
        return
    spec = MEDIA_METRICS[name]
    if item.product_type not in spec.products:
        raise unsupported_for_product(name)
    if spec.needs_facebook_share and not item.shared_to_facebook:
        raise GraphError(
            f"(#100) The {name} metric is only available for media shared to Facebook.",  # [UNC]
            100,
        )


def unsupported_for_product(name: str) -> GraphError:
    return GraphError(
        f"(#100) The Media Insights API does not support the {name} metric for this media "
        "product type.",
        100,
    )


def pre_conversion_error(host: str) -> GraphError:
    """2108006 exactly as observed; typed IGApiException on graph.instagram.com [OBS 2026]."""
    return GraphError(
        "Invalid parameter",
        100,
        type="IGApiException" if host == IG_HOST else "OAuthException",
        subcode=2108006,
        error_data={"blame_field_specs": [[""]]},
        user_title="Media posted before business account conversion",
        user_msg="The media was posted before the most recent time that the user's account was "
        "converted to a business account from a personal account.",
    )


def media_metric(item: world.MediaItem, name: str, values: dict, breakdowns: list[str]) -> dict:
    spec = MEDIA_METRICS.get(name)
    value = values.get(name, 0)
    obj = {
        "name": name,
        "period": "lifetime",
        "values": [{"value": value}],
        "title": spec.title if spec else "Impressions",
        "description": spec.description
        if spec
        else "Total number of times the media object has been seen",
    }
    if breakdowns and spec and spec.breakdown:
        parts = values.get("breakdowns", {}).get(name, {})
        results = [{"dimension_values": [label], "value": n} for label, n in parts.items() if n > 0]
        obj["total_value"] = {
            "value": value,
            "breakdowns": [{"dimension_keys": [spec.breakdown], "results": results}],
        }
    obj["id"] = f"{item.id}/insights/{name}/lifetime"
    return obj
