"""What Prism keeps of an account's insights: dated snapshots, kept forever.

This module is the contract between the refresh pipeline (which writes these tables) and the
reports (which only read them). Rules that hold for every table here:

- **Missing data is an absent row, never 0.** Meta answers "no data" with an empty set; Prism
  stores nothing for it. A stored 0 is a 0 Meta said. Show "—" where a row is missing.
- **Days are Pacific days.** Meta's daily values end at midnight America/Los_Angeles; a value whose
  `end_time` is 2026-08-02T07:00:00+0000 covers the Pacific calendar day 2026-08-01, so
  `day = (end_time in Pacific) - 1 day` (`insights.meta.parse.pacific_day`). The raw `end_time` is
  kept beside it. The client's own time zone is applied at report time, deliberately, and reports
  say which zone they show; nothing here is stored in the client's zone.
- **Narrow rows, one plain UniqueConstraint per table, nothing nullable in a key.** `dimension` is
  `''` for "no breakdown"; otherwise it is `key=value` pairs in Meta's `dimension_keys` order,
  joined by `|` (e.g. `follow_type=FOLLOWER`, `media_product_type=REEL|follow_type=FOLLOWER`).
  Breakdown values are kept exactly as Meta spells them (Meta's real labels differ from its docs:
  `POST`, `CAROUSEL_CONTAINER`, `REEL`...), so unknown values are kept, not dropped.
- Writes are idempotent upserts (`bulk_create(update_conflicts=True)` on the unique key, see
  `insights.refresh.store`): a refresh run twice leaves exactly one run's rows. A re-read replaces
  the value (Meta's numbers settle for up to 48 h) and moves `captured_at`.
- Units: counts are integers (accounts, views, interactions). Nothing here is a rate.

Tables:

- `ProfileSnapshot`: the profile's `followers_count`, `follows_count`, `media_count` as read on a
  Pacific day (the last read of the day wins). Meta's `follower_count` metric covers only 30 days;
  this is Prism's follower history, from the day the account was connected. Never back-filled:
  a live total is written only for the day it was read. A field Meta omitted is NULL.
- `AccountDaily`: one value per (metric, dimension, day). Two sources share it: time-series
  metrics (`reach`, `follower_count` = new followers that day) and per-day totals of the metrics
  Meta gives only as `total_value` (`views`, `accounts_engaged`, `total_interactions`, `likes`,
  `comments`, `saves`, `shares`, `replies`, `reposts`, `profile_links_taps`,
  `follows_and_unfollows`, with their breakdowns). `settled` is True once the value was read at
  least 48 h after its day ended; unsettled values are re-read by later refreshes.
  **Daily reach is not additive**: never sum `reach` rows and call the result reach; use
  `WindowMetric`.
- **`zeroed_by_region`** (on `AccountDaily` and `WindowMetric`): True on a `replies` value of 0
  that Meta's EU / Japan rule produced (graph-api.md §5.2: story replies are reported as 0 for
  creators there; the account-level `replies` metric counts story replies). It is not a real 0:
  reports show "—" with a note ("not given by Meta in the EU / Japan"), never 0, and never add
  it into a sum. The value column still holds Meta's 0 (what Meta said). The region decision is
  `insights.refresh.region`, shared with the stories' `Media.replies_zeroed_by_region`.
- `WindowMetric`: de-duplicated values for a window of Pacific days, `start`..`end` inclusive:
  `kind` 7d / 28d (rolling windows, one row per end day) and month (calendar month; the current
  month's row grows daily, its `end` is the last day included so far, `complete` tells whether the
  month is over). Metric is `reach` (and possibly other unique-count metrics later).
- `DemographicSnapshot` + `DemographicBucket`: audience demographics (metric
  `follower_demographics` or `engaged_audience_demographics`, breakdown age / gender / country /
  city, Meta's `timeframe`), captured weekly. A snapshot is replaced whole (its buckets can vanish:
  Meta returns only the top 45), so never merge buckets of two snapshots. Buckets cover only users
  whose demographics Meta knows, so their sum is below the follower count. A snapshot with no
  buckets means Meta answered with no data (e.g. under 100 followers), shown as "—".
- `MetricRejection`: metrics Meta refused for this account (account insights and breakdowns,
  per Graph version) with Meta's error, since when (`first_seen_at`) and when they are asked
  again (`retry_at`); a media's own refusals are on the media (`Media.refused_metrics`). The
  refresh stops asking for them until then and stores the rest.
- `BackfillWindow`: the history backfill's plan and progress, one row per ≤ 30-day window.
- `ApiThrottle`: app-wide usage (X-App-Usage) per Meta host; the dispatcher slows down near it.

Media, their samples and stories are in `insights.models.media`.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .accounts import InstagramAccount


class ProfileSnapshot(models.Model):
    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="profile_snapshots"
    )
    day = models.DateField()  # Pacific date of the read
    followers_count = models.BigIntegerField(null=True, blank=True)
    follows_count = models.BigIntegerField(null=True, blank=True)
    media_count = models.BigIntegerField(null=True, blank=True)
    captured_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "day"]
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="profile_snapshot_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.followers_count} followers"


class AccountDaily(models.Model):
    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="daily_metrics"
    )
    metric = models.CharField(max_length=64)
    dimension = models.CharField(max_length=200, default="", blank=True)  # '' = no breakdown
    day = models.DateField()  # Pacific day the value covers
    value = models.BigIntegerField()
    end_time = models.DateTimeField()  # Meta's raw end_time (end of the Pacific day, in UTC)
    captured_at = models.DateTimeField(default=timezone.now)
    settled = models.BooleanField(default=False)  # read ≥ 48 h after end_time: final
    zeroed_by_region = models.BooleanField(default=False)  # Meta's EU/Japan replies rule: not 0

    class Meta:
        ordering = ["account", "metric", "dimension", "day"]
        constraints = [
            # Also serves the reports' range reads (account, metric, dimension, day between).
            models.UniqueConstraint(
                fields=["account", "metric", "dimension", "day"], name="account_daily_key"
            )
        ]
        indexes = [
            # The daily refresh: which recent days are not settled yet.
            models.Index(fields=["account", "settled", "day"], name="account_daily_unsettled"),
        ]

    def __str__(self) -> str:
        dim = f"[{self.dimension}]" if self.dimension else ""
        return f"{self.account_id} {self.metric}{dim} {self.day} = {self.value}"


class WindowKind(models.TextChoices):
    DAYS_7 = "7d", "7 days"
    DAYS_28 = "28d", "28 days"
    MONTH = "month", "Calendar month"


class WindowMetric(models.Model):
    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="window_metrics"
    )
    metric = models.CharField(max_length=64)
    dimension = models.CharField(max_length=200, default="", blank=True)
    kind = models.CharField(max_length=8, choices=WindowKind.choices)
    start = models.DateField()  # first Pacific day included
    end = models.DateField()  # last Pacific day included
    value = models.BigIntegerField()
    complete = models.BooleanField(default=True)  # False: a month still in progress
    captured_at = models.DateTimeField(default=timezone.now)
    settled = models.BooleanField(default=False)
    zeroed_by_region = models.BooleanField(default=False)  # Meta's EU/Japan replies rule: not 0

    class Meta:
        ordering = ["account", "metric", "kind", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "metric", "dimension", "kind", "start"],
                name="window_metric_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.metric} {self.kind} {self.start}..{self.end}"


class DemographicSnapshot(models.Model):
    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="demographic_snapshots"
    )
    metric = models.CharField(max_length=64)  # follower_demographics, engaged_audience_...
    breakdown = models.CharField(max_length=16)  # age, gender, country, city
    timeframe = models.CharField(max_length=20, default="", blank=True)  # Meta's timeframe
    captured_on = models.DateField()  # Pacific date of the read
    captured_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "metric", "breakdown", "captured_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "metric", "breakdown", "timeframe", "captured_on"],
                name="demographic_snapshot_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.metric}/{self.breakdown} {self.captured_on}"


class DemographicBucket(models.Model):
    snapshot = models.ForeignKey(
        DemographicSnapshot, on_delete=models.CASCADE, related_name="buckets"
    )
    key = models.CharField(max_length=200)  # "25-34", "F", "US", "Jakarta, Jakarta"
    value = models.BigIntegerField()

    class Meta:
        ordering = ["snapshot", "-value", "key"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "key"], name="demographic_bucket_key")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.value}"


class MetricRejection(models.Model):
    """A metric Meta refused for this account. `product_type` is '' for account insights, else
    the media product type (FEED, REELS, STORY, CAROUSEL_ALBUM...). The refresh skips a rejected
    metric for that product type and version and keeps storing everything else; a rejection is
    never a disconnection."""

    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="metric_rejections"
    )
    metric = models.CharField(max_length=64)
    product_type = models.CharField(max_length=32, default="", blank=True)
    api_version = models.CharField(max_length=10, default="", blank=True)
    error = models.TextField(blank=True)  # Meta's message (redacted, no token)
    code = models.IntegerField(null=True, blank=True)
    subcode = models.IntegerField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    times_seen = models.PositiveIntegerField(default=1)
    # Asked again from then on (docs/graph-api.md §3: a refusal is not forever): 7 days after a
    # first refusal, doubling with each repeat up to 60 days. NULL: rows from before this field,
    # asked again at once. An answer with the metric deletes the row.
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "product_type", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "metric", "product_type", "api_version"],
                name="metric_rejection_key",
            )
        ]

    def __str__(self) -> str:
        where = self.product_type or "account"
        return f"{self.account_id} {self.metric} ({where}, {self.api_version or 'default'})"


class BackfillWindow(models.Model):
    """One step of the history backfill: a ≤ 30-day window of Pacific days for one kind of read.

    Zulip's FillState shape: a window goes pending → started → done inside the account's lease;
    its writes are idempotent upserts, so a window found `started` after a crash is simply redone.
    Progress is derived from these rows (done / total), never from counters.
    """

    class Kind(models.TextChoices):
        ACCOUNT = "account", "Account metrics"
        MEDIA = "media", "Media"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        STARTED = "started", "Started"
        DONE = "done", "Done"

    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="backfill_windows"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ACCOUNT)
    start = models.DateField()
    end = models.DateField()  # inclusive
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    steps = models.PositiveIntegerField(default=1)  # requests/operations this window needs
    empty = models.BooleanField(default=False)  # Meta had nothing here: history ends
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "kind", "-start"]
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "start"], name="backfill_window_key")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind} {self.start}..{self.end} {self.state}"


class ApiThrottle(models.Model):
    """App-wide usage of one Meta host as its X-App-Usage header last reported it. Per-account
    (BUC) throttling lives on the account (`throttled_until`)."""

    host = models.CharField(max_length=64, unique=True)
    percent = models.PositiveIntegerField(default=0)  # highest of call_count/total_time/cputime
    throttled_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.host}: {self.percent}%"
