"""One world at every level (issue #7): account metrics reconcile with the media and stories
that exist, windows with days, followers with follows, and everything moves with the sandbox
clock. Every number compared here comes from the sandbox's HTTP API (Graph hosts and control
API); the rules come from graph-api.md:

- §4.2 account metrics `likes`, `comments`, `saves`, `shares`, `replies` count interactions on
  the account's content; `total_interactions` is their total; §5.2 media metrics are lifetime
  totals of the same interactions (a story's total_interactions is replies + shares);
- §4.2/§12.12 `reach` is de-duplicated ("not additive"): a window's reach is at most the sum of
  its daily reach and at least its best day — and, since it counts unique accounts, at least
  the accounts any single media item reached in it;
- §4.2 `follower_count` is the new followers of each day; `follows_and_unfollows` splits
  follows (FOLLOWER) and unfollows (NON_FOLLOWER); `followers_count` (§3.1) is the profile's
  current count, so it changes by exactly follows − unfollows;
- §4.1 data may be delayed up to 48 h; `period=day` series return complete days only.
"""

from datetime import timedelta

import pytest

from sandbox import core, world

INTERACTIONS = ("likes", "comments", "saves", "shares", "replies")


def control(sandbox, method, path, **body):
    response = sandbox.control(method, path, json=body) if body else sandbox.control(method, path)
    assert response.status_code in (200, 201), response.text
    return response.json()


def create(sandbox, **options):
    return control(sandbox, "POST", "accounts", **options)


def advance(sandbox, **amount):
    return control(sandbox, "POST", "clock", **amount)


def now_unix(sandbox) -> int:
    return control(sandbox, "GET", "clock")["unix"]


def total(sandbox, acct, metrics, since, until, **extra):
    """{metric: total_value.value} of one total_value request ({} entries for no data)."""
    response = sandbox.get(
        acct["host"],
        f"v25.0/{acct['ig_user_id']}/insights",
        acct["access_token"],
        metric=",".join(metrics),
        period="day",
        metric_type="total_value",
        since=since,
        until=until,
        **extra,
    )
    assert response.status_code == 200, response.text
    return {m["name"]: m["total_value"] for m in response.json()["data"]}


def values(sandbox, acct, metrics, since, until):
    return {k: v["value"] for k, v in total(sandbox, acct, metrics, since, until).items()}


def daily(sandbox, acct, metric, since, until):
    response = sandbox.get(
        acct["host"],
        f"v25.0/{acct['ig_user_id']}/insights",
        acct["access_token"],
        metric=metric,
        period="day",
        since=since,
        until=until,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return [v["value"] for v in data[0]["values"]] if data else []


def renewed(sandbox, acct) -> dict:
    return control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/tokens")


def profile_field(sandbox, acct, field):
    response = sandbox.get(
        acct["host"], f"v25.0/{acct['ig_user_id']}", acct["access_token"], fields=field
    )
    assert response.status_code == 200, response.text
    return response.json()[field]


# `views` is left out: some media refuse it (world setting views_refused_for, §12.4).
FEED_METRICS = "likes,comments,saved,shares,reach"
STORY_METRICS = "shares,replies,reach,views"


def media_insights(sandbox, acct, media_id, metrics):
    response = sandbox.get(
        acct["host"], f"v25.0/{media_id}/insights", acct["access_token"], metric=metrics
    )
    assert response.status_code == 200, response.text
    return {m["name"]: m["values"][0]["value"] for m in response.json()["data"]}


def listed(sandbox, acct, edge: str, params: dict):
    """Every item of an edge's listing, page by page (Meta's `paging.next` URLs)."""
    url = sandbox.url(acct["host"], f"v25.0/{acct['ig_user_id']}/{edge}")
    while url:
        response = sandbox.http.get(
            url,
            params=params,
            headers={"Authorization": f"Bearer {acct['access_token']}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        yield from body["data"]
        url, params = body.get("paging", {}).get("next"), None


def media_lifetimes(sandbox, acct) -> dict:
    """{media id: {metric: lifetime value}} of every feed item (field expansion, whole pages)
    and live story. Media younger than a few minutes answer no data yet (§4.1): {}."""
    out = {}
    for edge, metrics in (("media", FEED_METRICS), ("stories", STORY_METRICS)):
        params = {"fields": f"id,media_type,insights.metric({metrics})", "limit": 100}
        for item in listed(sandbox, acct, edge, params):
            data = item.get("insights", {}).get("data", [])
            out[item["id"]] = {m["name"]: m["values"][0]["value"] for m in data}
    return out


@pytest.fixture
def settled(sandbox):
    """These rules hold for settled data: revisions of the last 48 h off (tested apart). The
    clock is frozen, so readings taken one request apart see the same instant."""
    control(sandbox, "POST", "settings", settle_hours=0)
    control(sandbox, "POST", "clock", freeze=True)
    return sandbox


def test_account_interactions_are_exactly_what_its_media_gained(settled):
    """§4.2/§5.2: the account's likes, comments, saves, shares and replies over a window equal
    the growth of its posts', reels' and stories' lifetime metrics in that window — including
    a post and a story added through the control API during it."""
    sandbox = settled
    acct = create(sandbox, followers=8000, media_count=150, history_days=150, active_stories=0)
    control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/stories", viewers=900, hours_ago=1)
    before = media_lifetimes(sandbox, acct)
    t1 = now_unix(sandbox)
    advance(sandbox, advance_seconds=5 * 3600)
    control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/media", kind="reel")
    control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/media", kind="post", hours_ago=2)
    advance(sandbox, advance_seconds=9 * 3600)
    after = media_lifetimes(sandbox, acct)
    t2 = now_unix(sandbox)
    assert len(after) >= len(before) + 2  # the two added, and whatever the account posted

    def grown(metric):
        return sum(v.get(metric, 0) - before.get(m, {}).get(metric, 0) for m, v in after.items())

    account = values(sandbox, acct, (*INTERACTIONS, "total_interactions"), t1, t2)
    assert account["likes"] == grown("likes") > 0
    assert account["comments"] == grown("comments")
    assert account["saves"] == grown("saved")
    assert account["shares"] == grown("shares")
    assert account["replies"] == grown("replies") > 0  # US account: story replies count
    assert account["total_interactions"] == sum(account[m] for m in INTERACTIONS)


def test_total_interactions_is_the_sum_of_its_parts_in_every_window(sandbox):
    """§4.2: total_interactions = likes + comments + saves + shares + replies, with no rounding
    drift, for whole days, partial days, today so far and the default last 24 hours — with
    recent-day revisions on (the default) as well."""
    acct = create(sandbox, followers=40000, media_count=900, history_days=400, active_stories=5)
    now = now_unix(sandbox)
    today = world.pacific_day(core.now())
    midnight = int(world.day_start(today).timestamp())
    windows = [
        (midnight - 30 * 86400, midnight),
        (midnight - 7 * 86400 + 3600 * 5, now),
        (midnight, now),
        (now - 86400, now),
        (midnight - 86400, midnight - 86400 + 1800),
    ]
    for since, until in windows:
        got = values(sandbox, acct, (*INTERACTIONS, "total_interactions"), since, until)
        assert got["total_interactions"] == sum(got[m] for m in INTERACTIONS), (since, until)
    by_type = total(
        sandbox,
        acct,
        ("total_interactions",),
        midnight - 10 * 86400,
        now,
        breakdown="media_product_type",
    )["total_interactions"]
    parts = by_type["breakdowns"][0]["results"]
    assert sum(r["value"] for r in parts) == by_type["value"]


def test_window_reach_is_deduplicated_and_covers_every_media(settled):
    """§4.2/§12.12: window reach ≤ the sum of its daily reach, ≥ its best day, and ≥ what any
    single media item reached in it; views (a count) ≥ any single media's views. A reel added
    through the control API that reaches far beyond the account's usual audience lifts the
    account's reach and views from then on."""
    sandbox = settled
    acct = create(sandbox, followers=5000, media_count=60, history_days=365, active_stories=2)
    today = world.pacific_day(core.now())
    midnight = int(world.day_start(today).timestamp())
    since, until = midnight - 14 * 86400, midnight
    days = daily(sandbox, acct, "reach", since, until)
    window = values(sandbox, acct, ("reach",), since, until)["reach"]
    assert len(days) == 14 and max(days) <= window <= sum(days)

    start = now_unix(sandbox)
    quiet = values(sandbox, acct, ("reach", "views"), start - 86400, start)
    reel = control(
        sandbox, "POST", f"accounts/{acct['ig_user_id']}/media", kind="reel", reach_target=60000
    )
    advance(sandbox, advance_days=3)
    end = now_unix(sandbox)
    lifetime = media_insights(sandbox, acct, reel["media_id"], "reach,views")
    after = values(sandbox, acct, ("reach", "views"), start, end)
    assert after["reach"] >= lifetime["reach"] > 20000 > quiet["reach"]
    assert after["views"] >= lifetime["views"]
    first_day = values(sandbox, acct, ("reach",), start, start + 86400)["reach"]
    assert first_day >= values(sandbox, acct, ("reach",), start, start + 3600)["reach"]


def reach_and_views(sandbox, acct) -> dict:
    """{media id: {"reach", "views"}} of every feed item and live story, one request each; a
    story under 5 viewers answers (#10) (§5.5) and is left out."""
    out = {}
    for edge in ("media", "stories"):
        for item in listed(sandbox, acct, edge, {"limit": 100}):
            answer = sandbox.get(
                acct["host"],
                f"v25.0/{item['id']}/insights",
                acct["access_token"],
                metric="reach,views",
            )
            if answer.status_code == 400 and answer.json()["error"]["code"] == 10:
                continue
            assert answer.status_code == 200, answer.text
            out[item["id"]] = {m["name"]: m["values"][0]["value"] for m in answer.json()["data"]}
    return out


def test_window_reach_and_views_cover_every_media_and_story(settled):
    """§4.2: account `reach` counts the unique accounts that saw any of its content in the
    window, so it is at least what each post, reel and story newly reached in it (the growth
    of its lifetime reach, §5.1); `views` counts every display of its content, so it is at
    least the views all of them gained together (stories that expired meanwhile only add to
    the account's side). Feed videos answer views here (world setting views_refused_for=[],
    §12.4)."""
    sandbox = settled
    control(sandbox, "POST", "settings", views_refused_for=[])
    acct = create(sandbox, followers=6000, media_count=30, history_days=40, active_stories=3)
    for step in (6 * 3600, 2 * 86400):
        before = reach_and_views(sandbox, acct)
        t1 = now_unix(sandbox)
        advance(sandbox, advance_seconds=step)
        after = reach_and_views(sandbox, acct)
        t2 = now_unix(sandbox)
        gained = {
            m: {k: v[k] - before.get(m, {}).get(k, 0) for k in ("reach", "views")}
            for m, v in after.items()
        }
        assert len(gained) > 25 and all(g["reach"] >= 0 <= g["views"] for g in gained.values())
        account = values(sandbox, acct, ("reach", "views"), t1, t2)
        assert account["reach"] >= max(g["reach"] for g in gained.values()) > 0, step
        assert account["views"] >= sum(g["views"] for g in gained.values()) > 0, step


def test_media_lifetime_is_the_sum_of_its_days_and_grows_with_the_clock(settled):
    """§5.1/§5.2: media metrics are lifetime totals that keep growing after posting; the
    account's daily likes of an account with a single post add up to that post's likes."""
    sandbox = settled
    acct = create(sandbox, followers=3000, media_count=0, history_days=30, active_stories=0)
    post = control(
        sandbox, "POST", f"accounts/{acct['ig_user_id']}/media", kind="carousel", hours_ago=30
    )
    posted = now_unix(sandbox) - 30 * 3600
    seen = []
    for _ in range(3):
        lifetime = media_lifetimes(sandbox, acct)[post["media_id"]]
        now = now_unix(sandbox)
        assert values(sandbox, acct, ("likes",), posted, now)["likes"] == lifetime["likes"]
        seen.append(lifetime["likes"])
        advance(sandbox, advance_days=2)
    assert seen == sorted(seen) and seen[0] < seen[-1]
    # Day by day (whole Pacific days, then today so far) the increments add up to the total.
    now = now_unix(sandbox)
    first = world.day_start(world.pacific_day(core.now()) - timedelta(days=9))
    edges = [int(world.day_start(first.date() + timedelta(days=k)).timestamp()) for k in range(10)]
    edges.append(now)
    parts = [
        values(sandbox, acct, ("likes",), a, b).get("likes", 0)
        for a, b in zip(edges, edges[1:], strict=False)
    ]
    lifetime = media_lifetimes(sandbox, acct)[post["media_id"]]["likes"]
    assert sum(parts) == lifetime and edges[0] < posted


def test_followers_count_moves_with_follows_and_unfollows(settled):
    """§3.1/§4.2: followers_count changes by exactly follows − unfollows of the window between
    two readings; follower_count gives each day's follows; an account created through the
    control API keeps growing or shrinking after it was created."""
    sandbox = settled
    acct = create(sandbox, followers=200000, media_count=300, history_days=300)
    first = profile_field(sandbox, acct, "followers_count")
    assert first == 200000  # the count asked for, at the moment of creation
    t1 = now_unix(sandbox)
    advance(sandbox, advance_days=20)
    t2 = now_unix(sandbox)
    second = profile_field(sandbox, acct, "followers_count")
    moves = total(sandbox, acct, ("follows_and_unfollows",), t1, t2, breakdown="follow_type")
    split = {
        r["dimension_values"][0]: r["value"]
        for r in moves["follows_and_unfollows"]["breakdowns"][0]["results"]
    }
    assert second - first == split.get("FOLLOWER", 0) - split.get("NON_FOLLOWER", 0)
    assert moves["follows_and_unfollows"]["value"] == sum(split.values())
    assert split.get("FOLLOWER", 0) > 0 and split.get("NON_FOLLOWER", 0) > 0
    assert second != first

    # Each complete day: follower_count == that day's follows.
    midnight = int(world.day_start(world.pacific_day(core.now())).timestamp())
    series = daily(sandbox, acct, "follower_count", midnight - 5 * 86400, midnight)
    for k, follows in enumerate(series):
        since = midnight - (5 - k) * 86400
        day = total(
            sandbox, acct, ("follows_and_unfollows",), since, since + 86400, breakdown="follow_type"
        )["follows_and_unfollows"]
        by = {r["dimension_values"][0]: r["value"] for r in day["breakdowns"][0]["results"]}
        assert by.get("FOLLOWER", 0) == follows


def test_demographics_follow_the_audience_size(settled):
    """§4.1: follower demographics count only followers with known demographics, so their sum
    stays a little below followers_count as the audience grows or shrinks."""
    sandbox = settled
    acct = create(sandbox, followers=30000, media_count=100, history_days=200)
    for _ in range(2):
        followers = profile_field(sandbox, acct, "followers_count")
        response = sandbox.get(
            acct["host"],
            f"v25.0/{acct['ig_user_id']}/insights",
            acct["access_token"],
            metric="follower_demographics",
            period="lifetime",
            metric_type="total_value",
            timeframe="this_month",
            breakdown="gender",
        )
        results = response.json()["data"][0]["total_value"]["breakdowns"][0]["results"]
        known = sum(r["value"] for r in results)
        assert 0.75 * followers < known < followers
        advance(sandbox, advance_days=365)
        acct = {**acct, **renewed(sandbox, acct)}  # the first token expired meanwhile


def test_recent_days_are_revised_upward_for_48_hours(sandbox):
    """§4.1 "data may be delayed up to 48 h" (world setting settle_hours, on by default): a
    day's values read soon after it ended are lower than, and later revised to, the settled
    ones, which then stay put."""
    acct = create(sandbox, followers=30000, media_count=600, history_days=300, active_stories=4)
    midnight = int(world.day_start(world.pacific_day(core.now())).timestamp())
    yesterday = (midnight - 86400, midnight)
    metrics = ("likes", "reach", "views", "total_interactions")
    early = values(sandbox, acct, metrics, *yesterday)
    advance(sandbox, advance_days=3)
    settled_values = values(sandbox, acct, metrics, *yesterday)
    advance(sandbox, advance_days=2)
    assert values(sandbox, acct, metrics, *yesterday) == settled_values
    for metric in metrics:
        assert early[metric] < settled_values[metric], metric
    control(sandbox, "POST", "settings", settle_hours=0)
    assert values(sandbox, acct, metrics, *yesterday) == settled_values


def test_today_counts_only_its_elapsed_part(settled):
    """§4.1: a window that includes today counts what has happened so far; the same window
    read later has grown, and equals the window that ends now."""
    sandbox = settled
    acct = create(sandbox, followers=30000, media_count=800, history_days=300, active_stories=4)
    if world.day_end(world.pacific_day(core.now())).timestamp() - now_unix(sandbox) < 4 * 3600:
        advance(sandbox, advance_seconds=6 * 3600)  # not too close to the end of the day
    today = world.pacific_day(core.now())
    since = int(world.day_start(today).timestamp())
    until = int(world.day_end(today).timestamp())
    metrics = ("likes", "views", "reach")
    so_far = values(sandbox, acct, metrics, since, until)
    # Real time runs on between requests, so "now" of the middle request lies between the two
    # readings of the whole-day window.
    up_to_now = values(sandbox, acct, metrics, since, now_unix(sandbox))
    again = values(sandbox, acct, metrics, since, until)
    assert all(so_far[m] <= up_to_now[m] <= again[m] for m in metrics)
    assert all(again[m] - so_far[m] < 0.01 * so_far[m] + 5 for m in metrics)
    advance(sandbox, advance_seconds=3 * 3600)
    later = values(sandbox, acct, metrics, since, until)
    assert all(later[m] > so_far[m] for m in metrics), (so_far, later)
