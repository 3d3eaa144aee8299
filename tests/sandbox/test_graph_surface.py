"""The API surface real clients use (issue #7): every field of Meta's IG User and IG Media
references, usage headers only once enough calls were made, breakdowns in no guaranteed order,
online_followers, media types that refuse `views`, a future `since`, and batch on
graph.instagram.com as an undocumented (off by default) feature. graph-api.md sections cited
per test; the world settings are the control API's (/_sandbox/control/settings)."""

import json
from datetime import timedelta

from sandbox import core, world

# graph-api.md §3.1 (IG User reference) plus ig_id (the reference's legacy Instagram user id).
USER_FIELDS = (
    "id,ig_id,username,name,biography,website,profile_picture_url,followers_count,"
    "follows_count,media_count,has_profile_pic,is_published,legacy_instagram_user_id,alt_text,"
    "shopping_product_tag_eligibility"
)
# graph-api.md §3.2 (IG Media reference) fields readable by the owner on both hosts.
MEDIA_FIELDS = (
    "id,ig_id,caption,media_type,media_product_type,media_url,permalink,shortcode,thumbnail_url,"
    "timestamp,username,owner,like_count,comments_count,is_comment_enabled,is_shared_to_feed,"
    "alt_text,legacy_instagram_media_id,view_count,boost_eligibility_info,"
    "copyright_check_information"
)


def control(sandbox, method, path, **body):
    response = sandbox.control(method, path, json=body) if body else sandbox.control(method, path)
    assert response.status_code in (200, 201), response.text
    return response.json()


def get(sandbox, acct, path, **params):
    return sandbox.get(acct["host"], f"v25.0/{path}", acct["access_token"], **params)


def insights(sandbox, acct, **params):
    return get(sandbox, acct, f"{acct['ig_user_id']}/insights", **params)


def walk_media(sandbox, acct, fields):
    items, after = [], None
    while True:
        params = {"fields": fields, "limit": 100, **({"after": after} if after else {})}
        body = get(sandbox, acct, f"{acct['ig_user_id']}/media", **params).json()
        items += body["data"]
        if "next" not in body.get("paging", {}):
            return items
        after = body["paging"]["cursors"]["after"]


def test_every_ig_user_field_is_accepted(sandbox):
    """§3.1: all reference fields are accepted on both hosts; absent ones (alt_text) are omitted,
    never null; ig_id is a JSON number, legacy_instagram_user_id its string form."""
    for login in ("facebook", "instagram"):
        acct = control(sandbox, "POST", "accounts", login=login, followers=900)
        response = get(sandbox, acct, acct["ig_user_id"], fields=USER_FIELDS)
        assert response.status_code == 200, response.text
        user = response.json()
        assert "alt_text" not in user and None not in user.values()
        assert isinstance(user["ig_id"], int) and user["legacy_instagram_user_id"] == str(
            user["ig_id"]
        )
        assert user["followers_count"] == 900 and user["is_published"] is True


def test_every_ig_media_field_is_accepted(sandbox):
    """§3.2: all reference fields are accepted; is_shared_to_feed exists on reels only,
    thumbnail_url and the copyright check on videos only, view_count (business discovery only)
    never on the owner's read; album children have no caption or permalink (§3.4)."""
    acct = control(sandbox, "POST", "accounts", media_count=120, history_days=200)
    items = walk_media(sandbox, acct, MEDIA_FIELDS + ",children{id,ig_id,caption,permalink}")
    assert len(items) >= 120
    kinds = set()
    for item in items:
        kinds.add((item["media_type"], item["media_product_type"]))
        assert None not in item.values() and "view_count" not in item
        assert ("is_shared_to_feed" in item) == (item["media_product_type"] == "REELS")
        assert ("thumbnail_url" in item) == (item["media_type"] == "VIDEO")
        assert ("copyright_check_information" in item) == (item["media_type"] == "VIDEO")
        assert item["ig_id"].startswith(item["legacy_instagram_media_id"] + "_")
        for child in item.get("children", {}).get("data", []):
            assert "caption" not in child and "permalink" not in child and child["ig_id"]
    assert {("IMAGE", "FEED"), ("VIDEO", "REELS"), ("CAROUSEL_ALBUM", "FEED")} <= kinds
    ig = control(sandbox, "POST", "accounts", login="instagram", media_count=5)
    assert get(sandbox, ig, f"{ig['ig_user_id']}/media", fields=MEDIA_FIELDS).status_code == 200


def test_facebook_login_only_media_counters(sandbox):
    """§0/§3.2 (changelog 2026-04-22): reposts_count, saved_count, shares_count,
    total_like_count, total_comments_count and total_views_count are IG Media fields of
    Facebook Login only. They count what the media's lifetime insights count (§5.2: reposts,
    saved, shares, total_likes, total_comments, total_views); the total_* counts add
    engagement on ads that contain the media (IG Media reference, Limitations), so they are
    never below like_count / comments_count. Stories have no saves (§5.2). On
    graph.instagram.com IGMedia has no such fields."""
    counters = (
        "reposts_count,saved_count,shares_count,total_like_count,total_comments_count,"
        "total_views_count"
    )
    insight_of = {
        "reposts_count": "reposts",
        "saved_count": "saved",
        "shares_count": "shares",
        "total_like_count": "total_likes",
        "total_comments_count": "total_comments",
        "total_views_count": "total_views",
    }
    acct = control(sandbox, "POST", "accounts", followers=20000, media_count=40, history_days=90)
    control(sandbox, "POST", "clock", freeze=True)  # both reads at the same instant
    items = walk_media(sandbox, acct, f"id,like_count,comments_count,{counters}")
    for item in items[:12]:
        lifetime = get(
            sandbox, acct, f"{item['id']}/insights", metric=",".join(insight_of.values())
        ).json()["data"]
        lifetime = {m["name"]: m["values"][0]["value"] for m in lifetime}
        assert {f: item[f] for f in insight_of} == {f: lifetime[m] for f, m in insight_of.items()}
        assert item["total_like_count"] >= item["like_count"]
        assert item["total_comments_count"] >= item["comments_count"]
    story = control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/stories", viewers=400)
    answer = get(sandbox, acct, story["media_id"], fields=counters).json()
    assert "saved_count" not in answer and answer["shares_count"] >= 0
    ig = control(sandbox, "POST", "accounts", login="instagram", media_count=5)
    for field in counters.split(","):
        refused = get(sandbox, ig, f"{ig['ig_user_id']}/media", fields=f"id,{field}")
        assert refused.status_code == 400
        assert refused.json()["error"]["message"] == (
            f"(#100) Tried accessing nonexisting field ({field}) on node type (IGMedia)"
        )


def test_a_future_since_is_refused(sandbox):
    """Issue #7 (observed by real clients): a `since` in the future → HTTP 400."""
    acct = control(sandbox, "POST", "accounts")
    tomorrow = int((core.now() + timedelta(days=1)).timestamp())
    response = insights(
        sandbox, acct, metric="reach", period="day", since=tomorrow, until=tomorrow + 3600
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == 100


def test_usage_headers_appear_once_enough_calls_were_made(sandbox):
    """§7.2: the headers appear "once enough calls have been made" — absence is normal. After
    ~250 calls one account first showed call_count 1 [OBS], i.e. they appear from 1 % of the
    budget (the account's 24-hour BUC budget, the app's hourly one); with the world setting
    at 0 they come from the first call."""
    acct = control(sandbox, "POST", "accounts", call_budget=300)
    first = get(sandbox, acct, acct["ig_user_id"], fields="id")
    assert "X-Business-Use-Case-Usage" not in first.headers
    assert "X-App-Usage" not in first.headers
    for _ in range(3):  # 3 calls of a 300-call budget: 1 %
        answer = get(sandbox, acct, acct["ig_user_id"], fields="id")
    usage = json.loads(answer.headers["X-Business-Use-Case-Usage"])[acct["ig_user_id"]][0]
    assert usage["type"] == "instagram" and usage["call_count"] >= 1
    # The app's hourly budget is far larger: 4 calls are not 1 % of it, 50 earlier ones are.
    assert "X-App-Usage" not in answer.headers
    for _ in range(50):
        answer = get(sandbox, acct, acct["ig_user_id"], fields="id")
    assert json.loads(answer.headers["X-App-Usage"])["call_count"] >= 1
    control(sandbox, "POST", "settings", usage_headers_min_percent=0)
    fresh = control(sandbox, "POST", "accounts")
    answer = get(sandbox, fresh, fresh["ig_user_id"], fields="id")
    assert "X-App-Usage" in answer.headers and "X-Business-Use-Case-Usage" in answer.headers


def test_breakdown_results_come_in_no_guaranteed_order(sandbox):
    """§4.2 (clients must accept any order and unknown labels): results are not sorted by
    value, and the same request answers the same order."""
    # One sandbox moment for both readings: the last 48 hours' numbers settle as time passes.
    control(sandbox, "POST", "clock", freeze=True)
    acct = control(sandbox, "POST", "accounts", followers=50000, media_count=600, history_days=300)
    today = world.pacific_day(core.now())
    unsorted = 0
    for back in range(1, 6):
        since = int(world.day_start(today - timedelta(days=back + 7)).timestamp())
        for metric, breakdown in (
            ("reach", "media_product_type,follow_type"),
            ("views", "follower_type,media_product_type"),
        ):
            params = {
                "metric": metric,
                "period": "day",
                "metric_type": "total_value",
                "breakdown": breakdown,
                "since": since,
                "until": since + 7 * 86400,
            }
            body = insights(sandbox, acct, **params).json()
            assert body == insights(sandbox, acct, **params).json()
            results = body["data"][0]["total_value"]["breakdowns"][0]["results"]
            values = [r["value"] for r in results]
            unsorted += values != sorted(values, reverse=True)
            first = {r["dimension_values"][0] for r in results}  # in the requested key order
            assert first <= ({"FOLLOWER", "NON_FOLLOWER"} if metric == "views" else set(first))
    assert unsorted >= 5


def test_breakdown_labels_include_ad(sandbox):
    """§4.2 [OBS]: media_product_type breakdowns carry the labels real accounts show, AD among
    them (paid reach and views of an account that runs ads), next to POST,
    CAROUSEL_CONTAINER, REEL and STORY; a count's breakdown still adds up to its total."""
    made = control(sandbox, "POST", "accounts", count=6, seed=1, followers=20000, media_count=300)[
        "data"
    ]
    today = world.pacific_day(core.now())
    until = int(world.day_start(today).timestamp())
    with_ad = 0
    for acct in made:
        body = insights(
            sandbox,
            acct,
            metric="reach,views",
            period="day",
            metric_type="total_value",
            breakdown="media_product_type",
            since=until - 28 * 86400,
            until=until,
        ).json()
        totals = {m["name"]: m["total_value"] for m in body["data"]}
        by = {
            name: {r["dimension_values"][0]: r["value"] for r in t["breakdowns"][0]["results"]}
            for name, t in totals.items()
        }
        assert {"POST", "REEL", "STORY"} <= set(by["reach"]) and set(by["views"]) <= {
            "POST",
            "CAROUSEL_CONTAINER",
            "REEL",
            "STORY",
            "AD",
            "IGTV",
        }
        assert sum(by["views"].values()) == totals["views"]["value"]
        if "AD" in by["views"]:
            with_ad += 1
            assert 0 < by["reach"]["AD"] <= totals["reach"]["value"]
    assert with_ad >= 1


def test_online_followers_for_accounts_that_have_them(sandbox):
    """§4.2: online_followers (period lifetime) is a daily series of objects keyed by hour
    "0"…"23" for accounts that still have it, {} beyond the last 30 days; for the many accounts
    without it on v22+ (§12.17) the answer is an empty set."""
    acct = control(sandbox, "POST", "accounts", followers=20000, online_followers=True)
    today = world.pacific_day(core.now())
    until = int(world.day_start(today).timestamp())
    body = insights(
        sandbox,
        acct,
        metric="online_followers",
        period="lifetime",
        since=until - 5 * 86400,
        until=until,
    ).json()
    values = body["data"][0]["values"]
    assert len(values) == 5
    for value in values:
        assert set(value["value"]) == {str(h) for h in range(24)}
        assert all(0 < n < 20000 for n in value["value"].values())
    old = until - 40 * 86400
    body = insights(
        sandbox, acct, metric="online_followers", period="lifetime", since=old, until=old + 86400
    ).json()
    assert body["data"][0]["values"][0]["value"] == {}
    without = control(sandbox, "POST", "accounts", followers=20000)
    assert insights(sandbox, without, metric="online_followers", period="lifetime").json() == {
        "data": []
    }
    # Among the seeded accounts (README), @avas_bakery still has them.
    ava = control(sandbox, "POST", "accounts/17841400000000101/tokens")
    ava["host"] = "graph.facebook.com"
    body = insights(sandbox, ava, metric="online_followers", period="lifetime").json()
    assert set(body["data"][0]["values"][0]["value"]) == {str(h) for h in range(24)}


def test_media_types_that_refuse_views(sandbox):
    """§12.4 / airbyte#62902: some media answer "(#100) The Media Insights API does not support
    the views metric for this media product type." (world setting views_refused_for; default
    none, as the reference documents views for FEED; the one production report saw it for a
    feed video); the whole request fails, as everywhere."""
    acct = control(sandbox, "POST", "accounts", media_count=300, history_days=300)
    default_video = next(
        i
        for i in walk_media(sandbox, acct, "id,media_type,media_product_type")
        if i["media_type"] == "VIDEO" and i["media_product_type"] == "FEED"
    )
    assert get(sandbox, acct, f"{default_video['id']}/insights", metric="views").status_code == 200
    control(sandbox, "POST", "settings", views_refused_for=["FEED_VIDEO"])
    items = walk_media(sandbox, acct, "id,media_type,media_product_type")
    video = next(
        i for i in items if i["media_type"] == "VIDEO" and i["media_product_type"] == "FEED"
    )
    reel = next(i for i in items if i["media_product_type"] == "REELS")
    refused = get(sandbox, acct, f"{video['id']}/insights", metric="reach,views")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "(#100) The Media Insights API does not support the views metric for this media "
        "product type."
    )
    assert get(sandbox, acct, f"{video['id']}/insights", metric="reach").status_code == 200
    assert get(sandbox, acct, f"{reel['id']}/insights", metric="views").status_code == 200
    control(sandbox, "POST", "settings", views_refused_for=[])
    assert get(sandbox, acct, f"{video['id']}/insights", metric="views").status_code == 200


def test_batch_on_graph_instagram_com_is_off_by_default(sandbox):
    """§7.3: batch on graph.instagram.com is not documented [UNC] — refused like any POST Graph
    does not support, unless the world setting instagram_batch is on."""
    acct = control(sandbox, "POST", "accounts", login="instagram")
    ops = json.dumps([{"method": "GET", "relative_url": f"{acct['ig_user_id']}?fields=id"}])
    refused = sandbox.post("graph.instagram.com", "v25.0/", acct["access_token"], {"batch": ops})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == 100 and error["message"].startswith("Unsupported post request")
    control(sandbox, "POST", "settings", instagram_batch=True)
    ok = sandbox.post("graph.instagram.com", "v25.0/", acct["access_token"], {"batch": ops})
    assert ok.status_code == 200 and ok.json()[0]["code"] == 200
