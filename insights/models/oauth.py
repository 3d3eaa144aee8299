"""OAuth round trips in progress, and Meta's data-deletion requests."""

from __future__ import annotations

from django.db import models

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
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


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
