"""The sandbox's control API under /_sandbox/control/ (JSON in, JSON out).

Who may call it: anyone who can reach the server. It is mounted only with SANDBOX_ENABLED (never
on in production settings, see config/urls.py) or in standalone mode (SANDBOX_STANDALONE=1), and
has no authentication beyond that: never expose a sandbox-enabled server to an untrusted network.
By design it makes the server send HTTP requests to any URL it is given (webhooks,
signed_request callbacks). CSRF does not apply: there is no session or cookie to ride on.

Endpoints (errors are 400/404 with {"error": "..."}):

    GET    ""                              this list
    GET    accounts                        all accounts (seed world + created)
    POST   accounts                        create one → 201 {ig_user_id, page_id, access_token…}
    POST   accounts {"count": N, …}        N accounts from one template → 201 {"data": […]}
    GET    accounts/<ig_user_id>           one account, its tokens (fingerprints) and added media
    POST   accounts/<ig_user_id>/tokens    a fresh token for an existing account
    POST   accounts/<ig_user_id>/media     post / reel / carousel / video now → 201 {media_id…}
    POST   accounts/<ig_user_id>/stories   a story now (viewers / reach_target) → 201 {media_id…}
    DELETE accounts/<ig_user_id>/media/<media_id>   delete an added media (the owner deleted it)
    GET    faults  POST faults  DELETE faults  DELETE faults/<id>
    POST   tokens/revoke                   {access_token | ig_user_id, subcode}
    GET    clock  POST clock  POST clock/reset   move ({advance_seconds|advance_days|to}), freeze
    GET    settings  POST settings         world switches for [UNC] behaviours (cautious defaults)
    POST   webhooks/send  POST webhooks/verify
    POST   signed-request/make  POST signed-request/send
    GET    stats  POST stats/reset          logged calls, HTTP requests, rate-limit-counted calls
    POST   reset                           back to the seed world
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from . import core, oauth, seed, world, world_settings
from .accounts import FACEBOOK_SCOPES, INSTAGRAM_SCOPES, create_account, create_accounts
from .models import CallLog, Clock, Fault, InstagramAccount, Media, Token

OUTBOUND_TIMEOUT = (5, 15)  # connect, read: for webhooks and signed_request callbacks
BODY_PREVIEW = 10_000  # characters of a receiver's answer echoed back


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# --- Plumbing -----------------------------------------------------------------------------------


def endpoint(*methods: str) -> Callable:
    """JSON view: method check, JSON body parsing, errors as {"error"}; seeds the world lazily."""

    def decorator(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, **kwargs) -> JsonResponse:
            if request.method not in methods:
                response = JsonResponse(
                    {"error": f"method {request.method} not allowed"}, status=405
                )
                response["Allow"] = ", ".join(methods)
                return response
            try:
                seed.ensure_seed_world()
                body = Body(parse_json(request)) if request.method in ("POST", "PUT") else None
                args = (request,) if body is None else (request, body)
                result = view(*args, **kwargs)
            except BadRequest as error:
                return JsonResponse({"error": str(error)}, status=error.status)
            data, status = result if isinstance(result, tuple) else (result, 200)
            return JsonResponse(data, status=status)

        return wrapped

    return decorator


def created(data: dict) -> tuple[dict, int]:
    return data, 201


def parse_json(request: HttpRequest) -> dict:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError:
        raise BadRequest("the body must be a JSON object")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


class Body:
    """Typed access to a JSON body, with clear 400s. Unknown fields are errors (typos!)."""

    def __init__(self, data: dict):
        self.data = data

    def allow(self, *names: str) -> None:
        unknown = sorted(set(self.data) - set(names))
        if unknown:
            raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(names)}")

    def int(self, name: str, default: Any = None, *, low: int = 0, high: int = 10**9) -> Any:
        value = self.data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"{name} must be an integer")
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low} and {high}")
        return value

    def number(self, name: str, default: Any = None, *, low: float = 0, high: float = 1e9) -> Any:
        value = self.data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadRequest(f"{name} must be a number")
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low} and {high}")
        return float(value)

    def str(self, name: str, default: Any = None, *, choices=None, pattern=None) -> Any:
        value = self.data.get(name, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string")
        if choices is not None and value not in choices:
            raise BadRequest(f"{name} must be one of: {', '.join(choices)}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise BadRequest(f"{name} has an invalid format")
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false")
        return value

    def url(self, name: str) -> str:
        value = self.str(name)
        parts = urlsplit(value or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadRequest(f"{name} must be an absolute http(s) URL")
        return value


def get_account(ig_user_id: str) -> InstagramAccount:
    found = InstagramAccount.objects.select_related("person")
    account = found.filter(ig_user_id=ig_user_id).first()
    if account is None:
        raise BadRequest(f"no sandbox account with ig_user_id {ig_user_id}", 404)
    return account


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


# --- Index ----------------------------------------------------------------------------------


@endpoint("GET")
def index(request: HttpRequest) -> dict:
    lines = (__doc__ or "").split("Endpoints", 1)[-1].splitlines()
    return {
        "sandbox": "control API",
        "endpoints": [" ".join(line.split()) for line in lines if line.startswith("    ")],
        "apps": {
            "facebook": {"app_id": settings.SANDBOX_FACEBOOK_APP_ID},
            "instagram": {"app_id": settings.SANDBOX_INSTAGRAM_APP_ID},
        },
        "now": iso(core.now()),
    }


# --- Accounts ---------------------------------------------------------------------------------

ACCOUNT_TYPES = {
    "BUSINESS": "BUSINESS",
    "MEDIA_CREATOR": "MEDIA_CREATOR",
    "CREATOR": "MEDIA_CREATOR",
    "PERSONAL": "PERSONAL",
}


def account_json(account: InstagramAccount) -> dict:
    page = getattr(account, "page", None)
    return {
        "ig_user_id": account.ig_user_id,
        "ig_app_scoped_id": account.ig_app_scoped_id,
        "username": account.username,
        "name": account.name,
        "account_type": account.account_type,
        "followers": account.followers,  # at creation (the anchor)
        "followers_count": world.followers_now(world.profile(account), core.now()),
        "follows": account.follows,
        "media_count": world.media_count(account),
        "history_days": account.history_days,
        "region": account.region,
        "converted_at": iso(account.converted_at),
        "active_stories": account.active_stories,
        "call_budget": account.call_budget,
        "online_followers": account.online_followers,
        "seed": account.seed,
        "person_login": account.person.login,
        "fb_user_id": account.person.fb_user_id,
        "page_id": page.page_id if page else None,
        "page_name": page.name if page else None,
        "business_owned": page.business_owned if page else None,
        "seeded": account.username in seed.ACCOUNT_ORDER,
    }


@endpoint("GET", "POST")
def accounts(request: HttpRequest, body: Body | None = None):
    if body is None:
        found = InstagramAccount.objects.select_related("person", "page").order_by("pk")
        return {"data": [account_json(a) for a in found]}
    return created(create_from_body(body))


MAX_BULK = 5000  # accounts per bulk request


def create_from_body(body: Body) -> dict:
    body.allow(
        "followers",
        "follows",
        "media_count",
        "history_days",
        "login",
        "account_type",
        "region",
        "username",
        "name",
        "converted_days_ago",
        "active_stories",
        "call_budget",
        "token_age_days",
        "business_owned",
        "seed",
        "online_followers",
        "count",
    )
    count = body.int("count", None, low=1, high=MAX_BULK)
    login = body.str("login", "facebook", choices=("facebook", "instagram"))
    kind = ACCOUNT_TYPES.get((body.str("account_type", "BUSINESS") or "").upper())
    if kind is None:
        raise BadRequest("account_type must be BUSINESS, MEDIA_CREATOR or PERSONAL")
    if kind == "PERSONAL" and login == "facebook":
        raise BadRequest("a personal account cannot be linked to a Page: use login=instagram")
    username = body.str("username", pattern=r"[A-Za-z0-9._]{1,30}")
    if username and InstagramAccount.objects.filter(username__iexact=username).exists():
        raise BadRequest(f"username {username} is taken")
    history_days = body.int("history_days", 730, low=1, high=3650)
    options = {
        "followers": body.int("followers", 1000, high=500_000_000),
        "media_count": body.int("media_count", 50, high=world.MAX_FEED * 5),
        "history_days": history_days,
        "login": login,
        "account_type": kind,
        "region": (body.str("region", "US", pattern=r"[A-Za-z]{2}") or "US").upper(),
        "username": username,
        "name": body.str("name"),
        "converted_days_ago": body.int("converted_days_ago", low=0, high=history_days),
        "active_stories": body.int("active_stories", 3, high=world.MAX_STORY_SLOTS),
        "call_budget": body.int("call_budget", None, low=1),
        "token_age_days": body.number("token_age_days", 0, high=365),
        "business_owned": body.bool("business_owned", False),
        "online_followers": body.bool("online_followers", False),
    }
    if "seed" in body.data:
        options["seed"] = body.int("seed", high=2**31 - 1)
    if count is not None:
        if username:
            raise BadRequest("username cannot be given with count: usernames are generated")
        options.pop("username")
        made = create_accounts(count, follows=body.int("follows", None, high=10_000), **options)
        return {"count": len(made), "data": made}
    result = create_account(**options)
    account = InstagramAccount.objects.get(ig_user_id=result["ig_user_id"])
    follows = body.int("follows", None, high=10_000)
    if follows is not None:
        account.follows = follows
        account.save(update_fields=["follows"])
    token = Token.objects.get(token=result["access_token"])
    fingerprint = core.token_fingerprint(token.pk)
    return {**account_json(account), **result, "token_fingerprint": fingerprint}


def token_json(token: Token) -> dict:
    return {
        "fingerprint": core.token_fingerprint(token.pk),
        "kind": token.kind,
        "host": token.host,
        "scopes": token.scopes,
        "declined_scopes": token.declined_scopes,
        "issued_at": iso(token.issued_at),
        "expires_at": iso(token.expires_at),
        "revoked_subcode": token.revoked_subcode,
    }


@endpoint("GET")
def account_detail(request: HttpRequest, ig_user_id: str) -> dict:
    account = get_account(ig_user_id)
    page = getattr(account, "page", None)
    tokens = Token.objects.filter(
        Q(ig_account=account)
        | Q(page__ig_account=account)
        | Q(person=account.person, kind__in=[Token.Kind.FB_SHORT, Token.Kind.FB_LONG])
    ).order_by("pk")
    if page:
        tokens = [
            t
            for t in tokens
            if t.kind not in ("fb_short", "fb_long") or page.page_id in t.granted_page_ids
        ]
    added = account.media.order_by("-posted_at", "-pk")
    return {
        **account_json(account),
        "tokens": [token_json(t) for t in tokens],
        "added_media": [media_json(m) for m in added],
        "active_stories_now": [s.id for s in world.active_stories(account)],
    }


@endpoint("POST")
def account_tokens(request: HttpRequest, body: Body, ig_user_id: str) -> tuple:
    """A ready token for an existing (e.g. seeded) account, as if the owner had logged in."""
    account = get_account(ig_user_id)
    page = getattr(account, "page", None)
    body.allow("login", "lifetime", "age_days", "scopes")
    default_login = "facebook" if page else "instagram"
    login = body.str("login", default_login, choices=("facebook", "instagram"))
    lifetime = body.str("lifetime", "long", choices=("long", "short"))
    issued = core.now() - timedelta(days=body.number("age_days", 0, high=365))
    if login == "facebook":
        if page is None:
            raise BadRequest("this account has no Page: use login=instagram")
        kind = Token.Kind.FB_LONG if lifetime == "long" else Token.Kind.FB_SHORT
        extra = {"granted_page_ids": [page.page_id]}
        default_scopes = FACEBOOK_SCOPES
    else:
        kind = Token.Kind.IG_LONG if lifetime == "long" else Token.Kind.IG_SHORT
        extra = {"ig_account": account}
        default_scopes = INSTAGRAM_SCOPES
    scopes = body.data.get("scopes", default_scopes)
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise BadRequest("scopes must be a list of strings")
    token = core.issue_token(kind, person=account.person, scopes=scopes, issued_at=issued, **extra)
    return created(
        {
            "access_token": token.token,
            "host": token.host,
            "expires_in": core.expires_in(token),
            "token_fingerprint": core.token_fingerprint(token.pk),
            "ig_user_id": account.ig_user_id,
            "page_id": page.page_id if page else None,
        }
    )


# --- Media and stories --------------------------------------------------------------------------

MEDIA_KINDS = {  # kind -> (media_type, product_type)
    "post": ("IMAGE", "FEED"),
    "image": ("IMAGE", "FEED"),
    "video": ("VIDEO", "FEED"),
    "reel": ("VIDEO", "REELS"),
    "carousel": ("CAROUSEL_ALBUM", "FEED"),
}


def media_json(media: Media) -> dict:
    return {
        "media_id": media.media_id,
        "ig_user_id": media.account.ig_user_id,
        "media_type": media.media_type,
        "media_product_type": media.product_type,
        "timestamp": core.meta_time(media.posted_at),
        "caption": media.caption,
        "children": media.children,
        "reach_target": media.reach_target,
    }


def add_media(account: InstagramAccount, body: Body, media_type: str, product: str, **extra):
    hours_ago = body.number("hours_ago", 0, high=24 * 3650)
    return Media.objects.create(
        media_id=world.new_media_id(),  # a range of its own: never collides with generated ids
        account=account,
        media_type=media_type,
        product_type=product,
        caption=body.str("caption", "") or "",
        posted_at=core.now() - timedelta(hours=hours_ago),
        seed=body.int("seed", secrets.randbelow(2**31), high=2**31 - 1),
        **extra,
    )


@endpoint("POST")
def account_media(request: HttpRequest, body: Body, ig_user_id: str) -> tuple:
    account = get_account(ig_user_id)
    body.allow("kind", "caption", "children", "reach_target", "hours_ago", "seed")
    kind = body.str("kind", "post", choices=tuple(MEDIA_KINDS))
    media_type, product = MEDIA_KINDS[kind]
    children = body.int("children", 3 if kind == "carousel" else 0, high=10)
    if kind == "carousel" and children < 2:
        raise BadRequest("a carousel has 2 to 10 children")
    if kind != "carousel" and children:
        raise BadRequest("only a carousel has children")
    media = add_media(
        account,
        body,
        media_type,
        product,
        children=children,
        reach_target=body.int("reach_target", high=10**9),
    )
    return created(media_json(media))


@endpoint("DELETE")
def account_media_detail(request: HttpRequest, ig_user_id: str, media_id: str) -> dict:
    """The owner deleted a media added through this API: from now on /media omits it and its
    id answers 100/33 like any unknown object. (Generated media cannot be deleted.)"""
    account = get_account(ig_user_id)
    deleted = Media.objects.filter(account=account, media_id=media_id).delete()[0]
    if not deleted:
        raise BadRequest(f"no added media {media_id} on this account", 404)
    return {"deleted": media_id}


@endpoint("POST")
def account_stories(request: HttpRequest, body: Body, ig_user_id: str) -> tuple:
    """A story posted now (or `hours_ago` < 24). `viewers` (= reach at 24 h) below 5 makes its
    insights answer (#10) Not enough viewers."""
    account = get_account(ig_user_id)
    body.allow("media_type", "caption", "viewers", "reach_target", "hours_ago", "seed")
    media_type = body.str("media_type", "IMAGE", choices=("IMAGE", "VIDEO"))
    if body.number("hours_ago", 0, high=24 * 3650) >= 24:
        raise BadRequest("hours_ago must be under 24: a story is live for 24 hours")
    reach = body.int("viewers", None, high=10**9)
    if reach is None:
        reach = body.int("reach_target", None, high=10**9)
    media = add_media(account, body, media_type, "STORY", reach_target=reach)
    return created(media_json(media))


# --- Faults -------------------------------------------------------------------------------------


def fault_json(fault: Fault) -> dict:
    return {
        "id": fault.pk,
        "kind": fault.kind,
        "host": fault.host,
        "path_regex": fault.path_regex,
        "query": fault.query,
        "account": fault.account,
        "probability": fault.probability,
        "remaining": fault.remaining,
        "params": fault.params,
        "created_at": iso(fault.created_at),
    }


@endpoint("GET", "POST", "DELETE")
def faults(request: HttpRequest, body: Body | None = None):
    if request.method == "GET":
        return {"data": [fault_json(f) for f in Fault.objects.order_by("pk")]}
    if request.method == "DELETE":
        return {"deleted": Fault.objects.all().delete()[0]}
    return created(fault_json(create_fault(body)))


def create_fault(body: Body) -> Fault:
    body.allow("kind", "host", "path_regex", "query", "account", "probability", "count", "params")
    kind = body.str("kind", choices=tuple(Fault.Kind.values))
    if kind is None:
        raise BadRequest(f"kind is required: one of {', '.join(Fault.Kind.values)}")
    host = body.str("host", "", choices=("", *core.HOSTS))
    path_regex = body.str("path_regex", "") or ""
    try:
        re.compile(path_regex)
    except re.error as error:
        raise BadRequest(f"path_regex does not compile: {error}")
    params = body.data.get("params", {})
    if not isinstance(params, dict):
        raise BadRequest("params must be an object")
    check_fault_params(kind, params)
    query = body.data.get("query", {})
    if not isinstance(query, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in query.values()
    ):
        raise BadRequest("query must be an object of parameter values")
    return Fault.objects.create(
        query={k: str(v) for k, v in query.items()},
        kind=kind,
        host=host,
        path_regex=path_regex,
        account=body.str("account", "", pattern=r"\d*") or "",
        probability=body.number("probability", 1.0, low=0.0, high=1.0),
        remaining=body.int("count", None, low=1, high=10**6),
        params=params,
    )


def check_fault_params(kind: str, params: dict) -> None:
    def number(name: str, low: float, high: float) -> None:
        value = params.get(name)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise BadRequest(f"params.{name} must be a number between {low} and {high}")

    number("status", 400, 599)
    number("seconds", 0, 120)
    number("minutes", 0, 1440)
    if kind == "rate_limit":
        number("code", 4, 80002)
    if kind == "revoke_token":
        number("subcode", 458, 492)
    if kind == "graph_error" and not isinstance(params.get("error", {}), dict):
        raise BadRequest("params.error must be an object like Meta's error envelope")


@endpoint("DELETE")
def fault_detail(request: HttpRequest, fault_id: str) -> dict:
    deleted = Fault.objects.filter(pk=fault_id).delete()[0]
    if not deleted:
        raise BadRequest(f"no fault {fault_id}", 404)
    return {"deleted": deleted}


# --- Tokens -------------------------------------------------------------------------------------

REVOKE_SUBCODES = (458, 459, 460, 464, 467, 492)


@endpoint("POST")
def revoke_tokens(request: HttpRequest, body: Body) -> dict:
    """Revoke now: one token (default subcode 467, logged out) or every token that reaches an
    account (default 460, password changed). Later calls answer 190 with that subcode."""
    body.allow("access_token", "ig_user_id", "subcode")
    raw, ig_user_id = body.str("access_token"), body.str("ig_user_id")
    if bool(raw) == bool(ig_user_id):
        raise BadRequest("give exactly one of access_token or ig_user_id")
    subcode = body.int("subcode", 467 if raw else 460, low=0, high=10**6)
    if subcode not in REVOKE_SUBCODES:
        raise BadRequest(
            f"subcode must be one of {', '.join(map(str, REVOKE_SUBCODES))} "
            "(expiry, 463, comes from moving the clock)"
        )
    if raw:
        tokens = list(Token.objects.filter(token=raw))
        if not tokens:
            raise BadRequest("no such token", 404)
    else:
        account = get_account(ig_user_id)
        page = getattr(account, "page", None)
        tokens = list(Token.objects.filter(Q(ig_account=account) | Q(page__ig_account=account)))
        if page:
            user_tokens = Token.objects.filter(
                person=account.person, kind__in=[Token.Kind.FB_SHORT, Token.Kind.FB_LONG]
            )
            tokens += [t for t in user_tokens if page.page_id in t.granted_page_ids]
    return {"revoked": oauth.revoke(tokens, subcode), "subcode": subcode}


# --- Clock --------------------------------------------------------------------------------------


def clock_json() -> dict:
    current = core.now()
    offset = (current - datetime.now(UTC)).total_seconds()
    return {
        "now": iso(current),
        "meta_time": core.meta_time(current),
        "unix": int(current.timestamp()),
        "offset_seconds": round(offset),
        "frozen": Clock.objects.filter(pk=1, frozen_at__isnull=False).exists(),
    }


@endpoint("GET", "POST")
def clock(request: HttpRequest, body: Body | None = None) -> dict:
    if body is None:
        return clock_json()
    body.allow("advance_seconds", "advance_days", "to", "freeze")
    given = [k for k in ("advance_seconds", "advance_days", "to") if k in body.data]
    freeze = body.bool("freeze") if "freeze" in body.data else None
    if len(given) > 1 or (not given and freeze is None):
        raise BadRequest("give one of advance_seconds, advance_days or to, and/or freeze")
    if "to" in body.data:
        core.move_clock(to=parse_time(body.str("to")), freeze=freeze)
    else:
        seconds = body.number("advance_seconds", 0, low=-1e10, high=1e10)
        days = body.number("advance_days", 0, low=-36500, high=36500)
        core.move_clock(seconds=seconds + days * 86400, freeze=freeze)
    return clock_json()


def parse_time(value: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        raise BadRequest("to must be an ISO 8601 time, e.g. 2026-08-01T12:00:00Z")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@endpoint("POST")
def clock_reset(request: HttpRequest, body: Body) -> dict:
    core.reset_clock()
    return clock_json()


# --- World settings ---------------------------------------------------------------------------


@endpoint("GET", "POST")
def world_settings_view(request: HttpRequest, body: Body | None = None) -> dict:
    """GET: every setting with its value and default. POST {"name": value, …}: change some
    (unknown names and bad values are 400s); `reset` restores the defaults."""
    if body is not None:
        try:
            world_settings.update(body.data)
        except ValueError as error:
            raise BadRequest(str(error))
    return {"settings": world_settings.current(), "defaults": world_settings.DEFAULTS}


# --- Webhooks -----------------------------------------------------------------------------------


def meta_json(payload: Any) -> bytes:
    """Serialised like Meta: compact, non-ASCII as \\uXXXX, "/" as "\\/". Receivers must hash
    these raw bytes; re-serialising the parsed JSON breaks the signature (§8.2, §12.18)."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
    return text.encode("ascii")


def app_secret(app: str) -> str:
    if app == "instagram":
        return settings.SANDBOX_INSTAGRAM_APP_SECRET
    return settings.SANDBOX_FACEBOOK_APP_SECRET


def hub_signatures(raw: bytes, secret: str) -> dict[str, str]:
    key = secret.encode()
    return {
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, raw, hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" + hmac.new(key, raw, hashlib.sha1).hexdigest(),
    }


def story_insights_value(account: InstagramAccount, media_id: str | None) -> dict:
    """The legacy story_insights value (§8.2): the story's first 24 hours."""
    if media_id:
        item = world.get_media(media_id)
        if item is None or item.account.pk != account.pk or not item.is_story:
            raise BadRequest(f"{media_id} is not a story of {account.ig_user_id}", 404)
    else:
        stories = world.active_stories(account)
        if not stories:
            raise BadRequest("the account has no live story: POST accounts/<id>/stories first")
        item = stories[0]
    values = world.media_metrics(item, item.posted_at + world.STORY_LIFETIME)
    navigation = values.get("breakdowns", {}).get("navigation", {})
    return {
        "media_id": item.id,
        "exits": navigation.get("tap_exit", 0),
        "replies": values.get("replies", 0),
        "reach": values.get("reach", 0),
        "taps_forward": navigation.get("tap_forward", 0),
        "taps_back": navigation.get("tap_back", 0),
        "impressions": values.get("views", 0),
    }


def outbound(method: str, url: str, **kwargs) -> requests.Response:
    try:
        return requests.request(method, url, timeout=OUTBOUND_TIMEOUT, **kwargs)
    except requests.RequestException as error:
        raise BadRequest(f"could not reach {url}: {type(error).__name__}", 502)


def answer_json(response: requests.Response) -> dict:
    return {
        "status_code": response.status_code,
        "body": response.text[:BODY_PREVIEW],
        "content_type": response.headers.get("Content-Type", ""),
    }


@endpoint("POST")
def webhooks_send(request: HttpRequest, body: Body) -> dict:
    body.allow("url", "ig_user_id", "media_id", "field", "value", "app", "retries")
    url = body.url("url")
    account = get_account(body.str("ig_user_id") or "")
    field = body.str("field", "story_insights", pattern=r"[a-z_]+")
    app = body.str("app", "facebook", choices=("facebook", "instagram"))
    retries = body.int("retries", 0, high=5)
    value = body.data.get("value")
    if value is None:
        if field != "story_insights":
            raise BadRequest("value is required for fields other than story_insights")
        value = story_insights_value(account, body.str("media_id"))
    elif not isinstance(value, dict):
        raise BadRequest("value must be an object")
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": account.ig_user_id,
                "time": int(core.now().timestamp()),
                "changes": [{"field": field, "value": value}],
            }
        ],
    }
    raw = meta_json(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        **hub_signatures(raw, app_secret(app)),
    }
    attempts = 0
    while True:  # Meta retries failed deliveries (immediately, then less often): here at once
        attempts += 1
        response = outbound("POST", url, data=raw, headers=headers)
        if response.status_code == 200 or attempts > retries:
            break
    return {
        **answer_json(response),
        "attempts": attempts,
        "payload": payload,
        "raw_body": raw.decode(),
        "signature_256": headers["X-Hub-Signature-256"],
    }


@endpoint("POST")
def webhooks_verify(request: HttpRequest, body: Body) -> dict:
    """Meta's subscription handshake (§8.1): the receiver must echo hub.challenge as plain text."""
    body.allow("url", "verify_token", "challenge")
    url = body.url("url")
    challenge = body.str("challenge") or str(secrets.randbelow(9 * 10**9) + 10**9)
    params = {
        "hub.mode": "subscribe",
        "hub.challenge": challenge,
        "hub.verify_token": body.str("verify_token", "") or "",
    }
    response = outbound("GET", url, params=params)
    echoed = response.status_code == 200 and response.text.strip() == challenge
    return {**answer_json(response), "challenge": challenge, "verified": echoed}


# --- signed_request -----------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def make_signed_request(payload: dict, secret: str) -> str:
    """<b64url(HMAC-SHA256 of the encoded payload)>.<b64url(payload JSON)>, no padding (§9)."""
    encoded = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return f"{b64url(signature)}.{encoded}"


def signed_payload(body: Body) -> tuple[dict, str]:
    app = body.str("app", "facebook", choices=("facebook", "instagram"))
    user_id, ig_user_id = body.str("user_id"), body.str("ig_user_id")
    if not user_id:
        if not ig_user_id:
            raise BadRequest("give user_id, or ig_user_id to use its owner's app-scoped id")
        account = get_account(ig_user_id)
        # Facebook: the person's app-scoped user id. Instagram Login: the app-scoped IG id
        # (/me `id`), presumably what Meta sends there [UNC, graph-api.md §9].
        user_id = account.person.fb_user_id if app == "facebook" else account.ig_app_scoped_id
    issued_at = body.int("issued_at", int(core.now().timestamp()), high=2**40)
    payload = {"algorithm": "HMAC-SHA256", "issued_at": issued_at, "user_id": user_id}
    return payload, app_secret(app)


SIGNED_FIELDS = ("kind", "user_id", "ig_user_id", "app", "issued_at")


@endpoint("POST")
def signed_request_make(request: HttpRequest, body: Body) -> dict:
    body.allow(*SIGNED_FIELDS)
    body.str("kind", "deauthorize", choices=("deauthorize", "data_deletion"))
    payload, secret = signed_payload(body)
    return {"signed_request": make_signed_request(payload, secret), "payload": payload}


@endpoint("POST")
def signed_request_send(request: HttpRequest, body: Body) -> dict:
    """Form-POST signed_request to a deauthorize or data deletion callback (§9) and report the
    answer; for data deletion, whether it is {"url", "confirmation_code"} JSON."""
    body.allow("url", *SIGNED_FIELDS)
    url = body.url("url")
    kind = body.str("kind", "deauthorize", choices=("deauthorize", "data_deletion"))
    payload, secret = signed_payload(body)
    signed = make_signed_request(payload, secret)
    response = outbound("POST", url, data={"signed_request": signed})
    result = {**answer_json(response), "signed_request": signed, "payload": payload, "kind": kind}
    if kind == "data_deletion":
        result["deletion_answer_valid"] = valid_deletion_answer(response)
    return result


def valid_deletion_answer(response: requests.Response) -> bool:
    try:
        answer = response.json()
    except ValueError:
        return False
    return (
        response.status_code == 200
        and isinstance(answer, dict)
        and isinstance(answer.get("url"), str)
        and answer["url"].startswith(("http://", "https://"))
        and isinstance(answer.get("confirmation_code"), str)
        and bool(answer["confirmation_code"])
    )


# --- Stats --------------------------------------------------------------------------------------


def grouped(rows, key: Callable[[dict], str]) -> dict:
    result: dict = {}
    for row in rows:
        name = key(row)
        if not name:
            continue
        entry = result.setdefault(name, {"requests": 0, "http_requests": 0, "counted_calls": 0})
        entry["requests"] += row["requests"]
        entry["http_requests"] += row["http_requests"]
        entry["counted_calls"] += row["counted_calls"] or 0
    return result


@endpoint("GET")
def stats(request: HttpRequest) -> dict:
    """Logged calls (`requests`: HTTP requests and each operation of a batch), HTTP requests
    alone (`http_requests`: a batch is one) and rate-limit-counted calls (?ids= and batch count
    per item), by host, path pattern, account, token fingerprint and status. Filters: ?host=
    ?account= ?since=."""
    logs = CallLog.objects.all()
    if request.GET.get("host"):
        logs = logs.filter(host=request.GET["host"])
    if request.GET.get("account"):
        logs = logs.filter(account=request.GET["account"])
    if request.GET.get("since"):
        logs = logs.filter(at__gte=parse_time(request.GET["since"]))
    http = Count("id", filter=Q(in_batch=False))
    rows = list(
        logs.values("host", "method", "path_pattern", "account", "token_id", "status")
        .annotate(requests=Count("id"), http_requests=http, counted_calls=Sum("counted_calls"))
        .order_by()
    )
    totals = logs.aggregate(
        requests=Count("id"), http_requests=http, counted_calls=Sum("counted_calls")
    )
    return {
        "requests": totals["requests"],
        "http_requests": totals["http_requests"],
        "counted_calls": totals["counted_calls"] or 0,
        "errors": sum(r["requests"] for r in rows if r["status"] >= 400),
        "by_host": grouped(rows, lambda r: r["host"]),
        "by_path": grouped(rows, lambda r: f"{r['method']} {r['host']}{r['path_pattern']}"),
        "by_account": grouped(rows, lambda r: r["account"]),
        "by_token": grouped(rows, lambda r: core.token_fingerprint(r["token_id"])),
        "by_status": grouped(rows, lambda r: str(r["status"])),
    }


@endpoint("POST")
def stats_reset(request: HttpRequest, body: Body) -> dict:
    return {"deleted": CallLog.objects.all().delete()[0]}


@endpoint("POST")
def reset(request: HttpRequest, body: Body) -> dict:
    """Everything back to the seed world: people, accounts, tokens, codes, added media, faults,
    the clock, the call log and the world settings."""
    seed.reset_world()
    core.forget_budgets()
    return {"reset": True, "accounts": InstagramAccount.objects.count(), **clock_json()}


def route(pattern: str, view: Callable, name: str | None = None):
    """Paths work with or without a trailing slash (clients differ)."""
    return re_path(rf"^{pattern}/?$", view, name=name)


urlpatterns = [
    re_path(r"^$", index, name="sandbox_control"),
    route("accounts", accounts),
    route(r"accounts/(?P<ig_user_id>\d+)", account_detail),
    route(r"accounts/(?P<ig_user_id>\d+)/tokens", account_tokens),
    route(r"accounts/(?P<ig_user_id>\d+)/media", account_media),
    route(r"accounts/(?P<ig_user_id>\d+)/media/(?P<media_id>\d+)", account_media_detail),
    route(r"accounts/(?P<ig_user_id>\d+)/stories", account_stories),
    route("faults", faults),
    route(r"faults/(?P<fault_id>\d+)", fault_detail),
    route("tokens/revoke", revoke_tokens),
    route("clock", clock),
    route("clock/reset", clock_reset),
    route("settings", world_settings_view),
    route("webhooks/send", webhooks_send),
    route("webhooks/verify", webhooks_verify),
    route("signed-request/make", signed_request_make),
    route("signed-request/send", signed_request_send),
    route("stats", stats),
    route("stats/reset", stats_reset),
    route("reset", reset),
]
