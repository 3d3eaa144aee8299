"""Meta as of December 2026 (docs/graph-api.md): versions served, the legacy features closed to
new apps, each host's usage header, the BUC formula, and the world settings for what the record
leaves open. Real HTTP against the sandbox; its clock is frozen at named moments."""

import json

import pytest

DECEMBER = "2026-12-05T18:00:00Z"
OCTOBER = "2026-10-20T18:00:00Z"  # before v26.0's retirement of root ?ids= everywhere


def control(sandbox, method, path, **body):
    response = sandbox.control(method, path, json=body) if body else sandbox.control(method, path)
    assert response.status_code < 400, response.text
    return response.json()


@pytest.fixture
def at(sandbox):
    def move(moment: str):
        control(sandbox, "POST", "clock", to=moment, freeze=True)

    move(DECEMBER)
    return move


def error_of(response) -> dict:
    assert response.status_code >= 400, response.text
    return response.json()["error"]


def test_versions_served_as_meta_serves_them(sandbox, make_account, at):
    """An expired version is served by the oldest available and the header says so; a version
    Meta never had is refused; unversioned calls get the app's version (v27.0 for an app
    created after its release)."""
    acct = make_account()
    path = acct["ig_user_id"]

    def served(version):
        prefix = f"{version}/" if version else ""
        response = sandbox.get(acct["host"], prefix + path, acct["access_token"], fields="id")
        return response.status_code, response.headers.get("facebook-api-version")

    assert served("v27.0") == (200, "v27.0")
    assert served("v26.0") == (200, "v26.0")
    assert served("v25.0") == (200, "v25.0")
    assert served("v20.0") == (200, "v21.0")  # expired 2026-09-24
    assert served("v19.0") == (200, "v21.0")
    assert served(None) == (200, "v27.0")
    refused = sandbox.get(acct["host"], f"v99.0/{path}", acct["access_token"], fields="id")
    assert error_of(refused)["code"] == 2500
    assert error_of(refused)["message"] == f"Unknown path components: /{path}"
    at("2026-09-01T12:00:00Z")  # before v20.0's expiry and v27.0's release
    assert served("v20.0") == (200, "v20.0")
    assert served("v19.0") == (200, "v20.0")
    assert served("v27.0") == (200, "v20.0")  # not released yet: the oldest available [OBS]


def test_old_app_keeps_multi_id_until_v26_retires_the_root_form(sandbox, make_account, at):
    """An app created before 2026-11-04 may still use `?ids=` on an edge; the root `GET /?ids=`
    answers until v26.0's retirement reaches every version (2026-10-27)."""
    control(sandbox, "POST", "settings", app_created_on="2024-01-10")
    at(OCTOBER)
    acct = make_account(media_count=3)
    media = sandbox.get(
        acct["host"], f"v25.0/{acct['ig_user_id']}/media", acct["access_token"]
    ).json()["data"]
    ids = ",".join(m["id"] for m in media[:2])
    assert sandbox.get(acct["host"], "v25.0/", acct["access_token"], ids=ids).status_code == 200
    assert sandbox.get(acct["host"], "v26.0/", acct["access_token"], ids=ids).status_code == 400
    at(DECEMBER)
    root = sandbox.get(acct["host"], "v25.0/", acct["access_token"], ids=ids)
    assert error_of(root)["code"] == 12
    edge = sandbox.get(
        acct["host"], "v25.0/insights", acct["access_token"], ids=ids, metric="reach"
    )
    assert edge.status_code == 200 and set(edge.json()) == set(ids.split(","))


@pytest.mark.parametrize("host", ["graph.facebook.com", "graph.instagram.com"])
def test_new_apps_cannot_use_the_legacy_features(sandbox, make_account, at, host):
    """v27.0 blog: multi-ID requests, date/time formatting, method override, field aliases and
    JSONP callbacks are refused to apps created on or after 2026-11-04 (the sandbox's default
    app), on every version; plain calls, field expansion and batch still work."""
    acct = make_account(media_count=3, login="facebook" if "facebook" in host else "instagram")
    user, token = acct["ig_user_id"], acct["access_token"]
    media = sandbox.get(host, f"v25.0/{user}/media", token).json()["data"]
    ids = ",".join(m["id"] for m in media[:2])
    cases = [
        ("v25.0/insights", {"ids": ids, "metric": "reach"}, "multi-ID requests"),
        ("v25.0/", {"ids": ids}, "multi-ID requests"),
        (f"v27.0/{user}/media", {"date_format": "U"}, "date/time formatting"),
        (f"v25.0/{user}", {"method": "get"}, "HTTP method override"),
        (f"v25.0/{user}", {"fields": "username.as(handle)"}, "field aliases"),
        (f"v25.0/{user}", {"callback": "cb"}, "JSONP callbacks"),
    ]
    for path, params, feature in cases:
        error = error_of(sandbox.get(host, path, token, **params))
        assert error["code"] == 12, (path, error)
        assert error["message"] == (
            f"(#12) {feature} cannot be used by apps created on or after November 4, 2026"
        )
    expanded = sandbox.get(
        host, f"v25.0/{user}/media", token, fields="id,insights.metric(reach)", limit=2
    )
    assert expanded.status_code == 200
    assert all(item["insights"]["data"] for item in expanded.json()["data"])


def test_instagram_expansion_of_insights_is_a_world_setting(sandbox, make_account, at):
    acct = make_account(media_count=3, login="instagram")
    path = f"v25.0/{acct['ig_user_id']}/media"
    fields = "id,insights.metric(reach)"
    ok = sandbox.get("graph.instagram.com", path, acct["access_token"], fields=fields)
    assert ok.status_code == 200
    control(sandbox, "POST", "settings", instagram_insights_expansion=False)
    refused = sandbox.get("graph.instagram.com", path, acct["access_token"], fields=fields)
    assert "nonexisting field (insights)" in error_of(refused)["message"]


def test_each_host_sends_its_own_app_usage_names(sandbox, make_account, at):
    """graph.instagram.com: {"call_volume","cpu_time"} (restfb#1571); graph.facebook.com:
    {"call_count","total_time","total_cputime"}."""
    control(sandbox, "POST", "settings", usage_headers_min_percent=0)
    fb = make_account()
    ig = make_account(login="instagram")
    a = sandbox.get("graph.facebook.com", fb["ig_user_id"], fb["access_token"])
    b = sandbox.get("graph.instagram.com", ig["ig_user_id"], ig["access_token"])
    assert set(json.loads(a.headers["X-App-Usage"])) == {
        "call_count",
        "total_time",
        "total_cputime",
    }
    assert set(json.loads(b.headers["X-App-Usage"])) == {"call_volume", "cpu_time"}


def test_business_use_case_budget_is_4800_times_impressions(sandbox, make_account, at):
    """The account's 24-hour budget is 4,800 × its impressions (its views of the last day): a
    small account's 100 calls are a sizeable share of it, a large one's hardly any."""
    from sandbox import core, world
    from sandbox.models import InstagramAccount

    small = make_account(followers=150, media_count=10)
    account = InstagramAccount.objects.get(ig_user_id=small["ig_user_id"])
    day = world.pacific_day(core.now()) - __import__("datetime").timedelta(days=1)
    views = world.day_metrics(account, day, at=core.now()).values["views"]
    assert core.buc_budget(small["ig_user_id"]) == 4800 * max(1, views)
    override = make_account(call_budget=50)
    assert core.buc_budget(override["ig_user_id"]) == 50


def test_reach_legacy_periods_are_a_world_setting(sandbox, make_account, at):
    """reach week / days_28: not in the current reference, asked by Airbyte's production
    connector: answered by default, refused when the setting is off."""
    acct = make_account(followers=5000)
    params = {"metric": "reach", "period": "week"}
    ok = sandbox.get(acct["host"], f"{acct['ig_user_id']}/insights", acct["access_token"], **params)
    assert ok.status_code == 200 and ok.json()["data"]
    control(sandbox, "POST", "settings", reach_legacy_periods=False)
    refused = sandbox.get(
        acct["host"], f"{acct['ig_user_id']}/insights", acct["access_token"], **params
    )
    assert error_of(refused)["code"] == 100
    day = sandbox.get(
        acct["host"],
        f"{acct['ig_user_id']}/insights",
        acct["access_token"],
        metric="reach",
        period="day",
    )
    assert day.status_code == 200


def test_account_history_depth_is_a_world_setting(sandbox, make_account, at):
    """Older windows than account_history_days answer no data (an empty set, never 0)."""
    from datetime import datetime, timedelta

    acct = make_account(followers=5000, history_days=700)
    now = datetime.fromisoformat(DECEMBER.replace("Z", "+00:00"))
    since = int((now - timedelta(days=200)).timestamp())
    params = {
        "metric": "reach",
        "period": "day",
        "since": since,
        "until": since + 20 * 86400,
    }
    path = f"{acct['ig_user_id']}/insights"
    assert sandbox.get(acct["host"], path, acct["access_token"], **params).json()["data"]
    control(sandbox, "POST", "settings", account_history_days=90)
    assert sandbox.get(acct["host"], path, acct["access_token"], **params).json()["data"] == []


def test_unknown_breakdown_status_is_a_world_setting(sandbox, make_account, at):
    acct = make_account(followers=5000)
    params = {"metric": "accounts_engaged", "period": "day", "metric_type": "total_value"}
    params["breakdown"] = "media_product_type"
    path = f"{acct['ig_user_id']}/insights"
    response = sandbox.get(acct["host"], path, acct["access_token"], **params)
    assert response.status_code == 500 and error_of(response)["code"] == 1
    control(sandbox, "POST", "settings", unknown_breakdown_status=400)
    response = sandbox.get(acct["host"], path, acct["access_token"], **params)
    assert response.status_code == 400
    assert error_of(response)["message"] == "An unknown error has occurred."


def test_story_link_clicks_on_facebook_login_only(sandbox, make_account, at):
    """22 Jun 2026, "New Story Insights Metrics": link_clicks for story media, Facebook Login
    only (not part of graph.instagram.com's metric list)."""
    fb = make_account(followers=20000, active_stories=0)
    ig = make_account(followers=20000, active_stories=0, login="instagram")
    for acct, ok in ((fb, True), (ig, False)):
        story = control(
            sandbox, "POST", f"accounts/{acct['ig_user_id']}/stories", viewers=400, hours_ago=5
        )
        response = sandbox.get(
            acct["host"],
            f"{story['media_id']}/insights",
            acct["access_token"],
            metric="reach,link_clicks",
        )
        if ok:
            values = {m["name"]: m["values"][0]["value"] for m in response.json()["data"]}
            assert 0 <= values["link_clicks"] <= values["reach"]
        else:
            assert error_of(response)["code"] == 100
