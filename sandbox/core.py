"""The sandbox's plumbing: clock, Meta's error envelope, parameters, tokens, routing, the call
log and usage headers (injected faults are `sandbox.faults`, above the world they look into).
Endpoint modules register handlers here:

    @route("graph.facebook.com", r"oauth/access_token")          # an exact path
    def exchange(req: SandboxRequest) -> dict | HttpResponse: ...

    @node("ig_user", edge="insights")                              # /<id>/insights for IG users
    def user_insights(req: SandboxRequest, account) -> dict: ...

    @resolver("ig_user")                                           # id -> object, or None
    def find_ig_user(req, node_id): ...

Handlers return a dict (sent as JSON, 200) or an HttpResponse, or raise GraphError.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from . import world_settings
from .models import CallLog, Clock, InstagramAccount, Token

HOSTS = (
    "graph.facebook.com",
    "graph.instagram.com",
    "www.facebook.com",
    "www.instagram.com",
    "api.instagram.com",
    "scontent.cdninstagram.com",  # the image CDN (profile pictures), sandbox/cdn.py
)
GRAPH_HOSTS = ("graph.facebook.com", "graph.instagram.com")
PACIFIC = ZoneInfo("America/Los_Angeles")
VERSION_RE = re.compile(r"^v\d+\.\d+/?")
LATEST_VERSION = "v27.0"  # Meta's latest (docs/graph-api.md §2); calls name the one served


# --- Clock ------------------------------------------------------------------------------------


_frozen_now: ContextVar[datetime | None] = ContextVar("sandbox_frozen_now", default=None)


def now() -> datetime:
    """The sandbox's current time (real time plus the control API's offset)."""
    frozen = _frozen_now.get()
    if frozen is not None:
        return frozen
    row = Clock.objects.filter(pk=1).values_list("offset_seconds", "frozen_at").first()
    if row is None:
        return timezone.now()
    offset, frozen_at = row
    return frozen_at or timezone.now() + timedelta(seconds=offset or 0)


_request_memo: ContextVar[dict | None] = ContextVar("sandbox_request_memo", default=None)


@contextmanager
def frozen_clock() -> Iterator[datetime]:
    """One instant for a request and its sub-requests (batch, ?ids=), and a memo for lookups
    they would otherwise repeat per operation (the faults, tokens, accounts, an account's
    budget). The request's call-log rows are written together when it ends (one INSERT for a
    batch and its operations); budgets count them from the memo meanwhile, so every answer is
    the one the rows written one by one would have given."""
    outer = _request_memo.get() is None
    token = _frozen_now.set(now())
    memo = _request_memo.set({} if outer else _request_memo.get())
    try:
        yield _frozen_now.get()
    finally:
        rows = _request_memo.get().get("log_rows") if outer else None
        _request_memo.reset(memo)
        _frozen_now.reset(token)
        if rows:
            CallLog.objects.bulk_create(rows)


def forget_tokens() -> None:
    """A token changed mid-request (a revoke fault): later operations read it again."""
    memo = _request_memo.get()
    if memo is not None:
        for key in [k for k in memo if k[0] == "token"]:
            del memo[key]


def memoized(key: tuple, compute: Callable[[], Any]) -> Any:
    memo = _request_memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def move_clock(
    *, seconds: float | None = None, to: datetime | None = None, freeze: bool | None = None
) -> datetime:
    """Move the clock (by `seconds` or `to` a moment) and/or freeze or unfreeze it. Unfrozen,
    it runs on from where it stood."""
    with transaction.atomic():
        clock, _ = Clock.objects.select_for_update().get_or_create(pk=1)
        current = clock.frozen_at or timezone.now() + timedelta(seconds=clock.offset_seconds)
        if to is not None:
            current = to
        elif seconds is not None:
            current += timedelta(seconds=seconds)
        frozen = freeze if freeze is not None else clock.frozen_at is not None
        if frozen:
            current = current.replace(microsecond=0)  # a whole second, as clients send since/until
        clock.frozen_at = current if frozen else None
        clock.offset_seconds = (current - timezone.now()).total_seconds()
        clock.save()
    return now()


def reset_clock() -> None:
    Clock.objects.update_or_create(pk=1, defaults={"offset_seconds": 0, "frozen_at": None})


def meta_time(dt: datetime) -> str:
    """Meta's timestamp form: 2026-08-02T07:00:00+0000."""
    return dt.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S+0000")


# --- Errors -------------------------------------------------------------------------------------


class GraphError(Exception):
    """Meta's error envelope. Raise it from any handler."""

    def __init__(
        self,
        message: str,
        code: int = 100,
        *,
        type: str = "OAuthException",
        subcode: int | None = None,
        status: int = 400,
        is_transient: bool = False,
        user_title: str | None = None,
        user_msg: str | None = None,
        error_data: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.message, self.code, self.type, self.subcode = message, code, type, subcode
        self.status, self.is_transient = status, is_transient
        self.user_title, self.user_msg, self.error_data = user_title, user_msg, error_data
        self.headers = headers or {}

    def body(self) -> dict:
        error: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.error_data is not None:
            error["error_data"] = self.error_data
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = self.is_transient
        if self.user_title:
            error["error_user_title"] = self.user_title
        if self.user_msg:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        if self.code == 190:
            response["WWW-Authenticate"] = (
                'OAuth "Facebook Platform" "invalid_token" ' + json.dumps(self.message)
            )
        return response


class PlainError(Exception):
    """An error body that is not Graph's envelope (api.instagram.com's own shape, for one)."""

    def __init__(self, body: dict, status: int = 400):
        super().__init__(str(body))
        self.body, self.status = body, status


def fbtrace_id() -> str:
    return secrets.token_urlsafe(8).replace("-", "A").replace("_", "B")[:11]


def unsupported_get(node_id: str) -> GraphError:
    return GraphError(
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        type="GraphMethodException",
        subcode=33,
    )


def _pdt(dt: datetime) -> str:
    local = dt.astimezone(PACIFIC)
    return local.strftime("%A, %d-%b-%y %H:%M:%S ") + (local.tzname() or "PDT")


# --- Parameters ---------------------------------------------------------------------------------


def parse_list(value: str | None) -> list[str]:
    """Meta accepts `a,b,c` and `["a","b","c"]` (its own SDK sends JSON arrays)."""
    if value is None:
        return []
    value = value.strip()
    if value.startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            raise GraphError("(#100) Invalid parameter", 100) from None
        return [str(i).strip() for i in items if str(i).strip()]
    return [v.strip() for v in value.split(",") if v.strip()]


@dataclass
class SandboxRequest:
    http: HttpRequest
    host: str
    path: str  # without the version prefix and without leading/trailing slashes
    version: str | None
    params: dict[str, str]
    token: Token | None = None
    account_id: str = ""  # ig_user_id the call concerns (for stats, limits and faults)
    path_pattern: str = ""
    counted_calls: int = 1
    extra_headers: dict[str, str] = field(default_factory=dict)
    buc_percent: tuple[str, int] | None = None  # (account, percent) memo of request_buc_percent
    _served: str | None = None

    @property
    def served_version(self) -> str:
        """The version that answers this call (sandbox/versions.py): an expired one is served by
        the oldest available, an unversioned call by the app's version. Raises GraphError for a
        version Meta never had."""
        if self._served is None:
            from . import versions

            try:
                self._served = versions.served(self.version, now().date())
            except versions.UnknownVersion:
                rest = "/" + self.path if self.path else ""
                raise GraphError(f"Unknown path components: {rest or '/'}", 2500) from None
        return self._served

    @property
    def method(self) -> str:
        return self.http.method or "GET"

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def list_param(self, name: str) -> list[str]:
        return parse_list(self.params.get(name))

    def base_url(self) -> str:
        """This host's URL as the caller reached it (for paging links)."""
        prefix = self.http.path[: self.http.path.index(self.host) + len(self.host)]
        return self.http.build_absolute_uri(prefix)


def collect_params(request: HttpRequest) -> dict[str, str]:
    params = {k: v for k, v in request.GET.items()}
    if request.method == "POST":
        if request.content_type == "application/json":
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = {}
            if isinstance(body, dict):
                params.update(
                    {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
                )
        else:
            params.update({k: v for k, v in request.POST.items()})
    return params


def token_string(request: HttpRequest, params: dict[str, str]) -> str | None:
    header = request.headers.get("Authorization", "")
    match = re.match(r"(?i)^(bearer|oauth)\s+(\S+)$", header.strip())
    if match:
        return match.group(2)
    return params.get("access_token") or None


# --- Tokens -------------------------------------------------------------------------------------

TOKEN_LIFETIME = {
    Token.Kind.FB_SHORT: timedelta(hours=2),
    Token.Kind.FB_LONG: timedelta(days=60),
    Token.Kind.IG_SHORT: timedelta(hours=1),
    Token.Kind.IG_LONG: timedelta(days=60),
    Token.Kind.PAGE: None,
}
REVOKED_MESSAGES = {
    458: "Error validating access token: The user has not authorized application {app}.",
    459: "Error validating access token: You cannot access the app till you log in to "
    "www.facebook.com and follow the instructions given.",
    460: "Error validating access token: The session has been invalidated because the user "
    "changed their password or Facebook has changed the session for security reasons.",
    464: "Error validating access token: Sessions for the user  are not allowed because the "
    "user is not a confirmed user.",
    467: "Error validating access token: The session is invalid because the user logged out.",
    492: "Error validating access token: The user is not an admin of the Page.",
}


def issue_token(
    kind: str,
    *,
    person,
    ig_account=None,
    page=None,
    scopes=(),
    declined=(),
    granted_page_ids=(),
    issued_at: datetime | None = None,
) -> Token:
    prefix = "IGAA" if kind.startswith("ig") else "EAAG"
    issued = issued_at or now()
    lifetime = TOKEN_LIFETIME[kind]
    return Token.objects.create(
        token=prefix + secrets.token_urlsafe(48).replace("-", "x").replace("_", "Z"),
        kind=kind,
        person=person,
        ig_account=ig_account,
        page=page,
        scopes=list(scopes),
        declined_scopes=list(declined),
        granted_page_ids=list(granted_page_ids),
        issued_at=issued,
        expires_at=issued + lifetime if lifetime else None,
    )


def expires_in(token: Token) -> int | None:
    if token.expires_at is None:
        return None
    return max(0, int((token.expires_at - now()).total_seconds()))


def check_token(token: Token | None, raw: str | None, host: str) -> Token:
    """Validate a token for a Graph call on `host`, raising Meta's 190 errors."""
    if not raw:
        raise GraphError(
            "An active access token must be used to query information about the current user.", 2500
        )
    if token is None:
        raise GraphError("Invalid OAuth access token - Cannot parse access token", 190)
    if host in GRAPH_HOSTS and token.host != host:
        raise GraphError("Invalid OAuth access token - Cannot parse access token", 190)
    if token.revoked_subcode:
        app = "sandbox"
        raise GraphError(
            REVOKED_MESSAGES.get(token.revoked_subcode, REVOKED_MESSAGES[467]).format(app=app),
            190,
            subcode=token.revoked_subcode,
        )
    current = now()
    if token.expires_at is not None and token.expires_at <= current:
        raise GraphError(
            f"Error validating access token: Session has expired on {_pdt(token.expires_at)}. "
            f"The current time is {_pdt(current)}.",
            190,
            subcode=463,
        )
    return token


# --- Routing ------------------------------------------------------------------------------------

Handler = Callable[..., Any]
_routes: list[tuple[tuple[str, ...], re.Pattern, str, Handler]] = []
_nodes: dict[tuple[str, str | None], Handler] = {}
_resolvers: list[tuple[str, Handler]] = []


def route(
    hosts: str | tuple[str, ...], pattern: str, *, methods=("GET", "POST"), auth: bool = False
) -> Callable[[Handler], Handler]:
    """Register a handler for an exact path (regex, anchored) on one or more hosts."""
    hosts = (hosts,) if isinstance(hosts, str) else tuple(hosts)

    def decorator(fn: Handler) -> Handler:
        fn.sandbox_methods = methods
        fn.sandbox_auth = auth
        _routes.append((hosts, re.compile(rf"^{pattern}/?$"), pattern, fn))
        return fn

    return decorator


def node(kind: str, edge: str | None = None, *, methods=("GET",)) -> Callable[[Handler], Handler]:
    """Register the handler for GET /<id> (edge None) or /<id>/<edge> of a node kind."""

    def decorator(fn: Handler) -> Handler:
        fn.sandbox_methods = methods
        _nodes[(kind, edge)] = fn
        return fn

    return decorator


def resolver(kind: str) -> Callable[[Handler], Handler]:
    """Register `fn(req, node_id) -> object | None` that recognises ids of a node kind."""

    def decorator(fn: Handler) -> Handler:
        _resolvers.append((kind, fn))
        return fn

    return decorator


def resolve_node(req: SandboxRequest, node_id: str) -> tuple[str, Any]:
    for kind, fn in _resolvers:
        obj = fn(req, node_id)
        if obj is not None:
            return kind, obj
    raise unsupported_get(node_id)


NODE_PATH = re.compile(r"^(?P<id>[^/]+)(?:/(?P<edge>[a-z_]+))?$")


def dispatch(req: SandboxRequest) -> Any:
    """Find and run the handler for a request. Used by the view and by batch operations."""
    if req.host in GRAPH_HOSTS:
        check_protocol(req)
    for hosts, pattern, raw, fn in _routes:
        if req.host in hosts and pattern.match(req.path):
            req.path_pattern = req.path_pattern or "/" + raw.replace("\\", "")
            if req.method not in fn.sandbox_methods:
                raise GraphError(f"Unsupported request - method type: {req.method.lower()}", 100)
            return fn(req, **pattern.match(req.path).groupdict())
    if req.host not in GRAPH_HOSTS:
        return HttpResponse(
            "Sorry, this page isn't available.", status=404, content_type="text/html; charset=utf-8"
        )
    match = NODE_PATH.match(req.path)
    if not match:
        raise GraphError("Unknown path components: /" + req.path, 2500)
    node_id, edge = match.group("id"), match.group("edge")
    raw = token_string(req.http, req.params)
    req.token = check_token(
        memoized(
            ("token", raw),
            lambda: Token.objects.filter(token=raw).select_related("person", "ig_account").first(),
        )
        if raw
        else None,
        raw,
        req.host,
    )
    kind, obj = resolve_node(req, node_id)  # resolvers set req.account_id for IG objects
    check_budget(req)
    handler = _nodes.get((kind, edge))
    req.path_pattern = req.path_pattern or f"/{{{kind}}}" + (f"/{edge}" if edge else "")
    if handler is None:
        if edge is None:
            raise unsupported_get(node_id)
        raise GraphError(
            f"(#100) Tried accessing nonexisting field ({edge}) on node type ({kind_label(kind)})",
            100,
        )
    if req.method not in handler.sandbox_methods:
        raise GraphError(f"Unsupported {req.method.lower()} request.", 100)
    return handler(req, obj)


def check_protocol(req: SandboxRequest) -> None:
    """The version (an unknown one is refused) and the legacy features Meta refuses
    (sandbox/versions.py): for every app since v26.0's retirement, for new apps since v27.0."""
    from . import versions

    served = req.served_version
    feature = versions.refused_feature(req.params, req.path, req.method, served, now())
    if feature:
        who = (
            "apps created on or after November 4, 2026"
            if versions.is_new_app(now().date())
            else "any app since Graph API v26.0"
        )
        # [UNC] the envelope: code 12 is Graph's code for a deprecated API.
        raise GraphError(f"(#12) {feature} cannot be used by {who}", 12)


def kind_label(kind: str) -> str:
    return {"ig_user": "IGUser", "media": "IGMedia", "page": "Page", "user": "User"}.get(kind, kind)


# --- Usage and the call log ---------------------------------------------------------------------


def usage_headers(
    req: SandboxRequest, *, force_percent: int | None = None, regain_minutes: int = 0
) -> dict[str, str]:
    """X-App-Usage and, for account calls, X-Business-Use-Case-Usage (type instagram) — each
    only "once enough calls have been made" (§7.2): from the world setting
    usage_headers_min_percent of its budget on (after ~250 calls one account first showed
    call_count 1 [OBS]). A throttled answer (force_percent) always carries them."""
    threshold = 0 if force_percent is not None else world_settings.get("usage_headers_min_percent")
    headers = {}
    # The app's hourly count, once per request (percent steps of 50 calls: a batch's own
    # operations hardly move it).
    app_calls = memoized(
        ("app_calls",), lambda: CallLog.objects.filter(at__gte=now() - timedelta(hours=1)).count()
    )
    app_pct = min(100, app_calls // 50)  # the sandbox app's hourly platform budget: 5,000
    if app_pct >= threshold:
        if req.host == "graph.instagram.com":
            # Its own field names: {"call_volume":0,"cpu_time":0} (restfb#1571, 2025-04-30).
            usage = {"call_volume": app_pct, "cpu_time": app_pct // 2}
        else:
            usage = {
                "call_count": app_pct,
                "total_cputime": app_pct // 2,
                "total_time": app_pct // 2,
            }
        headers["X-App-Usage"] = json.dumps(usage)
    if req.account_id:
        pct = force_percent if force_percent is not None else request_buc_percent(req)
        if pct < threshold:
            return headers
        headers["X-Business-Use-Case-Usage"] = json.dumps(
            {
                req.account_id: [
                    {
                        "type": "instagram",
                        "call_count": pct,
                        "total_cputime": max(0, pct // 3),
                        "total_time": max(0, pct // 3),
                        "estimated_time_to_regain_access": regain_minutes,
                    }
                ]
            }
        )
    return headers


def buc_used(account_id: str) -> int:
    """Counted calls of the account in the last 24 hours: the stored ones (read once per
    request) and those of this request not written yet (see frozen_clock)."""

    def stored() -> int:
        since = now() - timedelta(hours=24)
        total = CallLog.objects.filter(account=account_id, at__gte=since).aggregate(
            n=Sum("counted_calls")
        )["n"]
        return total or 0

    pending = (_request_memo.get() or {}).get(("pending_calls", account_id), 0)
    return memoized(("buc_used", account_id), stored) + pending


BUC_PER_IMPRESSION = 4800  # calls per 24 h = 4800 × impressions (rate-limiting doc)


def buc_budget(account_id: str) -> int:
    """The account's Business Use Case budget: 4,800 × its impressions of the last 24 hours
    (docs/graph-api.md §6). The sandbox's impressions are the account's views of the last
    complete Pacific day (views replaced impressions); a sandbox account's `call_budget`, when
    set, overrides the formula (tests that need a small budget)."""
    account = InstagramAccount.objects.filter(ig_user_id=account_id).first()
    if account is None:
        return BUC_PER_IMPRESSION
    if account.call_budget:
        return account.call_budget
    views = _impressions(account) if _impressions else 0
    return BUC_PER_IMPRESSION * max(1, views)


# The world (which imports this module) registers how it counts an account's impressions.
_impressions: Callable[[Any], int] | None = None


def register_impressions(fn: Callable[[Any], int]) -> None:
    global _impressions
    _impressions = fn


def buc_percent(account_id: str) -> int:
    budget = memoized(("budget", account_id), lambda: _cached_budget(account_id))
    return min(100, buc_used(account_id) * 100 // max(1, budget))


_budget_cache: dict[tuple[str, int], int] = {}


def _cached_budget(account_id: str) -> int:
    """Once per account and hour (the day's views are the same all day; `call_budget` may
    change through the control API, which clears this)."""
    key = (account_id, int(now().timestamp()) // 3600)
    if key not in _budget_cache:
        if len(_budget_cache) > 10_000:
            _budget_cache.clear()
        _budget_cache[key] = buc_budget(account_id)
    return _budget_cache[key]


def forget_budgets() -> None:
    _budget_cache.clear()


def request_buc_percent(req: SandboxRequest) -> int:
    """The account's usage before this request (computed once per request)."""
    if req.buc_percent is None or req.buc_percent[0] != req.account_id:
        req.buc_percent = (req.account_id, buc_percent(req.account_id))
    return req.buc_percent[1]


def check_budget(req: SandboxRequest) -> None:
    """80002 once the account's rolling 24-hour budget is spent."""
    if req.account_id and request_buc_percent(req) >= 100:
        raise GraphError(
            "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
            "try again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
            80002,
            headers=usage_headers(req, force_percent=100, regain_minutes=60),
        )


def log_call(req: SandboxRequest, status: int, *, in_batch: bool = False) -> None:
    row = CallLog(
        at=now(),
        host=req.host,
        method=req.method,
        path_pattern=req.path_pattern[:120] or "/" + req.path[:119],
        account=req.account_id,
        token_id=req.token.pk if req.token else None,
        status=status,
        counted_calls=req.counted_calls,
        in_batch=in_batch,
    )
    memo = _request_memo.get()
    if memo is None:
        row.save()
        return
    memo.setdefault("log_rows", []).append(row)
    key = ("pending_calls", req.account_id)
    memo[key] = memo.get(key, 0) + (req.counted_calls or 0)


def token_fingerprint(token_id: int | None) -> str:
    return hashlib.sha256(str(token_id).encode()).hexdigest()[:8] if token_id else ""
