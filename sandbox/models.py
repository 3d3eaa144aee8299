"""State of the sandbox: the small part of its world that is not computed from seeds.

Media, daily metrics and demographics of generated accounts are pure functions of
(SANDBOX_SEED, account seed, date) in `sandbox/world.py`, so large accounts cost nothing until read.
What must be remembered lives here: people, Pages, accounts, tokens, codes, media added through
the control API, faults, the clock and the call log.
"""

from __future__ import annotations

from django.db import models


class Clock(models.Model):
    """Singleton (pk=1): the sandbox's time is the real time plus this offset, or, while
    frozen, exactly `frozen_at` (tests and benchmarks that compare readings taken moments apart)."""

    offset_seconds = models.FloatField(default=0)
    frozen_at = models.DateTimeField(null=True, blank=True)


class WorldSettings(models.Model):
    """Singleton (pk=1): behaviours graph-api.md marks uncertain [UNC], as switches. Absent keys
    take the defaults in sandbox/settings_world.py (the more cautious choice)."""

    values = models.JSONField(default=dict)


class Person(models.Model):
    """Someone who signs in to the sandbox's OAuth dialogs."""

    name = models.CharField(max_length=100)
    login = models.CharField(max_length=100, unique=True)  # what they type in the dialog
    fb_user_id = models.CharField(max_length=20, unique=True)  # app-scoped Facebook user id
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.login


class InstagramAccount(models.Model):
    class Type(models.TextChoices):
        BUSINESS = "BUSINESS"
        CREATOR = "MEDIA_CREATOR"
        PERSONAL = "PERSONAL"

    ig_user_id = models.CharField(max_length=20, unique=True)  # 1784…, the professional id
    ig_app_scoped_id = models.CharField(max_length=20, unique=True)  # `id` on Instagram Login /me
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="ig_accounts")
    username = models.CharField(max_length=60, unique=True)
    name = models.CharField(max_length=100, blank=True)
    biography = models.TextField(blank=True)
    website = models.CharField(max_length=200, blank=True)
    account_type = models.CharField(max_length=16, choices=Type.choices, default=Type.BUSINESS)
    followers = models.IntegerField(default=1000)  # today's followers_count
    follows = models.IntegerField(default=100)
    media_count = models.IntegerField(default=50)  # generated feed media (posts, reels, albums)
    history_days = models.IntegerField(default=730)  # how long the account has existed
    # Media posted before this moment predate the business conversion: their insights → 2108006.
    converted_at = models.DateTimeField(null=True, blank=True)
    # Stories by creators in these regions report replies as 0 (Meta's privacy rules).
    region = models.CharField(max_length=2, default="US")
    seed = models.IntegerField(default=0)
    # Active stories the generator keeps alive for this account (in addition to added ones).
    active_stories = models.IntegerField(default=3)
    # Business Use Case budget: calls per rolling 24 h before 80002. None: Meta's formula,
    # 4,800 × the account's impressions of the last 24 hours (sandbox.core.buc_budget).
    call_budget = models.IntegerField(null=True, blank=True, default=None)
    # Whether Meta still answers online_followers for this account (many get nothing on v22+).
    online_followers = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)  # real time of creation
    # Sandbox time of creation: the generated history ends here and the account lives on after
    # it (None on rows from before this field: created_at stands in).
    anchor_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"@{self.username}"

    @property
    def is_professional(self) -> bool:
        return self.account_type != self.Type.PERSONAL


class Page(models.Model):
    """A Facebook Page; Facebook Login finds Instagram accounts through the Pages it is granted."""

    page_id = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=60, default="Brand")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="pages")
    ig_account = models.OneToOneField(
        InstagramAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="page"
    )
    # Owned by a business portfolio: /me/accounts lists it only when the token has
    # business_management, otherwise the Page is silently missing (graph-api.md §12.14).
    business_owned = models.BooleanField(default=False)
    # Webhook fields the sandbox app subscribed to on this Page (POST /{page-id}/subscribed_apps).
    subscribed_fields = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return self.name


class Token(models.Model):
    class Kind(models.TextChoices):
        FB_SHORT = "fb_short"  # Facebook user token, 1-2 h
        FB_LONG = "fb_long"  # Facebook user token, 60 days
        PAGE = "page"  # Page token (never expires when got with a long-lived user token)
        IG_SHORT = "ig_short"  # Instagram user token, 1 h
        IG_LONG = "ig_long"  # Instagram user token, 60 days, refreshable after 24 h

    token = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tokens")
    # Instagram-login tokens belong to one account; Facebook tokens reach granted Pages.
    ig_account = models.ForeignKey(
        InstagramAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens"
    )
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.CASCADE)
    scopes = models.JSONField(default=list)
    declined_scopes = models.JSONField(default=list)
    granted_page_ids = models.JSONField(default=list)  # Facebook Login: the Pages picked
    issued_at = models.DateTimeField()  # sandbox time
    expires_at = models.DateTimeField(null=True, blank=True)  # sandbox time; None = never
    # Set when revoked: 190 with this subcode (458 removed app, 460 password, 467 logged out).
    revoked_subcode = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} token #{self.pk}"

    @property
    def host(self) -> str:
        return "graph.instagram.com" if self.kind.startswith("ig") else "graph.facebook.com"


class AuthCode(models.Model):
    """An authorization code from a dialog: single use, valid for one hour."""

    code = models.CharField(max_length=200, unique=True)
    app = models.CharField(max_length=10)  # "facebook" | "instagram"
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    ig_account = models.ForeignKey(
        InstagramAccount, null=True, blank=True, on_delete=models.CASCADE
    )
    redirect_uri = models.TextField()
    scopes = models.JSONField(default=list)
    declined_scopes = models.JSONField(default=list)
    granted_page_ids = models.JSONField(default=list)
    created_at = models.DateTimeField()  # sandbox time
    used_at = models.DateTimeField(null=True, blank=True)


class Media(models.Model):
    """Media added through the control API ("post this now"). Generated media are not stored."""

    media_id = models.CharField(max_length=20, unique=True)
    account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="media")
    media_type = models.CharField(max_length=16, default="IMAGE")  # IMAGE|VIDEO|CAROUSEL_ALBUM
    product_type = models.CharField(max_length=8, default="FEED")  # FEED|REELS|STORY
    caption = models.TextField(blank=True)
    posted_at = models.DateTimeField()  # sandbox time
    children = models.IntegerField(default=0)
    # Expected audience at full growth; metrics grow towards it after posting.
    reach_target = models.IntegerField(null=True, blank=True)
    seed = models.IntegerField(default=0)


class Fault(models.Model):
    """An injected fault. Matches by host, path regex and account; fires by chance or N times."""

    class Kind(models.TextChoices):
        SERVER_ERROR = "5xx"
        LATENCY = "latency"
        TIMEOUT = "timeout"
        RATE_LIMIT = "rate_limit"
        MALFORMED = "malformed"
        TRUNCATED = "truncated"
        HTML = "html"
        REVOKE_TOKEN = "revoke_token"
        GRAPH_ERROR = "graph_error"  # any error envelope given in `params`

    kind = models.CharField(max_length=16, choices=Kind.choices)
    host = models.CharField(max_length=40, blank=True)  # empty = any host
    path_regex = models.CharField(max_length=200, blank=True)  # searched in the path
    account = models.CharField(max_length=20, blank=True)  # ig_user_id; empty = any
    probability = models.FloatField(default=1.0)
    remaining = models.IntegerField(null=True, blank=True)  # None = until removed
    params = models.JSONField(default=dict)  # e.g. {"status": 503}, {"seconds": 2}
    # Only requests (or batch operations) carrying these parameters, e.g. {"metric": "reach",
    # "metric_type": "total_value"}: one read among the many of a batch.
    query = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)


class CallLog(models.Model):
    """One row per HTTP request answered by an emulated host, and one per operation of a batch
    request (stats and rate limits)."""

    at = models.DateTimeField()  # sandbox time
    host = models.CharField(max_length=40)
    method = models.CharField(max_length=8)
    path_pattern = models.CharField(max_length=120)  # ids replaced: "/{ig-user}/insights"
    account = models.CharField(max_length=20, blank=True)  # ig_user_id the call was about
    token_id = models.IntegerField(null=True)
    status = models.IntegerField()
    counted_calls = models.IntegerField(default=1)  # rate-limit-counted calls (?ids=, batch)
    # An operation of a batch request: logged (and counted) on its own, but its HTTP request is
    # the batch's own row, so it is not an HTTP request of its own.
    in_batch = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # BUC usage: calls for one account in the last 24 hours.
            models.Index(fields=["account", "at"], name="calllog_account_at"),
            # X-App-Usage: all of the app's calls in the last hour.
            models.Index(fields=["at"], name="calllog_at"),
        ]
