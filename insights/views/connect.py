"""Connecting, reconnecting and disconnecting Instagram accounts; Meta's OAuth callback."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from accounts.models import Membership, Role
from accounts.tenancy import agency_view

from ..access import get_client_for_agency, get_ig_account_for_agency, visible_clients
from ..connections import health, oauth, removal
from ..connections.oauth import ConnectError
from ..models import Client, InstagramAccount, OAuthState, PendingConnection
from ..reports.branding import branding_for
from ..tasks import send_reconnect_link

RECONNECTED_SESSION_KEY = "reconnected_account"
FAILURE_SESSION_KEY = "connect_failure"

FAILURES = {
    "denied": (
        "You cancelled the connection",
        "Nothing was connected. When you are ready, start again and allow access.",
    ),
    "state_missing": (
        "This link is incomplete",
        "The answer from Meta did not carry the check Prism needs. Start the "
        "connection again from the client's page.",
    ),
    "state_invalid": (
        "This connection attempt is unknown",
        "Start the connection again from the client's page.",
    ),
    "state_expired": (
        "This connection attempt expired",
        "Connections must be finished within 10 minutes. Start again.",
    ),
    "state_replayed": (
        "This connection attempt was already used",
        "Each attempt works once. If the account is not connected yet, start again.",
    ),
    "state_foreign": (
        "This connection was started in another browser",
        "For your security, finish a connection in the browser that started it.",
    ),
    "code_invalid": (
        "Meta did not accept the sign-in",
        "The authorization code was refused (it may have been used already). Start again.",
    ),
    "permission_missing": (
        "Insights permission was not granted",
        "Prism needs every permission on Meta's list to read insights. Ask "
        "again and keep them all ticked.",
    ),
    "no_professional_account": (
        "No Instagram professional account found",
        "The Pages you chose have no linked Instagram Business or "
        "Creator account. Link the account to a Page in Meta Business "
        "Suite (or use Instagram Login), then try again.",
    ),
    "personal_account": (
        "This is a personal Instagram account",
        "Insights exist only for Business and Creator accounts. Switch the "
        "account to a professional account in Instagram's settings, then try "
        "again.",
    ),
    "wrong_account": (
        "That is a different Instagram account",
        "This reconnect is for another account. Sign in to Meta as the right "
        "account and try again.",
    ),
    "connected_elsewhere": (
        "This account belongs to another client",
        "It is already connected to another client of your agency. Disconnect it there first.",
    ),
    "link_invalid": (
        "This reconnect link can no longer be used",
        "It was used already, revoked, or the account was disconnected. Ask your agency for a "
        "new link if the account still needs reconnecting.",
    ),
    "pending_unreadable": (
        "This connection attempt can no longer be read",
        "Nothing was connected and nothing was kept. Start the connection again.",
    ),
    "not_allowed": (
        "You can no longer connect accounts here",
        "Your place in the agency, or the clients you work on, changed after this connection "
        "was started. Nothing was connected; ask an owner of the agency if this is a mistake.",
    ),
    "nothing_picked": ("Nothing was picked", "Choose at least one account to connect."),
    "path_disabled": (
        "This login method is not configured",
        "Ask your administrator to configure the Meta app.",
    ),
    "meta_error": (
        "Meta returned an error",
        "Nothing was stored. Try again in a moment; if it keeps happening, contact "
        "support with the time of the attempt.",
    ),
}


def _failed(request, error: ConnectError, *, client=None, status: int = 400) -> HttpResponse:
    title, text = FAILURES.get(error.reason, FAILURES["meta_error"])
    client = client or error.context.get("client")
    if client is not None and not _may_see(request, client):
        client = None  # a reconnect link's visitor signed in to Prism as someone else
    return render(
        request,
        "insights/connect_failed.html",
        {
            "title": title,
            "text": text,
            "reason": error.reason,
            "detail": error.detail,
            "client": client,
            "pages": error.context.get("pages", []),
            "login_path": error.context.get("login_path"),
            "can_retry": client is not None and request.user.is_authenticated,
        },
        status=status,
    )


def _may_see(request: HttpRequest, client) -> bool:
    if not request.user.is_authenticated:
        return True  # the page offers nothing to go back to (a reconnect link's visitor)
    membership = Membership.objects.filter(agency_id=client.agency_id, user=request.user).first()
    if membership is None:
        return False
    return not membership.is_limited or membership.clients.filter(pk=client.pk).exists()


def _failed_callback(request: HttpRequest, error: ConnectError, *, client=None) -> HttpResponse:
    """A callback that failed ends on a clean URL: Meta's code and the state leave the address
    bar and the history. The failure waits in this browser's session for connect_failed."""
    client = client or error.context.get("client")
    request.session[FAILURE_SESSION_KEY] = {
        "reason": error.reason,
        "detail": error.detail,
        "client": client.pk if client is not None else None,
        "pages": [{"page_name": p.get("page_name", "")} for p in error.context.get("pages", [])],
        "login_path": error.context.get("login_path"),
    }
    return redirect("connect_failed")


@never_cache
def connect_failed(request: HttpRequest) -> HttpResponse:
    """Where a failed callback ends: the failure this browser's own callback stored."""
    failure = request.session.get(FAILURE_SESSION_KEY)
    if not isinstance(failure, dict):
        return redirect("home")
    client = (
        Client.objects.select_related("agency").filter(pk=failure.get("client")).first()
        if failure.get("client")
        else None
    )
    error = ConnectError(
        str(failure.get("reason", "")),
        str(failure.get("detail", "")),
        pages=failure.get("pages") or [],
        login_path=failure.get("login_path"),
    )
    return _failed(request, error, client=client)


def _session_key(request: HttpRequest) -> str:
    """The session a connect attempt is bound to (created now if the visitor has none)."""
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


@agency_view(Role.MEMBER)
@require_POST
def connect_start(request: HttpRequest, pk: int, login_path: str) -> HttpResponse:
    client = get_client_for_agency(request, pk, include_archived=False)
    try:
        url = oauth.start(
            session_key=_session_key(request),
            user=request.user,
            client=client,
            login_path=login_path,
            rerequest=request.POST.get("rerequest") == "1",
        )
    except ConnectError as error:
        return _failed(request, error, client=client)
    return redirect(url)


@agency_view(Role.MEMBER)
@require_POST
def account_reconnect(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_ig_account_for_agency(request, pk)
    try:
        url = oauth.start(
            session_key=_session_key(request),
            user=request.user,
            client=account.client,
            login_path=account.login_path,
            account=account,
        )
    except ConnectError as error:
        return _failed(request, error, client=account.client)
    return redirect(url)


@never_cache
@sensitive_variables("code")
def oauth_callback(request: HttpRequest, login_path: str) -> HttpResponse:
    """Where Meta sends the browser back. The state is checked before anything else."""
    if login_path not in ("facebook", "instagram"):
        raise Http404
    try:
        state = oauth.consume_state(
            login_path,
            request.GET.get("state"),
            session_key=request.session.session_key,
            user_id=request.user.pk,
        )
    except ConnectError as error:
        return _failed_callback(request, error)
    if error := oauth.callback_error(request.GET):
        return _failed_callback(request, error, client=state.client)
    code = request.GET["code"]
    try:
        result = oauth.finish(state, code, session_key=_session_key(request))
    except ConnectError as error:
        return _failed_callback(request, error, client=state.client if state.user_id else None)
    # Every success ends on a clean URL: the used code and state leave the address bar and
    # the browser's history.
    if state.purpose == OAuthState.Purpose.RECONNECT_LINK:
        account = result[0] if isinstance(result, list) else result
        request.session[RECONNECTED_SESSION_KEY] = account.pk
        return redirect("reconnect_done")
    if isinstance(result, PendingConnection):
        return redirect("connect_pick", agency_slug=state.agency.slug, pk=result.pk)
    accounts = result if isinstance(result, list) else [result]
    messages.success(
        request,
        "Connected " + ", ".join(f"@{a.username}" for a in accounts) + ".",
    )
    return redirect("client_detail", agency_slug=state.agency.slug, pk=state.client_id)


@agency_view(Role.MEMBER)
def connect_pick(request: HttpRequest, pk: int) -> HttpResponse:
    """Facebook Login: pick which of the granted Pages' Instagram accounts to connect."""
    pending = oauth.pending_for(pk, request.agency, session_key=request.session.session_key)
    if pending is None or not visible_clients(request).filter(pk=pending.client_id).exists():
        raise Http404("This connection attempt has expired.")
    if request.method == "POST":
        try:
            accounts = oauth.connect_pending(pending, request.POST.getlist("ig_user_id"))
        except ConnectError as error:
            if error.reason == "nothing_picked":
                messages.error(request, "Choose at least one account to connect.")
                return redirect("connect_pick", agency_slug=request.agency.slug, pk=pk)
            return _failed(request, error, client=pending.client)
        messages.success(
            request, "Connected " + ", ".join(f"@{a.username}" for a in accounts) + "."
        )
        return redirect("client_detail", agency_slug=request.agency.slug, pk=pending.client_id)
    # By client id (two clients may share a name), and without naming the other client: a
    # member limited to some clients must not learn the others' names here.
    existing = dict(
        InstagramAccount.objects.filter(
            agency=request.agency, ig_user_id__in=[c["ig_user_id"] for c in pending.candidates]
        ).values_list("ig_user_id", "client_id")
    )
    candidates = [
        {
            **{k: v for k, v in c.items() if k != "page_token_ciphertext"},
            "elsewhere": c["ig_user_id"] in existing
            and existing[c["ig_user_id"]] != pending.client_id,
            "already": existing.get(c["ig_user_id"]) == pending.client_id,
        }
        for c in pending.candidates
    ]
    return render(
        request,
        "insights/connect_pick.html",
        {
            "pending": pending,
            "client": pending.client,
            "candidates": candidates,
            "bare_pages": pending.pages_without_instagram,
        },
    )


@agency_view(Role.MEMBER)
@require_POST
def account_check(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_ig_account_for_agency(request, pk)
    health.check_account(account)
    account.refresh_from_db()
    messages.info(request, f"@{account.username}: {account.get_health_display().lower()}.")
    return redirect("client_detail", agency_slug=request.agency.slug, pk=account.client_id)


@agency_view(Role.MEMBER)
def account_reconnect_link(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's open reconnect links (GET); a new one (POST), shown once."""
    account = get_ig_account_for_agency(request, pk)
    if account.disconnected_at:
        raise Http404("This account is disconnected.")
    link_url = None
    if request.method == "POST":
        _link, link_url = removal.issue_reconnect_link(account, created_by=request.user)
    return render(
        request,
        "insights/reconnect_link.html",
        {
            "account": account,
            "client": account.client,
            "link": link_url,
            "links": removal.active_links(account),
            "lifetime_days": removal.RECONNECT_LINK_LIFETIME.days,
        },
    )


@agency_view(Role.MEMBER)
@require_POST
def account_reconnect_link_email(request: HttpRequest, pk: int) -> HttpResponse:
    """Email a new link to the client. The link is made by the task (a bearer secret never
    travels through the broker), so it is not the one shown on the page."""
    account = get_ig_account_for_agency(request, pk)
    if account.disconnected_at:
        raise Http404("This account is disconnected.")
    email = request.POST.get("email", "").strip()
    try:
        validate_email(email)
    except ValidationError:
        messages.error(request, "Enter a valid email address.")
    else:
        transaction.on_commit(lambda: send_reconnect_link.delay(account.pk, email, request.user.pk))
        messages.success(request, f"A reconnect link is on its way to {email}.")
    return redirect("account_reconnect_link", agency_slug=request.agency.slug, pk=account.pk)


@agency_view(Role.MEMBER)
@require_POST
def account_reconnect_link_revoke(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    account = get_ig_account_for_agency(request, pk)
    if removal.revoke_reconnect_links(account, pk=link_pk, actor=request.user):
        messages.success(request, "The link is revoked; it no longer works.")
    return redirect("account_reconnect_link", agency_slug=request.agency.slug, pk=account.pk)


@agency_view(Role.MEMBER)
def account_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_ig_account_for_agency(request, pk)
    if request.method == "POST":
        choice = request.POST.get("history")
        if choice not in ("keep", "delete"):
            messages.error(request, "Choose whether to keep or delete the history.")
        else:
            removal.disconnect(account, keep_history=choice == "keep", actor=request.user)
            messages.success(
                request,
                f"@{account.username} is disconnected"
                + (" and its history kept." if choice == "keep" else " and its history deleted."),
            )
            return redirect("client_detail", agency_slug=request.agency.slug, pk=account.client_id)
    return render(
        request, "insights/account_disconnect.html", {"account": account, "client": account.client}
    )


@never_cache
def reconnect_link(request: HttpRequest, value: str) -> HttpResponse:
    """For the agency's client, without a Prism login: re-authorise this one account."""
    link = removal.usable_link(value)
    if link is None:
        return render(request, "insights/reconnect_invalid.html", status=404)
    account = link.account
    if request.method == "POST":
        try:
            url = oauth.start(
                session_key=_session_key(request),
                user=None,
                client=account.client,
                login_path=account.login_path,
                link=link,
            )
        except ConnectError as error:
            return _failed(request, error)
        return redirect(url)
    return render(
        request,
        "insights/reconnect_landing.html",
        {
            "account": account,
            "agency": account.agency,
            "branding": branding_for(account.agency),  # the client's page: the agency's brand
            "login_label": "Facebook" if account.login_path == "facebook" else "Instagram",
        },
    )


@never_cache
def reconnect_done(request: HttpRequest) -> HttpResponse:
    """Where a reconnect link's round trip ends (a clean URL; the account is in the session)."""
    pk = request.session.get(RECONNECTED_SESSION_KEY)
    account = InstagramAccount.objects.select_related("agency").filter(pk=pk).first()
    if account is None:
        return redirect("home")
    return render(
        request,
        "insights/reconnect_done.html",
        {"account": account, "branding": branding_for(account.agency)},
    )


@agency_view(Role.VIEWER)
def attention(request: HttpRequest) -> HttpResponse:
    accounts = (
        InstagramAccount.objects.needing_attention()
        .filter(agency=request.agency, client__in=visible_clients(request))
        .select_related("client")
        .order_by("health_changed_at")
    )
    return render(request, "insights/attention.html", {"accounts": accounts})
