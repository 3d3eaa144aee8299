"""Code exchange, long-lived tokens, refresh and debug_token over real HTTP.
graph-api.md §1A (Facebook), §1B (Instagram), §6.1 (each host's error shape), §12.2, §12.15."""

import json
from datetime import timedelta

from django.conf import settings

from sandbox import core
from sandbox.models import Token

from .dialog import REDIRECT_URI, facebook_flow, instagram_flow, query

FB = {
    "client_id": settings.SANDBOX_FACEBOOK_APP_ID,
    "client_secret": settings.SANDBOX_FACEBOOK_APP_SECRET,
}
IG = {
    "client_id": settings.SANDBOX_INSTAGRAM_APP_ID,
    "client_secret": settings.SANDBOX_INSTAGRAM_APP_SECRET,
}
APP_TOKEN = f"{settings.SANDBOX_FACEBOOK_APP_ID}|{settings.SANDBOX_FACEBOOK_APP_SECRET}"


def fb_code(sandbox, login="ava", **kwargs) -> str:
    return query(facebook_flow(sandbox, login, **kwargs).headers["Location"])["code"]


def ig_code(sandbox, username="avas_bakery", **kwargs) -> str:
    return query(instagram_flow(sandbox, username, **kwargs).headers["Location"])["code"]


def exchange_fb(sandbox, code, redirect_uri=REDIRECT_URI, **extra):
    return sandbox.get(
        "graph.facebook.com",
        "v25.0/oauth/access_token",
        redirect_uri=redirect_uri,
        code=code,
        **{**FB, **extra},
    )


def exchange_ig(sandbox, code, redirect_uri=REDIRECT_URI, **extra):
    data = {
        **IG,
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri,
        "code": code,
        **extra,
    }
    return sandbox.post("api.instagram.com", "oauth/access_token", data=data)


def error(response) -> dict:
    return response.json()["error"]


# --- Facebook ---------------------------------------------------------------------------------


def test_facebook_code_exchange_gives_a_short_lived_bearer_token(sandbox):
    """§1A: code → {"access_token","token_type":"bearer","expires_in"} (short-lived, ~1–2 h)."""
    answer = exchange_fb(sandbox, fb_code(sandbox))
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["access_token"].startswith("EAA")
    assert 3600 <= body["expires_in"] <= 2 * 3600
    assert Token.objects.get(token=body["access_token"]).kind == Token.Kind.FB_SHORT


def test_facebook_code_exchange_by_post_form_also_works(sandbox):
    code = fb_code(sandbox)
    answer = sandbox.post(
        "graph.facebook.com",
        "v25.0/oauth/access_token",
        data={**FB, "redirect_uri": REDIRECT_URI, "code": code},
    )
    assert answer.status_code == 200 and answer.json()["token_type"] == "bearer"


def test_facebook_code_is_single_use(sandbox):
    """§1A: a reused code → 400 code 100 subcode 36009 "This authorization code has been used."."""
    code = fb_code(sandbox)
    assert exchange_fb(sandbox, code).status_code == 200
    again = exchange_fb(sandbox, code)
    assert again.status_code == 400
    assert error(again)["code"] == 100 and error(again)["error_subcode"] == 36009
    assert error(again)["message"] == "This authorization code has been used."
    assert error(again)["type"] == "OAuthException" and error(again)["fbtrace_id"]


def test_facebook_code_bound_to_redirect_uri(sandbox):
    """§1A: redirect_uri must equal the dialog's byte for byte (a trailing slash differs): 100/36008."""
    code = fb_code(sandbox)
    mismatch = exchange_fb(sandbox, code, redirect_uri=REDIRECT_URI.rstrip("/"))
    assert mismatch.status_code == 400
    assert (error(mismatch)["code"], error(mismatch)["error_subcode"]) == (100, 36008)
    assert exchange_fb(sandbox, code).status_code == 200  # the failed attempt did not use it up


def test_facebook_code_expires_after_an_hour(sandbox):
    """§1B/§1A: codes live one hour (sandbox clock)."""
    code = fb_code(sandbox)
    core.move_clock(seconds=3601)
    late = exchange_fb(sandbox, code)
    assert late.status_code == 400
    assert (error(late)["code"], error(late)["error_subcode"]) == (100, 36007)
    assert "expired" in error(late)["message"]


def test_facebook_exchange_checks_the_app(sandbox):
    code = fb_code(sandbox)
    wrong_secret = exchange_fb(sandbox, code, client_secret="nope")
    assert wrong_secret.status_code == 400 and error(wrong_secret)["code"] == 1
    wrong_app = exchange_fb(sandbox, code, client_id=settings.SANDBOX_INSTAGRAM_APP_ID)
    assert error(wrong_app)["code"] == 101
    missing_uri = sandbox.get("graph.facebook.com", "oauth/access_token", code=code, **FB)
    assert error(missing_uri)["code"] == 191
    garbage = exchange_fb(sandbox, "AQnot-a-code")
    assert error(garbage)["code"] == 100 and "error_subcode" not in error(garbage)
    an_ig_code = exchange_fb(sandbox, ig_code(sandbox))
    assert error(an_ig_code)["code"] == 100
    assert exchange_fb(sandbox, code).status_code == 200


def test_fb_exchange_token_gives_a_60_day_token(sandbox):
    """§1A: grant_type=fb_exchange_token → long-lived (~60 days), same grants."""
    short = exchange_fb(sandbox, fb_code(sandbox, untick=["pages_read_engagement"])).json()[
        "access_token"
    ]
    answer = sandbox.get(
        "graph.facebook.com",
        "v25.0/oauth/access_token",
        grant_type="fb_exchange_token",
        fb_exchange_token=short,
        **FB,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer" and body["access_token"] != short
    assert 59 * 86400 < body["expires_in"] <= 60 * 86400
    long = Token.objects.get(token=body["access_token"])
    assert long.kind == Token.Kind.FB_LONG and long.declined_scopes == ["pages_read_engagement"]
    core.move_clock(seconds=3 * 3600)  # the short token has expired by now; the long one has not
    assert sandbox.get("graph.facebook.com", "me", token=short).status_code == 400
    assert sandbox.get("graph.facebook.com", "me", token=body["access_token"]).status_code == 200
    expired = sandbox.get(
        "graph.facebook.com",
        "oauth/access_token",
        grant_type="fb_exchange_token",
        fb_exchange_token=short,
        **FB,
    )
    assert error(expired)["code"] == 190 and error(expired)["error_subcode"] == 463


# --- Instagram ----------------------------------------------------------------------------------


def test_instagram_code_exchange_is_flat_with_a_numeric_user_id(sandbox):
    """§1B, §12.2: flat {"access_token","user_id": <bare number > 2^53>, "permissions": [..]}."""
    answer = exchange_ig(sandbox, ig_code(sandbox))
    assert answer.status_code == 200
    raw = answer.text
    ig_user_id = "17841400000000101"
    assert f'"user_id":{ig_user_id},' in raw  # unquoted, every digit kept
    assert int(ig_user_id) > 2**53
    body = json.loads(raw)
    assert body["access_token"].startswith("IGAA")
    assert body["permissions"] == ["instagram_business_basic", "instagram_business_manage_insights"]
    assert body["user_id"] == int(ig_user_id)  # Python keeps it; a float parser would not
    token = Token.objects.get(token=body["access_token"])
    assert token.kind == Token.Kind.IG_SHORT and token.ig_account.ig_user_id == ig_user_id


def test_instagram_exchange_errors_use_the_hosts_own_shape(sandbox):
    """§1B/§6.1: {"error_type":"OAuthException","code":400,"error_message":…} (HTTP 400)."""
    code = ig_code(sandbox)
    assert exchange_ig(sandbox, code).status_code == 200
    reused = exchange_ig(sandbox, code)
    assert reused.status_code == 400
    assert reused.json() == {
        "error_type": "OAuthException",
        "code": 400,
        "error_message": "Matching code was not found or was already used",
    }
    other = ig_code(sandbox, "marco.travels")
    mismatch = exchange_ig(sandbox, other, redirect_uri="https://elsewhere.example.com/cb")
    assert "redirect_uri" in mismatch.json()["error_message"]
    wrong_app = exchange_ig(sandbox, other, client_id=settings.SANDBOX_FACEBOOK_APP_ID)
    assert wrong_app.json()["error_message"] == "Invalid platform app"
    core.move_clock(seconds=3601)
    expired = exchange_ig(sandbox, other)
    assert expired.json()["error_message"] == "Matching code was not found or was already used"
    by_get = sandbox.get("api.instagram.com", "oauth/access_token", code=other, **IG)
    assert by_get.status_code == 400 and set(by_get.json()) == {
        "error_type",
        "code",
        "error_message",
    }


def ig_long(sandbox, username="avas_bakery") -> tuple[str, str]:
    short = exchange_ig(sandbox, ig_code(sandbox, username)).json()["access_token"]
    answer = sandbox.get(
        "graph.instagram.com",
        "access_token",
        token=short,
        grant_type="ig_exchange_token",
        client_secret=IG["client_secret"],
    )
    assert answer.status_code == 200, answer.text
    return short, answer.json()["access_token"]


def test_ig_exchange_token_gives_a_60_day_token(sandbox):
    """§1B: graph.instagram.com/access_token?grant_type=ig_exchange_token → 60 days."""
    short = exchange_ig(sandbox, ig_code(sandbox)).json()["access_token"]
    answer = sandbox.get(
        "graph.instagram.com",
        "access_token",
        grant_type="ig_exchange_token",
        client_secret=IG["client_secret"],
        access_token=short,
    )
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["access_token"].startswith("IGAA")
    assert 59 * 86400 < body["expires_in"] <= 60 * 86400
    wrong_secret = sandbox.get(
        "graph.instagram.com",
        "access_token",
        grant_type="ig_exchange_token",
        client_secret="nope",
        access_token=short,
    )
    assert wrong_secret.status_code == 400 and "error" in wrong_secret.json()
    core.move_clock(seconds=3601)  # a short-lived token lives an hour
    late = sandbox.get(
        "graph.instagram.com",
        "access_token",
        grant_type="ig_exchange_token",
        client_secret=IG["client_secret"],
        access_token=short,
    )
    assert error(late)["code"] == 190


def refresh(sandbox, token):
    return sandbox.get(
        "graph.instagram.com", "refresh_access_token", token=token, grant_type="ig_refresh_token"
    )


def test_refresh_needs_a_day_old_token(sandbox):
    """§1B: a token younger than 24 h cannot be refreshed (emulated as 400 code 100)."""
    _, long = ig_long(sandbox)
    young = refresh(sandbox, long)
    assert young.status_code == 400 and error(young)["code"] == 100
    core.move_clock(seconds=23 * 3600)
    assert refresh(sandbox, long).status_code == 400


def test_refresh_gives_a_new_60_day_token_and_the_old_one_lives_on(sandbox):
    """§1B: refresh after 24 h → a new token valid 60 days from now; the old one keeps working
    until its own expiry (and can no longer be refreshed after it)."""
    _, long = ig_long(sandbox)
    core.move_clock(seconds=25 * 3600)
    answer = refresh(sandbox, long)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["access_token"] != long and body["token_type"] == "bearer"
    assert 59 * 86400 < body["expires_in"] <= 60 * 86400
    fresh = Token.objects.get(token=body["access_token"])
    assert fresh.expires_at - core.now() > timedelta(days=59, hours=23)
    assert sandbox.get("graph.instagram.com", "me", token=long).status_code == 200
    core.move_clock(seconds=59 * 86400)  # old: 60 d + 1 h since issue → expired; new: still fine
    old = sandbox.get("graph.instagram.com", "me", token=long)
    assert error(old)["code"] == 190 and error(old)["error_subcode"] == 463
    assert sandbox.get("graph.instagram.com", "me", token=body["access_token"]).status_code == 200


def test_expired_token_cannot_be_refreshed_and_post_is_refused(sandbox):
    """§12.15: refresh is GET-only; an expired long-lived token can never be refreshed (190)."""
    _, long = ig_long(sandbox)
    core.move_clock(seconds=2 * 86400)
    by_post = sandbox.post(
        "graph.instagram.com",
        "refresh_access_token",
        token=long,
        data={"grant_type": "ig_refresh_token"},
    )
    assert by_post.status_code == 400
    assert error(by_post)["message"] == "Unsupported request - method type: post"
    core.move_clock(seconds=60 * 86400)
    expired = refresh(sandbox, long)
    assert error(expired)["code"] == 190 and "Session has expired on" in error(expired)["message"]
    assert "PDT" in error(expired)["message"] or "PST" in error(expired)["message"]


# --- debug_token --------------------------------------------------------------------------------


def test_debug_token_describes_a_valid_user_token(sandbox):
    """§1A: debug_token → {"data": {app_id, type, application, expires_at, is_valid, scopes,
    granular_scopes, user_id, …}}."""
    code = fb_code(sandbox, "ava", untick=["pages_read_engagement"])
    user_token = exchange_fb(sandbox, code).json()["access_token"]
    answer = sandbox.get(
        "graph.facebook.com", "v25.0/debug_token", input_token=user_token, access_token=APP_TOKEN
    )
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["is_valid"] is True and data["type"] == "USER"
    assert data["app_id"] == settings.SANDBOX_FACEBOOK_APP_ID
    assert data["user_id"] == "100000000000101"
    assert (
        "instagram_manage_insights" in data["scopes"]
        and "pages_read_engagement" not in data["scopes"]
    )
    assert (
        data["expires_at"] > data["issued_at"]
        and data["data_access_expires_at"] > data["expires_at"]
    )
    granular = {g["scope"]: g.get("target_ids") for g in data["granular_scopes"]}
    assert granular["instagram_basic"] == ["17841400000000101"]
    assert sorted(granular["pages_show_list"]) == ["110000000000101", "110000000000102"]


def test_debug_token_reports_invalid_tokens_inside_a_200(sandbox, make_account):
    """§1A: invalid/expired tokens → HTTP 200, is_valid:false, error object inside data."""
    unknown = sandbox.get(
        "graph.facebook.com", "debug_token", input_token="EAAGnonsense", access_token=APP_TOKEN
    )
    assert unknown.status_code == 200
    assert (
        unknown.json()["data"]["is_valid"] is False
        and unknown.json()["data"]["error"]["code"] == 190
    )
    account = make_account(login="facebook")
    core.move_clock(seconds=61 * 86400)
    expired = sandbox.get(
        "graph.facebook.com",
        "debug_token",
        input_token=account["access_token"],
        access_token=APP_TOKEN,
    ).json()["data"]
    assert expired["is_valid"] is False and expired["error"]["subcode"] == 463
    assert expired["user_id"] and expired["scopes"]


def test_debug_token_reports_revoked_tokens_and_needs_an_app_token(sandbox, make_account):
    account = make_account(login="facebook")
    Token.objects.filter(token=account["access_token"]).update(revoked_subcode=458)
    revoked = sandbox.get(
        "graph.facebook.com",
        "debug_token",
        input_token=account["access_token"],
        access_token=APP_TOKEN,
    ).json()["data"]
    assert revoked["is_valid"] is False and revoked["error"]["subcode"] == 458
    bad_app = sandbox.get(
        "graph.facebook.com",
        "debug_token",
        input_token=account["access_token"],
        access_token=f"{settings.SANDBOX_FACEBOOK_APP_ID}|wrong",
    )
    assert bad_app.status_code == 400 and error(bad_app)["code"] == 190
    missing = sandbox.get("graph.facebook.com", "debug_token", input_token=account["access_token"])
    assert missing.status_code == 400 and error(missing)["code"] == 100
    app_token = sandbox.get(
        "graph.facebook.com", "oauth/access_token", grant_type="client_credentials", **FB
    )
    assert app_token.json()["access_token"] == APP_TOKEN
