"""OAuth round trips in progress, reconnect links, and Meta's data-deletion requests."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone

from accounts.models import Agency

from .accounts import InstagramAccount, LoginPath
from .clients import Client


class OAuthState(models.Model):
    """A pending OAuth round trip. Only the state's hash is stored; it is single-use, expires in
    minutes and belongs to the browser session that started it."""

    class Purpose(models.TextChoices):
        CONNECT = "connect"
        RECONNECT_LINK = "reconnect_link"  # started by the client from a reconnect link

    state_hash = models.CharField(max_length=64, unique=True)
    session_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.CONNECT)
    login_path = models.CharField(max_length=10, choices=LoginPath.choices)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        InstagramAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reconnect_link = models.ForeignKey(  # the link a RECONNECT_LINK round trip was started from
        "ReconnectLink", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ReconnectLink(models.Model):
    """A link the agency sends its client so they can re-authorise one account without a Prism
    login. The URL carries 256 random bits and nothing else (no ids); only their hash is kept.
    Single use, expiring, revocable, and dead once its account is disconnected."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="reconnect_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    @classmethod
    def issue(cls, *, account: InstagramAccount, created_by, lifetime) -> tuple[ReconnectLink, str]:
        raw = secrets.token_urlsafe(32)
        link = cls.objects.create(
            agency_id=account.agency_id,
            account=account,
            token_hash=_token_hash(raw),
            created_by=created_by,
            expires_at=timezone.now() + lifetime,
        )
        return link, raw

    @classmethod
    def find(cls, raw: str) -> ReconnectLink | None:
        if not raw or len(raw) > 100:
            return None
        return (
            cls.objects.select_related("account__agency", "account__client")
            .filter(token_hash=_token_hash(raw))
            .first()
        )

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.account.disconnected_at:
            return "disconnected"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"


class PendingConnection(models.Model):
    """Facebook Login: the Instagram accounts found through the granted Pages, waiting for the
    person to pick which to connect. Holds the encrypted long-lived user token for minutes."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey(  # set when a reconnect link started it
        InstagramAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_hash = models.CharField(max_length=64)
    token_ciphertext = models.TextField()
    meta_user_id = models.CharField(max_length=32)
    granted_scopes = models.JSONField(default=list)
    # [{"ig_user_id", "username", "name", "page_id", "page_name", "page_token_ciphertext"}...]
    candidates = models.JSONField(default=list)
    pages_without_instagram = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()


class DeletionRequest(models.Model):
    """A data-deletion request from Meta's callback; its status page is public by code."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        DONE = "done", "Completed"

    confirmation_code = models.CharField(max_length=40, unique=True)
    app = models.CharField(max_length=10, choices=LoginPath.choices)
    meta_user_id = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    accounts_deleted = models.IntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Replays of one person's request map to one deletion.
            models.UniqueConstraint(fields=["app", "meta_user_id"], name="one_deletion_per_user"),
        ]
