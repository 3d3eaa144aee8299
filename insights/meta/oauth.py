"""Meta's two login paths (graph-api.md §1): dialog URLs, code exchange, long-lived tokens,
refresh, and finding the Instagram professional account. Everything runs server-side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .client import MetaClient

# Exactly what insights need. business_management: without it, Pages owned through a business
# portfolio are silently missing from /me/accounts (graph-api.md §12.14).
FACEBOOK_SCOPES = [
    "instagram_basic",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
    # Optional: subscribes the Page to the story_insights webhook (graph-api.md §8.3). Without
    # it stories are still captured by polling.
    "pages_manage_metadata",
]
FACEBOOK_REQUIRED = ["instagram_basic", "instagram_manage_insights", "pages_read_engagement"]
INSTAGRAM_SCOPES = ["instagram_business_basic", "instagram_business_manage_insights"]
INSTAGRAM_REQUIRED = INSTAGRAM_SCOPES
FACEBOOK_DATA_ACCESS_DAYS = 90


def enabled_paths() -> list[str]:
    paths = []
    if settings.META_APP_ID and settings.META_APP_SECRET:
        paths.append("facebook")
    if settings.INSTAGRAM_APP_ID and settings.INSTAGRAM_APP_SECRET:
        paths.append("instagram")
    return paths


def redirect_uri(login_path: str) -> str:
    return settings.SITE_URL + reverse("oauth_callback", args=[login_path])


def authorize_url(login_path: str, state: str, *, rerequest: bool = False) -> str:
    if login_path == "facebook":
        params = {
            "client_id": settings.META_APP_ID,
            "redirect_uri": redirect_uri("facebook"),
            "state": state,
            "response_type": "code",
            "scope": ",".join(FACEBOOK_SCOPES),
        }
        if rerequest:
            params["auth_type"] = "rerequest"
        base = settings.META_HOSTS["www.facebook.com"]
        return f"{base}/{settings.META_API_VERSION}/dialog/oauth?{urlencode(params)}"
    # www.instagram.com, not api.instagram.com: the old host stopped working (§12.1).
    params = {
        "force_reauth": "true",
        "client_id": settings.INSTAGRAM_APP_ID,
        "redirect_uri": redirect_uri("instagram"),
        "response_type": "code",
        "scope": ",".join(INSTAGRAM_SCOPES),
        "state": state,
    }
    return f"{settings.META_HOSTS['www.instagram.com']}/oauth/authorize?{urlencode(params)}"


@dataclass
class Grant:
    """What one successful login produced, before anything is stored."""

    token: str  # long-lived user token
    expires_at: datetime | None
    meta_user_id: str  # app-scoped id, as Meta's callbacks name the person
    granted: list[str]
    declined: list[str]
    ig_user_id: str = ""  # Instagram Login: the professional account id
    profile: dict | None = None


def _expiry(answer: dict) -> datetime | None:
    seconds = answer.get("expires_in")
    if isinstance(seconds, int | float) and seconds > 0:
        # A safety margin against clock skew between Prism and Meta.
        return timezone.now() + timedelta(seconds=seconds) - timedelta(minutes=5)
    return None


# --- Facebook Login for Business --------------------------------------------------------------


@sensitive_variables()
def facebook_grant(code: str) -> Grant:
    auth = MetaClient("graph.facebook.com")
    secret = {"client_id": settings.META_APP_ID, "client_secret": settings.META_APP_SECRET}
    short = auth.post(
        "oauth/access_token",
        {**secret, "redirect_uri": redirect_uri("facebook"), "code": code},
        auth=False,
    )
    long = auth.post(
        "oauth/access_token",
        {**secret, "grant_type": "fb_exchange_token", "fb_exchange_token": short["access_token"]},
        auth=False,
    )
    user = MetaClient("graph.facebook.com", long["access_token"])
    me = user.get("me", {"fields": "id,name"})
    granted, declined = [], []
    for entry in user.get("me/permissions").get("data", []):
        (granted if entry.get("status") == "granted" else declined).append(entry["permission"])
    return Grant(
        token=long["access_token"],
        expires_at=_expiry(long),
        meta_user_id=str(me["id"]),
        granted=granted,
        declined=declined,
    )


@sensitive_variables()
def facebook_pages(token: str) -> tuple[list[dict], list[dict]]:
    """(Instagram accounts reachable through the granted Pages, Pages without one)."""
    user = MetaClient("graph.facebook.com", token)
    fields = "id,name,access_token,instagram_business_account{id,username,name,profile_picture_url}"
    accounts, bare = [], []
    for page in user.paginate("me/accounts", {"fields": fields, "limit": 100}, max_pages=20):
        ig = page.get("instagram_business_account")
        if not ig:
            bare.append({"page_id": page["id"], "page_name": page.get("name", "")})
            continue
        accounts.append(
            {
                "ig_user_id": str(ig["id"]),
                "username": ig.get("username", ""),
                "name": ig.get("name", ""),
                "profile_picture_url": ig.get("profile_picture_url", ""),
                "page_id": page["id"],
                "page_name": page.get("name", ""),
                "page_token": page.get("access_token", ""),
            }
        )
    return accounts, bare


# --- Business Login for Instagram --------------------------------------------------------------


@sensitive_variables()
def instagram_grant(code: str) -> Grant:
    exchange = MetaClient("api.instagram.com")
    short = exchange.post(
        "oauth/access_token",
        {
            "client_id": settings.INSTAGRAM_APP_ID,
            "client_secret": settings.INSTAGRAM_APP_SECRET,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri("instagram"),
            "code": code,
        },
        versioned=False,
        auth=False,
    )
    if isinstance(short.get("data"), list) and short["data"]:  # the documented, wrapped shape
        short = short["data"][0]
    permissions = short.get("permissions") or []
    if isinstance(permissions, str):
        permissions = [p for p in permissions.split(",") if p]
    # graph.instagram.com/access_token wants the secret as a parameter; the short-lived token
    # itself travels in the Authorization header.
    long = MetaClient("graph.instagram.com", short["access_token"]).get(
        "access_token",
        {"grant_type": "ig_exchange_token", "client_secret": settings.INSTAGRAM_APP_SECRET},
        versioned=False,
    )
    profile = instagram_profile(long["access_token"])
    declined = [s for s in INSTAGRAM_SCOPES if s not in permissions]
    return Grant(
        token=long["access_token"],
        expires_at=_expiry(long),
        meta_user_id=str(profile.get("id", "")),
        granted=list(permissions),
        declined=declined,
        ig_user_id=str(profile.get("user_id") or short.get("user_id") or ""),
        profile=profile,
    )


@sensitive_variables()
def instagram_profile(token: str) -> dict:
    return MetaClient("graph.instagram.com", token).get(
        "me", {"fields": "user_id,username,name,account_type,profile_picture_url"}
    )


@sensitive_variables()
def refresh_instagram_token(token: str) -> tuple[str, datetime | None]:
    """GET only (a POST is refused by Meta); the token must be ≥ 24 h old and unexpired."""
    answer = MetaClient("graph.instagram.com", token).get(
        "refresh_access_token", {"grant_type": "ig_refresh_token"}, versioned=False
    )
    return answer["access_token"], _expiry(answer)


def missing_scopes(login_path: str, granted: list[str]) -> list[str]:
    required = FACEBOOK_REQUIRED if login_path == "facebook" else INSTAGRAM_REQUIRED
    return [s for s in required if s not in granted]
