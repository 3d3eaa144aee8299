"""Sharing and delivery: agency branding, share links and their views, scheduled reports and
the deliveries they made (with the exact PDF sent)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import time

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Agency

from .clients import Client

HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #6d28d9.")
DEFAULT_PRIMARY = "#6d28d9"
DEFAULT_ACCENT = "#db2777"


def _brand_logo_path(branding: AgencyBranding, filename: str) -> str:
    # A random name, like client logos; served by a view, never by path.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"branding/{branding.agency_id}/{secrets.token_hex(12)}.{ext}"


def _public_id() -> str:
    return secrets.token_urlsafe(12)


class AgencyBranding(models.Model):
    """The agency's white label: what its clients see on report pages, shared links, PDFs and
    report emails instead of Prism's own look."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="branding")
    # Names the generated stylesheet and the logo in public URLs (shared pages, emails), so
    # they never carry the agency's slug or a guessable id.
    public_id = models.CharField(max_length=24, unique=True, default=_public_id)
    logo = models.ImageField(upload_to=_brand_logo_path, blank=True)
    primary_colour = models.CharField(
        max_length=7, default=DEFAULT_PRIMARY, validators=[HEX_COLOUR]
    )
    accent_colour = models.CharField(max_length=7, default=DEFAULT_ACCENT, validators=[HEX_COLOUR])
    sender_name = models.CharField(
        max_length=80, blank=True, help_text="Shown as the sender of report emails."
    )
    reply_to = models.EmailField(blank=True, help_text="Where replies to report emails go.")
    footer_text = models.CharField(max_length=300, blank=True)
    # A small "Powered by Prism" under what clients see: the agency's choice, off by default.
    powered_by = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Branding of {self.agency}"

    @property
    def version(self) -> str:
        """Changes whenever the branding does: the stylesheet URL carries it (cache busting)."""
        return hashlib.sha256(
            f"{self.primary_colour}{self.accent_colour}{self.logo.name}{self.updated_at}".encode()
        ).hexdigest()[:10]


# The report helper's range presets (insights.models.reports.RangePreset), by value.
PRESET_LABELS = {
    "last_7": "Last 7 days",
    "last_28": "Last 28 days",
    "last_90": "Last 90 days",
    "this_month": "This month",
    "last_month": "Last month",
}


def hash_share_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ShareLinkQuerySet(models.QuerySet):
    def live(self):
        return self.filter(Q(expires_at=None) | Q(expires_at__gt=timezone.now()), revoked_at=None)


class ShareLink(models.Model):
    """A link that opens one client's report without a login. Only the token's SHA-256 is
    stored; the raw token (256 random bits) exists in the URL handed to the agency, once."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="share_links")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=120, blank=True)
    # Either a preset evaluated when the link is opened ("last_28" stays current) or a
    # fixed range (a delivered report keeps showing the period it was sent for).
    preset = models.CharField(max_length=20, blank=True)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    compare = models.CharField(max_length=20, default="previous")
    # Django's password hasher; empty means no password.
    password_hash = models.CharField(max_length=256, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # None: never (until revoked)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        indexes = [
            # The client's report page lists its links, newest first.
            models.Index(fields=["client", "-created_at"], name="sharelink_client_list"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(preset="") | (Q(start__isnull=False) & Q(end__isnull=False)),
                name="sharelink_has_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Share link {self.pk} for {self.client}"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "live"

    @property
    def preset_label(self) -> str:
        return PRESET_LABELS.get(self.preset, self.preset)

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)


class ShareLinkView(models.Model):
    """One opening of a shared report. The IP is kept only as a keyed hash: enough to tell
    visitors apart, not to find them."""

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="views")
    viewed_at = models.DateTimeField(default=timezone.now)
    ip_hash = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=10, default="page")  # "page" or "pdf"

    class Meta:
        indexes = [models.Index(fields=["link", "-viewed_at"], name="sharelinkview_link_recent")]


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class ReportSchedule(models.Model):
    """A client's report sent by email every week or month.

    The database owns the schedule, as for refreshes: `next_send_at` is both the due date and,
    with `lease_until`/`lease_token`, the lock. The dispatcher claims a due row with a
    conditional UPDATE; `send_report` re-checks the lease and its final write is fenced by it.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="report_schedules")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="report_schedules")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default="weekly")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS, default=2)
    day_of_month = models.PositiveSmallIntegerField(default=3)  # 1..28: every month has it
    send_time = models.TimeField(default=time(9, 0))  # in the client's time zone
    # Meta's numbers keep moving for about two days after a day ends.
    settle_hours = models.PositiveSmallIntegerField(default=48)
    recipients = models.JSONField(default=list)
    compare = models.CharField(max_length=20, default="previous")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    next_send_at = models.DateTimeField(null=True, blank=True)
    next_period_start = models.DateField(null=True, blank=True)
    next_period_end = models.DateField(null=True, blank=True)  # inclusive
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)  # for the period due

    class Meta:
        indexes = [
            # The dispatcher's claim: active schedules by due date.
            models.Index(fields=["active", "next_send_at"], name="schedule_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} report for {self.client}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


def _delivery_pdf_path(delivery: ReportDelivery, filename: str) -> str:
    return f"deliveries/{delivery.agency_id}/{secrets.token_hex(12)}.pdf"


class ReportDelivery(models.Model):
    """One email of a report, with the exact PDF that was attached. A resend is a new row that
    points at the original and attaches the very same file."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="report_deliveries")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="report_deliveries")
    schedule = models.ForeignKey(
        ReportSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    resend_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends"
    )
    period_start = models.DateField()
    period_end = models.DateField()  # inclusive
    recipients = models.JSONField(default=list)
    sent_to = models.JSONField(default=list)  # a retry after a partial failure skips these
    compare = models.CharField(max_length=20, default="previous")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    pdf = models.FileField(upload_to=_delivery_pdf_path, blank=True, max_length=200)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_size = models.PositiveIntegerField(null=True, blank=True)
    # The email's headline figures, taken from the same report as the PDF and kept with it, so a
    # resend says exactly what the first email said: [{"label", "value", "change", "note"}].
    headline = models.JSONField(default=list, blank=True)
    # The report's highlights (insights.reports.insight.highlights) as the email said them: the
    # sentences are written from the same report as the PDF and kept with it, as sent.
    highlights = models.JSONField(default=list, blank=True)
    share_link = models.ForeignKey(
        ShareLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The client's delivery log, newest first.
            models.Index(fields=["client", "-created_at"], name="delivery_client_log"),
        ]
        constraints = [
            # A retried or duplicated send_report finds the period's row instead of mailing twice.
            models.UniqueConstraint(
                fields=["schedule", "period_start"],
                condition=Q(resend_of__isnull=True, schedule__isnull=False),
                name="one_delivery_per_schedule_period",
            ),
        ]

    def __str__(self) -> str:
        return f"Report for {self.client} {self.period_start}–{self.period_end} ({self.status})"
