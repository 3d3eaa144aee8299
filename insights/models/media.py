"""Media (posts, reels, carousels, stories) and their metric samples.

Contract for the reports (the general rules are in `insights.models.snapshots`):

- `Media` is one row per Instagram media id of the account, stories included (`is_story`).
  Metadata is refreshed from `/media` and `/stories`; `caption`/`permalink` are Meta's;
  `timestamp` is the publish time (UTC). `children` is the carousel's children as Meta listed
  them (`[{"id", "media_type"}]`); children have no insights of their own. `thumbnail` is a local
  copy, because Meta's CDN URLs expire; empty until fetched.
- `MediaSample` is one row per sample of a media's **lifetime** metrics: `metrics` is a JSON
  object `{metric: value}` with only what Meta answered in that sample (absent key = Meta gave no
  value; never read it as 0). Breakdown values are flat keys `"<metric>.<value>"` in Meta's
  lower-case spelling, e.g. `"navigation.tap_forward"`, `"profile_activity.bio_link_clicked"`.
  Units: counts, except `ig_reels_avg_watch_time` and `ig_reels_video_view_total_time`
  (milliseconds) and `reels_skip_rate` (a percentage, float). `age_seconds` is the media's real
  age when sampled (captured_at − timestamp), so growth curves line up ("views at 24 h").
  A sample per (media, captured_at); rows are never updated after the fact.
  One row per sample with a JSON object rather than one row per metric: samples are always read
  whole (a growth curve or "the latest values"), and this keeps the largest table ~10× smaller.
- `Media.latest_metrics` / `last_sampled_at` repeat the newest sample for cheap list pages
  (top posts); the samples are the history.
- Sampling follows a decaying schedule kept on the row (`next_sample_at`): new posts often, old
  ones rarely, nothing after Meta's two-year retention (`next_sample_at` NULL = no more samples).
- `insights_status` says why a media has no samples when it has none (`unavailable`: posted
  before the business conversion, Meta code 2108006; `too_few_viewers`: a story under 5 viewers;
  `gone`: deleted or no longer visible).
- Stories: `expires_at` = timestamp + 24 h. `story_state` is `pending` while live, then
  `captured` (a final sample taken at or after the final-capture point and before expiry, or the
  story_insights webhook's values), `late` (sampled, but the last sample before expiry came before
  the final-capture point, so its numbers may fall short of the final ones) or `missed` (no sample
  at all). `story_final_at` is when the value reports should use was taken.
  `replies_zeroed_by_region` is True when Meta reports replies as 0 because of its EU/Japan rule:
  such a 0 is not a real 0, and reports show "—" with a note.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .accounts import InstagramAccount


class InsightsStatus(models.TextChoices):
    OK = "ok", "Sampled"
    PENDING = "pending", "Not sampled yet"
    UNAVAILABLE = "unavailable", "Posted before the business conversion"
    TOO_FEW_VIEWERS = "too_few_viewers", "Fewer than 5 viewers"
    GONE = "gone", "Deleted or no longer visible"
    ERROR = "error", "Meta refused the insights"


class StoryState(models.TextChoices):
    NONE = "", "Not a story"
    PENDING = "pending", "Live"
    CAPTURED = "captured", "Captured"
    LATE = "late", "Captured late"
    MISSED = "missed", "Missed"


def _thumbnail_path(instance: Media, filename: str) -> str:
    return f"media-thumbs/{instance.account_id}/{instance.media_id}.jpg"


class Media(models.Model):
    account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="media")
    media_id = models.CharField(max_length=32)
    media_type = models.CharField(max_length=20, blank=True)  # IMAGE, VIDEO, CAROUSEL_ALBUM
    product_type = models.CharField(max_length=20, blank=True)  # FEED, REELS, STORY, AD
    caption = models.TextField(blank=True)
    permalink = models.CharField(max_length=500, blank=True)
    shortcode = models.CharField(max_length=64, blank=True)
    timestamp = models.DateTimeField()  # published (UTC)
    children = models.JSONField(default=list, blank=True)
    thumbnail = models.ImageField(upload_to=_thumbnail_path, blank=True)
    thumbnail_fetched_at = models.DateTimeField(null=True, blank=True)

    is_story = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)  # stories: timestamp + 24 h
    story_state = models.CharField(
        max_length=10, choices=StoryState.choices, default=StoryState.NONE, blank=True
    )
    story_final_at = models.DateTimeField(null=True, blank=True)  # when the final value came
    webhook_received_at = models.DateTimeField(null=True, blank=True)
    replies_zeroed_by_region = models.BooleanField(default=False)

    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)  # last listed by Meta
    gone_at = models.DateTimeField(null=True, blank=True)

    next_sample_at = models.DateTimeField(null=True, blank=True)  # NULL: no more samples
    last_sampled_at = models.DateTimeField(null=True, blank=True)
    sample_count = models.PositiveIntegerField(default=0)
    latest_metrics = models.JSONField(default=dict, blank=True)
    # Metrics Meta refused for this media (docs/graph-api.md §3: a refusal is evidence about the
    # media, not a rule): {metric: {"since": iso, "retry_at": iso, "times": n, "error": text}}.
    # Not asked until retry_at, then asked again with the media's next sample.
    refused_metrics = models.JSONField(default=dict, blank=True)
    insights_status = models.CharField(
        max_length=16, choices=InsightsStatus.choices, default=InsightsStatus.PENDING
    )
    insights_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["account", "-timestamp", "media_id"]
        verbose_name_plural = "media"
        constraints = [
            models.UniqueConstraint(fields=["account", "media_id"], name="media_once_per_account")
        ]
        indexes = [
            # The refresh: this account's media due for a sample.
            models.Index(fields=["account", "next_sample_at"], name="media_due"),
            # Reports: an account's media published in a date range.
            models.Index(fields=["account", "timestamp"], name="media_published"),
            # Story capture: live stories by expiry.
            models.Index(fields=["account", "is_story", "expires_at"], name="media_story_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.product_type or self.media_type} {self.media_id}"


class MediaSample(models.Model):
    class Source(models.TextChoices):
        POLL = "poll", "Scheduled sample"
        FINAL = "final", "Final capture before expiry"
        WEBHOOK = "webhook", "story_insights webhook"
        BACKFILL = "backfill", "Backfill"

    media = models.ForeignKey(Media, on_delete=models.CASCADE, related_name="samples")
    captured_at = models.DateTimeField()
    age_seconds = models.BigIntegerField()
    metrics = models.JSONField(default=dict)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.POLL)

    class Meta:
        ordering = ["media", "captured_at"]
        constraints = [
            models.UniqueConstraint(fields=["media", "captured_at"], name="media_sample_key")
        ]

    def __str__(self) -> str:
        return f"{self.media_id} @{self.age_seconds}s"
