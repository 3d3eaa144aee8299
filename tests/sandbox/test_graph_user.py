"""IG user node, access rules and request plumbing (graph-api.md §3.1, §1, §6, §11.1)."""

from sandbox import core
from sandbox.models import InstagramAccount, Page, Token


def get(sandbox, acct, path, token=None, **params):
    return sandbox.get(acct["host"], f"v25.0/{path}", token or acct["access_token"], **params)


def test_user_fields_only_requested_absent_omitted(sandbox, make_account):
    """§3.1: only requested fields, absent ones omitted (never null), `id` always present."""
    acct = make_account(followers=1234, media_count=40)
    InstagramAccount.objects.filter(ig_user_id=acct["ig_user_id"]).update(biography="", follows=77)
    body = get(
        sandbox,
        acct,
        acct["ig_user_id"],
        fields="username,followers_count,follows_count,media_count,biography",
    ).json()
    assert body == {
        "username": acct["username"],
        "followers_count": 1234,
        "follows_count": 77,
        "media_count": 40,
        "id": acct["ig_user_id"],
    }


def test_user_default_is_id_only(sandbox, make_account):
    """§3.1: without `fields` the node is just {"id"}."""
    acct = make_account()
    assert get(sandbox, acct, acct["ig_user_id"]).json() == {"id": acct["ig_user_id"]}


def test_all_documented_user_fields(sandbox, make_account):
    """§3.1: every documented IG user field is accepted."""
    acct = make_account()
    fields = (
        "id,username,name,biography,website,profile_picture_url,followers_count,follows_count,"
        "media_count,has_profile_pic,is_published,legacy_instagram_user_id,"
        "shopping_product_tag_eligibility"
    )
    response = get(sandbox, acct, acct["ig_user_id"], fields=fields)
    assert response.status_code == 200
    assert "/scontent.cdninstagram.com/v/" in response.json()["profile_picture_url"]


def test_unknown_field_fails_whole_request(sandbox, make_account):
    """§6.1: a nonexisting field is (#100) for the whole request."""
    acct = make_account()
    response = get(sandbox, acct, acct["ig_user_id"], fields="id,username,impressions_total")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "(#100) Tried accessing nonexisting field (impressions_total) on node type (IGUser)"
    )


def test_fields_syntax_error(sandbox, make_account):
    """§3.5: a malformed field expansion is a syntax error (code 2500)."""
    acct = make_account()
    error = get(sandbox, acct, acct["ig_user_id"], fields="id,media{id").json()["error"]
    assert error["code"] == 2500 and error["message"].startswith("Syntax error")


def test_other_peoples_accounts_are_unsupported_get(sandbox, make_account):
    """§5.5/§6: another person's account reads exactly like an id that does not exist (100/33)."""
    mine, theirs = make_account(), make_account()
    for node_id in (theirs["ig_user_id"], "17841400000000000"):
        error = get(sandbox, mine, node_id, fields="id").json()["error"]
        assert error["code"] == 100 and error["error_subcode"] == 33
        assert error["type"] == "GraphMethodException"
        assert error["message"].startswith(f"Unsupported get request. Object with ID '{node_id}'")


def test_facebook_token_needs_the_page_granted(sandbox, make_account):
    """§1A: a Facebook user token reaches the IG account only through a granted Page."""
    acct = make_account()
    Token.objects.filter(token=acct["access_token"]).update(granted_page_ids=[])
    error = get(sandbox, acct, acct["ig_user_id"]).json()["error"]
    assert error["error_subcode"] == 33


def test_page_token_reads_its_linked_account(sandbox, make_account):
    """§1A: a Page token (from /me/accounts) reads the Page's instagram_business_account."""
    acct = make_account()
    page = Page.objects.get(page_id=acct["page_id"])
    user_token = Token.objects.get(token=acct["access_token"])
    page_token = core.issue_token(
        Token.Kind.PAGE, person=page.person, page=page, scopes=user_token.scopes
    )
    body = get(sandbox, acct, acct["ig_user_id"], token=page_token.token, fields="username").json()
    assert body["username"] == acct["username"]


def test_instagram_login_token_and_me_edges(sandbox, make_account):
    """§1B: graph.instagram.com takes IG tokens, knows user_id/account_type, and /me/media is
    the token's account's media."""
    acct = make_account(login="instagram", media_count=5)
    assert acct["host"] == "graph.instagram.com"
    body = get(sandbox, acct, acct["ig_user_id"], fields="user_id,account_type").json()
    assert body == {
        "user_id": acct["ig_user_id"],
        "account_type": "BUSINESS",
        "id": acct["ig_user_id"],
    }
    via_me = get(sandbox, acct, "me/media").json()["data"]
    via_id = get(sandbox, acct, f"{acct['ig_user_id']}/media").json()["data"]
    assert via_me == via_id and len(via_me) == 5


def test_facebook_token_on_instagram_host_is_rejected(sandbox, make_account):
    """§6.2: a token of the other login path cannot be parsed on this host (190)."""
    acct = make_account(login="facebook")
    response = sandbox.get("graph.instagram.com", f"{acct['ig_user_id']}", acct["access_token"])
    assert response.json()["error"]["code"] == 190


def test_missing_insights_permission_is_code_10(sandbox, make_account):
    """§1: insights need instagram_manage_insights; without it (#10), while basic reads work."""
    acct = make_account()
    Token.objects.filter(token=acct["access_token"]).update(
        scopes=["instagram_basic", "pages_show_list", "pages_read_engagement"]
    )
    assert get(sandbox, acct, acct["ig_user_id"], fields="username").status_code == 200
    error = get(
        sandbox, acct, f"{acct['ig_user_id']}/insights", metric="reach", period="day"
    ).json()["error"]
    assert error == {
        **error,
        "code": 10,
        "message": "(#10) Application does not have permission for this action",
    }


def test_instagram_login_missing_insights_permission(sandbox, make_account):
    """§1B: on Instagram Login the permission is instagram_business_manage_insights."""
    acct = make_account(login="instagram")
    Token.objects.filter(token=acct["access_token"]).update(scopes=["instagram_business_basic"])
    media_id = get(sandbox, acct, f"{acct['ig_user_id']}/media").json()["data"][0]["id"]
    error = get(sandbox, acct, f"{media_id}/insights", metric="reach").json()["error"]
    assert error["code"] == 10


def test_personal_account_has_no_media_or_insights(sandbox, make_account):
    """§0: personal accounts are not reachable through Facebook Login and have no media or
    insights through the Instagram Login API."""
    ig = make_account(login="instagram", account_type="PERSONAL")
    assert get(sandbox, ig, ig["ig_user_id"], fields="username").status_code == 200
    for edge in ("media", "insights?metric=reach&period=day"):
        assert get(sandbox, ig, f"{ig['ig_user_id']}/{edge}").json()["error"]["error_subcode"] == 33
    fb = make_account(login="facebook", account_type="PERSONAL")
    assert get(sandbox, fb, fb["ig_user_id"]).json()["error"]["error_subcode"] == 33


def test_versions_trailing_slash_and_token_transports(sandbox, make_account):
    """§11.1: optional version, trailing slash, token in query or Authorization (Bearer/OAuth)."""
    acct = make_account()
    ig, token = acct["ig_user_id"], acct["access_token"]
    expected = {"username": acct["username"], "id": ig}
    urls = [f"{ig}", f"v25.0/{ig}/", f"v22.0/{ig}"]
    for path in urls:
        assert sandbox.get(acct["host"], path, token, fields="username").json() == expected
    query = sandbox.get(acct["host"], ig, None, fields="username", access_token=token)
    assert query.json() == expected
    header = sandbox.http.get(
        sandbox.url(acct["host"], ig),
        params={"fields": "username"},
        headers={"Authorization": f"OAuth {token}"},
    )
    assert header.json() == expected


def test_json_array_fields_as_meta_sdk_sends_them(sandbox, make_account):
    """§11.1: list parameters may be JSON arrays (Meta's own SDK)."""
    acct = make_account()
    body = get(sandbox, acct, acct["ig_user_id"], fields='["username","followers_count"]').json()
    assert set(body) == {"username", "followers_count", "id"}


def test_graph_responses_carry_usage_and_version_headers(sandbox, make_account):
    """§7.2: IG calls carry X-Business-Use-Case-Usage keyed by the IG user id (type instagram),
    once enough calls were made (here 1 % of a 100-call budget)."""
    acct = make_account(call_budget=100)
    get(sandbox, acct, acct["ig_user_id"])
    sandbox.control("POST", "settings", json={"usage_headers_min_percent": 0})  # X-App-Usage too
    response = get(sandbox, acct, acct["ig_user_id"])
    usage = response.headers["X-Business-Use-Case-Usage"]
    assert acct["ig_user_id"] in usage and '"instagram"' in usage
    assert "X-App-Usage" in response.headers
