"""Ending connections: reconnect links for the client, disconnecting, dropping tokens when Meta
says the app was removed, and deleting accounts with their history."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from ..models import DeletionRequest, Health, InstagramAccount
from .health import set_health

log = logging.getLogger(__name__)

RECONNECT_LINK_LIFETIME = timedelta(days=7)
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
    account.disconnected_at = timezone.now()
    drop_token(account, Health.DISCONNECTED, extra_fields=["disconnected_at"])


def drop_token(
    account: InstagramAccount, health: str, error: str = "", *, extra_fields: list[str] = ()
) -> None:
    """The one way a stored token is thrown away (disconnect, Meta's deauthorize callback)."""
    account.token_ciphertext = ""
    account.token_expires_at = None
    account.save(update_fields=["token_ciphertext", "token_expires_at", *extra_fields])
    set_health(account, health, error)


def accounts_of_meta_user(app: str, meta_user_id: str):
    """The accounts connected through `app` (a LoginPath) by this Meta user."""
    return InstagramAccount.objects.filter(login_path=app, meta_user_id=str(meta_user_id))


def drop_tokens_of_meta_user(app: str, meta_user_id: str) -> int:
    """Meta says the person removed the app: their tokens are useless, so drop them; the
    accounts and their history stay, marked as needing a reconnect."""
    dropped = 0
    for account in accounts_of_meta_user(app, meta_user_id).exclude(token_ciphertext=""):
        drop_token(
            account,
            Health.NEEDS_RECONNECT,
            "The app was removed from the account owner's Meta settings.",
        )
        dropped += 1
    return dropped


def perform_deletion(deletion: DeletionRequest) -> int:
    """Meta's data-deletion request: delete the person's connected accounts with all their
    history."""
    deleted = 0
    for account in accounts_of_meta_user(deletion.app, deletion.meta_user_id):
        account.delete()
        deleted += 1
    DeletionRequest.objects.filter(pk=deletion.pk).update(
        status=DeletionRequest.Status.DONE,
        completed_at=timezone.now(),
        accounts_deleted=deletion.accounts_deleted + deleted,
    )
    return deleted
