"""/{ig-user-id}/insights (graph-api.md §4, §10, §12.6, §12.7, §12.11, §12.12)."""

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from sandbox import core, world


def insights(sandbox, acct, **params):
    return sandbox.get(
        acct["host"], f"v25.0/{acct['ig_user_id']}/insights", acct["access_token"], **params
    )


def today():
    return world.pacific_day(core.now())


def unix(day) -> int:
    return int(world.day_start(day).timestamp())


def error_of(response):
    assert response.status_code >= 400, response.text
    return response.json()["error"]


def test_time_series_shape_and_end_times(sandbox, make_account):
    """§4.3/§10: daily values end at the next Pacific midnight; a date `until` covers that day;
    id is <ig-id>/insights/<metric>/<period>."""
    acct = make_account()
    first, last = today() - timedelta(days=10), today() - timedelta(days=3)
    body = insights(
        sandbox, acct, metric="reach", period="day", since=first.isoformat(), until=last.isoformat()
    ).json()
    metric = body["data"][0]
    days = [first + timedelta(days=k) for k in range(8)]
    assert [v["end_time"] for v in metric["values"]] == [
        core.meta_time(world.day_end(d)) for d in days
    ]
    assert all(isinstance(v["value"], int) and v["value"] > 0 for v in metric["values"])
    assert metric["id"] == f"{acct['ig_user_id']}/insights/reach/day"
    assert (metric["name"], metric["period"], metric["title"]) == (
        "reach",
        "day",
        "Accounts reached",
    )


def test_end_times_follow_pacific_daylight_saving(sandbox, make_account):
    """§10: end_time is 07:00 UTC in Pacific summer and 08:00 UTC in winter."""
    acct = make_account()
    day = today() - timedelta(days=2)
    while world.day_start(day).hour == world.day_start(day - timedelta(days=1)).hour:
        day -= timedelta(days=1)  # walk back to the last DST change (never more than ~8 months)
    since, until = day - timedelta(days=3), day + timedelta(days=2)
    values = insights(
        sandbox, acct, metric="reach", period="day", since=unix(since), until=unix(until)
    ).json()["data"][0]["values"]
    hours = {v["end_time"][11:13] for v in values}
    assert hours == {"07", "08"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT0[78]:00:00\+0000", v["end_time"]) for v in values)


def test_paging_is_time_based(sandbox, make_account):
    """§4.3: paging.previous/next repeat the query with the window shifted by its length."""
    acct = make_account()
    since, until = unix(today() - timedelta(days=14)), unix(today() - timedelta(days=7))
    body = insights(sandbox, acct, metric="reach", period="day", since=since, until=until).json()
    span = until - since
    for key, shift in (("previous", -span), ("next", span)):
        query = parse_qs(urlparse(body["paging"][key]).query)
        assert (int(query["since"][0]), int(query["until"][0])) == (since + shift, until + shift)
        assert query["metric"] == ["reach"] and query["period"] == ["day"]
    older = sandbox.http.get(
        body["paging"]["previous"], headers={"Authorization": f"Bearer {acct['access_token']}"}
    )
    assert len(older.json()["data"][0]["values"]) == 7


def test_thirty_day_cap(sandbox, make_account):
    """§4.1/§12.7: more than 30 days between since and until → the exact error; a date `until`
    expands to the end of its day, so only a ≤ 29-day nominal date range passes."""
    acct = make_account()
    start = today() - timedelta(days=40)
    # A window without a DST change: 30 Pacific days are exactly 2,592,000 s there.
    while unix(start + timedelta(days=30)) - unix(start) != 30 * 86400:
        start -= timedelta(days=1)
    error = error_of(
        insights(
            sandbox,
            acct,
            metric="reach",
            period="day",
            since=unix(start),
            until=unix(start + timedelta(days=31)),
        )
    )
    assert (
        error["message"]
        == "(#100) There cannot be more than 30 days (2592000 s) between since and until"
    )
    assert error["code"] == 100
    ok = insights(
        sandbox,
        acct,
        metric="reach",
        period="day",
        since=start.isoformat(),
        until=(start + timedelta(days=29)).isoformat(),
    )
    assert ok.status_code == 200 and len(ok.json()["data"][0]["values"]) == 30
    too_long = insights(
        sandbox,
        acct,
        metric="reach",
        period="day",
        since=start.isoformat(),
        until=(start + timedelta(days=30)).isoformat(),
    )
    assert too_long.status_code == 400


@pytest.mark.parametrize("metric", ["views", "accounts_engaged", "total_interactions"])
def test_total_value_only_metrics_need_metric_type(sandbox, make_account, metric):
    """§4.2/§12.6: views, accounts_engaged, total_interactions need metric_type=total_value."""
    acct = make_account()
    error = error_of(insights(sandbox, acct, metric=metric, period="day"))
    assert (
        error["message"]
        == f"(#100) The following metrics ({metric}) should be specified with parameter metric_type=total_value"
    )
    ok = insights(sandbox, acct, metric=metric, period="day", metric_type="total_value").json()
    assert set(ok["data"][0]["total_value"]) == {"value"}


def test_follower_count_rules(sandbox, make_account):
    """§4.2/§12.6/§12.7: follower_count rejects total_value and windows beyond the last 30 days
    (excluding today); inside them it is a daily series of new followers."""
    acct = make_account(followers=5000)
    error = error_of(
        insights(sandbox, acct, metric="follower_count", period="day", metric_type="total_value")
    )
    assert (
        error["message"]
        == "(#100) The following metric (follower_count) is incompatible with the metric type (total_value)"
    )
    old = today() - timedelta(days=31)
    error = error_of(
        insights(
            sandbox,
            acct,
            metric="follower_count",
            period="day",
            since=unix(old),
            until=unix(old + timedelta(days=5)),
        )
    )
    assert (
        error["message"]
        == "(#100) (follower_count) metric only supports querying data for the last 30 days excluding the current day"
    )
    until = unix(today())
    values = insights(
        sandbox, acct, metric="follower_count", period="day", since=until - 30 * 86400, until=until
    ).json()["data"][0]["values"]
    assert len(values) == 30
    assert values[-1]["end_time"] == core.meta_time(world.day_start(today()))
    up_to_now = insights(
        sandbox,
        acct,
        metric="follower_count",
        period="day",
        since=until - 86400,
        until=int(core.now().timestamp()),
    ).json()
    assert [v["end_time"] for v in up_to_now["data"][0]["values"]] == [
        values[-1]["end_time"]
    ]  # today is incomplete


def test_total_value_is_one_window_total_and_reach_is_deduplicated(sandbox, make_account):
    """§4.2/§12.12: total_value gives one total for the window; reach is de-duplicated (less than
    the sum of daily reach), while counts like likes add up day by day."""
    acct = make_account(followers=20000)
    first = today() - timedelta(days=8)
    since, until = unix(first), unix(first + timedelta(days=7))
    daily = insights(sandbox, acct, metric="reach", period="day", since=since, until=until).json()[
        "data"
    ][0]["values"]
    assert len(daily) == 7
    window = insights(
        sandbox,
        acct,
        metric="reach,likes",
        period="day",
        metric_type="total_value",
        since=since,
        until=until,
    ).json()
    totals = {m["name"]: m["total_value"]["value"] for m in window["data"]}
    daily_reach = [v["value"] for v in daily]
    assert max(daily_reach) <= totals["reach"] < sum(daily_reach)
    likes_by_day = [
        insights(
            sandbox,
            acct,
            metric="likes",
            period="day",
            metric_type="total_value",
            since=unix(first + timedelta(days=k)),
            until=unix(first + timedelta(days=k + 1)),
        ).json()["data"][0]["total_value"]["value"]
        for k in range(7)
    ]
    assert sum(likes_by_day) == totals["likes"]


def test_breakdown_labels_and_sums(sandbox, make_account):
    """§4.2/§12.11: media_product_type uses Meta's real labels; count breakdowns sum to the total,
    reach breakdowns overlap (sum ≥ total)."""
    acct = make_account(followers=20000, active_stories=3, media_count=400, history_days=400)
    body = insights(
        sandbox,
        acct,
        metric="likes,reach,views",
        period="day",
        metric_type="total_value",
        breakdown="media_product_type",
        since=unix(today() - timedelta(days=7)),
        until=unix(today()),
    ).json()
    by_name = {m["name"]: m["total_value"] for m in body["data"]}
    for name, total in by_name.items():
        breakdown = total["breakdowns"][0]
        assert breakdown["dimension_keys"] == ["media_product_type"]
        labels = {r["dimension_values"][0] for r in breakdown["results"]}
        # §4.2 [OBS] labels (AD: paid reach and views; IGTV: feed videos from before 2021).
        observed = {"POST", "CAROUSEL_CONTAINER", "REEL", "STORY", "AD", "IGTV"}
        assert labels <= observed and "POST" in labels
        parts = sum(r["value"] for r in breakdown["results"])
        if name == "reach":
            assert parts >= total["value"]
        else:
            assert parts == total["value"]
    assert "STORY" not in {
        r["dimension_values"][0] for r in by_name["likes"]["breakdowns"][0]["results"]
    }


def test_breakdown_cross_product_in_one_object(sandbox, make_account):
    """§4.2: several breakdowns → ONE breakdown object over the cross product."""
    acct = make_account(followers=20000, media_count=400, history_days=400)
    body = insights(
        sandbox,
        acct,
        metric="reach",
        period="day",
        metric_type="total_value",
        breakdown="media_product_type,follow_type",
    ).json()
    breakdowns = body["data"][0]["total_value"]["breakdowns"]
    assert len(breakdowns) == 1 and breakdowns[0]["dimension_keys"] == [
        "media_product_type",
        "follow_type",
    ]
    pairs = {tuple(r["dimension_values"]) for r in breakdowns[0]["results"]}
    assert {("POST", "FOLLOWER"), ("STORY", "NON_FOLLOWER")} <= pairs
    assert {b for _, b in pairs} <= {"FOLLOWER", "NON_FOLLOWER", "UNKNOWN"}


def test_other_breakdown_dimensions(sandbox, make_account):
    """§4.2: follower_type on views, contact_button_type on profile_links_taps, follow_type on
    follows_and_unfollows."""
    acct = make_account(followers=50000)
    window = {"since": unix(today() - timedelta(days=20)), "until": unix(today())}
    cases = [
        ("views", "follower_type", {"FOLLOWER", "NON_FOLLOWER"}),
        (
            "profile_links_taps",
            "contact_button_type",
            {"BOOK_NOW", "CALL", "DIRECTION", "EMAIL", "INSTANT_EXPERIENCE", "TEXT", "UNDEFINED"},
        ),
        ("follows_and_unfollows", "follow_type", {"FOLLOWER", "NON_FOLLOWER"}),
    ]
    for metric, dimension, allowed in cases:
        total = insights(
            sandbox,
            acct,
            metric=metric,
            period="day",
            metric_type="total_value",
            breakdown=dimension,
            **window,
        ).json()["data"][0]["total_value"]
        results = total["breakdowns"][0]["results"]
        assert {r["dimension_values"][0] for r in results} <= allowed and results
        assert sum(r["value"] for r in results) == total["value"]


def test_unsupported_breakdown_and_time_series_breakdown(sandbox, make_account):
    """§4.2: a breakdown the metric lacks → "An unknown error has occurred."; with time_series
    the breakdown is ignored."""
    acct = make_account()
    error = error_of(
        insights(
            sandbox,
            acct,
            metric="likes",
            period="day",
            metric_type="total_value",
            breakdown="follow_type",
        )
    )
    assert error["message"] == "An unknown error has occurred."
    body = insights(sandbox, acct, metric="reach", period="day", breakdown="follow_type").json()
    assert "values" in body["data"][0] and "total_value" not in body["data"][0]
    error = error_of(
        insights(
            sandbox,
            acct,
            metric="reach",
            period="day",
            metric_type="total_value",
            breakdown="colour",
        )
    )
    assert error["message"].startswith("(#100) breakdown[0] must be one of the following values:")


def test_follower_demographics(sandbox, make_account):
    """§4.1/§4.2: demographics by age/gender/country/city, top 45 buckets, no top-level value,
    known demographics only (sums below the follower count)."""
    acct = make_account(followers=30000, region="BR")
    expected = {
        "age": re.compile(r"^(13-17|18-24|25-34|35-44|45-54|55-64|65\+)$"),
        "gender": re.compile(r"^[FMU]$"),
        "country": re.compile(r"^[A-Z]{2}$"),
        "city": re.compile(r"^[^,]+, [^,]+$"),
    }
    for dimension, pattern in expected.items():
        total = insights(
            sandbox,
            acct,
            metric="follower_demographics",
            period="lifetime",
            metric_type="total_value",
            timeframe="this_month",
            breakdown=dimension,
        ).json()["data"][0]["total_value"]
        assert "value" not in total
        results = total["breakdowns"][0]["results"]
        assert 0 < len(results) <= 45
        assert all(pattern.match(r["dimension_values"][0]) for r in results)
        assert sum(r["value"] for r in results) < 30000
    countries = insights(
        sandbox,
        acct,
        metric="follower_demographics",
        period="lifetime",
        metric_type="total_value",
        timeframe="this_week",
        breakdown="country",
    ).json()
    results = countries["data"][0]["total_value"]["breakdowns"][0]["results"]
    largest = max(results, key=lambda r: r["value"])  # results come in no guaranteed order
    assert largest["dimension_values"] == ["BR"]
    both = insights(
        sandbox,
        acct,
        metric="follower_demographics",
        period="lifetime",
        metric_type="total_value",
        timeframe="this_month",
        breakdown="age,gender",
    ).json()
    breakdown = both["data"][0]["total_value"]["breakdowns"][0]
    assert (
        breakdown["dimension_keys"] == ["age", "gender"]
        and len(breakdown["results"][0]["dimension_values"]) == 2
    )


def test_engaged_audience_timeframes(sandbox, make_account):
    """§2/§4.2: engaged_audience_demographics takes this_week/this_month; last_30_days etc. were
    removed in v20; a timeframe is required for demographics."""
    acct = make_account(followers=200000)
    ok = insights(
        sandbox,
        acct,
        metric="engaged_audience_demographics",
        period="lifetime",
        metric_type="total_value",
        timeframe="this_month",
        breakdown="age",
    )
    assert ok.status_code == 200 and ok.json()["data"]
    removed = insights(
        sandbox,
        acct,
        metric="engaged_audience_demographics",
        period="lifetime",
        metric_type="total_value",
        timeframe="last_30_days",
        breakdown="age",
    )
    assert error_of(removed)["code"] == 100
    still_listed = insights(
        sandbox,
        acct,
        metric="follower_demographics",
        period="lifetime",
        metric_type="total_value",
        timeframe="last_30_days",
        breakdown="age",
    )
    assert still_listed.status_code == 200
    without = dict(
        metric="follower_demographics",
        period="lifetime",
        metric_type="total_value",
        breakdown="age",
    )
    # Airbyte's maintained manifest sends no timeframe and Meta answers it (docs/graph-api.md
    # §4): by default the sandbox does too; the reference's rule is a world setting.
    assert insights(sandbox, acct, **without).json()["data"]
    setting = {"demographics_timeframe_required": True}
    assert sandbox.control("POST", "settings", json=setting).ok
    missing = insights(sandbox, acct, **without)
    assert error_of(missing)["message"] == "(#100) The parameter timeframe is required"


def test_small_accounts_are_suppressed(sandbox, make_account):
    """§4.1: under 100 followers, follower_count, follows_and_unfollows and follower_demographics
    answer with an empty set (not zeros); reach still answers."""
    acct = make_account(followers=60)
    assert insights(sandbox, acct, metric="follower_count", period="day").json() == {"data": []}
    for metric, extra in (
        ("follows_and_unfollows", {}),
        (
            "follower_demographics",
            {"timeframe": "this_month", "breakdown": "age", "period": "lifetime"},
        ),
    ):
        params = {"metric": metric, "period": "day", "metric_type": "total_value", **extra}
        assert insights(sandbox, acct, **params).json() == {"data": []}
    engaged = insights(
        sandbox,
        acct,
        metric="engaged_audience_demographics",
        period="lifetime",
        metric_type="total_value",
        timeframe="this_week",
        breakdown="age",
    )
    assert engaged.json() == {"data": []}  # fewer than 100 engagements
    assert insights(sandbox, acct, metric="reach", period="day").json()["data"]


def test_online_followers_is_empty(sandbox, make_account):
    """§4.2/§12.17: online_followers is effectively gone on v22+: an empty set."""
    acct = make_account(followers=50000)
    assert insights(sandbox, acct, metric="online_followers", period="lifetime").json() == {
        "data": []
    }


def test_default_window_is_last_24_hours(sandbox, make_account):
    """§4.1: no since/until → roughly the last 24 h: the last complete day for a series."""
    acct = make_account()
    body = insights(sandbox, acct, metric="reach", period="day").json()
    assert [v["end_time"] for v in body["data"][0]["values"]] == [
        core.meta_time(world.day_start(today()))
    ]
    total = insights(sandbox, acct, metric="reach", period="day", metric_type="total_value").json()
    assert total["data"][0]["total_value"]["value"] > 0


def test_retention_and_history_horizon(sandbox, make_account):
    """§4.1: user metrics reach back ~2 years (and not before the account's history): older
    windows answer an empty set."""
    acct = make_account(history_days=1200)
    old = today() - timedelta(days=800)
    assert insights(
        sandbox,
        acct,
        metric="reach",
        period="day",
        since=unix(old),
        until=unix(old + timedelta(days=7)),
    ).json() == {"data": []}
    recent = today() - timedelta(days=700)
    assert insights(
        sandbox,
        acct,
        metric="reach",
        period="day",
        since=unix(recent),
        until=unix(recent + timedelta(days=7)),
    ).json()["data"]
    young = make_account(history_days=60)
    before = today() - timedelta(days=90)
    assert insights(
        sandbox,
        young,
        metric="reach",
        period="day",
        since=unix(before),
        until=unix(before + timedelta(days=10)),
    ).json() == {"data": []}


def test_unknown_removed_and_invalid(sandbox, make_account):
    """§2/§12.5: impressions → v22 message; removed metrics → metric[i] must be one of …;
    invalid period rejected."""
    acct = make_account()
    message = error_of(insights(sandbox, acct, metric="impressions", period="day"))["message"]
    assert message == (
        "(#100) Starting from version 22 and above, the impressions metric is no longer supported for the queried user. "
        "Please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/ig-user/insights "
        "for a list of supported metrics."
    )
    message = error_of(insights(sandbox, acct, metric="reach,profile_views", period="day"))[
        "message"
    ]
    assert message.startswith(
        "(#100) metric[1] must be one of the following values: reach, follower_count"
    )
    assert error_of(insights(sandbox, acct, metric="reach", period="year"))["code"] == 100
    assert error_of(insights(sandbox, acct, metric="reach"))["code"] == 100


def test_json_array_parameters(sandbox, make_account):
    """§11.1: metric=["reach"]&period=["day"] as Meta's SDK sends them."""
    acct = make_account()
    body = insights(sandbox, acct, metric='["reach","follower_count"]', period='["day"]').json()
    assert [m["name"] for m in body["data"]] == ["reach", "follower_count"]


def test_week_and_days_28_reach(sandbox, make_account):
    """§4.2 [UNC]: reach with period week / days_28 is a de-duplicated trailing window."""
    acct = make_account(followers=10000)
    window = {"since": unix(today() - timedelta(days=5)), "until": unix(today())}
    day = insights(sandbox, acct, metric="reach", period="day", **window).json()["data"][0][
        "values"
    ]
    week = insights(sandbox, acct, metric="reach", period="week", **window).json()["data"][0][
        "values"
    ]
    assert [v["end_time"] for v in day] == [v["end_time"] for v in week]
    assert all(w["value"] > d["value"] for d, w in zip(day, week, strict=True))


def test_account_metrics_deterministic(sandbox, make_account):
    """DESIGN: the same question gets the same answer."""
    acct = make_account()
    params = {
        "metric": "likes,reach",
        "period": "day",
        "metric_type": "total_value",
        "breakdown": "media_product_type",
        "since": unix(today() - timedelta(days=20)),
        "until": unix(today() - timedelta(days=1)),
    }
    first, second = (
        insights(sandbox, acct, **params).json(),
        insights(sandbox, acct, **params).json(),
    )
    assert first == second


def test_unix_and_datetime_strings_agree(sandbox, make_account):
    """§4.1: since/until accept unix seconds and date strings alike."""
    acct = make_account()
    day = today() - timedelta(days=6)
    by_date = insights(
        sandbox,
        acct,
        metric="reach",
        period="day",
        since=day.isoformat(),
        until=(day + timedelta(days=2)).isoformat(),
    ).json()
    by_unix = insights(
        sandbox,
        acct,
        metric="reach",
        period="day",
        since=unix(day),
        until=unix(day + timedelta(days=3)),
    ).json()
    assert by_date["data"] == by_unix["data"]
    stamp = datetime.fromtimestamp(unix(day), world.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert (
        insights(
            sandbox,
            acct,
            metric="reach",
            period="day",
            since=stamp,
            until=unix(day + timedelta(days=3)),
        ).json()["data"]
        == by_unix["data"]
    )
