"""Connecting Instagram accounts and keeping the connections healthy.

Views, tasks and commands call these functions; they call the models and the Meta client.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import Membership, Role

from . import crypto
from .meta import oauth
from .meta.client import ErrorKind, MetaClient, MetaError
from .models import (
    Client,
    Health,
    InstagramAccount,
    LoginPath,
    OAuthState,
    PendingConnection,
)

log = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=10)
PENDING_LIFETIME = timedelta(minutes=15)
RECONNECT_LINK_LIFETIME = timedelta(days=7)
EXPIRY_WARNING = timedelta(days=14)
# Instagram Login tokens are refreshed once they are a day old and have under 30 days left.
REFRESH_WHEN_LEFT = timedelta(days=30)
REFRESH_MIN_AGE = timedelta(hours=24)


def check_interval() -> timedelta:
    """How often each connection is checked with one cheap call (settings.ACCOUNT_CHECK_MINUTES)."""
    return timedelta(minutes=settings.ACCOUNT_CHECK_MINUTES)


class ConnectError(Exception):
    """A connect attempt that cannot go on. `reason` picks the page the person sees."""

    def __init__(self, reason: str, detail: str = "", **context):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail, self.context = reason, detail, context


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _session_hash(request) -> str:
    if not request.session.session_key:
        request.session.save()
    return _hash("session:" + request.session.session_key)


# --- Starting and finishing the OAuth round trip --------------------------------------------


def start(
    request,
    *,
    client: Client,
    login_path: str,
    account: InstagramAccount | None = None,
    purpose: str = OAuthState.Purpose.CONNECT,
    rerequest: bool = False,
) -> str:
    """Record a single-use state bound to this browser session; return the dialog's URL."""
    if login_path not in oauth.enabled_paths():
        raise ConnectError("path_disabled")
    raw_state = secrets.token_urlsafe(32)
    OAuthState.objects.create(
        state_hash=_hash(raw_state),
        session_hash=_session_hash(request),
        purpose=purpose,
        login_path=login_path,
        agency=client.agency,
        client=client,
        account=account,
        user=request.user if request.user.is_authenticated else None,
        expires_at=timezone.now() + STATE_LIFETIME,
    )
    return oauth.authorize_url(login_path, raw_state, rerequest=rerequest)


def consume_state(request, login_path: str, raw_state: str | None) -> OAuthState:
    """The state this callback answers, used up. Missing, unknown, expired, replayed or foreign
    states are refused before anything else happens."""
    if not raw_state:
        raise ConnectError("state_missing")
    state = (
        OAuthState.objects.select_related("agency", "client", "account")
        .filter(state_hash=_hash(raw_state), login_path=login_path)
        .first()
    )
    if state is None:
        raise ConnectError("state_invalid")
    if state.used_at is not None:
        raise ConnectError("state_replayed", client=state.client)
    if state.expires_at <= timezone.now():
        raise ConnectError("state_expired", client=state.client)
    if not request.session.session_key or state.session_hash != _session_hash(request):
        raise ConnectError("state_foreign")
    # Conditional UPDATE: of two concurrent callbacks with one state, only one goes on.
    if not OAuthState.objects.filter(pk=state.pk, used_at=None).update(used_at=timezone.now()):
        raise ConnectError("state_replayed", client=state.client)
    if state.purpose == OAuthState.Purpose.CONNECT and (
        state.user_id is None or state.user_id != getattr(request.user, "pk", None)
    ):
        raise ConnectError("state_foreign")
    return state


def callback_error(params) -> ConnectError | None:
    """Meta's error parameters on the redirect (denial and friends)."""
    if params.get("error") or params.get("error_reason"):
        if params.get("error_reason") == "user_denied" or params.get("error") == "access_denied":
            return ConnectError("denied")
        return ConnectError("meta_error", str(params.get("error_description", ""))[:200])
    if not params.get("code"):
        return ConnectError("meta_error", "Meta sent no authorization code.")
    return None


@sensitive_variables()
def finish(request, state: OAuthState, code: str):
    """Exchange the code and connect. Returns an InstagramAccount (Instagram Login, or a
    reconnect through Facebook Login that names its account) or a PendingConnection for the
    person to pick from."""
    try:
        if state.login_path == LoginPath.INSTAGRAM:
            return _finish_instagram(state, code)
        return _finish_facebook(request, state, code)
    except MetaError as error:
        log.warning("connect failed for client %s: %s", state.client_id, error)
        if error.kind == ErrorKind.INVALID_REQUEST:
            raise ConnectError("code_invalid", error.message) from None
        raise ConnectError("meta_error", error.message) from None


@sensitive_variables()
def _finish_instagram(state: OAuthState, code: str) -> InstagramAccount:
    grant = oauth.instagram_grant(code)
    if missing := oauth.missing_scopes("instagram", grant.granted):
        raise ConnectError(
            "permission_missing", ", ".join(missing), client=state.client, login_path="instagram"
        )
    profile = grant.profile or {}
    if str(profile.get("account_type", "")).upper() not in ("BUSINESS", "MEDIA_CREATOR"):
        raise ConnectError("personal_account", profile.get("username", ""))
    if not grant.ig_user_id:
        raise ConnectError("no_professional_account")
    _check_reconnect_target(state, grant.ig_user_id)
    return upsert_account(
        client=state.client,
        ig_user_id=grant.ig_user_id,
        login_path=LoginPath.INSTAGRAM,
        username=profile.get("username", ""),
        name=profile.get("name", ""),
        account_type=str(profile.get("account_type", "")).upper(),
        token=grant.token,
        token_expires_at=grant.expires_at,
        meta_user_id=grant.meta_user_id,
        granted_scopes=grant.granted,
        user=state.user,
        picture_url=profile.get("profile_picture_url", ""),
    )


@sensitive_variables()
def _finish_facebook(request, state: OAuthState, code: str):
    grant = oauth.facebook_grant(code)
    if missing := oauth.missing_scopes("facebook", grant.granted):
        raise ConnectError(
            "permission_missing", ", ".join(missing), client=state.client, login_path="facebook"
        )
    accounts, bare_pages = oauth.facebook_pages(grant.token)
    if not accounts:
        raise ConnectError("no_professional_account", pages=bare_pages)
    candidates = [
        {
            **{k: v for k, v in a.items() if k != "page_token"},
            "page_token_ciphertext": crypto.encrypt(a["page_token"]),
        }
        for a in accounts
    ]
    return PendingConnection.objects.create(
        agency=state.agency,
        client=state.client,
        user=state.user,
        account=state.account,
        session_hash=_session_hash(request),
        token_ciphertext=crypto.encrypt(grant.token),
        meta_user_id=grant.meta_user_id,
        granted_scopes=grant.granted,
        candidates=candidates,
        pages_without_instagram=bare_pages,
        expires_at=timezone.now() + PENDING_LIFETIME,
    )


def _check_reconnect_target(state, ig_user_id: str) -> None:
    if state.account and state.account.ig_user_id != ig_user_id:
        raise ConnectError("wrong_account", state.account.username)


def pending_for(request, pk: int, agency) -> PendingConnection | None:
    return (
        PendingConnection.objects.select_related("client", "account")
        .filter(
            pk=pk, agency=agency, session_hash=_session_hash(request), expires_at__gt=timezone.now()
        )
        .first()
    )


@sensitive_variables()
def connect_pending(pending: PendingConnection, chosen: list[str]) -> list[InstagramAccount]:
    """Connect the picked candidates of a Facebook Login to the pending connection's client."""
    by_id = {c["ig_user_id"]: c for c in pending.candidates}
    picked = [by_id[i] for i in chosen if i in by_id]
    if pending.account and not picked:
        # A reconnect whose login no longer reaches the account it is for.
        raise ConnectError("wrong_account", pending.account.username)
    if not picked:
        raise ConnectError("nothing_picked")
    data_access = timezone.now() + timedelta(days=oauth.FACEBOOK_DATA_ACCESS_DAYS)
    connected = []
    for candidate in picked:
        # The Page token: got with a long-lived user token it does not expire, so the account
        # keeps working without its owner until Meta's 90-day data-access window closes.
        page_token = crypto.decrypt(candidate["page_token_ciphertext"])
        connected.append(
            upsert_account(
                client=pending.client,
                ig_user_id=candidate["ig_user_id"],
                login_path=LoginPath.FACEBOOK,
                username=candidate["username"],
                name=candidate["name"],
                token=page_token,
                token_expires_at=None,
                data_access_expires_at=data_access,
                meta_user_id=pending.meta_user_id,
                granted_scopes=pending.granted_scopes,
                user=pending.user,
                page_id=candidate["page_id"],
                picture_url=candidate.get("profile_picture_url", ""),
            )
        )
    pending.delete()  # the user token is not kept
    return connected


@sensitive_variables("token")
def upsert_account(
    *,
    client: Client,
    ig_user_id: str,
    login_path: str,
    username: str,
    token: str,
    token_expires_at,
    meta_user_id: str,
    granted_scopes: list[str],
    user=None,
    name: str = "",
    account_type: str = "",
    page_id: str = "",
    data_access_expires_at=None,
    picture_url: str = "",
) -> InstagramAccount:
    """Create the account, or update it in place when it is already connected to this agency:
    a reconnect never duplicates an account or touches its history."""
    now = timezone.now()
    with transaction.atomic():
        account = (
            InstagramAccount.objects.select_for_update()
            .filter(agency=client.agency, ig_user_id=ig_user_id)
            .first()
        )
        if account is not None and account.client_id != client.pk:
            raise ConnectError("connected_elsewhere", account.client.name, account=account)
        if account is None:
            account = InstagramAccount(
                agency=client.agency, client=client, ig_user_id=ig_user_id, connected_at=now
            )
        account.username = username or account.username
        account.name = name or account.name
        account.account_type = account_type or account.account_type
        account.login_path = login_path
        account.page_id = page_id
        account.meta_user_id = meta_user_id
        account.granted_scopes = granted_scopes
        account.store_token(token)
        account.token_issued_at = now
        account.token_expires_at = token_expires_at
        account.data_access_expires_at = data_access_expires_at
        account.connected_by = user if user is not None else account.connected_by
        account.disconnected_at = None
        account.health, account.health_changed_at = Health.CONNECTED, now
        account.last_error, account.last_error_at = "", None
        account.expiry_warned_at = None
        account.next_check_at = now + check_interval()
        try:
            account.save()
        except IntegrityError:  # a concurrent callback created it first; a retry updates it
            raise ConnectError("meta_error", "This account was just connected; try again.")
    if picture_url:
        cache_profile_picture(account, picture_url)
    log.info("connected %r through %s", account, login_path)
    return account


def cache_profile_picture(account: InstagramAccount, url: str) -> None:
    """Keep a copy: Meta's picture URLs expire. Only Meta's CDNs (or the configured hosts)."""
    host = urlsplit(url).hostname or ""
    allowed = {urlsplit(u).hostname for u in settings.META_HOSTS.values()}
    if not (host in allowed or host.endswith((".cdninstagram.com", ".fbcdn.net"))):
        return
    from .meta.client import _shared_session

    try:
        response = _shared_session().get(
            url, timeout=(3.05, 10), allow_redirects=False, stream=True
        )
        body = response.raw.read(512 * 1024 + 1, decode_content=True)
    except Exception as error:  # a missing picture is cosmetic; never fail a connect over it
        log.info("profile picture of %r not cached: %s", account, type(error).__name__)
        return
    kind = response.headers.get("Content-Type", "")
    if response.status_code != 200 or not kind.startswith("image/") or len(body) > 512 * 1024:
        return
    ext = {"image/png": "png", "image/svg+xml": "svg", "image/webp": "webp"}.get(kind, "jpg")
    account.profile_picture.save(
        f"{account.agency_id}-{secrets.token_hex(8)}.{ext}", ContentFile(body), save=True
    )


# --- Health ------------------------------------------------------------------------------------

NOTIFY_ON = {Health.NEEDS_RECONNECT, Health.MISSING_PERMISSION, Health.NOT_PROFESSIONAL}


def set_health(account: InstagramAccount, health: str, error: str = "") -> None:
    """Record a connection state; tell the agency's admins when it needs a person."""
    previous = account.health
    now = timezone.now()
    account.health = health
    if health != previous:
        account.health_changed_at = now
    if error:
        account.last_error, account.last_error_at = error[:1000], now
    account.save(update_fields=["health", "health_changed_at", "last_error", "last_error_at"])
    if health != previous and health in NOTIFY_ON:
        notify_admins(account, "insights/email/needs_attention")


def health_from_error(error: MetaError) -> str | None:
    """The connection state a failed call implies (None: the connection itself is fine).
    Rejected metrics and unavailable media never mark an account as disconnected."""
    if error.kind == ErrorKind.TOKEN_INVALID:
        return Health.NEEDS_RECONNECT
    if error.kind == ErrorKind.PERMISSION:
        return Health.MISSING_PERMISSION
    if error.kind in (ErrorKind.UNKNOWN, ErrorKind.INVALID_REQUEST):
        return Health.ERROR
    return None


def client_for(account: InstagramAccount) -> MetaClient:
    try:
        return MetaClient(account.host, account.reveal_token())
    except crypto.TokenDecryptError:
        set_health(account, Health.NEEDS_RECONNECT, "The stored token could not be decrypted.")
        raise


def check_account(account: InstagramAccount) -> str:
    """Ask Meta about the account with its token; record and return the resulting health."""
    account.last_checked_at = timezone.now()
    account.next_check_at = account.last_checked_at + check_interval()
    account.save(update_fields=["last_checked_at", "next_check_at"])
    if not account.has_token:
        return account.health
    try:
        profile = _professional_profile(account, client_for(account))
    except crypto.TokenDecryptError:
        return Health.NEEDS_RECONNECT
    except MetaError as error:
        health = health_from_error(error)
        if health:
            set_health(account, health, str(error))
        else:  # transient or rate-limited: keep the current state, note the error
            account.last_error, account.last_error_at = str(error), timezone.now()
            account.save(update_fields=["last_error", "last_error_at"])
        return account.health
    if profile is None:
        set_health(
            account,
            Health.NOT_PROFESSIONAL,
            "Meta no longer shows this as a Business or "
            "Creator account (switched to personal, or unlinked from its Page).",
        )
        return account.health
    if profile.get("username") and profile["username"] != account.username:
        account.username = profile["username"]
        account.save(update_fields=["username"])
    expiry = account.unavoidable_expiry
    soon = expiry and expiry - timezone.now() < EXPIRY_WARNING
    health = Health.EXPIRING_SOON if soon else Health.CONNECTED
    set_health(account, health)
    return health


def _professional_profile(account: InstagramAccount, meta: MetaClient) -> dict | None:
    """The account's profile, or None when it is no longer a reachable professional account."""
    if account.login_path == LoginPath.INSTAGRAM:
        # Instagram Login: /me says what the account is now.
        profile = meta.get("me", {"fields": "user_id,username,account_type"})
        if str(profile.get("account_type", "")).upper() not in ("BUSINESS", "MEDIA_CREATOR"):
            return None
        return profile
    try:
        return meta.get(account.ig_user_id, {"fields": "id,username,name"})
    except MetaError as error:
        if error.kind != ErrorKind.MEDIA_UNAVAILABLE or not account.page_id:
            raise
    # Facebook Login: the node cannot be read. Is the Page still linked to this account?
    page = meta.get(account.page_id, {"fields": "instagram_business_account"})
    linked = (page.get("instagram_business_account") or {}).get("id")
    if linked != account.ig_user_id:
        return None
    raise MetaError(
        ErrorKind.UNKNOWN, "the account cannot be read through its Page", path=account.ig_user_id
    )


@sensitive_variables()
def refresh_token(account: InstagramAccount) -> bool:
    """Refresh an Instagram Login token (≥ 24 h old, unexpired). True when refreshed."""
    if account.login_path != LoginPath.INSTAGRAM or not account.has_token:
        return False
    try:
        token, expires_at = oauth.refresh_instagram_token(account.reveal_token())
    except crypto.TokenDecryptError:
        set_health(account, Health.NEEDS_RECONNECT, "The stored token could not be decrypted.")
        return False
    except MetaError as error:
        health = health_from_error(error)
        if health:
            set_health(account, health, str(error))
        log.warning("token refresh failed for %r: %s", account, error)
        return False
    account.store_token(token)
    account.token_issued_at = timezone.now()
    account.token_expires_at = expires_at
    account.expiry_warned_at = None
    account.token_refresh_lease_until = None
    account.save(
        update_fields=[
            "token_ciphertext",
            "token_issued_at",
            "token_expires_at",
            "expiry_warned_at",
            "token_refresh_lease_until",
        ]
    )
    if account.health == Health.EXPIRING_SOON:
        set_health(account, Health.CONNECTED)
    log.info("refreshed the token of %r", account)
    return True


def claim_token_refreshes(now=None, limit: int = 50) -> list[int]:
    """Instagram Login accounts whose token should be refreshed now, each claimed with a
    conditional UPDATE so two dispatchers never refresh one token twice (a refresh is not
    idempotent)."""
    now = now or timezone.now()
    due = InstagramAccount.objects.filter(
        login_path=LoginPath.INSTAGRAM,
        disconnected_at=None,
        token_expires_at__gt=now,
        token_expires_at__lt=now + REFRESH_WHEN_LEFT,
        token_issued_at__lt=now - REFRESH_MIN_AGE,
    ).filter(Q(token_refresh_lease_until=None) | Q(token_refresh_lease_until__lt=now))
    claimed = []
    for pk in due.values_list("pk", flat=True)[:limit]:
        if (
            InstagramAccount.objects.filter(pk=pk)
            .filter(Q(token_refresh_lease_until=None) | Q(token_refresh_lease_until__lt=now))
            .update(token_refresh_lease_until=now + timedelta(minutes=10))
        ):
            claimed.append(pk)
    return claimed


def claim_checks(now=None, limit: int = 100) -> list[int]:
    now = now or timezone.now()
    claimed = []
    due = InstagramAccount.objects.filter(next_check_at__lte=now, disconnected_at=None)
    for pk, due_at in due.values_list("pk", "next_check_at")[:limit]:
        # The due date is both the schedule and the lock: moving it claims the check.
        if InstagramAccount.objects.filter(pk=pk, next_check_at=due_at).update(
            next_check_at=now + check_interval()
        ):
            claimed.append(pk)
    return claimed


def warn_about_expiries(now=None) -> int:
    """Email the agency once ahead of an expiry nobody can avoid but by reconnecting."""
    now = now or timezone.now()
    soon = InstagramAccount.objects.filter(disconnected_at=None, expiry_warned_at=None).filter(
        Q(token_expires_at__lt=now + EXPIRY_WARNING)
        | Q(data_access_expires_at__lt=now + EXPIRY_WARNING)
    )
    warned = 0
    for account in soon.select_related("agency", "client"):
        if (
            account.login_path == LoginPath.INSTAGRAM
            and account.token_expires_at
            and account.token_issued_at
            and account.token_issued_at > now - REFRESH_MIN_AGE
        ):
            continue  # a fresh token will be refreshed, not lost
        if InstagramAccount.objects.filter(pk=account.pk, expiry_warned_at=None).update(
            expiry_warned_at=now
        ):
            if account.health == Health.CONNECTED:
                set_health(account, Health.EXPIRING_SOON)
            notify_admins(account, "insights/email/expiring")
            warned += 1
    return warned


def notify_admins(account: InstagramAccount, template: str) -> None:
    recipients = list(
        Membership.objects.filter(
            agency=account.agency_id, role__in=[Role.OWNER, Role.ADMIN]
        ).values_list("user__email", flat=True)
    )
    if not recipients:
        return
    url = settings.SITE_URL + reverse(
        "client_detail", args=[account.agency.slug, account.client_id]
    )
    context = {
        "account": account,
        "client": account.client,
        "agency": account.agency,
        "url": url,
        "expiry": account.unavoidable_expiry,
    }
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    send_mail(subject, render_to_string(f"{template}.txt", context), None, recipients)


# --- Reconnect links and disconnecting -------------------------------------------------------

RECONNECT_SALT = "prism.reconnect-link"


def reconnect_link(account: InstagramAccount) -> str:
    """A signed, expiring link that lets the client re-authorise this one account."""
    value = signing.dumps(
        {"a": account.pk, "g": account.agency_id, "n": secrets.token_hex(8)},
        salt=RECONNECT_SALT,
        compress=True,
    )
    return settings.SITE_URL + reverse("reconnect_link", args=[value])


def account_for_link(value: str) -> InstagramAccount | None:
    try:
        data = signing.loads(
            value, salt=RECONNECT_SALT, max_age=RECONNECT_LINK_LIFETIME.total_seconds()
        )
    except signing.BadSignature:
        return None
    return (
        InstagramAccount.objects.select_related("agency", "client")
        .filter(pk=data.get("a"), agency_id=data.get("g"))
        .first()
    )


def disconnect(account: InstagramAccount, *, keep_history: bool) -> None:
    """Drop the token. With keep_history the account stays (marked disconnected) so its history
    keeps showing in reports; without, the account and everything kept about it go."""
    if not keep_history:
        account.delete()
        return
    account.token_ciphertext = ""
    account.token_expires_at = None
    account.disconnected_at = timezone.now()
    account.save(update_fields=["token_ciphertext", "token_expires_at", "disconnected_at"])
    set_health(account, Health.DISCONNECTED)
