"""Clients: the brands whose Instagram accounts an agency reports on."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from accounts.models import TIME_ZONE_CHOICES, Agency


def _logo_path(client: Client, filename: str) -> str:
    # A random name: uploads are served only through an agency-checked view, never by path.
    # The form names the file by its detected format; anything else is not trusted.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    ext = ext if ext in ("png", "jpg", "webp") else "bin"
    return f"logos/{client.agency_id}/{secrets.token_hex(12)}.{ext}"


class ClientQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at=None)


class Client(models.Model):
    """One of an agency's clients: the brand whose Instagram accounts Prism reports on."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="clients")
    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    notes = models.TextField(blank=True)
    logo = models.ImageField(upload_to=_logo_path, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        indexes = [
            # The client list: an agency's active clients by name.
            models.Index(fields=["agency", "archived_at", "name"], name="client_agency_list"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def archive(self) -> None:
        self.archived_at = timezone.now()
        self.save(update_fields=["archived_at", "updated_at"])

    def restore(self) -> None:
        self.archived_at = None
        self.save(update_fields=["archived_at", "updated_at"])
