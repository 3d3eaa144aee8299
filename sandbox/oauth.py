"""OAuth: code exchange, long-lived exchange, refresh, debug_token, /me, /me/permissions,
/me/accounts and Pages (graph-api.md §1). The dialogs themselves are in sandbox/dialogs.py.

Decisions where Meta is silent or inconsistent (each marked [UNC] in graph-api.md):

- Codes are single use and valid one hour of sandbox time, bound to the app and redirect_uri.
- A refreshed Instagram token is a new token valid 60 days from the refresh; the old one keeps
  working until its own expiry (what Meta does in practice). A token younger than 24 hours is
  refused with 400 code 100 rather than returned unchanged.
- Page tokens from /me/accounts never expire when the user token is long-lived; with a
  short-lived user token they expire with it. Revoking a user token revokes its Page tokens.
- /me/accounts answers {"data": []} (no error) when the token lacks pages_show_list, and leaves
  out business-portfolio Pages (Page.business_owned) when it lacks business_management
  (§12.14). Only Pages flagged business_owned are affected, so seeded people stay usable.
- Error messages Meta does not document exactly are modelled on observed ones; clients should
  branch on code/subcode, never on message text.
"""

from __future__ import annotations

import base64
import hmac
import json
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse

from . import core, dialogs, graph  # noqa: F401  (dialogs registers the dialog routes)
from .core import GraphError, PlainError, SandboxRequest
from .graph import ABSENT, FieldSpec
from .graph_insights import Ctx
from .models import AuthCode, InstagramAccount, Page, Person, Token

CODE_LIFETIME = timedelta(hours=1)
REFRESH_MIN_AGE = timedelta(hours=24)
DATA_ACCESS_WINDOW = timedelta(days=90)
APP_DISPLAY_NAME = "Prism"

# --- App credentials --------------------------------------------------------------------------


def check_facebook_client(req: SandboxRequest) -> None:
    client_id = req.param("client_id")
    if not client_id:
        raise GraphError("Missing client_id parameter.", 101)
    if client_id != settings.SANDBOX_FACEBOOK_APP_ID:
        raise GraphError("Error validating application. Invalid application ID.", 101)
    if not same(req.param("client_secret"), settings.SANDBOX_FACEBOOK_APP_SECRET):
        raise GraphError("Error validating client secret.", 1)


def is_app_token(raw: str | None) -> bool:
    app_token = f"{settings.SANDBOX_FACEBOOK_APP_ID}|{settings.SANDBOX_FACEBOOK_APP_SECRET}"
    return same(raw, app_token)


def same(given: str | None, secret: str) -> bool:
    """Secrets are compared in constant time, as a real server would."""
    return hmac.compare_digest((given or "").encode(), secret.encode())


def lookup(raw: str | None) -> Token | None:
    if not raw:
        return None
    return Token.objects.select_related("person", "ig_account", "page").filter(token=raw).first()


def token_body(token: Token) -> dict:
    expires = core.expires_in(token)
    return {"access_token": token.token, "token_type": "bearer", "expires_in": expires}


# --- graph.facebook.com/oauth/access_token ----------------------------------------------------


@core.route("graph.facebook.com", r"oauth/access_token")
def facebook_access_token(req: SandboxRequest) -> dict:
    grant_type = req.param("grant_type") or "authorization_code"
    check_facebook_client(req)
    if grant_type == "fb_exchange_token":
        return facebook_long_lived(req)
    if grant_type == "client_credentials":
        # The app token is literally "<app id>|<app secret>" (what debug_token accepts).
        return {
            "access_token": f"{req.param('client_id')}|{req.param('client_secret')}",
            "token_type": "bearer",
        }
    if grant_type != "authorization_code":
        raise GraphError(f"Unsupported grant_type: {grant_type}", 100)
    code = redeem_facebook_code(req)
    token = core.issue_token(
        Token.Kind.FB_SHORT,
        person=code.person,
        scopes=code.scopes,
        declined=code.declined_scopes,
        granted_page_ids=code.granted_page_ids,
    )
    req.token = token
    return token_body(token)


def redeem_facebook_code(req: SandboxRequest) -> AuthCode:
    redirect_uri = req.param("redirect_uri")
    if redirect_uri is None:
        raise GraphError("Missing redirect_uri parameter.", 191)
    raw = req.param("code")
    if not raw:
        raise GraphError("Missing authorization code", 1)
    code = AuthCode.objects.select_related("person").filter(code=raw, app="facebook").first()
    if code is None:
        raise GraphError("Invalid verification code format.", 100)
    if code.used_at is not None:
        raise GraphError("This authorization code has been used.", 100, subcode=36009)
    if code.created_at + CODE_LIFETIME <= core.now():
        raise GraphError("This authorization code has expired.", 100, subcode=36007)
    if code.redirect_uri != redirect_uri:
        raise GraphError(
            "Error validating verification code. Please make sure your redirect_uri is identical "
            "to the one you used in the OAuth dialog request",
            100,
            subcode=36008,
        )
    if not mark_used(code):  # a concurrent exchange won the race
        raise GraphError("This authorization code has been used.", 100, subcode=36009)
    return code


def mark_used(code: AuthCode) -> bool:
    """Conditional UPDATE: exactly one exchange of a code can succeed."""
    unused = AuthCode.objects.filter(pk=code.pk, used_at__isnull=True)
    return bool(unused.update(used_at=core.now()))


def facebook_long_lived(req: SandboxRequest) -> dict:
    raw = req.param("fb_exchange_token")
    if not raw:
        raise GraphError("(#100) Missing parameter fb_exchange_token", 100)
    token = lookup(raw)
    if token is None or token.kind not in (Token.Kind.FB_SHORT, Token.Kind.FB_LONG):
        raise GraphError("Invalid OAuth access token - Cannot parse access token", 190)
    core.check_token(token, raw, "graph.facebook.com")
    long_lived = core.issue_token(
        Token.Kind.FB_LONG,
        person=token.person,
        scopes=token.scopes,
        declined=token.declined_scopes,
        granted_page_ids=token.granted_page_ids,
    )
    req.token = long_lived
    return token_body(long_lived)


# --- api.instagram.com/oauth/access_token -----------------------------------------------------


def ig_error(message: str) -> PlainError:
    """This host's own error shape, not Graph's envelope (graph-api.md §1B, §6.1)."""
    return PlainError({"error_type": "OAuthException", "code": 400, "error_message": message})


@core.route("api.instagram.com", r"oauth/access_token", methods=("GET", "POST"))
def instagram_code_exchange(req: SandboxRequest) -> HttpResponse:
    if req.method != "POST":
        raise ig_error(f"Unsupported request - method type: {req.method.lower()}")
    form = req.http.POST  # form fields only (multipart or urlencoded), never the query string
    for name in ("client_id", "client_secret", "grant_type", "redirect_uri", "code"):
        if not form.get(name):
            raise ig_error(f"You must provide a {name}")
    if form["client_id"] != settings.SANDBOX_INSTAGRAM_APP_ID:
        raise ig_error("Invalid platform app")
    if not same(form["client_secret"], settings.SANDBOX_INSTAGRAM_APP_SECRET):
        raise ig_error("Error validating client secret.")
    if form["grant_type"] != "authorization_code":
        raise ig_error(f"Unsupported grant_type: {form['grant_type']}")
    code = redeem_instagram_code(form["code"], form["redirect_uri"])
    token = core.issue_token(
        Token.Kind.IG_SHORT,
        person=code.person,
        ig_account=code.ig_account,
        scopes=code.scopes,
        declined=code.declined_scopes,
    )
    req.token = token
    # Built by hand: user_id is a bare JSON number above 2^53, as Meta sends it (§12.2), so a
    # client that parses it as a float loses digits here exactly as it would against Meta.
    body = (
        f'{{"access_token":{json.dumps(token.token)},'
        f'"user_id":{int(code.ig_account.ig_user_id)},'
        f'"permissions":{json.dumps(list(code.scopes), separators=(",", ":"))}}}'
    )
    return HttpResponse(body, content_type="application/json; charset=UTF-8")


def redeem_instagram_code(raw: str, redirect_uri: str) -> AuthCode:
    code = (
        AuthCode.objects.select_related("person", "ig_account")
        .filter(code=raw, app="instagram", ig_account__isnull=False)
        .first()
    )
    # Expired codes are indistinguishable from unknown ones on this host.
    if code is None or code.used_at is not None or code.created_at + CODE_LIFETIME <= core.now():
        raise ig_error("Matching code was not found or was already used")
    if code.redirect_uri != redirect_uri:
        raise ig_error(
            "Error validating verification code. Please make sure your redirect_uri is identical "
            "to the one you used in the OAuth dialog request"
        )
    if not mark_used(code):
        raise ig_error("Matching code was not found or was already used")
    return code


# --- graph.instagram.com: access_token, refresh_access_token ----------------------------------


@core.route("graph.instagram.com", r"access_token", methods=("GET",))
def instagram_long_lived(req: SandboxRequest) -> dict:
    if req.param("grant_type") != "ig_exchange_token":
        raise GraphError("Unsupported grant_type", 100)
    if not same(req.param("client_secret"), settings.SANDBOX_INSTAGRAM_APP_SECRET):
        raise GraphError("Error validating client secret.", 1)
    token = instagram_token(req, (Token.Kind.IG_SHORT, Token.Kind.IG_LONG))
    long_lived = core.issue_token(
        Token.Kind.IG_LONG,
        person=token.person,
        ig_account=token.ig_account,
        scopes=token.scopes,
        declined=token.declined_scopes,
    )
    return token_body(long_lived)


@core.route("graph.instagram.com", r"refresh_access_token", methods=("GET",))
def instagram_refresh(req: SandboxRequest) -> dict:
    # POST is refused by the router with "Unsupported request - method type: post" (§12.15).
    if req.param("grant_type") != "ig_refresh_token":
        raise GraphError("Unsupported grant_type", 100)
    token = instagram_token(req, (Token.Kind.IG_LONG,))
    if core.now() - token.issued_at < REFRESH_MIN_AGE:
        raise GraphError(
            "(#100) The access token can be refreshed only when it is at least 24 hours old", 100
        )
    if "instagram_business_basic" not in token.scopes:
        raise GraphError("(#10) Application does not have permission for this action", 10)
    fresh = core.issue_token(
        Token.Kind.IG_LONG,
        person=token.person,
        ig_account=token.ig_account,
        scopes=token.scopes,
        declined=token.declined_scopes,
    )
    return token_body(fresh)


def instagram_token(req: SandboxRequest, kinds: tuple[str, ...]) -> Token:
    raw = core.token_string(req.http, req.params)
    token = lookup(raw)
    req.token = token
    if token is not None and token.kind not in kinds:
        if token.kind == Token.Kind.IG_SHORT:
            raise GraphError("(#100) Short-lived tokens cannot be refreshed", 100)
        token = None  # a Facebook token here cannot even be parsed
    return core.check_token(token, raw, "graph.instagram.com")


# --- graph.facebook.com/debug_token -----------------------------------------------------------


@core.route("graph.facebook.com", r"debug_token")
def debug_token(req: SandboxRequest) -> dict:
    raw = core.token_string(req.http, req.params)
    if not raw:
        raise GraphError(
            "(#100) You must provide an app access token, or a user access token that is an "
            "owner or developer of the app",
            100,
        )
    if "|" in raw:
        if not is_app_token(raw):
            raise GraphError("Invalid OAuth access token signature.", 190)
    else:
        caller = lookup(raw)
        core.check_token(caller, raw, "graph.facebook.com")
        req.token = caller
    input_raw = req.param("input_token")
    if not input_raw:
        raise GraphError("(#100) The parameter input_token is required", 100)
    return {"data": inspect_token(input_raw)}


def inspect_token(raw: str) -> dict:
    token = lookup(raw)
    if token is None or token.host != "graph.facebook.com":
        # Always HTTP 200: the verdict is inside data (graph-api.md §1A).
        message = "Invalid OAuth access token - Cannot parse access token"
        return {
            "error": {"code": 190, "message": message},
            "is_valid": False,
            "scopes": [],
        }
    data: dict = {
        "app_id": settings.SANDBOX_FACEBOOK_APP_ID,
        "type": "PAGE" if token.kind == Token.Kind.PAGE else "USER",
        "application": APP_DISPLAY_NAME,
        "data_access_expires_at": int((token.issued_at + DATA_ACCESS_WINDOW).timestamp()),
        "expires_at": int(token.expires_at.timestamp()) if token.expires_at else 0,
        "is_valid": True,
        "issued_at": int(token.issued_at.timestamp()),
    }
    if token.page is not None:
        data["profile_id"] = token.page.page_id
    data["scopes"] = list(token.scopes)
    data["granular_scopes"] = granular_scopes(token)
    data["user_id"] = token.person.fb_user_id
    try:
        core.check_token(token, raw, "graph.facebook.com")
    except GraphError as error:
        data["is_valid"] = False
        data["error"] = {"code": error.code, "message": error.message}
        if error.subcode:
            data["error"]["subcode"] = error.subcode
    return data


def granular_scopes(token: Token) -> list[dict]:
    pages = granted_pages(token, include_business=True)
    page_ids = [p.page_id for p in pages]
    ig_ids = [p.ig_account.ig_user_id for p in pages if p.ig_account]
    result = []
    for scope in token.scopes:
        if scope.startswith("pages_"):
            result.append({"scope": scope, "target_ids": page_ids})
        elif scope.startswith("instagram_"):
            result.append({"scope": scope, "target_ids": ig_ids})
        else:
            result.append({"scope": scope})
    return result


# --- Resolvers: me, user, page, and /me/<edge> on graph.instagram.com -------------------------


def edge_of(req: SandboxRequest) -> str | None:
    match = core.NODE_PATH.match(req.path)
    return match.group("edge") if match else None


def is_user_token(token: Token | None) -> bool:
    return token is not None and token.kind in (Token.Kind.FB_SHORT, Token.Kind.FB_LONG)


@core.resolver("me")
def resolve_me(req: SandboxRequest, node_id: str):
    """/me: the person (Facebook user token) or, on graph.instagram.com, the account itself.
    Edges of the Instagram /me (media, insights...) belong to the IG user node instead, and a
    Page token's /me is the Page (resolver "page")."""
    if node_id != "me" or req.token is None:
        return None
    if req.host == "graph.instagram.com":
        account = req.token.ig_account
        if account is None or edge_of(req) is not None:
            return None
        req.account_id = account.ig_user_id
        return account
    return req.token.person if is_user_token(req.token) else None


@core.resolver("ig_user")
def resolve_instagram_me(req: SandboxRequest, node_id: str):
    """graph.instagram.com/me/<other edge>: the token's account, so an unknown edge gets Meta's
    "nonexisting field" error (sandbox/graph.py claims /me/media, /me/stories, /me/insights)."""
    if node_id != "me" or req.host != "graph.instagram.com" or req.token is None:
        return None
    account = req.token.ig_account
    if account is not None:
        req.account_id = account.ig_user_id
    return account


@core.resolver("user")
def resolve_user(req: SandboxRequest, node_id: str):
    if req.host != "graph.facebook.com" or not is_user_token(req.token):
        return None
    return req.token.person if req.token.person.fb_user_id == node_id else None


@core.resolver("page")
def resolve_page(req: SandboxRequest, node_id: str):
    """A Page the token reaches: granted in the dialog, or the Page of a Page token (whose
    /me is the Page)."""
    token = req.token
    if req.host != "graph.facebook.com" or token is None:
        return None
    if token.kind == Token.Kind.PAGE:
        if node_id == "me" or node_id == token.page.page_id:
            return token.page
        return None
    if not node_id.isdigit() or node_id not in token.granted_page_ids:
        return None
    pages = Page.objects.select_related("ig_account")
    return pages.filter(page_id=node_id, person=token.person).first()


# --- /me ------------------------------------------------------------------------------------
# Field selection, nesting and errors are graph.py's (one parser, one "nonexisting field").


def fields(req: SandboxRequest, default: list[str]) -> list[FieldSpec]:
    return graph.parse_fields(req.param("fields")) or [FieldSpec(name) for name in default]


# Instagram Login's /me is the IG user with `user_id` and `account_type`, except that `id` is
# the app-scoped id; only `user_id` matches webhooks and /<id>/insights (§1B, §12.3).
INSTAGRAM_ME_FIELDS = {
    **graph.USER_FIELDS,
    **graph.IG_LOGIN_USER_FIELDS,
    "id": lambda ctx, account, spec: account.ig_app_scoped_id,
}
PERSON_FIELDS = {
    "id": lambda ctx, person, spec: person.fb_user_id,
    "name": lambda ctx, person, spec: person.name,
    "first_name": lambda ctx, person, spec: person.name.partition(" ")[0],
    "last_name": lambda ctx, person, spec: person.name.partition(" ")[2] or ABSENT,
    "short_name": lambda ctx, person, spec: person.name.partition(" ")[0],
}


@core.node("me")
def me(req: SandboxRequest, obj) -> dict:
    if isinstance(obj, InstagramAccount):
        graph.require_scope(req, graph.BASIC_SCOPE)
        return graph.render(Ctx.of(req), obj, fields(req, ["id"]), INSTAGRAM_ME_FIELDS, "User")
    return person_node(req, obj)


@core.node("user")
def person_node(req: SandboxRequest, person: Person) -> dict:
    return graph.render(Ctx.of(req), person, fields(req, ["name", "id"]), PERSON_FIELDS, "User")


# --- /me/permissions, /me/accounts ------------------------------------------------------------


@core.node("me", edge="permissions")
@core.node("user", edge="permissions")
def permissions(req: SandboxRequest, person: Person) -> dict:
    token = req.token
    granted = list(dict.fromkeys(["public_profile", *token.scopes]))
    data = [{"permission": p, "status": "granted"} for p in granted]
    data += [{"permission": p, "status": "declined"} for p in token.declined_scopes]
    return {"data": data}


def granted_pages(token: Token, *, include_business: bool = False) -> list[Page]:
    pages = Page.objects.select_related("ig_account").filter(
        person=token.person, page_id__in=token.granted_page_ids
    )
    if not include_business and "business_management" not in token.scopes:
        pages = pages.filter(business_owned=False)
    return list(pages.order_by("pk"))


@core.node("me", edge="accounts")
@core.node("user", edge="accounts")
def accounts(req: SandboxRequest, person: Person) -> dict:
    token = req.token
    if "pages_show_list" not in token.scopes:
        return {"data": []}
    ctx = Ctx.of(req)
    specs = fields(req, ["access_token", "category", "category_list", "name", "id", "tasks"])
    items = [graph.render(ctx, page, specs, PAGE_FIELDS, "Page") for page in granted_pages(token)]
    return paginate(req, items)


def paginate(req: SandboxRequest, items: list[dict]) -> dict:
    """Cursor paging over a short list; cursors are opaque (base64 of the item id)."""
    limit = graph.parse_limit(req.param("limit"))
    ids = [item["id"] for item in items]
    start = 0
    if req.param("after"):
        after = decode_cursor(req.param("after"))
        start = ids.index(after) + 1 if after in ids else len(ids)
    elif req.param("before"):
        before = decode_cursor(req.param("before"))
        start = max(0, (ids.index(before) if before in ids else 0) - limit)
    chunk = items[start : start + limit]
    if not chunk:
        return {"data": []}  # past the end: no cursors, no next
    cursors = {"before": encode_cursor(chunk[0]["id"]), "after": encode_cursor(chunk[-1]["id"])}
    paging: dict = {"cursors": cursors}
    if start + limit < len(items):
        paging["next"] = page_link(req, after=cursors["after"])
    if start > 0:
        paging["previous"] = page_link(req, before=cursors["before"])
    return {"data": chunk, "paging": paging}


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> str:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise GraphError("(#100) Invalid cursor", 100)


def page_link(req: SandboxRequest, **cursor: str) -> str:
    params = {k: v for k, v in req.params.items() if k not in ("after", "before")}
    params.update(cursor)
    version = req.served_version
    return f"{req.base_url()}/{version}/{req.path}?{urlencode(params)}"


# --- Pages ------------------------------------------------------------------------------------


def linked_account(ctx: Ctx, page: Page, spec: FieldSpec):
    """Pages without a linked professional account simply omit the field (§1A); nested fields
    (`instagram_business_account{id,username}`) are the IG user's, rendered by graph.py."""
    account = page.ig_account
    if account is None or not account.is_professional:
        return ABSENT
    return graph.render_user(ctx, account, spec.sub or [])


def page_access_token(ctx: Ctx, page: Page, spec: FieldSpec):
    token = ctx.req.token
    return page_token(token, page).token if is_user_token(token) else ABSENT


PAGE_TASKS = ["ANALYZE", "ADVERTISE", "MESSAGING", "MODERATE", "CREATE_CONTENT", "MANAGE"]
PAGE_FIELDS = {
    "id": lambda ctx, page, spec: page.page_id,
    "name": lambda ctx, page, spec: page.name,
    "category": lambda ctx, page, spec: page.category,
    "category_list": lambda ctx, page, spec: [
        {"id": str(2200 + sum(map(ord, page.category)) % 500), "name": page.category}
    ],
    "tasks": lambda ctx, page, spec: PAGE_TASKS,
    "link": lambda ctx, page, spec: f"https://www.facebook.com/{page.page_id}",
    "access_token": page_access_token,
    "instagram_business_account": linked_account,
    "connected_instagram_account": linked_account,
}


def page_token(user_token: Token, page: Page) -> Token:
    """Reuse the Page's live token for this user token's lifetime class, else issue one."""
    expires = user_token.expires_at if user_token.kind == Token.Kind.FB_SHORT else None
    candidates = Token.objects.filter(
        kind=Token.Kind.PAGE, person=user_token.person, page=page, revoked_subcode__isnull=True
    )
    if expires:
        candidates = candidates.filter(expires_at=expires)
    else:
        candidates = candidates.filter(expires_at__isnull=True)
    for token in candidates:
        if token.scopes == user_token.scopes:
            return token
    token = core.issue_token(
        Token.Kind.PAGE,
        person=user_token.person,
        page=page,
        scopes=user_token.scopes,
        granted_page_ids=[page.page_id],
    )
    if expires:
        token.expires_at = expires
        token.save(update_fields=["expires_at"])
    return token


@core.node("page")
def page_node(req: SandboxRequest, page: Page) -> dict:
    return graph.render(Ctx.of(req), page, fields(req, ["name", "id"]), PAGE_FIELDS, "Page")


@core.node("page", edge="subscribed_apps", methods=("GET", "POST", "DELETE"))
def subscribed_apps(req: SandboxRequest, page: Page) -> dict:
    """Webhook subscription of the sandbox app on a Page (Facebook Login, §8.3): needs a Page
    token and pages_manage_metadata."""
    if req.token.kind != Token.Kind.PAGE:
        raise GraphError("(#210) This call requires a Page access token.", 210)
    if req.method == "GET":
        if not page.subscribed_fields:
            return {"data": []}
        app = {"name": APP_DISPLAY_NAME, "id": settings.SANDBOX_FACEBOOK_APP_ID}
        return {"data": [{**app, "subscribed_fields": page.subscribed_fields}]}
    if "pages_manage_metadata" not in req.token.scopes:
        raise GraphError(
            "(#200) The user hasn't authorized the application to perform this action", 200
        )
    subscribed = core.parse_list(req.param("subscribed_fields"))
    page.subscribed_fields = [] if req.method == "DELETE" else subscribed
    page.save(update_fields=["subscribed_fields"])
    return {"success": True}


def revoke(tokens, subcode: int) -> int:
    """Revoke tokens now; a user token takes its Page tokens with it."""
    count = 0
    for token in tokens:
        if token.kind in (Token.Kind.FB_SHORT, Token.Kind.FB_LONG):
            count += Token.objects.filter(
                kind=Token.Kind.PAGE,
                person=token.person_id,
                page__page_id__in=token.granted_page_ids,
                revoked_subcode__isnull=True,
            ).update(revoked_subcode=subcode)
        count += Token.objects.filter(pk=token.pk, revoked_subcode__isnull=True).update(
            revoked_subcode=subcode
        )
    return count
