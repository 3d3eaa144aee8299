"""Ending connections: reconnect links for the client, disconnecting, dropping tokens when Meta
says the app was removed, and deleting accounts with their history."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import audit
from accounts.models import User

from ..models import DeletionRequest, Health, InstagramAccount, ReconnectLink

log = logging.getLogger(__name__)

RECONNECT_LINK_LIFETIME = timedelta(days=7)


def issue_reconnect_link(
    account: InstagramAccount, *, created_by=None, emailed_to: str = ""
) -> tuple[ReconnectLink, str]:
    """A new single-use, expiring link that lets the client re-authorise this one account.
    Returns the link and its URL; the URL exists only now (only its hash is stored)."""
    link, raw = ReconnectLink.issue(
        account=account, created_by=created_by, lifetime=RECONNECT_LINK_LIFETIME
    )
    audit.record(
        account.agency_id,
        audit.Kind.LINK_EMAILED if emailed_to else audit.Kind.LINK_CREATED,
        actor=created_by,
        subject=f"@{account.username}" + (f" to {emailed_to}" if emailed_to else ""),
    )
    log.info("reconnect link %s issued for %r", link.pk, account)
    return link, settings.SITE_URL + reverse("reconnect_link", args=[raw])


def email_reconnect_link(account: InstagramAccount, email: str, *, created_by_id=None) -> None:
    created_by = User.objects.filter(pk=created_by_id).first() if created_by_id else None
    _link, url = issue_reconnect_link(account, created_by=created_by, emailed_to=email)
    context = {
        "account": account,
        "agency": account.agency,
        "url": url,
        "days": RECONNECT_LINK_LIFETIME.days,
        "sender": created_by,
    }
    send_mail(
        render_to_string("insights/email/reconnect_link_subject.txt", context).strip(),
        render_to_string("insights/email/reconnect_link.txt", context),
        None,
        [email],
    )


def usable_link(raw: str) -> ReconnectLink | None:
    """The link this URL names if it can still be used: not used, revoked or expired, and its
    account still connected (a disconnect outranks every link sent before it)."""
    link = ReconnectLink.find(raw)
    return link if link is not None and link.state == "active" else None


def active_links(account: InstagramAccount):
    return account.reconnect_links.filter(
        used_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).select_related("created_by")


def claim_reconnect_link(link_id: int | None):
    """Use the link up (conditional UPDATE: of two concurrent callbacks, one wins). Returns the
    claim time, or None when the link can no longer be used."""
    now = timezone.now()
    claimed = ReconnectLink.objects.filter(
        pk=link_id,
        used_at=None,
        revoked_at=None,
        expires_at__gt=now,
        account__disconnected_at=None,
    ).update(used_at=now)
    return now if claimed else None


def release_reconnect_link(link_id: int, claimed_at) -> None:
    """A failed attempt (denied, wrong account, Meta error) gives the link back."""
    ReconnectLink.objects.filter(pk=link_id, used_at=claimed_at).update(used_at=None)


def revoke_reconnect_links(account: InstagramAccount, *, pk: int | None = None, actor=None) -> int:
    links = ReconnectLink.objects.filter(account=account, used_at=None, revoked_at=None)
    if pk is not None:
        links = links.filter(pk=pk)
    revoked = links.update(revoked_at=timezone.now())
    if revoked and pk is not None:
        audit.record(
            account.agency_id, audit.Kind.LINK_REVOKED, actor=actor, subject=f"@{account.username}"
        )
    return revoked


def disconnect(account: InstagramAccount, *, keep_history: bool, actor=None) -> None:
    """Drop the token. With keep_history the account stays (marked disconnected) so its history
    keeps showing in reports; without, the account and everything kept about it go."""
    audit.record(
        account.agency_id,
        audit.Kind.DISCONNECTED,
        actor=actor,
        subject=f"@{account.username} ({account.client.name})"
        + ("" if keep_history else ", history deleted"),
    )
    if not keep_history:
        account.delete()
        return
    account.disconnected_at = timezone.now()
    drop_token(account, Health.DISCONNECTED, extra_fields=["disconnected_at"])
    revoke_reconnect_links(account)


def drop_token(
    account: InstagramAccount, health: str, error: str = "", *, extra_fields: list[str] = ()
) -> None:
    """The one way a stored token is thrown away (disconnect, Meta's deauthorize callback)."""
    account.token_ciphertext = ""
    account.token_expires_at = None
    account.save(update_fields=["token_ciphertext", "token_expires_at", *extra_fields])
    account.set_health(health, error)


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
        audit.record(
            account.agency_id,
            audit.Kind.ACCESS_REMOVED,
            actor_label="Meta (the account's owner removed Prism)",
            subject=f"@{account.username}",
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
