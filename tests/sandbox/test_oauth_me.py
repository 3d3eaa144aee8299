"""/me on both hosts, /me/permissions, /me/accounts and Pages.
graph-api.md §1A (Facebook Login: Pages → IG account), §1B (Instagram Login /me), §12.3, §12.14."""

from sandbox.models import Token

from .dialog import facebook_dialog_url, facebook_flow, query
from .test_oauth_tokens import APP_TOKEN, exchange_fb, exchange_ig, fb_code, ig_code

BAKERY, CATERING = "110000000000101", "110000000000102"
BAKERY_IG = "17841400000000101"


def fb_token(sandbox, login="ava", **kwargs) -> str:
    return exchange_fb(sandbox, fb_code(sandbox, login, **kwargs)).json()["access_token"]


def error(response) -> dict:
    return response.json()["error"]


def test_facebook_me_defaults_to_name_and_id(sandbox):
    """§1A: /me with a Facebook user token → the person (id = app-scoped user id)."""
    token = fb_token(sandbox)
    me = sandbox.get("graph.facebook.com", "v25.0/me", token=token)
    assert me.status_code == 200
    assert me.json() == {"name": "Ava Bennett", "id": "100000000000101"}
    only = sandbox.get("graph.facebook.com", "v25.0/me", token=token, fields="first_name")
    assert only.json() == {"first_name": "Ava", "id": "100000000000101"}
    unknown = sandbox.get("graph.facebook.com", "me", token=token, fields="id,shoe_size")
    assert (
        unknown.status_code == 400 and "nonexisting field (shoe_size)" in error(unknown)["message"]
    )
    by_id = sandbox.get("graph.facebook.com", "100000000000101", token=token)
    assert by_id.json()["name"] == "Ava Bennett"


def test_instagram_me_returns_user_id_and_app_scoped_id(sandbox):
    """§1B, §12.3: user_id = IG professional id (string), id = app-scoped id; only fields asked."""
    token = exchange_ig(sandbox, ig_code(sandbox, "marco.travels")).json()["access_token"]
    fields = "user_id,username,name,account_type,profile_picture_url,followers_count,follows_count,media_count"
    me = sandbox.get("graph.instagram.com", "v25.0/me", token=token, fields=fields)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["user_id"] == "17841400000000103" and isinstance(body["user_id"], str)
    assert body["id"] == "2000000000000103"
    assert body["username"] == "marco.travels" and body["account_type"] == "MEDIA_CREATOR"
    assert body["followers_count"] == 4800 and body["media_count"] >= 610
    assert "/scontent.cdninstagram.com/v/" in body["profile_picture_url"]
    assert set(body) == set(fields.split(",")) | {"id"}
    small = sandbox.get("graph.instagram.com", "me", token=token, fields="username").json()
    assert small == {"username": "marco.travels", "id": "2000000000000103"}
    # An Instagram call, counted for the account (§7.2: headers only after enough calls).
    stats = sandbox.control("GET", "stats").json()
    assert stats["by_account"]["17841400000000103"]["counted_calls"] >= 2


def test_instagram_me_of_a_personal_account(sandbox):
    token = exchange_ig(sandbox, ig_code(sandbox, "pat.morgan")).json()["access_token"]
    me = sandbox.get("graph.instagram.com", "me", token=token, fields="user_id,account_type")
    assert me.json()["account_type"] == "PERSONAL"


def test_tokens_work_only_on_their_own_host(sandbox, make_account):
    ig = make_account(login="instagram")
    fb = make_account(login="facebook")
    wrong = sandbox.get("graph.facebook.com", "me", token=ig["access_token"])
    assert error(wrong)["code"] == 190
    assert error(sandbox.get("graph.instagram.com", "me", token=fb["access_token"]))["code"] == 190


def test_permissions_list_granted_and_declined(sandbox):
    """§1A: /me/permissions → {"data":[{"permission","status":"granted"|"declined"}]}."""
    token = fb_token(sandbox, untick=["instagram_manage_insights"])
    data = sandbox.get("graph.facebook.com", "v25.0/me/permissions", token=token).json()["data"]
    status = {d["permission"]: d["status"] for d in data}
    assert status["instagram_manage_insights"] == "declined"
    assert status["instagram_basic"] == "granted" and status["public_profile"] == "granted"


def test_me_accounts_lists_granted_pages_with_page_tokens(sandbox):
    """§1A: /me/accounts → Pages with access_token, category, category_list, name, id, tasks."""
    token = fb_token(sandbox)
    answer = sandbox.get("graph.facebook.com", "v25.0/me/accounts", token=token)
    assert answer.status_code == 200
    body = answer.json()
    pages = {p["id"]: p for p in body["data"]}
    assert set(pages) == {BAKERY, CATERING}
    bakery = pages[BAKERY]
    assert set(bakery) == {"access_token", "category", "category_list", "name", "id", "tasks"}
    assert bakery["name"] == "Ava's Bakery" and bakery["category"] == "Bakery"
    assert bakery["category_list"][0]["name"] == "Bakery" and "ANALYZE" in bakery["tasks"]
    assert set(body["paging"]["cursors"]) == {"before", "after"} and "next" not in body["paging"]
    page_token = Token.objects.get(token=bakery["access_token"])
    assert (
        page_token.kind == Token.Kind.PAGE and page_token.expires_at is not None
    )  # short user token
    again = sandbox.get("graph.facebook.com", "me/accounts", token=token).json()
    assert {p["id"]: p["access_token"] for p in again["data"]}[BAKERY] == bakery["access_token"]


def test_page_instagram_business_account_and_a_page_without_one(sandbox):
    """§1A: /{page}?fields=instagram_business_account → {"id"}; a Page without one omits it."""
    token = fb_token(sandbox)
    bakery = sandbox.get(
        "graph.facebook.com",
        f"v25.0/{BAKERY}",
        token=token,
        fields="instagram_business_account,name",
    ).json()
    assert bakery == {
        "instagram_business_account": {"id": BAKERY_IG},
        "name": "Ava's Bakery",
        "id": BAKERY,
    }
    catering = sandbox.get(
        "graph.facebook.com",
        f"v25.0/{CATERING}",
        token=token,
        fields="instagram_business_account,name",
    ).json()
    assert catering == {"name": "Ava's Catering", "id": CATERING}
    one_shot = sandbox.get(
        "graph.facebook.com",
        "me/accounts",
        token=token,
        fields="id,name,instagram_business_account{id,username}",
    ).json()["data"]
    linked = {p["id"]: p.get("instagram_business_account") for p in one_shot}
    assert linked == {BAKERY: {"id": BAKERY_IG, "username": "avas_bakery"}, CATERING: None}


def test_pages_not_granted_are_unreachable(sandbox):
    token = fb_token(sandbox, pages=[CATERING])
    listed = sandbox.get("graph.facebook.com", "me/accounts", token=token).json()["data"]
    assert [p["id"] for p in listed] == [CATERING]
    hidden = sandbox.get("graph.facebook.com", BAKERY, token=token, fields="name")
    assert hidden.status_code == 400
    assert (error(hidden)["code"], error(hidden)["error_subcode"]) == (100, 33)


def test_business_pages_need_business_management(sandbox):
    """§12.14: without business_management, business-portfolio Pages are silently missing."""
    url = facebook_dialog_url(
        sandbox, scope="instagram_basic,instagram_manage_insights,pages_show_list"
    )
    code = query(facebook_flow(sandbox, "riley", url=url).headers["Location"])["code"]
    token = exchange_fb(sandbox, code).json()["access_token"]
    names = [
        p["name"]
        for p in sandbox.get("graph.facebook.com", "me/accounts", token=token).json()["data"]
    ]
    assert names == ["Yuki Eats"]  # Harbor Dental belongs to a business portfolio
    full = fb_token(
        sandbox,
        "riley",
        url=facebook_dialog_url(
            sandbox,
            scope="instagram_basic,instagram_manage_insights,pages_show_list,business_management",
        ),
    )
    names = [
        p["name"]
        for p in sandbox.get("graph.facebook.com", "me/accounts", token=full).json()["data"]
    ]
    assert names == ["Harbor Dental", "Yuki Eats"]


def test_me_accounts_pages_with_cursors(sandbox):
    """§3.2 paging: limit, after/before cursors; no next on the last page."""
    token = fb_token(sandbox)
    first = sandbox.get(
        "graph.facebook.com", "me/accounts", token=token, limit=1, fields="name"
    ).json()
    assert (
        len(first["data"]) == 1 and "next" in first["paging"] and "previous" not in first["paging"]
    )
    second = sandbox.get(
        "graph.facebook.com",
        "me/accounts",
        token=token,
        limit=1,
        fields="name",
        after=first["paging"]["cursors"]["after"],
    ).json()
    assert len(second["data"]) == 1 and second["data"][0]["id"] != first["data"][0]["id"]
    assert "next" not in second["paging"] and "previous" in second["paging"]
    past = sandbox.get(
        "graph.facebook.com",
        "me/accounts",
        token=token,
        limit=1,
        after=second["paging"]["cursors"]["after"],
    ).json()
    assert past == {"data": []}


def test_page_token_reads_its_page_as_me(sandbox):
    token = fb_token(sandbox)
    accounts = sandbox.get("graph.facebook.com", "me/accounts", token=token).json()["data"]
    page_token = {p["id"]: p["access_token"] for p in accounts}[BAKERY]
    me = sandbox.get(
        "graph.facebook.com", "me", token=page_token, fields="id,name,instagram_business_account"
    )
    assert me.json() == {
        "id": BAKERY,
        "name": "Ava's Bakery",
        "instagram_business_account": {"id": BAKERY_IG},
    }
    no_edge = sandbox.get("graph.facebook.com", "me/accounts", token=page_token)
    assert no_edge.status_code == 400 and error(no_edge)["code"] == 100


def test_long_lived_user_token_gives_page_tokens_that_never_expire(sandbox, make_account):
    """§1A: Page tokens fetched with a long-lived user token do not expire."""
    account = make_account(login="facebook")
    data = sandbox.get("graph.facebook.com", "me/accounts", token=account["access_token"]).json()[
        "data"
    ]
    page_token = Token.objects.get(token=data[0]["access_token"])
    assert page_token.expires_at is None
    answer = sandbox.get(
        "graph.facebook.com", "debug_token", input_token=page_token.token, access_token=APP_TOKEN
    )
    data = answer.json()["data"]
    assert (
        data["type"] == "PAGE"
        and data["expires_at"] == 0
        and data["profile_id"] == account["page_id"]
    )


def test_page_webhook_subscription_needs_a_page_token(sandbox, make_account):
    """§8.3: Facebook Login subscribes the app on the Page with a Page token."""
    account = make_account(login="facebook")
    user_token = account["access_token"]
    Token.objects.filter(token=user_token).update(
        scopes=[
            "instagram_basic",
            "instagram_manage_insights",
            "pages_show_list",
            "pages_manage_metadata",
        ]
    )
    page_token = sandbox.get("graph.facebook.com", "me/accounts", token=user_token).json()["data"][
        0
    ]["access_token"]
    path = f"v25.0/{account['page_id']}/subscribed_apps"
    refused = sandbox.post(
        "graph.facebook.com", path, token=user_token, data={"subscribed_fields": "story_insights"}
    )
    assert refused.status_code == 400
    done = sandbox.post(
        "graph.facebook.com", path, token=page_token, data={"subscribed_fields": "story_insights"}
    )
    assert done.json() == {"success": True}
    listed = sandbox.get("graph.facebook.com", path, token=page_token).json()["data"]
    assert listed[0]["subscribed_fields"] == ["story_insights"]
