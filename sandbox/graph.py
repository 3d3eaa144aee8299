"""Graph reads on graph.facebook.com and graph.instagram.com: IG users, media, stories, album
children, field expansion, insights (sandbox/graph_insights.py), `?ids=` and batch requests.

Access follows Meta's rules: a token reads an IG professional account only if it owns it (the
Instagram-Login token's account; a Facebook user token granted the Page linked to the account;
that Page's token). Anything else is the generic "Unsupported get request" (100/33), which is
also what Meta answers for ids that do not exist, so ids of other people's accounts cannot be
probed. Missing permissions are (#10).

Plain `/me` and Pages belong to sandbox/oauth.py; this module only claims `me` on
graph.instagram.com when it is followed by one of the IG user edges here (/me/media, …).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict

from . import cdn, core, faults, world, world_settings
from .core import GRAPH_HOSTS, GraphError, SandboxRequest, node, resolver, route
from .graph_insights import IG_HOST, Ctx, media_insights, parse_time, user_insights
from .models import InstagramAccount, Page, Token

BASIC_SCOPE = {"graph.facebook.com": "instagram_basic", IG_HOST: "instagram_business_basic"}
INSIGHTS_SCOPE = {
    "graph.facebook.com": "instagram_manage_insights",
    IG_HOST: "instagram_business_manage_insights",
}
USER_EDGES = ("media", "stories", "insights")
DEFAULT_LIMIT, MAX_LIMIT = 25, 100  # the per-edge maximum is undocumented [UNC]
MAX_IDS = 50
MAX_BATCH = 50


# --- Access ---------------------------------------------------------------------------------------


def linked_page(account: InstagramAccount) -> Page | None:
    try:
        return account.page
    except Page.DoesNotExist:
        return None


def owns(token: Token | None, account: InstagramAccount) -> bool:
    """Whether `token` may read `account` at all."""
    if token is None:
        return False
    if token.kind in (Token.Kind.IG_SHORT, Token.Kind.IG_LONG):
        return token.ig_account_id == account.pk
    page = linked_page(account)
    # Only professional accounts can be a Page's instagram_business_account.
    if page is None or not account.is_professional:
        return False
    if token.kind == Token.Kind.PAGE:
        return token.page_id == page.pk
    return page.page_id in (token.granted_page_ids or [])


def require_scope(req: SandboxRequest, scopes: dict[str, str]) -> None:
    if scopes[req.host] not in (req.token.scopes or []):
        raise GraphError("(#10) Application does not have permission for this action", 10)


def require_professional(req: SandboxRequest, account: InstagramAccount) -> None:
    """Personal accounts have no media or insights through this API."""
    if not account.is_professional:
        raise core.unsupported_get(req.path.split("/")[0])


# --- Resolvers ------------------------------------------------------------------------------------


@resolver("ig_user")
def find_ig_user(req: SandboxRequest, node_id: str) -> InstagramAccount | None:
    if node_id == "me":
        edge = req.path.partition("/")[2]
        token = req.token
        if req.host != IG_HOST or edge not in USER_EDGES or token is None or not token.ig_account:
            return None
        account = token.ig_account
    elif node_id.isdigit() and world.decode_id(node_id) is None:  # media ids decode; users don't
        account = core.memoized(  # once per request: a batch's operations share it
            ("ig_user", node_id),
            lambda: (
                InstagramAccount.objects.filter(ig_user_id=node_id).select_related("page").first()
            ),
        )
    else:
        return None
    if account is None or not owns(req.token, account):
        return None
    req.account_id = account.ig_user_id
    return account


@resolver("media")
def find_media(req: SandboxRequest, node_id: str) -> world.MediaItem | None:
    if not node_id.isdigit():
        return None
    item = world.get_media(node_id)
    # Stories vanish after 24 hours: node and insights both answer 100/33 ([UNC]: Meta's exact
    # error for expired stories is undocumented; 100/33 reads as "gone", not as a permission issue).
    if item is None or item.expired(core.now()) or not owns(req.token, item.account):
        return None
    req.account_id = item.account.ig_user_id
    return item


# --- Field expansion ------------------------------------------------------------------------------


@dataclass
class FieldSpec:
    """One requested field: `insights.metric(reach,views){name,values}` → name "insights",
    mods {"metric": "reach,views"}, sub [name, values]."""

    name: str
    mods: dict[str, str] = field(default_factory=dict)
    sub: list[FieldSpec] | None = None
    sub_raw: str | None = None


class _FieldParser:
    NAME = re.compile(r"[A-Za-z0-9_]+")

    def __init__(self, text: str):
        self.s, self.i = text, 0

    def fail(self, expected: str) -> GraphError:
        got = f'"{self.s[self.i]}"' if self.i < len(self.s) else "end of string"
        return GraphError(
            f'Syntax error "Expected {expected} instead of {got}." at character {self.i}: {self.s}',
            2500,
        )

    def peek(self) -> str:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self, closing: str = "") -> list[FieldSpec]:
        """A comma-separated list up to `closing` ("}" inside braces, end of string at the top).
        Empty items (`id,,name`, a trailing comma) are tolerated, as Meta does."""
        specs: list[FieldSpec] = []
        while True:
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c == closing or (c == "" and not closing):
                break
            elif c == "":
                raise self.fail(f'"{closing}"')
            elif c == "}" and not closing:
                raise self.fail("end of string")
            else:
                specs.append(self.item())
                if self.peek() not in (",", closing, ""):
                    raise self.fail('","' if closing else "end of string")
        self.i += len(closing)
        return specs

    def name(self) -> str:
        self.peek()
        match = self.NAME.match(self.s, self.i)
        if not match:
            raise self.fail("a field name")
        self.i = match.end()
        return match.group(0)

    def item(self) -> FieldSpec:
        spec = FieldSpec(self.name())
        while self.peek() in (".", "{"):
            if self.s[self.i] == ".":
                self.i += 1
                mod = self.name()
                if self.peek() != "(":
                    raise self.fail('"("')
                end = self.s.find(")", self.i)
                if end < 0:
                    raise self.fail('")"')
                spec.mods[mod] = self.s[self.i + 1 : end].strip()
                self.i = end + 1
            else:
                self.i += 1
                start = self.i
                spec.sub = self.parse("}")
                spec.sub_raw = self.s[start : self.i - 1]
        return spec


def parse_fields(value: str | None) -> list[FieldSpec]:
    """`fields` as Meta reads it; Meta's SDK may send a JSON array of field strings."""
    if not value:
        return []
    value = value.strip()
    if value.startswith("["):
        value = ",".join(core.parse_list(value))
    return _FieldParser(value).parse()


ABSENT = object()
FieldFn = Callable[[Ctx, Any, FieldSpec], Any]


def nonexisting_field(name: str, node_type: str) -> GraphError:
    return GraphError(
        f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100
    )


def render(
    ctx: Ctx, obj: Any, specs: list[FieldSpec], table: dict[str, FieldFn], node_type: str
) -> dict:
    """Only the requested fields, in order; absent values omitted (never null); `id` always."""
    for spec in specs:
        if spec.name not in table:
            raise nonexisting_field(spec.name, node_type)
    out: dict = {}
    for spec in specs:
        value = table[spec.name](ctx, obj, spec)
        if value is not ABSENT:
            out[spec.name] = value
    if "id" not in out:
        out["id"] = table["id"](ctx, obj, FieldSpec("id"))
    return out


def _optional(value: Any) -> Any:
    return value if value not in (None, "") else ABSENT


def legacy_user_id(account: InstagramAccount) -> int:
    return 10**9 + world._h("legacy", account.ig_user_id) % (9 * 10**9)


# --- IG user --------------------------------------------------------------------------------------


def profile_picture_url(account: InstagramAccount, req: core.SandboxRequest) -> str:
    """Meta answers with an expiring CDN URL; the sandbox's CDN (sandbox/cdn.py) serves it, under
    the same prefix as the other emulated hosts, so clients can fetch and cache the picture."""
    sig = world._h("avatar", account.ig_user_id) % 10**12
    sandbox_root = req.base_url().rsplit("/", 1)[0]
    return (
        f"{sandbox_root}/{cdn.HOST}/v/t51.2885-19/{account.ig_user_id}_{sig}_n.jpg"
        f"?stp=dst-jpg_s206x206&_nc_ht={cdn.HOST}&oe={sig % 16**8:08X}"
    )


def _user_edge(name: str) -> FieldFn:
    def expand(ctx: Ctx, account: InstagramAccount, spec: FieldSpec) -> Any:
        if not account.is_professional:
            return ABSENT
        path = f"{account.ig_user_id}/{name}"
        if name == "insights":
            require_scope(ctx.req, INSIGHTS_SCOPE)
            return user_insights(ctx, account, spec.mods, path)
        if name == "media":
            return media_edge(ctx, account, spec.mods, spec, path)
        return stories_edge(ctx, account, spec.mods, spec, path)

    return expand


USER_FIELDS: dict[str, FieldFn] = {
    "id": lambda c, a, s: a.ig_user_id,
    "username": lambda c, a, s: a.username,
    "name": lambda c, a, s: _optional(a.name),
    "biography": lambda c, a, s: _optional(a.biography),
    "website": lambda c, a, s: _optional(a.website),
    "profile_picture_url": lambda c, a, s: profile_picture_url(a, c.req),
    "followers_count": lambda c, a, s: world.followers_now(world.profile(a), c.at),
    "follows_count": lambda c, a, s: a.follows,
    "media_count": lambda c, a, s: world.media_count(a, c.at),
    "has_profile_pic": lambda c, a, s: True,
    "is_published": lambda c, a, s: True,
    # The account's id on the legacy Instagram API (a JSON number, as Meta sends it) and the
    # same id as the Marketing API's Instagram ads endpoints name it (a string).
    "ig_id": lambda c, a, s: legacy_user_id(a),
    "legacy_instagram_user_id": lambda c, a, s: str(legacy_user_id(a)),
    "shopping_product_tag_eligibility": lambda c, a, s: False,
    "alt_text": lambda c, a, s: ABSENT,  # listed for IG users in the reference (sic); never set
    **{edge: _user_edge(edge) for edge in USER_EDGES},
}
# Instagram Login's profile fields (`/me?fields=user_id,account_type`, graph-api.md §1B).
IG_LOGIN_USER_FIELDS: dict[str, FieldFn] = {
    "user_id": lambda c, a, s: a.ig_user_id,
    "account_type": lambda c, a, s: a.account_type,
}


def render_user(ctx: Ctx, account: InstagramAccount, specs: list[FieldSpec]) -> dict:
    table = USER_FIELDS if ctx.host != IG_HOST else {**USER_FIELDS, **IG_LOGIN_USER_FIELDS}
    return render(ctx, account, specs, table, "IGUser")


@node("ig_user")
def ig_user_node(req: SandboxRequest, account: InstagramAccount) -> dict:
    require_scope(req, BASIC_SCOPE)
    return render_user(Ctx.of(req), account, parse_fields(req.param("fields")))


@node("ig_user", edge="media")
def ig_user_media(req: SandboxRequest, account: InstagramAccount) -> dict:
    require_professional(req, account)
    require_scope(req, BASIC_SCOPE)
    spec = FieldSpec("media", sub=parse_fields(req.param("fields")), sub_raw=req.param("fields"))
    return media_edge(Ctx.of(req), account, req.params, spec, req.path)


@node("ig_user", edge="stories")
def ig_user_stories(req: SandboxRequest, account: InstagramAccount) -> dict:
    require_professional(req, account)
    require_scope(req, BASIC_SCOPE)
    spec = FieldSpec("stories", sub=parse_fields(req.param("fields")), sub_raw=req.param("fields"))
    return stories_edge(Ctx.of(req), account, req.params, spec, req.path)


@node("ig_user", edge="insights")
def ig_user_insights(req: SandboxRequest, account: InstagramAccount) -> dict:
    require_professional(req, account)
    require_scope(req, INSIGHTS_SCOPE)
    return user_insights(Ctx.of(req), account, req.params, req.path)


# --- Edges and paging -----------------------------------------------------------------------------


def parse_limit(value: str | None) -> int:
    try:
        limit = int(value) if value not in (None, "") else DEFAULT_LIMIT
    except ValueError:
        raise GraphError("(#100) Param limit must be a number", 100)
    return max(1, min(MAX_LIMIT, limit))


def link_params(ctx: Ctx, params: dict, spec: FieldSpec) -> dict:
    """The query a paging URL repeats. A nested edge's URL points at the edge itself, with the
    sub-fields as `fields`. access_token is repeated only if the caller sent it as a parameter
    (Meta always repeats it; the sandbox keeps header-borne tokens out of URLs and logs)."""
    if params is ctx.req.params:
        base = {k: v for k, v in params.items() if k not in ("after", "before")}
    else:
        base = {"access_token": ctx.req.params.get("access_token"), "fields": spec.sub_raw}
        base.update({k: v for k, v in params.items() if k not in ("after", "before")})
    return base


def paged(ctx: Ctx, page: world.MediaPage, data: list, path: str, params: dict) -> dict:
    if not page.items:
        return {"data": []}  # past the end: no cursors, no next
    paging: dict = {"cursors": {"before": page.before, "after": page.after}}
    if page.has_previous:
        paging["previous"] = ctx.link(path, {**params, "before": page.before})
    if page.has_next:
        paging["next"] = ctx.link(path, {**params, "after": page.after})
    return {"data": data, "paging": paging}


def media_edge(ctx: Ctx, account, params: dict, spec: FieldSpec, path: str) -> dict:
    limit = parse_limit(params.get("limit"))
    page = world.page_media(
        account,
        after=params.get("after"),
        before=params.get("before"),
        limit=limit,
        since=parse_time(params.get("since"), "since"),
        until=parse_time(params.get("until"), "until", is_until=True),
        at=ctx.at,
    )
    data = [render_media(ctx, item, spec.sub or []) for item in page.items]
    return paged(ctx, page, data, path, link_params(ctx, params, spec))


def slice_page(items: list, keyfn, params: dict) -> world.MediaPage:
    """Cursor paging over a short list sorted by descending `keyfn` (stories, children)."""
    limit = parse_limit(params.get("limit"))
    after, before = params.get("after"), params.get("before")
    if before:
        key = world.decode_cursor(before)
        newer = [i for i in items if key is not None and keyfn(i) > key]
        chunk = newer[-limit:]
        return world.MediaPage(chunk, has_previous=len(newer) > limit, has_next=bool(chunk))
    if after:
        key = world.decode_cursor(after)
        older = [i for i in items if key is not None and keyfn(i) < key]
        return world.MediaPage(older[:limit], has_previous=True, has_next=len(older) > limit)
    return world.MediaPage(items[:limit], has_previous=False, has_next=len(items) > limit)


class _KeyedPage(world.MediaPage):
    """A page whose cursors come from a custom sort key (children are ordered by position)."""

    def __init__(self, page: world.MediaPage, keyfn):
        super().__init__(page.items, page.has_previous, page.has_next)
        self.keyfn = keyfn

    @property
    def before(self) -> str | None:
        return world.encode_cursor(self.keyfn(self.items[0])) if self.items else None

    @property
    def after(self) -> str | None:
        return world.encode_cursor(self.keyfn(self.items[-1])) if self.items else None


def stories_edge(ctx: Ctx, account, params: dict, spec: FieldSpec, path: str) -> dict:
    items = world.active_stories(account, ctx.at)
    page = slice_page(items, lambda m: m.key, params)
    data = [render_media(ctx, item, spec.sub or []) for item in page.items]
    return paged(ctx, page, data, path, link_params(ctx, params, spec))


def children_edge(ctx: Ctx, item: world.MediaItem, params: dict, spec: FieldSpec) -> dict:
    def keyfn(m: world.MediaItem) -> tuple[int, str]:
        return (-m.index, m.id)

    page = _KeyedPage(slice_page(item.children(), keyfn, params), keyfn)
    data = [render_media(ctx, child, spec.sub or []) for child in page.items]
    return paged(ctx, page, data, f"{item.id}/children", link_params(ctx, params, spec))


# --- Media ----------------------------------------------------------------------------------------


def _count(name: str, *, stories: bool = False) -> FieldFn:
    def value(ctx: Ctx, item: world.MediaItem, spec: FieldSpec) -> Any:
        if item.is_child or (item.is_story and not stories):
            return ABSENT
        return ctx.metrics(item).get(name, 0)

    return value


def _facebook_only(fn: FieldFn) -> FieldFn:
    def value(ctx: Ctx, item: world.MediaItem, spec: FieldSpec) -> Any:
        if ctx.host == IG_HOST:
            raise nonexisting_field(spec.name, "IGMedia")  # Facebook Login only [DOC]
        return fn(ctx, item, spec)

    return value


def _children(ctx: Ctx, item: world.MediaItem, spec: FieldSpec) -> Any:
    if not item.is_album:
        return ABSENT
    return children_edge(ctx, item, spec.mods, spec)


def _insights(ctx: Ctx, item: world.MediaItem, spec: FieldSpec) -> Any:
    # Field expansion has whole-request semantics: one item's error fails everything [OBS].
    if ctx.host == IG_HOST and not ctx.settings["instagram_insights_expansion"]:
        raise nonexisting_field("insights", "IGMedia")  # world setting, docs/graph-api.md §1
    require_scope(ctx.req, INSIGHTS_SCOPE)
    result = media_insights(ctx, item, spec.mods)
    if spec.sub:
        keep = {s.name for s in spec.sub} | {"id"}
        result["data"] = [{k: v for k, v in m.items() if k in keep} for m in result["data"]]
    return result


def _feed_only(fn: Callable[[world.MediaItem], Any]) -> FieldFn:
    """Fields that album children do not have (caption, permalink, counts)."""
    return lambda c, m, s: ABSENT if m.is_child else fn(m)


MEDIA_FIELDS: dict[str, FieldFn] = {
    "id": lambda c, m, s: m.id,
    "caption": _feed_only(lambda m: _optional(m.caption)),
    "media_type": lambda c, m, s: m.media_type,
    "media_product_type": lambda c, m, s: ABSENT if m.is_child else m.product_type,
    "media_url": lambda c, m, s: (
        ABSENT if m.copyright_flagged else cdn.local_url(c.req, m.media_url)
    ),
    "permalink": _feed_only(lambda m: m.permalink),
    "shortcode": lambda c, m, s: m.shortcode,
    "thumbnail_url": lambda c, m, s: (
        cdn.local_url(c.req, m.thumbnail_url) if m.media_type == "VIDEO" else ABSENT
    ),
    "timestamp": lambda c, m, s: core.meta_time(m.posted_at),
    "username": lambda c, m, s: m.account.username,
    "owner": lambda c, m, s: {"id": m.account.ig_user_id},
    "like_count": _count("likes"),
    "comments_count": _count("comments"),
    "is_comment_enabled": _feed_only(lambda m: m.comments_enabled),
    "is_shared_to_feed": _feed_only(lambda m: True if m.is_reel else ABSENT),
    "alt_text": lambda c, m, s: ABSENT,
    # Legacy Instagram media id "<media pk>_<owner pk>" and the Marketing API's id of the same
    # media [DOC field list; values are plausible, not Meta's].
    "ig_id": lambda c, m, s: f"{legacy_media_id(m)}_{legacy_user_id(m.account)}",
    "legacy_instagram_media_id": lambda c, m, s: str(legacy_media_id(m)),
    "view_count": lambda c, m, s: ABSENT,  # business discovery only [DOC]
    "boost_eligibility_info": lambda c, m, s: (
        ABSENT if m.is_child or m.is_story else {"eligible_to_boost": m.comments_enabled}
    ),
    "copyright_check_information": lambda c, m, s: copyright_check(m),
    "reposts_count": _facebook_only(_count("reposts", stories=True)),
    "saved_count": _facebook_only(_count("saved")),
    "shares_count": _facebook_only(_count("shares", stories=True)),
    "total_like_count": _facebook_only(_count("total_likes")),
    "total_comments_count": _facebook_only(_count("total_comments")),
    "total_views_count": _facebook_only(_count("total_views", stories=True)),
    "children": _children,
    "insights": _insights,
    "comments": lambda c, m, s: {"data": []},  # comments are not emulated
    "collaborators": lambda c, m, s: {"data": []},
    "boost_ads_list": lambda c, m, s: {"data": []},
    "product_tags": lambda c, m, s: {"data": []},
}


def legacy_media_id(item: world.MediaItem) -> int:
    return 10**18 + world._h("legacy", item.id) % (9 * 10**18)


def copyright_check(item: world.MediaItem) -> Any:
    """Videos only: the copyright check's status (flagged videos have no media_url either)."""
    if item.media_type != "VIDEO":
        return ABSENT
    status = {"status": "completed", "matches_found": item.copyright_flagged}
    return {"status": status}


def render_media(ctx: Ctx, item: world.MediaItem, specs: list[FieldSpec]) -> dict:
    return render(ctx, item, specs, MEDIA_FIELDS, "IGMedia")


@node("media")
def media_node(req: SandboxRequest, item: world.MediaItem) -> dict:
    require_scope(req, BASIC_SCOPE)
    return render_media(Ctx.of(req), item, parse_fields(req.param("fields")))


@node("media", edge="children")
def media_children(req: SandboxRequest, item: world.MediaItem) -> dict:
    require_scope(req, BASIC_SCOPE)
    fields = req.param("fields")
    spec = FieldSpec("children", sub=parse_fields(fields), sub_raw=fields)
    if not item.is_album:
        return {"data": []}
    return children_edge(Ctx.of(req), item, req.params, spec)


@node("media", edge="insights")
def media_insights_edge(req: SandboxRequest, item: world.MediaItem) -> dict:
    require_scope(req, INSIGHTS_SCOPE)
    return media_insights(Ctx.of(req), item, req.params)


@node("media", edge="comments")
def media_comments(req: SandboxRequest, item: world.MediaItem) -> dict:
    require_scope(req, BASIC_SCOPE)
    return {"data": []}


# --- Sub-requests: ?ids= and batch ----------------------------------------------------------------


def sub_request(
    req: SandboxRequest, method: str, path: str, params: dict[str, str]
) -> SandboxRequest:
    """A SandboxRequest for one id of ?ids= or one batch operation, dispatched like a real call.
    Its token comes from `params` only (the outer Authorization header is not inherited, so an
    operation's own access_token wins, as in Meta's batch)."""
    http = HttpRequest()
    http.method = method
    http.path = req.http.path
    http.META = {k: v for k, v in req.http.META.items() if k != "HTTP_AUTHORIZATION"}
    path = path.strip("/")
    version = req.version
    match = core.VERSION_RE.match(path)
    if match:
        version, path = match.group(0).strip("/"), path[match.end() :].strip("/")
    return SandboxRequest(http=http, host=req.host, path=path, version=version, params=params)


@route(GRAPH_HOSTS, r"", methods=("GET", "POST"))
def root(req: SandboxRequest) -> Any:
    if req.method == "POST" and "batch" in req.params:
        if req.host == IG_HOST and not world_settings.get("instagram_batch"):
            # Undocumented on graph.instagram.com [UNC, §7.3]: a world setting, off by default,
            # answering as Graph does a POST it does not support.
            raise GraphError(
                "Unsupported post request. Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api",
                100,
                type="GraphMethodException",
            )
        return batch(req)
    if "ids" in req.params:  # an old app, before v26.0 retired the root form everywhere
        return multi_ids(req, edge=None)
    raise GraphError("(#100) Missing 'ids' parameter", 100)  # [UNC] text


@route(GRAPH_HOSTS, r"(?P<edge>media|stories|insights|children)", methods=("GET",))
def root_edge(req: SandboxRequest, edge: str) -> Any:
    if "ids" not in req.params:
        raise core.unsupported_get(edge)
    return multi_ids(req, edge=edge)  # an old app: new ones were refused (core.check_protocol)


def multi_ids(req: SandboxRequest, edge: str | None) -> dict:
    """GET /?ids=a,b&fields=… → {"a": {…}, "b": {…}}. Each id counts as one call [DOC]; one
    failing id fails the whole request."""
    ids = list(dict.fromkeys(core.parse_list(req.params["ids"])))
    if len(ids) > MAX_IDS:
        raise GraphError(f"(#100) Too many IDs. Maximum: {MAX_IDS}. Provided: {len(ids)}.", 100)
    params = {k: v for k, v in req.params.items() if k != "ids"}
    token = core.token_string(req.http, req.params)
    if token:
        params["access_token"] = token
    req.counted_calls = len(ids)
    req.path_pattern = "/?ids=" + (f"/{edge}" if edge else "")  # logged so even when it fails
    out = {}
    with core.frozen_clock(), world.shared_lookups():
        for node_id in ids:
            sub = sub_request(req, "GET", f"{node_id}/{edge}" if edge else node_id, params)
            result = core.dispatch(sub)
            req.token = req.token or sub.token
            req.account_id = req.account_id or sub.account_id
            out[node_id] = (
                json.loads(result.content) if isinstance(result, HttpResponse) else result
            )
    return out


def batch(req: SandboxRequest) -> Any:
    """POST / with `batch=[{"method","relative_url","body"?}, …]` → one result per operation,
    in order: {"code", "headers": [{"name","value"}], "body": "<json string>"} (null for an
    operation that timed out). Each operation is dispatched like its own call: own token (per-op
    access_token, else the batch's), own faults, own call-log row, so each counts separately
    toward the account's rate limit. Named dependencies (`{result=…}`) are not emulated.

    On graph.instagram.com batch is undocumented [UNC]: refused unless the world setting
    instagram_batch is on (then with the same semantics and Instagram tokens)."""
    try:
        ops = json.loads(req.params["batch"])
    except ValueError:
        raise GraphError("(#100) The parameter batch must be a JSON array", 100)  # [UNC] text
    if not isinstance(ops, list):
        raise GraphError("(#100) The parameter batch must be a JSON array", 100)
    if len(ops) > MAX_BATCH:
        raise GraphError(
            f"(#100) Too many requests in batch message. Maximum batch size is {MAX_BATCH}", 100
        )
    default_token = core.token_string(req.http, req.params)
    if default_token:
        found = Token.objects.filter(token=default_token).first()
        req.token = core.check_token(found, default_token, req.host)
    req.counted_calls = 0  # each operation is logged (and counted) on its own
    req.path_pattern = "/ (batch)"
    with core.frozen_clock(), world.shared_lookups():
        results = [run_operation(req, op, default_token) for op in ops]
    return HttpResponse(json.dumps(results), content_type="application/json; charset=UTF-8")


def run_operation(req: SandboxRequest, op: Any, default_token: str | None) -> dict | None:
    if not isinstance(op, dict) or not op.get("relative_url"):
        error = GraphError("(#100) Missing relative_url in batch operation", 100)
        return op_result(error.status, error.body(), {})
    method = str(op.get("method", "GET")).upper()
    path, _, query = str(op["relative_url"]).partition("?")
    params = dict(QueryDict(query).items())
    body = op.get("body")
    if isinstance(body, str):
        params.update(QueryDict(body).items())
    elif isinstance(body, dict):
        params.update({k: str(v) for k, v in body.items()})
    if "access_token" not in params and default_token:
        params["access_token"] = default_token
    sub = sub_request(req, method, path, params)
    status, payload, own = execute(sub)
    if status is None:
        core.log_call(sub, 504, in_batch=True)
        return None  # Meta returns null for operations that timed out
    headers = {"Content-Type": "text/javascript; charset=UTF-8"}
    with contextlib.suppress(GraphError):  # a version Meta never had: none served it
        headers["facebook-api-version"] = sub.served_version
    headers.update(core.usage_headers(sub))
    headers.update(own)  # a throttled operation's usage (its wait) as a plain call has it
    core.log_call(sub, status, in_batch=True)
    return op_result(status, payload, headers)


def execute(sub: SandboxRequest) -> tuple[int | None, Any, dict]:
    """Dispatch one operation as the view would, faults included: (status, body, the
    headers the answer sets itself, e.g. a rate limit's usage). (None, None, {}) = timed out."""
    fault = faults.matching_fault(sub)
    response = faults.fault_response_before(fault, sub) if fault else None
    if response is not None:
        if response.status_code == 504:
            return None, None, {}
        return response.status_code, response.content.decode(), _usage_of(response)
    try:
        result = core.dispatch(sub)
    except GraphError as error:
        return error.status, error.body(), dict(error.headers)
    except core.PlainError as error:
        return error.status, error.body, {}
    if isinstance(result, HttpResponse):
        if fault:
            result = faults.fault_response_after(fault, result)
        return result.status_code, result.content.decode(), _usage_of(result)
    return 200, result, {}


def _usage_of(response: HttpResponse) -> dict:
    names = ("X-App-Usage", "X-Business-Use-Case-Usage")
    return {name: response[name] for name in names if response.has_header(name)}


def op_result(status: int, payload: Any, headers: dict) -> dict:
    body = payload if isinstance(payload, str) else graph_body(payload)
    return {
        "code": status,
        "headers": [{"name": k, "value": v} for k, v in headers.items()],
        "body": body,
    }


def graph_body(data: Any) -> str:
    """Meta's JSON: compact, ASCII-only, "/" escaped (same as the view's)."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
