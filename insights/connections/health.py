"""Connection health: each connected account's periodic check, token refresh, expiry warnings
and the notice emails. The state itself and the account's Meta client belong to the account
(`InstagramAccount.set_health`, `.meta_client()`, `models.health_from_error`), so the refresh
pipeline records health without importing this module; nothing here depends on the OAuth round
trip (`connections.oauth`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import Membership, Role

from .. import crypto
from ..meta import oauth as meta_oauth
from ..meta.client import ErrorKind, MetaClient, MetaError
from ..models import Health, InstagramAccount, LoginPath, health_from_error

log = logging.getLogger(__name__)

EXPIRY_WARNING = timedelta(days=14)
# Instagram Login tokens are refreshed once they are a day old and have under 30 days left.
REFRESH_WHEN_LEFT = timedelta(days=30)
REFRESH_MIN_AGE = timedelta(hours=24)


def check_interval() -> timedelta:
    """How often each connection is checked with one cheap call (settings.ACCOUNT_CHECK_MINUTES)."""
    return timedelta(minutes=settings.ACCOUNT_CHECK_MINUTES)


def check_account(account: InstagramAccount) -> str:
    """Ask Meta about the account with its token; record and return the resulting health."""
    account.last_checked_at = timezone.now()
    account.next_check_at = account.last_checked_at + check_interval()
    account.save(update_fields=["last_checked_at", "next_check_at"])
    if not account.has_token:
        return account.health
    try:
        profile = _professional_profile(account, account.meta_client())
    except crypto.TokenDecryptError:
        return Health.NEEDS_RECONNECT
    except MetaError as error:
        health = health_from_error(error)
        if health:
            account.set_health(health, str(error))
        else:  # transient or rate-limited: keep the current state, note the error
            account.last_error, account.last_error_at = str(error), timezone.now()
            account.save(update_fields=["last_error", "last_error_at"])
        return account.health
    if profile is None:
        account.set_health(
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
    account.set_health(health)
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
        token, expires_at = meta_oauth.refresh_instagram_token(account.reveal_token())
    except crypto.TokenDecryptError:
        account.set_health(Health.NEEDS_RECONNECT, "The stored token could not be decrypted.")
        return False
    except MetaError as error:
        health = health_from_error(error)
        if health:
            account.set_health(health, str(error))
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
        account.set_health(Health.CONNECTED)
    log.info("refreshed the token of %r", account)
    return True


# A token Meta called invalid (190) stays dead until a reconnect stores a new one (which sets
# the health back): checking or refreshing it meanwhile would only send Meta a request every
# half hour that can never succeed.
TOKEN_ALIVE = {"health__in": [h for h in Health.values if h != Health.NEEDS_RECONNECT]}


def claim_token_refreshes(now=None, limit: int = 50) -> list[int]:
    """Instagram Login accounts whose token should be refreshed now, each claimed with a
    conditional UPDATE so two dispatchers never refresh one token twice (a refresh is not
    idempotent)."""
    now = now or timezone.now()
    due = InstagramAccount.objects.filter(
        login_path=LoginPath.INSTAGRAM,
        disconnected_at=None,
        token_expires_at__gt=now,
        **TOKEN_ALIVE,
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
    due = InstagramAccount.objects.filter(next_check_at__lte=now, disconnected_at=None).filter(
        **TOKEN_ALIVE
    )
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
                account.set_health(Health.EXPIRING_SOON)
            account.notify_admins("insights/email/expiring")
            warned += 1
    return warned


NOTICE_TEMPLATES = {"insights/email/needs_attention", "insights/email/expiring"}


def email_admins(account: InstagramAccount, template: str) -> None:
    """The task's work: render and send the notice about `account` to its owners and admins."""
    if template not in NOTICE_TEMPLATES:
        raise ValueError(f"unknown notice {template!r}")
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
