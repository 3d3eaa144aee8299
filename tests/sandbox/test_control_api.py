"""The control API: accounts, media and stories, tokens, clock, stats and reset (JSON over real
HTTP). graph-api.md §1 (tokens), §3 (media), §6 (190 subcodes), §7 (call budget, counted calls),
§11 (emulator checklist)."""

import json
import time
from datetime import UTC, datetime
from io import StringIO

import requests

from sandbox import core
from sandbox.models import CallLog, Fault, InstagramAccount, Token
from sandbox.seed import ACCOUNT_ORDER


def control(sandbox, method, path, **body):
    return sandbox.control(method, path, json=body) if body else sandbox.control(method, path)


def error(response) -> dict:
    return response.json()["error"]


# --- Accounts -----------------------------------------------------------------------------------


def test_create_facebook_account_gives_a_ready_long_lived_token(sandbox):
    """§1A/§11.2: the account is reachable through its Page with the returned token."""
    created = control(
        sandbox, "POST", "accounts", followers=5400, media_count=120, username="acme.coffee"
    )
    assert created.status_code == 201, created.text
    acct = created.json()
    assert (
        acct["host"] == "graph.facebook.com"
        and acct["page_id"]
        and acct["access_token"].startswith("EAA")
    )
    assert acct["ig_user_id"].startswith("178414") and len(acct["ig_user_id"]) == 17
    assert (
        acct["followers"] == 5400
        and acct["media_count"] == 120
        and acct["username"] == "acme.coffee"
    )
    assert 59 * 86400 < acct["expires_in"] <= 60 * 86400
    pages = sandbox.get(
        "graph.facebook.com",
        "v25.0/me/accounts",
        token=acct["access_token"],
        fields="id,instagram_business_account",
    ).json()["data"]
    assert pages == [
        {"id": acct["page_id"], "instagram_business_account": {"id": acct["ig_user_id"]}}
    ]


def test_create_instagram_login_account(sandbox):
    """§1B: login=instagram → an IGAA… token for graph.instagram.com; /me has user_id."""
    acct = control(
        sandbox,
        "POST",
        "accounts",
        login="instagram",
        account_type="MEDIA_CREATOR",
        region="de",
        followers=80,
    ).json()
    assert acct["host"] == "graph.instagram.com" and acct["page_id"] is None
    assert acct["account_type"] == "MEDIA_CREATOR" and acct["region"] == "DE"
    me = sandbox.get(
        "graph.instagram.com", "me", token=acct["access_token"], fields="user_id,account_type"
    )
    assert (
        me.json()["user_id"] == acct["ig_user_id"] and me.json()["account_type"] == "MEDIA_CREATOR"
    )


def test_create_account_validates_input(sandbox):
    bad = [
        ({"followers": -1}, "followers"),
        ({"followers": "many"}, "followers must be an integer"),
        ({"login": "myspace"}, "login must be one of"),
        ({"account_type": "PERSONAL"}, "personal account cannot be linked to a Page"),
        ({"account_type": "ROBOT"}, "account_type"),
        ({"username": "has space"}, "username"),
        ({"username": "avas_bakery"}, "taken"),
        ({"converted_days_ago": 900, "history_days": 800}, "converted_days_ago"),
        ({"folowers": 10}, "unknown field(s): folowers"),
    ]
    for body, message in bad:
        answer = control(sandbox, "POST", "accounts", **body)
        assert answer.status_code == 400, body
        assert message in error(answer), (body, error(answer))
    not_json = sandbox.control(
        "POST", "accounts", data="{oops", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and "JSON" in error(not_json)
    assert sandbox.control("PUT", "accounts").status_code == 405


def test_list_and_show_accounts(sandbox):
    created = control(sandbox, "POST", "accounts", converted_days_ago=100, call_budget=500).json()
    listed = control(sandbox, "GET", "accounts").json()["data"]
    usernames = [a["username"] for a in listed]
    assert usernames[: len(ACCOUNT_ORDER)] == ACCOUNT_ORDER  # the seed world comes first
    assert created["username"] in usernames
    detail = control(sandbox, "GET", f"accounts/{created['ig_user_id']}").json()
    assert detail["call_budget"] == 500 and detail["seeded"] is False
    converted = datetime.fromisoformat(detail["converted_at"])
    assert abs((core.now() - converted).days - 100) <= 1
    assert [t["kind"] for t in detail["tokens"]] == ["fb_long"]
    assert created["access_token"] not in str(detail)  # tokens only as fingerprints
    assert detail["tokens"][0]["fingerprint"] == created["token_fingerprint"]
    assert control(sandbox, "GET", "accounts/123").status_code == 404


def test_token_age_days_makes_a_refreshable_instagram_token(sandbox):
    """§1B: a long-lived token ≥ 24 h old can be refreshed at once."""
    acct = control(sandbox, "POST", "accounts", login="instagram", token_age_days=2).json()
    refreshed = sandbox.get(
        "graph.instagram.com",
        "refresh_access_token",
        token=acct["access_token"],
        grant_type="ig_refresh_token",
    )
    assert refreshed.status_code == 200, refreshed.text


def test_tokens_for_a_seeded_account(sandbox):
    answer = control(sandbox, "POST", "accounts/17841400000000104/tokens")
    assert answer.status_code == 201
    token = answer.json()
    assert token["host"] == "graph.facebook.com" and token["page_id"] == "110000000000104"
    ig = control(
        sandbox, "POST", "accounts/17841400000000104/tokens", login="instagram", lifetime="short"
    ).json()
    me = sandbox.get(
        "graph.instagram.com", "me", token=ig["access_token"], fields="username,followers_count"
    )
    assert me.json()["username"] == "northwind_outdoors" and me.json()["followers_count"] == 250_000
    assert ig["expires_in"] <= 3600
    personal = control(sandbox, "POST", "accounts/17841400000000109/tokens", login="facebook")
    assert personal.status_code == 400


def test_call_budget_runs_out_with_80002(sandbox):
    """§7.2: once the account's rolling 24-hour budget is spent → code 80002 with BUC header."""
    acct = control(sandbox, "POST", "accounts", login="instagram", call_budget=3).json()
    answers = [
        sandbox.get("graph.instagram.com", "me", token=acct["access_token"]) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 400]
    assert error(answers[-1])["code"] == 80002
    assert '"call_count":100' in answers[-1].headers["X-Business-Use-Case-Usage"].replace(" ", "")
    core.move_clock(seconds=86401)  # the window rolls on
    assert sandbox.get("graph.instagram.com", "me", token=acct["access_token"]).status_code == 200


# --- Media and stories --------------------------------------------------------------------------


def test_add_a_post_now_shows_first_in_media(sandbox):
    """§3.2: media added now is the newest item of /media and counts in media_count."""
    acct = control(sandbox, "POST", "accounts", media_count=5).json()
    added = control(
        sandbox,
        "POST",
        f"accounts/{acct['ig_user_id']}/media",
        kind="carousel",
        children=4,
        caption="Autumn menü / new",
        reach_target=900,
    )
    assert added.status_code == 201, added.text
    media = added.json()
    assert media["media_type"] == "CAROUSEL_ALBUM" and media["media_product_type"] == "FEED"
    assert media["children"] == 4 and media["timestamp"].endswith("+0000")
    first = sandbox.get(
        "graph.facebook.com",
        f"v25.0/{acct['ig_user_id']}/media",
        token=acct["access_token"],
        fields="id,media_type,caption",
        limit=1,
    ).json()["data"][0]
    assert first == {
        "id": media["media_id"],
        "media_type": "CAROUSEL_ALBUM",
        "caption": "Autumn menü / new",
    }
    count = sandbox.get(
        "graph.facebook.com", acct["ig_user_id"], token=acct["access_token"], fields="media_count"
    )
    assert count.json()["media_count"] == 6
    reel = control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/media", kind="reel").json()
    assert (reel["media_type"], reel["media_product_type"]) == ("VIDEO", "REELS")
    assert reel["media_id"] != media["media_id"]


def test_media_ids_never_collide_with_generated_ones(sandbox):
    """Control-API media use their own id range (world.py: prefix 182)."""
    acct = control(sandbox, "POST", "accounts", media_count=30).json()
    generated = sandbox.get(
        "graph.facebook.com", f"{acct['ig_user_id']}/media", token=acct["access_token"], limit=30
    ).json()["data"]
    added = [
        control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/media").json()["media_id"]
        for _ in range(3)
    ]
    assert all(a.startswith("182") for a in added) and len(set(added)) == 3
    assert not set(added) & {g["id"] for g in generated}


def test_add_a_story_with_few_viewers(sandbox):
    """§3.3/§5.5: a story added now is live in /stories; < 5 viewers → (#10) on its insights."""
    acct = control(sandbox, "POST", "accounts", active_stories=0).json()
    story = control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/stories", viewers=3)
    assert story.status_code == 201, story.text
    story_id = story.json()["media_id"]
    assert story.json()["media_product_type"] == "STORY" and story.json()["reach_target"] == 3
    listed = sandbox.get(
        "graph.facebook.com", f"{acct['ig_user_id']}/stories", token=acct["access_token"]
    )
    assert [s["id"] for s in listed.json()["data"]] == [story_id]
    core.move_clock(seconds=3 * 3600)
    insights = sandbox.get(
        "graph.facebook.com", f"{story_id}/insights", token=acct["access_token"], metric="reach"
    )
    assert insights.status_code == 400 and error(insights)["code"] == 10


def test_media_and_story_validation(sandbox):
    acct = control(sandbox, "POST", "accounts").json()
    base = f"accounts/{acct['ig_user_id']}"
    assert "2 to 10" in error(
        control(sandbox, "POST", f"{base}/media", kind="carousel", children=1)
    )
    assert "kind must be one of" in error(
        control(sandbox, "POST", f"{base}/media", kind="hologram")
    )
    assert "under 24" in error(control(sandbox, "POST", f"{base}/stories", hours_ago=30))
    assert control(sandbox, "POST", "accounts/999/media").status_code == 404


# --- Tokens -------------------------------------------------------------------------------------


def test_revoke_one_token(sandbox):
    """§6.2: a revoked token answers 190 with the chosen subcode."""
    acct = control(sandbox, "POST", "accounts").json()
    answer = control(
        sandbox, "POST", "tokens/revoke", access_token=acct["access_token"], subcode=458
    )
    assert answer.json() == {"revoked": 1, "subcode": 458}
    me = sandbox.get("graph.facebook.com", "me", token=acct["access_token"])
    assert me.status_code == 400
    assert (error(me)["code"], error(me)["error_subcode"]) == (190, 458)
    assert "has not authorized application" in error(me)["message"]


def test_revoke_every_token_of_an_account_including_page_tokens(sandbox):
    acct = control(sandbox, "POST", "accounts").json()
    page_token = sandbox.get(
        "graph.facebook.com", "me/accounts", token=acct["access_token"]
    ).json()["data"][0]["access_token"]
    ig = control(sandbox, "POST", f"accounts/{acct['ig_user_id']}/tokens", login="instagram").json()
    other = control(sandbox, "POST", "accounts").json()
    answer = control(sandbox, "POST", "tokens/revoke", ig_user_id=acct["ig_user_id"])
    assert answer.json() == {"revoked": 3, "subcode": 460}
    for token, host in [
        (acct["access_token"], "graph.facebook.com"),
        (page_token, "graph.facebook.com"),
        (ig["access_token"], "graph.instagram.com"),
    ]:
        me = sandbox.get(host, "me", token=token)
        assert (error(me)["code"], error(me)["error_subcode"]) == (190, 460)
    assert sandbox.get("graph.facebook.com", "me", token=other["access_token"]).status_code == 200


def test_revoke_validation(sandbox):
    assert control(sandbox, "POST", "tokens/revoke").status_code == 400
    assert (
        control(sandbox, "POST", "tokens/revoke", access_token="EAAGx", ig_user_id="1").status_code
        == 400
    )
    assert "subcode" in error(
        control(sandbox, "POST", "tokens/revoke", access_token="EAAGx", subcode=463)
    )
    assert control(sandbox, "POST", "tokens/revoke", access_token="EAAGnope").status_code == 404


# --- Clock --------------------------------------------------------------------------------------


def test_clock_moves_and_resets(sandbox):
    """The sandbox clock drives token expiry, code expiry and the world's time."""
    start = control(sandbox, "GET", "clock").json()
    assert start["meta_time"].endswith("+0000") and abs(start["offset_seconds"]) <= 1
    later = control(sandbox, "POST", "clock", advance_days=2).json()
    assert 2 * 86400 - 5 <= later["unix"] - start["unix"] <= 2 * 86400 + 5
    more = control(sandbox, "POST", "clock", advance_seconds=3600).json()
    assert 3595 <= more["unix"] - later["unix"] <= 3605
    fixed = control(sandbox, "POST", "clock", to="2027-03-01T12:00:00Z").json()
    assert fixed["now"].startswith("2027-03-01T12:00:0")
    assert abs(core.now() - datetime(2027, 3, 1, 12, tzinfo=UTC)).total_seconds() < 5
    assert control(sandbox, "POST", "clock", to="next tuesday").status_code == 400
    assert control(sandbox, "POST", "clock", advance_days=1, advance_seconds=1).status_code == 400
    assert control(sandbox, "POST", "clock").status_code == 400
    reset = control(sandbox, "POST", "clock/reset").json()
    assert abs(reset["offset_seconds"]) <= 1


def test_clock_freezes_and_runs_on(sandbox):
    """A frozen clock answers the same instant (a whole second) until moved or unfrozen; then it
    runs on from where it stood."""
    frozen = control(sandbox, "POST", "clock", freeze=True).json()
    assert (
        frozen["frozen"] is True and frozen["now"] == control(sandbox, "GET", "clock").json()["now"]
    )
    moved = control(sandbox, "POST", "clock", advance_seconds=90).json()
    assert moved["unix"] - frozen["unix"] == 90 and moved["frozen"] is True
    running = control(sandbox, "POST", "clock", freeze=False).json()
    assert running["frozen"] is False and 0 <= running["unix"] - moved["unix"] <= 2
    assert control(sandbox, "POST", "clock", freeze="yes").status_code == 400


def test_world_settings_have_cautious_defaults_and_reset(sandbox):
    """graph-api.md legend: [UNC] behaviours are switches; the defaults are the cautious side
    (revisions for 48 h §4.1, no batch on graph.instagram.com §7.3)."""
    current = control(sandbox, "GET", "settings").json()
    assert current["settings"]["settle_hours"] == 48
    assert current["settings"]["instagram_batch"] is False
    changed = control(sandbox, "POST", "settings", settle_hours=0, instagram_batch=True).json()
    assert changed["settings"]["settle_hours"] == 0 and changed["settings"]["instagram_batch"]
    assert control(sandbox, "POST", "settings", colour="blue").status_code == 400
    assert control(sandbox, "POST", "settings", settle_hours="soon").status_code == 400
    control(sandbox, "POST", "reset")
    assert control(sandbox, "GET", "settings").json()["settings"] == current["settings"]


def test_latency_setting_delays_each_http_request_once(sandbox):
    """latency_ms: every API request answers that much late; a batch waits once, not once per
    operation (Meta runs them side by side)."""
    fb = control(sandbox, "POST", "accounts").json()

    def timed(call) -> float:
        started = time.monotonic()
        assert call().status_code == 200
        return time.monotonic() - started

    def profile():
        return sandbox.get("graph.facebook.com", fb["ig_user_id"], token=fb["access_token"])

    def batch():
        ops = [{"method": "GET", "relative_url": fb["ig_user_id"]}] * 5
        return requests.post(
            sandbox.url("graph.facebook.com", ""),
            data={"batch": json.dumps(ops), "access_token": fb["access_token"]},
            timeout=30,
        )

    assert control(sandbox, "GET", "settings").json()["settings"]["latency_ms"] == 0
    baseline = min(timed(profile) for _ in range(3))
    control(sandbox, "POST", "settings", latency_ms=300)
    assert 0.3 <= timed(profile) < baseline + 0.3 + 0.25
    assert 0.3 <= timed(batch) < 0.3 * 5  # once for the batch, not once per operation
    assert control(sandbox, "POST", "settings", latency_ms=-1).status_code == 400


def test_clock_expires_tokens(sandbox):
    acct = control(sandbox, "POST", "accounts", login="instagram").json()
    control(sandbox, "POST", "clock", advance_days=61)
    me = sandbox.get("graph.instagram.com", "me", token=acct["access_token"])
    assert (error(me)["code"], error(me)["error_subcode"]) == (190, 463)


# --- Stats and reset ----------------------------------------------------------------------------


def test_stats_by_host_path_account_and_token(sandbox):
    """§7.3: requests and rate-limit-counted calls (each ?ids= item counts) per host, path pattern,
    account and token fingerprint; the token itself never appears. (?ids= needs an app created
    before 2026-11-04, at a moment before v26.0 retired its root form: docs/graph-api.md §1.)"""
    control(sandbox, "POST", "settings", app_created_on="2024-01-10")
    control(sandbox, "POST", "clock", to="2026-10-20T12:00:00Z", freeze=True)
    fb = control(sandbox, "POST", "accounts").json()
    ig = control(sandbox, "POST", "accounts", login="instagram").json()
    control(sandbox, "POST", "stats/reset")
    sandbox.get("graph.facebook.com", "v25.0/me/accounts", token=fb["access_token"])
    for _ in range(2):
        sandbox.get(
            "graph.facebook.com",
            f"v25.0/{fb['ig_user_id']}",
            token=fb["access_token"],
            fields="username",
        )
    sandbox.get("graph.instagram.com", "me", token=ig["access_token"], fields="username")
    media = sandbox.get(
        "graph.facebook.com", f"{fb['ig_user_id']}/media", token=fb["access_token"], limit=2
    )
    ids = ",".join(m["id"] for m in media.json()["data"])
    sandbox.get("graph.facebook.com", "", token=fb["access_token"], ids=ids, fields="id")
    answer = control(sandbox, "GET", "stats")
    stats = answer.json()
    assert fb["access_token"] not in answer.text and ig["access_token"] not in answer.text
    assert stats["requests"] == 6
    assert stats["counted_calls"] == 7  # ?ids= with two ids counts twice
    assert stats["by_host"]["graph.facebook.com"]["requests"] == 5
    assert stats["by_host"]["graph.instagram.com"] == {
        "requests": 1,
        "http_requests": 1,
        "counted_calls": 1,
    }
    assert stats["by_path"]["GET graph.facebook.com/{ig_user}"]["requests"] == 2
    assert stats["by_path"]["GET graph.facebook.com/{me}/accounts"]["requests"] == 1
    assert stats["by_account"][ig["ig_user_id"]]["requests"] == 1
    assert stats["by_account"][fb["ig_user_id"]]["requests"] >= 3
    assert stats["by_token"][fb["token_fingerprint"]]["requests"] == 5
    assert stats["by_token"][ig["token_fingerprint"]]["requests"] == 1
    assert stats["by_status"] == {"200": {"requests": 6, "http_requests": 6, "counted_calls": 7}}
    only_ig = control(sandbox, "GET", "stats?host=graph.instagram.com").json()
    assert only_ig["requests"] == 1
    assert control(sandbox, "POST", "stats/reset").json()["deleted"] == 6
    assert control(sandbox, "GET", "stats").json()["requests"] == 0

    # A batch is one HTTP request; each of its operations is logged and counted on its own.
    ops = [{"method": "GET", "relative_url": f"v25.0/{fb['ig_user_id']}?fields=id"}] * 3
    answer = requests.post(
        sandbox.url("graph.facebook.com", ""),
        data={"batch": json.dumps(ops), "access_token": fb["access_token"]},
        timeout=30,
    )
    assert answer.status_code == 200 and len(answer.json()) == 3
    stats = control(sandbox, "GET", "stats").json()
    assert (stats["requests"], stats["http_requests"], stats["counted_calls"]) == (4, 1, 3)
    assert stats["by_path"]["POST graph.facebook.com/ (batch)"]["http_requests"] == 1
    assert stats["by_path"]["GET graph.facebook.com/{ig_user}"]["http_requests"] == 0


def test_reset_brings_back_the_seed_world(sandbox):
    created = control(sandbox, "POST", "accounts").json()
    control(sandbox, "POST", "faults", kind="5xx")
    control(sandbox, "POST", "clock", advance_days=10)
    control(sandbox, "POST", "accounts/17841400000000101/stories")
    sandbox.get("graph.facebook.com", "me", token=created["access_token"])
    answer = control(sandbox, "POST", "reset").json()
    assert answer["reset"] is True and abs(answer["offset_seconds"]) <= 1
    assert sorted(InstagramAccount.objects.values_list("username", flat=True)) == sorted(
        ACCOUNT_ORDER
    )
    assert (
        not Fault.objects.exists() and not CallLog.objects.exists() and not Token.objects.exists()
    )
    bakery = control(sandbox, "GET", "accounts/17841400000000101").json()
    assert bakery["added_media"] == [] and bakery["seeded"] is True


def test_index_lists_endpoints(sandbox):
    index = control(sandbox, "GET", "").json()
    assert any("webhooks/send" in line for line in index["endpoints"])
    assert index["apps"]["facebook"]["app_id"]


def test_seed_world_is_idempotent_and_deterministic(transactional_db):
    """The seed world has fixed ids: the same after a restart, never duplicated."""
    from django.core.management import call_command

    from sandbox.models import Page, Person

    call_command("sandbox_seed", stdout=StringIO())
    first = sorted(InstagramAccount.objects.values_list("ig_user_id", "username", "seed"))
    call_command("sandbox_seed", stdout=StringIO())
    assert sorted(InstagramAccount.objects.values_list("ig_user_id", "username", "seed")) == first
    assert ("17841400000000104", "northwind_outdoors", 104) in first
    assert Person.objects.count() == 7 and Page.objects.count() == 8
    assert Page.objects.get(page_id="110000000000102").ig_account is None
    big = InstagramAccount.objects.get(username="northwind_outdoors")
    assert big.followers == 250_000 and big.media_count >= 5000 and big.history_days >= 730
    assert InstagramAccount.objects.filter(followers__lt=100).exists()
    assert InstagramAccount.objects.filter(account_type="PERSONAL").count() == 1
    assert InstagramAccount.objects.get(username="oak_and_ivy").converted_at is not None


def test_bulk_create_accounts_from_one_template(sandbox):
    """Benchmarks need many accounts: POST accounts with `count` makes that many from one
    template, each with its own ids and a ready token (§1A/§1B), in one request."""
    made = control(sandbox, "POST", "accounts", count=40, followers=700, media_count=30).json()
    assert made["count"] == 40 and len({a["ig_user_id"] for a in made["data"]}) == 40
    assert len({a["access_token"] for a in made["data"]}) == 40
    for acct in made["data"][::13]:
        pages = sandbox.get(
            "graph.facebook.com",
            "v25.0/me/accounts",
            token=acct["access_token"],
            fields="id,instagram_business_account",
        ).json()["data"]
        assert pages == [
            {"id": acct["page_id"], "instagram_business_account": {"id": acct["ig_user_id"]}}
        ]
        user = sandbox.get(
            "graph.facebook.com",
            f"v25.0/{acct['ig_user_id']}",
            token=acct["access_token"],
            fields="followers_count,media_count",
        ).json()
        assert (user["followers_count"], user["media_count"]) == (700, 30)
    ig = control(sandbox, "POST", "accounts", count=3, login="instagram", seed=7).json()["data"]
    me = sandbox.get("graph.instagram.com", "me", token=ig[1]["access_token"], fields="user_id")
    assert me.json()["user_id"] == ig[1]["ig_user_id"]
    seeds = [InstagramAccount.objects.get(ig_user_id=a["ig_user_id"]).seed for a in ig]
    assert seeds == [7, 8, 9]
    assert control(sandbox, "POST", "accounts", count=2, username="x").status_code == 400
    assert control(sandbox, "POST", "accounts", count=0).status_code == 400
