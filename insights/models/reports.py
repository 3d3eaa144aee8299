"""Per-client report settings and the notes an agency puts on a client's report dates.

Prism's own annotations (disconnections, gaps, Meta's metric changes) are derived when a report is
built (insights.reports.build) rather than stored, so they can never disagree with the data.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Agency

from .accounts import InstagramAccount
from .clients import Client


class EngagementFormula(models.TextChoices):
    """The two engagement rates agencies use, both per post (a period's interactions divided by
    its followers gave 51 %, 134 %, 405 %: nobody believes those)."""

    POST_REACH = "post_reach", "Per post, by reach"
    POST_FOLLOWERS = "post_followers", "Per post, by followers"


ENGAGEMENT_FORMULA_HELP = {
    EngagementFormula.POST_REACH: "for each post, reel and carousel published in the period, its "
    "interactions ÷ its reach × 100, averaged over those posts",
    EngagementFormula.POST_FOLLOWERS: "for each post, reel and carousel published in the period, "
    "its interactions ÷ the account's followers at the end of the period × 100, averaged over "
    "those posts",
}


class RangePreset(models.TextChoices):
    LAST_7 = "last_7", "Last 7 days"
    LAST_28 = "last_28", "Last 28 days"
    LAST_90 = "last_90", "Last 90 days"
    THIS_MONTH = "this_month", "This month"
    LAST_MONTH = "last_month", "Last month"
    CUSTOM = "custom", "Custom"


class Compare(models.TextChoices):
    PREVIOUS = "previous", "Previous period"
    YEAR = "year", "Same period last year"
    NONE = "none", "No comparison"


class ReportSettings(models.Model):
    """How a client's reports are computed and opened. A client without a row uses the defaults."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="report_settings")
    engagement_formula = models.CharField(
        max_length=16, choices=EngagementFormula.choices, default=EngagementFormula.POST_REACH
    )
    default_range = models.CharField(
        max_length=12,
        choices=[c for c in RangePreset.choices if c[0] != RangePreset.CUSTOM],
        default=RangePreset.LAST_28,
    )
    default_compare = models.CharField(
        max_length=10, choices=Compare.choices, default=Compare.PREVIOUS
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Report settings of {self.client_id}"

    @property
    def formula_help(self) -> str:
        return ENGAGEMENT_FORMULA_HELP[EngagementFormula(self.engagement_formula)]


class ReportNote(models.Model):
    """An agency's note on a date of a client's report (a campaign, a launch, an outage), shown as
    a numbered marker on the charts. `account` empty: about the whole client."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="report_notes")
    account = models.ForeignKey(
        InstagramAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    text = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["day", "pk"]
        indexes = [
            # The report: a client's notes in a date range.
            models.Index(fields=["client", "day"], name="report_note_client_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.text}"
