"""/{ig-media-id}/insights (graph-api.md §5, §12.4, §12.8, §12.10)."""

from datetime import timedelta

import pytest

from sandbox import core, world
from sandbox.models import InstagramAccount, Media


@pytest.fixture(autouse=True)
def views_everywhere(sandbox):
    """These tests walk every product type with `views`; feed videos refusing it (the world
    setting views_refused_for, §12.4) is tested in test_graph_surface.py."""
    sandbox.control("POST", "settings", json={"views_refused_for": []})


def get(sandbox, acct, path, host=None, **params):
    return sandbox.get(host or acct["host"], path, acct["access_token"], **params)


def add_media(acct, product_type="FEED", media_type="IMAGE", hours_ago=0.0, **kwargs):
    account = InstagramAccount.objects.get(ig_user_id=acct["ig_user_id"])
    return Media.objects.create(
        media_id=world.new_media_id(),
        account=account,
        product_type=product_type,
        media_type=media_type,
        posted_at=core.now() - timedelta(hours=hours_ago),
        **kwargs,
    )


def generated(acct, predicate, limit=400):
    """Generated feed media of the account matching a predicate on world.MediaItem."""
    account = InstagramAccount.objects.get(ig_user_id=acct["ig_user_id"])
    items = []
    for item in world.iter_media(account):
        if predicate(item):
            items.append(item)
        if len(items) >= limit:
            break
    return items


def values(body):
    return {m["name"]: m["values"][0]["value"] for m in body["data"]}


FEED = "reach,views,likes,comments,saved,shares,total_interactions,reposts,follows,profile_visits,profile_activity"
REELS = (
    "reach,views,likes,comments,saved,shares,total_interactions,reposts,ig_reels_avg_watch_time,"
    "ig_reels_video_view_total_time,reels_skip_rate"
)
STORY = "reach,views,shares,total_interactions,reposts,follows,profile_visits,profile_activity,navigation,replies"


def test_response_shape(sandbox, make_account):
    """§5.4: lifetime period, values[0].value without end_time, title, description, id."""
    acct = make_account(media_count=5)
    media_id = generated(acct, lambda m: True)[0].id
    body = get(sandbox, acct, f"v25.0/{media_id}/insights", metric="reach").json()
    metric = body["data"][0]
    assert metric["name"] == "reach" and metric["period"] == "lifetime"
    assert list(metric["values"][0]) == ["value"]
    assert metric["id"] == f"{media_id}/insights/reach/lifetime"
    assert metric["title"] and metric["description"]


def test_product_type_matrix(sandbox, make_account):
    """§5.2: each product type answers its own metric set."""
    acct = make_account(media_count=150, active_stories=0, seed=15)
    feed = generated(acct, lambda m: m.product_type == "FEED", 1)[0]
    reel = generated(acct, lambda m: m.is_reel, 1)[0]
    story = add_media(acct, "STORY", hours_ago=3, reach_target=800)
    for media_id, metrics in ((feed.id, FEED), (reel.id, REELS), (story.media_id, STORY)):
        response = get(sandbox, acct, f"v25.0/{media_id}/insights", metric=metrics)
        assert response.status_code == 200, response.text
        assert [m["name"] for m in response.json()["data"]] == metrics.split(",")


@pytest.mark.parametrize(
    ("kind", "metric"),
    [
        ("reel", "follows"),
        ("feed", "navigation"),
        ("feed", "replies"),
        ("reel", "profile_activity"),
    ],
)
def test_metric_not_for_product_type_fails_whole_request(sandbox, make_account, kind, metric):
    """§5.5/§12.4: an unsupported metric for the product type fails the whole request."""
    acct = make_account(media_count=150, seed=16)
    item = generated(
        acct, (lambda m: m.is_reel) if kind == "reel" else (lambda m: m.product_type == "FEED"), 1
    )[0]
    response = get(sandbox, acct, f"v25.0/{item.id}/insights", metric=f"reach,{metric}")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f"(#100) The Media Insights API does not support the {metric} metric for this media product type."
    )


def test_removed_metric_lists_valid_values_with_its_index(sandbox, make_account):
    """§2/§12.4: `plays`, `video_views` → (#100) metric[i] must be one of …, no partial data."""
    acct = make_account(media_count=5)
    media_id = generated(acct, lambda m: True)[0].id
    for metrics, index in (
        ("reach,plays", 1),
        ("video_views", 0),
        ("reach,views,clips_replays_count", 2),
    ):
        error = get(sandbox, acct, f"v25.0/{media_id}/insights", metric=metrics).json()["error"]
        assert error["code"] == 100
        assert error["message"].startswith(
            f"(#100) metric[{index}] must be one of the following values: views, reach"
        )


def test_impressions_v22_message_and_old_media_on_v21(sandbox, make_account):
    """§2: impressions is gone (v22 message) except on media created on/before 2024-07-01 when
    asked through ≤ v21."""
    acct = make_account(media_count=200, history_days=1200, seed=21)
    old = generated(
        acct, lambda m: m.product_type == "FEED" and m.posted_at < world.IMPRESSIONS_CUTOFF, 1
    )[0]
    new = generated(acct, lambda m: m.product_type == "FEED", 1)[0]
    error = get(sandbox, acct, f"v25.0/{old.id}/insights", metric="impressions").json()["error"]
    assert error["message"].startswith(
        "(#100) Starting from version 22 and above, the impressions metric"
    )
    ok = get(sandbox, acct, f"v21.0/{old.id}/insights", metric="impressions,reach")
    assert ok.status_code == 200 and values(ok.json())["impressions"] > 0
    assert get(sandbox, acct, f"v21.0/{new.id}/insights", metric="impressions").status_code == 400


@pytest.mark.parametrize(
    ("host", "error_type"),
    [("graph.facebook.com", "OAuthException"), ("graph.instagram.com", "IGApiException")],
)
def test_pre_conversion_media_2108006_envelope(sandbox, make_account, host, error_type):
    """§5.5/§12.8: media posted before the business conversion → 2108006 with the exact
    envelope; `type` is IGApiException on graph.instagram.com."""
    login = "facebook" if host == "graph.facebook.com" else "instagram"
    acct = make_account(login=login, media_count=40, history_days=200, converted_days_ago=100)
    converted = InstagramAccount.objects.get(ig_user_id=acct["ig_user_id"]).converted_at
    old = generated(acct, lambda m: m.posted_at < converted, 1)[0]
    after = generated(acct, lambda m: m.posted_at > converted, 1)[0]
    response = get(sandbox, acct, f"v25.0/{old.id}/insights", metric="reach")
    assert response.status_code == 400
    error = response.json()["error"]
    trace = error.pop("fbtrace_id")
    assert trace and error == {
        "message": "Invalid parameter",
        "type": error_type,
        "code": 100,
        "error_data": {"blame_field_specs": [[""]]},
        "error_subcode": 2108006,
        "is_transient": False,
        "error_user_title": "Media posted before business account conversion",
        "error_user_msg": "The media was posted before the most recent time that the user's account "
        "was converted to a business account from a personal account.",
    }
    assert list(response.json()["error"]) == [*error, "fbtrace_id"]
    assert get(sandbox, acct, f"v25.0/{after.id}/insights", metric="reach").status_code == 200


def test_story_with_few_viewers_is_code_10(sandbox, make_account):
    """§5.5/§12.10: a story with fewer than 5 viewers → (#10) Not enough viewers…"""
    acct = make_account(active_stories=0)
    quiet = add_media(acct, "STORY", hours_ago=2, reach_target=3)
    response = get(sandbox, acct, f"v25.0/{quiet.media_id}/insights", metric="reach,views")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (
        error["code"] == 10
        and error["message"] == "(#10) Not enough viewers for the media to show insights"
    )


def test_generated_stories_include_some_with_few_viewers(sandbox, make_account):
    """DESIGN (sandbox world): some generated stories stay under 5 viewers."""
    acct = make_account(active_stories=40, followers=20000, seed=20)
    account = InstagramAccount.objects.get(ig_user_id=acct["ig_user_id"])
    stories = world.active_stories(account)
    quiet = [s for s in stories if s.reach_target < 5]
    busy = [
        s
        for s in stories
        if s.reach_target >= 500 and core.now() - s.posted_at > timedelta(hours=1)
    ]
    assert quiet and busy
    assert (
        get(sandbox, acct, f"v25.0/{quiet[0].id}/insights", metric="reach").json()["error"]["code"]
        == 10
    )
    assert get(sandbox, acct, f"v25.0/{busy[0].id}/insights", metric="reach").status_code == 200


def test_story_navigation_breakdown_lower_case_sums_to_total(sandbox, make_account):
    """§5.3/§5.4: story_navigation_action_type values are lower-case and sum to navigation."""
    acct = make_account(active_stories=0)
    story = add_media(acct, "STORY", hours_ago=6, reach_target=1500)
    body = get(
        sandbox,
        acct,
        f"v25.0/{story.media_id}/insights",
        metric="navigation",
        breakdown="story_navigation_action_type",
    ).json()
    metric = body["data"][0]
    breakdown = metric["total_value"]["breakdowns"][0]
    assert breakdown["dimension_keys"] == ["story_navigation_action_type"]
    labels = {r["dimension_values"][0] for r in breakdown["results"]}
    assert (
        labels <= {"tap_forward", "tap_back", "tap_exit", "swipe_forward"}
        and "tap_forward" in labels
    )
    assert (
        sum(r["value"] for r in breakdown["results"])
        == metric["total_value"]["value"]
        == metric["values"][0]["value"]
    )


def test_profile_activity_action_type_breakdown(sandbox, make_account):
    """§5.3: profile_activity by action_type, lower-case, summing to the total."""
    acct = make_account(media_count=40, followers=50000, seed=13)
    media_id = generated(acct, lambda m: m.product_type == "FEED")[0].id
    metric = get(
        sandbox,
        acct,
        f"v25.0/{media_id}/insights",
        metric="profile_activity",
        breakdown="action_type",
    ).json()["data"][0]
    results = metric["total_value"]["breakdowns"][0]["results"]
    assert all(r["dimension_values"][0].islower() for r in results)
    assert sum(r["value"] for r in results) == metric["values"][0]["value"] > 0


def test_breakdown_on_metric_without_it_is_unknown_error(sandbox, make_account):
    """§5.3: a breakdown with any metric that does not support it → "An unknown error has
    occurred." — request breakdown metrics separately."""
    acct = make_account(media_count=40, seed=14)
    media_id = generated(acct, lambda m: m.product_type == "FEED")[0].id
    response = get(
        sandbox,
        acct,
        f"v25.0/{media_id}/insights",
        metric="reach,profile_activity",
        breakdown="action_type",
    )
    error = response.json()["error"]
    assert error["message"] == "An unknown error has occurred." and error["code"] == 1


def test_story_replies_zero_in_eu_and_japan(sandbox, make_account):
    """§5.2: replies are 0 for stories by creators in the EU or Japan."""
    for region, zero in (("DE", True), ("JP", True), ("US", False)):
        acct = make_account(region=region, active_stories=0)
        story = add_media(acct, "STORY", hours_ago=10, reach_target=5000)
        replies = values(
            get(sandbox, acct, f"v25.0/{story.media_id}/insights", metric="replies").json()
        )
        assert (replies["replies"] == 0) is zero, region


def test_unknown_media_and_album_children(sandbox, make_account):
    """§5.5: unknown media → 100/33; album children have no insights (ask the parent)."""
    acct = make_account(media_count=120, seed=19)
    error = get(sandbox, acct, "v25.0/179999999999999999/insights", metric="reach").json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)
    album = generated(acct, lambda m: m.is_album, 1)[0]
    child = album.children()[0]
    response = get(sandbox, acct, f"v25.0/{child.id}/insights", metric="reach")
    assert response.status_code == 400 and response.json()["error"]["code"] == 100
    assert get(sandbox, acct, f"v25.0/{album.id}/insights", metric="reach").status_code == 200


def test_facebook_login_only_metrics(sandbox, make_account):
    """§0/§5.2: total_likes/total_comments/total_views exist only on graph.facebook.com."""
    fb = make_account(media_count=40, seed=11)
    ig = make_account(media_count=40, login="instagram", seed=12)
    fb_media = generated(fb, lambda m: m.product_type == "FEED")[0].id
    ig_media = generated(ig, lambda m: m.product_type == "FEED")[0].id
    assert (
        get(sandbox, fb, f"v25.0/{fb_media}/insights", metric="total_views,total_likes").status_code
        == 200
    )
    error = get(sandbox, ig, f"v25.0/{ig_media}/insights", metric="reach,total_views").json()[
        "error"
    ]
    assert error["message"].startswith("(#100) metric[1] must be one of the following values:")
    assert "total_views" not in error["message"]


def test_facebook_views_need_a_facebook_share(sandbox, make_account):
    """§5.2: crossposted_views / facebook_views error unless the media was shared to Facebook."""
    acct = make_account(media_count=400, seed=17)
    shared = generated(acct, lambda m: m.is_reel and m.shared_to_facebook, 1)[0]
    unshared = generated(acct, lambda m: m.is_reel and not m.shared_to_facebook, 1)[0]
    ok = get(
        sandbox,
        acct,
        f"v25.0/{shared.id}/insights",
        metric="views,crossposted_views,facebook_views",
    )
    assert ok.status_code == 200
    assert (
        get(sandbox, acct, f"v25.0/{unshared.id}/insights", metric="facebook_views").status_code
        == 400
    )


def test_values_plausible_and_consistent(sandbox, make_account):
    """DESIGN: likes < reach ≤ views, saves and shares small; reels watch time in ms."""
    acct = make_account(media_count=60, followers=20000, seed=18)
    for item in generated(acct, lambda m: True, 30):
        metric = "reach,views,likes,saved,shares" + (
            ",ig_reels_avg_watch_time,ig_reels_video_view_total_time,reels_skip_rate"
            if item.is_reel
            else ""
        )
        v = values(get(sandbox, acct, f"v25.0/{item.id}/insights", metric=metric).json())
        assert v["likes"] < v["reach"] <= v["views"]
        assert v["saved"] < v["likes"] and v["shares"] < v["likes"]
        if item.is_reel:
            assert 1000 <= v["ig_reels_avg_watch_time"] <= 60000
            assert v["ig_reels_video_view_total_time"] >= v["views"] * v["ig_reels_avg_watch_time"]
            assert isinstance(v["reels_skip_rate"], float)


def test_metrics_grow_then_level_off(sandbox, make_account):
    """DESIGN: lifetime values grow after posting, fast at first, then saturate; brand-new media
    have no data yet (empty set, not 0)."""
    acct = make_account(active_stories=0)
    post = add_media(acct, reach_target=10000)
    path = f"v25.0/{post.media_id}/insights"
    assert get(sandbox, acct, path, metric="reach").json() == {"data": []}
    reach = []
    for hours in (1, 24, 7 * 24, 30 * 24, 50 * 24):  # the 60-day token outlives this
        core.move_clock(to=post.posted_at + timedelta(hours=hours))
        reach.append(values(get(sandbox, acct, path, metric="reach").json())["reach"])
    assert reach == sorted(reach) and reach[0] > 0
    first_day, next_weeks = reach[1], reach[3] - reach[2]
    assert first_day > 5 * next_weeks
    assert reach[-1] <= 10000


def test_story_metrics_grow_within_24_hours(sandbox, make_account):
    """DESIGN: story values grow within their 24 hours."""
    acct = make_account(active_stories=0)
    story = add_media(acct, "STORY", reach_target=3000)
    seen = []
    for hours in (1, 4, 12, 23):
        core.move_clock(to=story.posted_at + timedelta(hours=hours))
        seen.append(
            values(get(sandbox, acct, f"v25.0/{story.media_id}/insights", metric="reach").json())[
                "reach"
            ]
        )
    assert seen == sorted(seen) and seen[0] < seen[-1] <= 3000
