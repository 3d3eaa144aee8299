"""The connect round trip: a single-use state, Meta's dialog, the code exchange, the Facebook
Login pick step, and the upsert that creates or updates the connected account."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts import audit

from .. import crypto
from ..cdn import download
from ..meta import oauth
from ..meta.client import ErrorKind, MetaError
from ..models import (
    Client,
    ConnectionChange,
    Health,
    InstagramAccount,
    LoginPath,
    OAuthState,
    PendingConnection,
    ReconnectLink,
)
from .health import check_interval
from .removal import claim_reconnect_link, release_reconnect_link

log = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=10)
PENDING_LIFETIME = timedelta(minutes=15)


class ConnectError(Exception):
    """A connect attempt that cannot go on. `reason` picks the page the person sees."""

    def __init__(self, reason: str, detail: str = "", **context):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail, self.context = reason, detail, context


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def session_hash(session_key: str) -> str:
    """What a state is bound to: the browser session, never stored in the clear."""
    return _hash("session:" + session_key)


# --- Starting and finishing the OAuth round trip --------------------------------------------


def start(
    *,
    session_key: str,
    user,
    client: Client,
    login_path: str,
    account: InstagramAccount | None = None,
    link: ReconnectLink | None = None,
    rerequest: bool = False,
) -> str:
    """Record a single-use state bound to this browser session; return the dialog's URL.
    With `link`, the round trip is the client's, started from a reconnect link (no Prism user)."""
    if login_path not in oauth.enabled_paths():
        raise ConnectError("path_disabled")
    raw_state = secrets.token_urlsafe(32)
    OAuthState.objects.create(
        state_hash=_hash(raw_state),
        session_hash=session_hash(session_key),
        purpose=OAuthState.Purpose.RECONNECT_LINK if link else OAuthState.Purpose.CONNECT,
        login_path=login_path,
        agency=client.agency,
        client=client,
        account=link.account if link else account,
        reconnect_link=link,
        user=None if link else user,
        expires_at=timezone.now() + STATE_LIFETIME,
    )
    return oauth.authorize_url(login_path, raw_state, rerequest=rerequest)


def consume_state(
    login_path: str, raw_state: str | None, *, session_key: str | None, user_id: int | None
) -> OAuthState:
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
    if not session_key or state.session_hash != session_hash(session_key):
        raise ConnectError("state_foreign")
    # Conditional UPDATE: of two concurrent callbacks with one state, only one goes on.
    if not OAuthState.objects.filter(pk=state.pk, used_at=None).update(used_at=timezone.now()):
        raise ConnectError("state_replayed", client=state.client)
    if state.purpose == OAuthState.Purpose.CONNECT and (
        state.user_id is None or state.user_id != user_id
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
def finish(state: OAuthState, code: str, *, session_key: str):
    """Exchange the code and connect. Returns the connected InstagramAccount(s) (Instagram
    Login, or a reconnect of a named account) or a PendingConnection for the person to pick
    from (Facebook Login)."""
    link_claimed_at = None
    if state.purpose == OAuthState.Purpose.RECONNECT_LINK:
        # Claimed before the exchange, so one link restores one connection even when opened
        # twice at once; given back if the attempt fails, so the client can try again.
        link_claimed_at = claim_reconnect_link(state.reconnect_link_id)
        if link_claimed_at is None:
            raise ConnectError("link_invalid")
    try:
        result = _exchange(state, code, session_key=session_key)
        if isinstance(result, PendingConnection) and result.account_id:
            result = connect_pending(
                result, [result.account.ig_user_id], revive=link_claimed_at is None
            )
        return result
    except ConnectError:
        if link_claimed_at is not None:
            release_reconnect_link(state.reconnect_link_id, link_claimed_at)
        raise


@sensitive_variables()
def _exchange(state: OAuthState, code: str, *, session_key: str):
    try:
        if state.login_path == LoginPath.INSTAGRAM:
            return _finish_instagram(state, code)
        return _finish_facebook(state, code, session_key=session_key)
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
        revive=state.purpose != OAuthState.Purpose.RECONNECT_LINK,
    )


@sensitive_variables()
def _finish_facebook(state: OAuthState, code: str, *, session_key: str):
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
        session_hash=session_hash(session_key),
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


def pending_for(pk: int, agency, *, session_key: str | None) -> PendingConnection | None:
    if not session_key:
        return None
    return (
        PendingConnection.objects.select_related("client", "account")
        .filter(
            pk=pk,
            agency=agency,
            session_hash=session_hash(session_key),
            expires_at__gt=timezone.now(),
        )
        .first()
    )


@sensitive_variables()
def connect_pending(
    pending: PendingConnection, chosen: list[str], *, revive: bool = True
) -> list[InstagramAccount]:
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
        try:
            page_token = crypto.decrypt(candidate["page_token_ciphertext"])
        except crypto.TokenDecryptError:
            # A key rotation that dropped the old key under a waiting pick page, or tampering.
            pending.delete()
            raise ConnectError("pending_unreadable") from None
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
                revive=revive,
            )
        )
    pending.delete()  # the user token is not kept
    if "pages_manage_metadata" in pending.granted_scopes:
        for account in connected:
            subscribe_page_webhooks(account)
    return connected


def subscribe_page_webhooks(account: InstagramAccount) -> bool:
    """Subscribe the account's Page to the app's webhook fields (Facebook Login only; graph-api.md
    §8.3), so Meta sends story_insights when a story expires. Best effort: polling captures
    stories anyway, so a refusal is logged and never fails the connect."""
    try:
        account.meta_client().post(
            f"{account.page_id}/subscribed_apps",
            data={"subscribed_fields": ",".join(WEBHOOK_FIELDS)},
        )
    except (MetaError, crypto.TokenDecryptError) as error:
        log.warning("webhook subscription of %r refused: %s", account, error)
        return False
    return True


WEBHOOK_FIELDS = ["story_insights"]


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
    revive: bool = True,
) -> InstagramAccount:
    """Create the account, or update it in place when it is already connected to this agency:
    a reconnect never duplicates an account or touches its history. `revive=False` (a client's
    reconnect link) refuses an account the agency has disconnected meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        account = (
            InstagramAccount.objects.select_for_update()
            .filter(agency=client.agency, ig_user_id=ig_user_id)
            .first()
        )
        if account is not None and account.client_id != client.pk:
            raise ConnectError("connected_elsewhere", account=account)
        if account is not None and account.disconnected_at and not revive:
            raise ConnectError("link_invalid")
        created = account is None
        previous_health = "" if created else account.health
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
        ConnectionChange.record(account, previous_health, Health.CONNECTED, now)
        audit.record(
            client.agency,
            audit.Kind.CONNECTED if created else audit.Kind.RECONNECTED,
            actor=user,
            actor_label="" if user else "The client, through a reconnect link",
            subject=f"@{account.username} ({client.name})",
        )
    if picture_url:
        cache_profile_picture(account, picture_url)
    log.info("connected %r through %s", account, login_path)
    return account


def cache_profile_picture(account: InstagramAccount, url: str) -> None:
    """Keep a copy: Meta's picture URLs expire. Fetched like media thumbnails (only Meta's CDNs
    or the sandbox's, size-capped, re-encoded as a small JPEG); a missing picture is cosmetic and
    never fails a connect."""
    body = download(url)
    if body is None:
        log.info("profile picture of %r not cached", account)
        return
    account.profile_picture.save(
        f"{account.agency_id}-{secrets.token_hex(8)}.jpg", ContentFile(body), save=True
    )


def purge_expired_attempts(now=None) -> tuple[int, int]:
    """Delete used-up connect attempts: states a day past expiry (kept that long to tell a
    replay from an unknown state) and pending Facebook connections, which hold tokens."""
    now = now or timezone.now()
    states, _ = OAuthState.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    pending, _ = PendingConnection.objects.filter(expires_at__lt=now).delete()
    return states, pending
