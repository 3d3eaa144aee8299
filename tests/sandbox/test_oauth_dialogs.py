"""The OAuth dialogs, clicked through over real HTTP with their own forms.
graph-api.md §1A (Facebook Login dialog), §1B (Instagram authorize), §12.1 (retired host)."""

import re
from html import unescape

import requests
from django.conf import settings

from sandbox.models import AuthCode
from sandbox.seed import ids

from .dialog import (
    REDIRECT_URI,
    facebook_dialog_url,
    facebook_flow,
    form_with,
    fragment,
    instagram_dialog_url,
    instagram_flow,
    query,
    submit,
)

AVA = ids(101)  # Ava Bennett: "Ava's Bakery" (→ @avas_bakery) and "Ava's Catering" (no IG)
CATERING = ids(102)["page_id"]


def test_facebook_dialog_success_redirects_with_code_state_and_fragment(sandbox):
    """§1A: success → <redirect_uri>?code=…&state=… with Facebook's #_=_ fragment."""
    final = facebook_flow(sandbox, "ava")
    assert final.status_code == 302
    location = final.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    assert query(location)["state"] == "st-123"
    assert fragment(location) == "_=_"
    code = AuthCode.objects.get(code=query(location)["code"])
    assert code.app == "facebook" and code.person.login == "ava"
    assert code.redirect_uri == REDIRECT_URI
    assert sorted(code.granted_page_ids) == sorted([AVA["page_id"], CATERING])
    assert "instagram_manage_insights" in code.scopes and code.declined_scopes == []


def test_facebook_dialog_steps_offer_pages_with_their_instagram_accounts(sandbox):
    """§1A: the person picks Pages; a Page's IG account comes with it, a Page without one says so."""
    http = requests.Session()
    url = facebook_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    assert "Sandbox" in first.text and "Log in to Facebook" in first.text
    typed = form_with(first.text, field_name="login")
    second = submit(http, url, typed, typed.button("Log in"), fill={"login": "AVA"})
    pages = form_with(second.text, button="Continue")
    assert sorted(pages.box_values("page")) == sorted([AVA["page_id"], CATERING])
    assert "@avas_bakery" in second.text and "No Instagram account connected" in second.text


def test_facebook_dialog_keeps_only_the_pages_ticked(sandbox):
    final = facebook_flow(sandbox, "ava", pages=[CATERING])
    code = AuthCode.objects.get(code=query(final.headers["Location"])["code"])
    assert code.granted_page_ids == [CATERING]


def test_unticked_permission_is_declined(sandbox):
    """§1A: a person can decline a permission; the code carries it as declined."""
    final = facebook_flow(sandbox, "ava", untick=["instagram_manage_insights"])
    code = AuthCode.objects.get(code=query(final.headers["Location"])["code"])
    assert "instagram_manage_insights" in code.declined_scopes
    assert "instagram_manage_insights" not in code.scopes
    assert "public_profile" in code.scopes  # always granted, cannot be unticked


def test_declined_permission_is_asked_again_only_with_auth_type_rerequest(sandbox):
    """§1A: auth_type=rerequest re-asks declined permissions; without it they stay declined."""
    facebook_flow(sandbox, "ava", untick=["instagram_manage_insights"])
    again = facebook_flow(sandbox, "ava")  # ticks everything it may
    code = AuthCode.objects.get(code=query(again.headers["Location"])["code"])
    assert "instagram_manage_insights" in code.declined_scopes
    rerequest = facebook_flow(
        sandbox, "ava", url=facebook_dialog_url(sandbox, auth_type="rerequest")
    )
    code = AuthCode.objects.get(code=query(rerequest.headers["Location"])["code"])
    assert "instagram_manage_insights" in code.scopes and code.declined_scopes == []


def test_facebook_cancel_redirects_with_user_denied(sandbox):
    """§1A: Cancel → error_reason=user_denied&error=access_denied&error_description=Permissions+error."""
    http = requests.Session()
    url = facebook_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    people = form_with(first.text, button="sam")
    second = submit(http, url, people, people.button(value="sam"))
    pages = form_with(second.text, button="Continue")
    denied = submit(http, url, pages, pages.button("Cancel"))
    assert denied.status_code == 302
    location = denied.headers["Location"]
    assert (
        "error_reason=user_denied&error=access_denied&error_description=Permissions+error"
        in location
    )
    assert query(location)["state"] == "st-123" and "code" not in query(location)
    assert not AuthCode.objects.exists()


def test_facebook_cancel_on_the_sign_in_step(sandbox):
    http = requests.Session()
    url = facebook_dialog_url(sandbox, state=None)
    first = http.get(url, timeout=30)
    cancel = form_with(first.text, button="Cancel")
    denied = submit(http, url, cancel, cancel.button("Cancel"))
    assert query(denied.headers["Location"]) == {
        "error_reason": "user_denied",
        "error": "access_denied",
        "error_description": "Permissions error",
    }


def test_unknown_login_is_explained_not_redirected(sandbox):
    http = requests.Session()
    url = facebook_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    typed = form_with(first.text, field_name="login")
    again = submit(http, url, typed, typed.button("Log in"), fill={"login": "nobody"})
    assert again.status_code == 200 and "isn't connected to a sandbox person" in unescape(
        again.text
    )


def test_config_id_replaces_scope_and_granted_scopes_lists_them(sandbox):
    """§1A: Facebook Login for Business sends config_id; response_type may add granted_scopes."""
    url = facebook_dialog_url(
        sandbox, scope=None, config_id="555", response_type="code,granted_scopes"
    )
    final = facebook_flow(sandbox, "lena", url=url, untick=["business_management"])
    q = query(final.headers["Location"])
    assert "instagram_manage_insights" in q["granted_scopes"].split(",")
    assert q["denied_scopes"] == "business_management" and q["code"]


def test_facebook_dialog_parameter_errors_show_meta_like_pages(sandbox):
    """§1A: a bad client_id, redirect_uri, response_type or scope shows an error page, no redirect."""
    cases = [
        ({"client_id": "999"}, "Invalid App ID"),
        ({"client_id": settings.SANDBOX_INSTAGRAM_APP_ID}, "Invalid App ID"),
        ({"redirect_uri": None}, "URL blocked"),
        ({"redirect_uri": "/relative"}, "URL blocked"),
        ({"response_type": "id_token"}, "Unsupported response_type"),
        ({"scope": "instagram_basic,read_everything"}, "Invalid Scopes: read_everything"),
    ]
    for overrides, title in cases:
        page = requests.get(
            facebook_dialog_url(sandbox, **overrides), allow_redirects=False, timeout=30
        )
        assert page.status_code == 400, overrides
        assert title in unescape(page.text), overrides


def test_dialog_posts_need_csrf_and_an_untampered_state(sandbox):
    """The dialog's state between steps is signed and its forms are CSRF-protected."""
    http = requests.Session()
    url = facebook_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    people = form_with(first.text, button="ava")
    no_csrf = requests.post(
        url.split("?")[0],
        data={"dialog": dict(people.fields)["dialog"], "step": "login", "login": "ava"},
        timeout=30,
    )
    assert no_csrf.status_code == 403
    tampered = submit(
        http,
        url,
        people,
        people.button(value="ava"),
        fill={"dialog": dict(people.fields)["dialog"][:-3] + "xyz"},
    )
    assert tampered.status_code == 400 and "expired" in tampered.text
    assert not AuthCode.objects.exists()


def test_dialog_pages_have_no_inline_script_or_style_and_allow_the_redirect(sandbox):
    """The site's CSP (script-src/style-src 'self') holds on the dialogs; form-action admits the
    redirect_uri's origin, or the browser would block the redirect after Continue."""
    page = requests.get(facebook_dialog_url(sandbox), timeout=30)
    html = page.text
    assert "<script" not in html and "style=" not in html and "<style" not in html
    csp = page.headers["Content-Security-Policy"]
    assert re.search(r"form-action [^;]*https://prism\.example\.com", csp)
    assert "script-src 'self'" in csp


def test_instagram_dialog_success_redirects_with_code_and_hash_underscore(sandbox):
    """§1B: success → <redirect_uri>?code=…&state=…#_ (the #_ is not part of the code)."""
    final = instagram_flow(sandbox, "marco.travels")
    assert final.status_code == 302
    location = final.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?") and fragment(location) == "_"
    q = query(location)
    assert q["state"] == "ig-state"
    code = AuthCode.objects.get(code=q["code"])
    assert code.app == "instagram" and code.ig_account.username == "marco.travels"
    assert code.scopes == ["instagram_business_basic", "instagram_business_manage_insights"]


def test_instagram_untick_insights_and_basic_is_required(sandbox):
    http = requests.Session()
    url = instagram_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    accounts = form_with(first.text, button="avas_bakery")
    consent_page = submit(http, url, accounts, accounts.button(value="avas_bakery"))
    consent = form_with(consent_page.text, button="Allow")
    assert consent.disabled("grant") == ["instagram_business_basic"]
    final = submit(
        http, url, consent, consent.button("Allow"), untick=("instagram_business_manage_insights",)
    )
    code = AuthCode.objects.get(code=query(final.headers["Location"])["code"])
    assert code.scopes == ["instagram_business_basic"]
    assert code.declined_scopes == ["instagram_business_manage_insights"]


def test_instagram_deny(sandbox):
    """§1B: Cancel → error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request."""
    http = requests.Session()
    url = instagram_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    accounts = form_with(first.text, button="sams_pottery")
    consent_page = submit(http, url, accounts, accounts.button(value="sams_pottery"))
    consent = form_with(consent_page.text, button="Allow")
    denied = submit(http, url, consent, consent.button("Cancel"))
    location = denied.headers["Location"]
    assert (
        "?error=access_denied&error_reason=user_denied"
        "&error_description=The+user+denied+your+request&state=ig-state"
    ) in location
    assert not AuthCode.objects.exists()


def test_instagram_log_in_with_facebook_lists_that_persons_accounts(sandbox):
    """§1B: enable_fb_login (default true) offers Facebook; enable_fb_login=false hides it."""
    http = requests.Session()
    url = instagram_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    fb = form_with(first.text, button="Continue")
    chooser = submit(http, url, fb, fb.button("Continue"), fill={"login": "riley"})
    accounts = form_with(chooser.text, button="harbor_dental")
    assert [v for _, v, _ in accounts.buttons] == ["harbor_dental", "yuki.eats"]
    hidden = requests.get(instagram_dialog_url(sandbox, enable_fb_login="false"), timeout=30)
    assert "Log in with Facebook" not in hidden.text and "Log in with Facebook" in first.text


def test_instagram_personal_account_can_log_in(sandbox):
    final = instagram_flow(sandbox, "pat.morgan")
    code = AuthCode.objects.get(code=query(final.headers["Location"])["code"])
    assert code.ig_account.account_type == "PERSONAL"


def test_instagram_parameter_errors(sandbox):
    """§1B: Instagram wants its own app id; old scope names were removed in Jan 2025."""
    cases = [
        ({"client_id": settings.SANDBOX_FACEBOOK_APP_ID}, "Invalid platform app"),
        ({"redirect_uri": None}, "Invalid redirect_uri"),
        ({"response_type": "token"}, "Invalid response_type"),
        (
            {"scope": "business_basic,business_manage_insights"},
            "Invalid scope field(s): business_basic",
        ),
        ({"scope": None}, "scope is required"),
    ]
    for overrides, message in cases:
        page = requests.get(instagram_dialog_url(sandbox, **overrides), timeout=30)
        assert page.status_code == 400 and message in unescape(page.text), overrides
    spaces = requests.get(
        instagram_dialog_url(
            sandbox, scope="instagram_business_basic instagram_business_manage_insights"
        ),
        timeout=30,
    )
    assert spaces.status_code == 200


def test_old_instagram_authorize_host_is_not_available(sandbox):
    """§12.1: api.instagram.com/oauth/authorize → "Sorry, this page isn't available" (404)."""
    url = instagram_dialog_url(sandbox).replace("www.instagram.com", "api.instagram.com")
    page = requests.get(url, timeout=30)
    assert page.status_code == 404
    assert "Sorry, this page isn't available" in unescape(page.text)
    assert page.headers["Content-Type"].startswith("text/html")


def test_token_response_type_puts_the_token_in_the_fragment(sandbox):
    """§1A: response_type=token (client-side flow): access_token, expires_in and state travel in
    the fragment, never in the query."""
    final = facebook_flow(sandbox, "sam", url=facebook_dialog_url(sandbox, response_type="token"))
    location = final.headers["Location"]
    assert query(location) == {}
    params = dict(pair.split("=", 1) for pair in fragment(location).split("&"))
    assert params["access_token"].startswith("EAA") and params["state"] == "st-123"
    assert 0 < int(params["expires_in"]) <= 7200
    me = sandbox.get("graph.facebook.com", "me", token=params["access_token"])
    assert me.json()["name"] == "Sam Okafor"
