"""The OAuth dialogs a person clicks through (graph-api.md §1A, §1B, §12.1).

- www.facebook.com/<vNN.0>/dialog/oauth — Facebook Login: sign in as a sandbox person, pick the
  Pages (and with them their Instagram accounts), untick permissions, Continue or Cancel.
- www.instagram.com/oauth/authorize — Business Login for Instagram: pick the Instagram account
  to log in as, untick permissions, Allow or Cancel.
- api.instagram.com/oauth/authorize — the retired Basic Display host: "Sorry, this page isn't
  available" (404), as Meta answers since mid-2026.

Between steps the dialog's parameters and choices travel in one signed hidden field
(django.core.signing, one hour), so nothing can be tampered with and no server-side session is
needed; every POST is also CSRF-checked (the host view is csrf_exempt for the API hosts, so the
dialog checks the token itself). The pages are server-rendered, without inline script or style.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render

from . import core, seed
from .models import AuthCode, InstagramAccount, Person, Token

APP_NAME = "Prism"  # the name Meta's App Dashboard would hold for the sandbox apps
SIGNING_SALT = "sandbox.dialog"
DIALOG_MAX_AGE = 3600  # seconds (real time) a half-finished dialog stays usable
LIST_LIMIT = 24  # people / accounts offered on the sign-in step besides the seed world

# name -> (what the consent screen says, required). Unknown names are "Invalid Scopes".
FACEBOOK_PERMISSIONS = {
    "public_profile": ("Your name and profile picture", True),
    "email": ("Your email address", False),
    "pages_show_list": ("Show a list of the Pages you manage", False),
    "pages_read_engagement": ("Read content posted on the Page", False),
    "pages_manage_metadata": ("Manage accounts, settings and webhooks for a Page", False),
    "pages_read_user_content": ("Read user content on your Page", False),
    "pages_manage_posts": ("Create and manage content on your Page", False),
    "pages_manage_engagement": ("Create and manage comments on your Page", False),
    "pages_messaging": ("Manage and access Page conversations in Messenger", False),
    "business_management": ("Manage your business", False),
    "instagram_basic": (
        "Access profile and posts from the Instagram account connected to your Page",
        False,
    ),
    "instagram_manage_insights": (
        "Access insights for the Instagram account connected to your Page",
        False,
    ),
    "instagram_manage_comments": (
        "Manage comments for the Instagram account connected to your Page",
        False,
    ),
    "instagram_content_publish": (
        "Create and publish content for the Instagram account connected to your Page",
        False,
    ),
    "instagram_manage_messages": ("Manage and access Instagram Direct messages", False),
    "instagram_manage_events": ("Manage events for your Instagram account", False),
    "instagram_branded_content_brand": ("Manage branded content as a brand", False),
    "instagram_branded_content_creator": ("Manage branded content as a creator", False),
    "instagram_branded_content_ads_brand": ("Manage branded content ads", False),
    "read_insights": ("Read Page insights", False),
    "ads_read": ("Access ads and related stats", False),
    "ads_management": ("Manage your ads", False),
    "catalog_management": ("Manage your product catalogs", False),
}
INSTAGRAM_PERMISSIONS = {
    # Business Login for Instagram always includes basic access; the rest can be unticked.
    "instagram_business_basic": ("Access your profile information and media", True),
    "instagram_business_manage_insights": (
        "Access insights for your account, posts, reels and stories",
        False,
    ),
    "instagram_business_manage_comments": ("Read and manage comments on your media", False),
    "instagram_business_content_publish": ("Publish posts, reels and stories", False),
    "instagram_business_manage_messages": ("Read and send Direct messages", False),
}
# Facebook Login for Business sends config_id instead of scope; every sandbox configuration
# asks for the insights set (Meta's dashboard would hold the per-configuration list).
CONFIG_ID_SCOPES = [
    "instagram_basic",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
]


class DialogError(Exception):
    """A parameter problem: Meta shows an error page instead of the dialog (no redirect)."""

    def __init__(self, title: str, message: str, status: int = 400):
        super().__init__(message)
        self.title, self.message, self.status = title, message, status


# --- Parameters -------------------------------------------------------------------------------


def _split(value: str | None) -> list[str]:
    """Scopes and response types come comma- or space-separated (URL-encoded spaces too)."""
    seen: list[str] = []
    for item in re.split(r"[\s,]+", value or ""):
        if item and item not in seen:
            seen.append(item)
    return seen


def _redirect_uri(req: core.SandboxRequest, error: DialogError) -> str:
    uri = (req.param("redirect_uri") or "").strip()
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise error
    return uri


def facebook_params(req: core.SandboxRequest) -> dict:
    if (req.param("client_id") or "") != settings.SANDBOX_FACEBOOK_APP_ID:
        raise DialogError(
            "Invalid App ID", "The provided app ID does not look like a valid app ID."
        )
    uri = _redirect_uri(
        req,
        DialogError(
            "URL blocked",
            "This redirect failed because the redirect URI is missing or is not an absolute "
            "http(s) URL. Make sure redirect_uri is one of the app's Valid OAuth Redirect URIs.",
        ),
    )
    response_type = _split(req.param("response_type")) or ["code"]
    if not set(response_type) <= {"code", "token", "granted_scopes"}:
        raise DialogError("Unsupported response_type", f"response_type={'+'.join(response_type)}")
    if not {"code", "token"} & set(response_type):
        response_type.append("code")
    scopes = list(CONFIG_ID_SCOPES) if req.param("config_id") else _split(req.param("scope"))
    invalid = [s for s in scopes if s not in FACEBOOK_PERMISSIONS]
    if invalid:
        raise DialogError(
            "Invalid Scopes: " + ", ".join(invalid),
            "This message is only shown to developers. Users of your app will ignore these "
            "permissions if present. Please read the documentation for valid permissions at: "
            "https://developers.facebook.com/docs/facebook-login/permissions",
        )
    # Meta always grants public_profile, asked for or not.
    scopes = ["public_profile", *[s for s in scopes if s != "public_profile"]]
    return {
        "app": "facebook",
        "redirect_uri": uri,
        "state": req.param("state"),
        "scopes": scopes,
        "response_type": response_type,
        "rerequest": req.param("auth_type") == "rerequest",
    }


def instagram_params(req: core.SandboxRequest) -> dict:
    def invalid(reason: str) -> DialogError:
        return DialogError("Invalid Request", f"Request parameters are invalid: {reason}")

    # The Meta (Facebook) app id is the classic mistake here: Instagram wants its own app id.
    if (req.param("client_id") or "") != settings.SANDBOX_INSTAGRAM_APP_ID:
        raise invalid("Invalid platform app")
    uri = _redirect_uri(req, invalid("Invalid redirect_uri"))
    if (req.param("response_type") or "") != "code":
        raise invalid("Invalid response_type")
    scopes = _split(req.param("scope"))
    if not scopes:
        raise invalid("scope is required")
    # Also rejects the pre-2025 names (business_basic...) and Basic Display's user_profile.
    unknown = [s for s in scopes if s not in INSTAGRAM_PERMISSIONS]
    if unknown:
        raise invalid("Invalid scope field(s): " + ",".join(unknown))
    return {
        "app": "instagram",
        "redirect_uri": uri,
        "state": req.param("state"),
        "scopes": scopes,
        "force_reauth": (req.param("force_reauth") or "").lower() in ("1", "true"),
        "enable_fb_login": (req.param("enable_fb_login") or "true").lower() not in ("0", "false"),
    }


def pack(dialog: dict) -> str:
    return signing.dumps(dialog, salt=SIGNING_SALT, compress=True)


def unpack(blob: str | None, app: str) -> dict | None:
    try:
        dialog = signing.loads(blob or "", salt=SIGNING_SALT, max_age=DIALOG_MAX_AGE)
    except signing.BadSignature:
        return None
    return dialog if isinstance(dialog, dict) and dialog.get("app") == app else None


# --- Redirects --------------------------------------------------------------------------------


def with_query(uri: str, params: list[tuple[str, str | None]], fragment: str = "") -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), fragment))


def denied(dialog: dict) -> HttpResponseRedirect:
    if dialog["app"] == "facebook":
        params = [
            ("error_reason", "user_denied"),
            ("error", "access_denied"),
            ("error_description", "Permissions error"),
        ]
    else:
        params = [
            ("error", "access_denied"),
            ("error_reason", "user_denied"),
            ("error_description", "The user denied your request"),
        ]
    params.append(("state", dialog["state"]))
    return HttpResponseRedirect(with_query(dialog["redirect_uri"], params))


def issue_code(dialog: dict, person: Person, granted: list, declined: list, **extra) -> str:
    code = "AQ" + secrets.token_urlsafe(72)
    AuthCode.objects.create(
        code=code,
        app=dialog["app"],
        person=person,
        redirect_uri=dialog["redirect_uri"],
        scopes=granted,
        declined_scopes=declined,
        created_at=core.now(),
        **extra,
    )
    return code


# --- Rendering --------------------------------------------------------------------------------


@dataclass
class Permission:
    name: str
    description: str
    required: bool
    checked: bool
    locked: bool  # declined before; only auth_type=rerequest asks again


def page(req: core.SandboxRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    dialog = context.get("dialog")
    context = {
        "app_name": APP_NAME,
        "action_url": req.http.path,
        "blob": pack(dialog) if dialog else "",
        **context,
    }
    response = render(req.http, f"sandbox/{template}", context, status=status)
    if dialog:
        # CSP form-action also governs the redirect that follows a form POST: allow the
        # app's redirect_uri origin, or the browser would block Continue/Cancel.
        parts = urlsplit(dialog["redirect_uri"])
        response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
    return response


def error_page(req: core.SandboxRequest, error: DialogError, brand: str) -> HttpResponse:
    return page(
        req,
        "error.html",
        {"brand": brand, "title": error.title, "message": error.message},
        error.status,
    )


def csrf_rejection(req: core.SandboxRequest) -> HttpResponse | None:
    """The host view is csrf_exempt (API hosts take form POSTs without cookies); the dialogs'
    own forms are checked here."""

    def dialog_view(request):  # a view without csrf_exempt, for the middleware's check
        return None

    return CsrfViewMiddleware(dialog_view).process_view(req.http, dialog_view, (), {})


def expired_dialog(req: core.SandboxRequest, brand: str) -> HttpResponse:
    return error_page(
        req,
        DialogError(
            "This dialog has expired",
            "The login dialog is no longer valid. Go back to the app and start again.",
        ),
        brand,
    )


# --- Facebook Login ---------------------------------------------------------------------------


def people() -> list[Person]:
    """The seed world's people first, then the most recent others (control API, tests)."""
    seeded = {login: i for i, login in enumerate(seed.PEOPLE_ORDER)}
    persons = Person.objects.annotate(n_pages=Count("pages")).prefetch_related("ig_accounts")
    found = sorted(persons.filter(login__in=seeded), key=lambda p: seeded[p.login])
    others = persons.exclude(login__in=seeded).order_by("-pk")[:LIST_LIMIT]
    return found + list(others)


def facebook_permissions(dialog: dict, person: Person) -> list[Permission]:
    locked = set() if dialog["rerequest"] else previously_declined(person, "facebook")
    result = []
    for name in dialog["scopes"]:
        description, required = FACEBOOK_PERMISSIONS[name]
        is_locked = name in locked and not required
        result.append(Permission(name, description, required, not is_locked, is_locked))
    return result


def previously_declined(person: Person, app: str) -> set[str]:
    """Meta remembers what a person declined for an app and does not ask again unless the app
    sends auth_type=rerequest: those permissions stay declined."""
    last = AuthCode.objects.filter(person=person, app=app).order_by("-created_at", "-pk").first()
    return set(last.declined_scopes) if last else set()


@core.route("www.facebook.com", r"dialog/oauth", methods=("GET", "POST"))
def facebook_dialog(req: core.SandboxRequest) -> HttpResponse:
    seed.ensure_seed_world()
    if req.method == "GET":
        try:
            dialog = facebook_params(req)
        except DialogError as error:
            return error_page(req, error, "facebook")
        context = {"brand": "facebook", "dialog": dialog, "people": people()}
        return page(req, "fb_login.html", context)
    rejected = csrf_rejection(req)
    if rejected:
        return rejected
    dialog = unpack(req.http.POST.get("dialog"), "facebook")
    if dialog is None:
        return expired_dialog(req, "facebook")
    if req.http.POST.get("action") == "cancel":
        return denied(dialog)
    step = req.http.POST.get("step")
    if step == "login":
        return facebook_login(req, dialog)
    person = Person.objects.filter(pk=dialog.get("person")).first()
    if person is None:
        return expired_dialog(req, "facebook")
    if step == "pages":
        return facebook_pages_chosen(req, dialog, person)
    if step == "permissions" and "pages" in dialog:
        return facebook_finish(req, dialog, person)
    return expired_dialog(req, "facebook")


def facebook_login(req: core.SandboxRequest, dialog: dict) -> HttpResponse:
    login = (req.http.POST.get("login") or "").strip()
    person = Person.objects.filter(login__iexact=login).first() if login else None
    if person is None:
        error = (
            f"The login “{login}” isn't connected to a sandbox person."
            if login
            else "Choose a person or type a login."
        )
        context = {"brand": "facebook", "dialog": dialog, "people": people(), "error": error}
        return page(req, "fb_login.html", context)
    dialog = {**dialog, "person": person.pk}
    pages = person.pages.select_related("ig_account").order_by("pk")
    context = {"brand": "facebook", "dialog": dialog, "person": person, "pages": pages}
    return page(req, "fb_pages.html", context)


def facebook_pages_chosen(req: core.SandboxRequest, dialog: dict, person: Person) -> HttpResponse:
    own = set(person.pages.values_list("page_id", flat=True))
    chosen = [p for p in req.http.POST.getlist("page") if p in own]
    dialog = {**dialog, "pages": chosen}
    context = {
        "brand": "facebook",
        "dialog": dialog,
        "person": person,
        "permissions": facebook_permissions(dialog, person),
        "n_pages": len(chosen),
    }
    return page(req, "fb_permissions.html", context)


def facebook_finish(req: core.SandboxRequest, dialog: dict, person: Person) -> HttpResponse:
    ticked = set(req.http.POST.getlist("grant"))
    permissions = facebook_permissions(dialog, person)
    granted = [p.name for p in permissions if p.required or (p.name in ticked and not p.locked)]
    declined = [p.name for p in permissions if p.name not in granted]
    params: list[tuple[str, str | None]] = []
    fragment = "_=_"  # Facebook appends #_=_ to code redirects; clients ignore it
    if "code" in dialog["response_type"]:
        code = issue_code(dialog, person, granted, declined, granted_page_ids=dialog["pages"])
        params.append(("code", code))
    if "granted_scopes" in dialog["response_type"]:
        params += [("granted_scopes", ",".join(granted)), ("denied_scopes", ",".join(declined))]
    params.append(("state", dialog["state"]))
    if "token" in dialog["response_type"]:
        # Client-side flow: the token travels in the fragment, never to the app's server.
        token = core.issue_token(
            Token.Kind.FB_SHORT,
            person=person,
            scopes=granted,
            declined=declined,
            granted_page_ids=dialog["pages"],
        )
        fragment = urlencode(
            [
                ("access_token", token.token),
                ("data_access_expiration_time", str(int(token.issued_at.timestamp()) + 90 * 86400)),
                ("expires_in", str(core.expires_in(token))),
                *([("state", dialog["state"])] if dialog["state"] is not None else []),
            ]
        )
        if "code" not in dialog["response_type"]:
            params = [p for p in params if p[0] != "state"]
    return HttpResponseRedirect(with_query(dialog["redirect_uri"], params, fragment))


# --- Business Login for Instagram -------------------------------------------------------------


def instagram_accounts(person: Person | None = None) -> list[InstagramAccount]:
    if person is not None:
        return list(person.ig_accounts.order_by("pk"))
    seeded = {username: i for i, username in enumerate(seed.ACCOUNT_ORDER)}
    found = list(InstagramAccount.objects.filter(username__in=seeded))
    found.sort(key=lambda a: seeded[a.username])
    others = InstagramAccount.objects.exclude(username__in=seeded).order_by("-pk")[:LIST_LIMIT]
    return found + list(others)


def instagram_permissions(dialog: dict) -> list[Permission]:
    result = []
    for name in dialog["scopes"]:
        description, required = INSTAGRAM_PERMISSIONS[name]
        result.append(Permission(name, description, required, True, False))
    return result


@core.route("www.instagram.com", r"oauth/authorize", methods=("GET", "POST"))
def instagram_dialog(req: core.SandboxRequest) -> HttpResponse:
    seed.ensure_seed_world()
    if req.method == "GET":
        try:
            dialog = instagram_params(req)
        except DialogError as error:
            return error_page(req, error, "instagram")
        return instagram_login_page(req, dialog)
    rejected = csrf_rejection(req)
    if rejected:
        return rejected
    dialog = unpack(req.http.POST.get("dialog"), "instagram")
    if dialog is None:
        return expired_dialog(req, "instagram")
    action, step = req.http.POST.get("action"), req.http.POST.get("step")
    if action == "cancel":
        return denied(dialog)
    if step == "facebook":
        return instagram_via_facebook(req, dialog)
    if step == "account":
        return instagram_account_chosen(req, dialog)
    account = InstagramAccount.objects.filter(pk=dialog.get("account")).first()
    if step == "consent" and account is not None:
        return instagram_finish(req, dialog, account)
    return expired_dialog(req, "instagram")


def instagram_login_page(
    req: core.SandboxRequest, dialog: dict, *, person: Person | None = None, error: str = ""
) -> HttpResponse:
    context = {
        "brand": "instagram",
        "dialog": dialog,
        "accounts": instagram_accounts(person),
        "via_person": person,
        "error": error,
    }
    return page(req, "ig_login.html", context)


def instagram_via_facebook(req: core.SandboxRequest, dialog: dict) -> HttpResponse:
    """ "Log in with Facebook" (hidden by enable_fb_login=false): the person's IG accounts."""
    login = (req.http.POST.get("login") or "").strip()
    person = Person.objects.filter(login__iexact=login).first() if login else None
    if person is None or not dialog["enable_fb_login"]:
        message = f"The login “{login}” isn't connected to a sandbox person." if login else ""
        return instagram_login_page(req, dialog, error=message or "Type a Facebook login.")
    return instagram_login_page(req, dialog, person=person)


def instagram_account_chosen(req: core.SandboxRequest, dialog: dict) -> HttpResponse:
    username = (req.http.POST.get("username") or "").strip().lstrip("@")
    account = (
        InstagramAccount.objects.filter(username__iexact=username).first() if username else None
    )
    if account is None:
        message = (
            f"The username “{username}” doesn't belong to a sandbox account."
            if username
            else "Choose an account or type a username."
        )
        return instagram_login_page(req, dialog, error=message)
    dialog = {**dialog, "account": account.pk}
    context = {
        "brand": "instagram",
        "dialog": dialog,
        "account": account,
        "permissions": instagram_permissions(dialog),
    }
    return page(req, "ig_consent.html", context)


def instagram_finish(
    req: core.SandboxRequest, dialog: dict, account: InstagramAccount
) -> HttpResponse:
    ticked = set(req.http.POST.getlist("grant"))
    permissions = instagram_permissions(dialog)
    granted = [p.name for p in permissions if p.required or p.name in ticked]
    declined = [p.name for p in permissions if p.name not in granted]
    code = issue_code(dialog, account.person, granted, declined, ig_account=account)
    # Instagram appends #_ to the redirect; it is not part of the code.
    return HttpResponseRedirect(
        with_query(dialog["redirect_uri"], [("code", code), ("state", dialog["state"])], "_")
    )


@core.route("api.instagram.com", r"oauth/authorize", methods=("GET", "POST"))
def retired_authorize(req: core.SandboxRequest) -> HttpResponse:
    """The Basic Display authorize URL stopped working in 2026 (graph-api.md §12.1)."""
    return render(req.http, "sandbox/not_available.html", {"brand": "instagram"}, status=404)
