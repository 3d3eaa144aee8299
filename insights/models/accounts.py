"""Connected Instagram accounts: login path, encrypted token, connection health and the
account's Meta client."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import Agency
from config import enqueue

from .. import crypto
from ..meta.client import ErrorKind, MetaClient, MetaError
from .clients import Client


class LoginPath(models.TextChoices):
    FACEBOOK = "facebook", "Facebook Login for Business"
    INSTAGRAM = "instagram", "Business Login for Instagram"


class Health(models.TextChoices):
    CONNECTED = "connected", "Connected"
    EXPIRING_SOON = "expiring_soon", "Expiring soon"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
    MISSING_PERMISSION = "missing_permission", "Missing permission"
    NOT_PROFESSIONAL = "not_professional", "Not a professional account"
    ERROR = "error", "Error"
    DISCONNECTED = "disconnected", "Disconnected"


HEALTH_BADGE = {
    Health.CONNECTED: "ok",
    Health.EXPIRING_SOON: "warn",
    Health.NEEDS_RECONNECT: "bad",
    Health.MISSING_PERMISSION: "bad",
    Health.NOT_PROFESSIONAL: "bad",
    Health.ERROR: "warn",
    Health.DISCONNECTED: "",
}


HEALTH_HELP = {
    Health.EXPIRING_SOON: "Meta will stop access soon unless the account is reconnected.",
    Health.NEEDS_RECONNECT: "Meta no longer accepts this connection (a password change, the app "
    "removed, or an expired token). Reconnect it, or send the client a reconnect link.",
    Health.MISSING_PERMISSION: "A permission Prism needs for insights was withdrawn. Reconnect "
    "and keep every permission ticked.",
    Health.NOT_PROFESSIONAL: "The account is no longer a Business or Creator account linked "
    "where Prism can see it. Switch it back in Instagram, then reconnect.",
    Health.ERROR: "Meta answered with an unexpected error; Prism keeps trying.",
}


class WaitingReason(models.TextChoices):
    NONE = "", "Not waiting"
    RATE_LIMITED = "rate_limited", "Waiting for Meta's rate limit"
    RECONNECT = "reconnect", "Waiting for a reconnect"
    BACKFILL = "backfill", "Filling in history"
    ERROR = "error", "Retrying after an error"


class InstagramAccountQuerySet(models.QuerySet):
    def needing_attention(self):
        return self.exclude(health__in=[Health.CONNECTED, Health.DISCONNECTED])


class InstagramAccount(models.Model):
    """A client's Instagram professional account, connected through one of Meta's login paths.

    The access token is stored only as ciphertext (`token_ciphertext`) and read through
    `reveal_token()` at the point of use; it never appears in reprs, forms or the admin.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="ig_accounts")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="ig_accounts")
    ig_user_id = models.CharField(max_length=32)  # the professional account id
    username = models.CharField(max_length=100)
    name = models.CharField(max_length=150, blank=True)
    account_type = models.CharField(max_length=20, blank=True)
    profile_picture = models.ImageField(upload_to="avatars/", blank=True)
    login_path = models.CharField(max_length=10, choices=LoginPath.choices)
    page_id = models.CharField(max_length=32, blank=True)  # Facebook Login: the linked Page
    # Who granted access, as Meta's callbacks name them (app-scoped ids).
    meta_user_id = models.CharField(max_length=32, blank=True, db_index=True)
    granted_scopes = models.JSONField(default=list, blank=True)

    token_ciphertext = models.TextField(blank=True)
    token_issued_at = models.DateTimeField(null=True, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)  # None: does not expire
    # Facebook Login: Meta stops data access 90 days after the person was last active.
    data_access_expires_at = models.DateTimeField(null=True, blank=True)
    token_refresh_lease_until = models.DateTimeField(null=True, blank=True)

    health = models.CharField(max_length=20, choices=Health.choices, default=Health.CONNECTED)
    health_changed_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(default=timezone.now)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)

    # --- The refresh pipeline's schedule and lease (insights.refresh.schedule) --------------
    # The database owns the schedule: the dispatcher claims a due account by setting a fresh
    # lease_token and lease_until in one conditional UPDATE; every write of the refresh is fenced
    # by that token, so a stale or duplicated worker writes nothing.
    next_refresh_at = models.DateTimeField(default=timezone.now)  # with jitter
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=36, blank=True)  # '' = no lease
    refresh_started_at = models.DateTimeField(null=True, blank=True)
    last_refresh_at = models.DateTimeField(null=True, blank=True)  # last success
    last_refresh_error = models.TextField(blank=True)  # safe to show: no token, no URL query
    last_refresh_error_at = models.DateTimeField(null=True, blank=True)
    refresh_failures = models.PositiveIntegerField(default=0)  # consecutive, for backoff
    waiting_reason = models.CharField(
        max_length=16, choices=WaitingReason.choices, default=WaitingReason.NONE, blank=True
    )
    throttled_until = models.DateTimeField(null=True, blank=True)  # Meta's usage limits
    refresh_requested_at = models.DateTimeField(null=True, blank=True)  # "Refresh now"
    # The end of the newest complete Pacific day stored for this account (Meta's end_time).
    data_as_of = models.DateTimeField(null=True, blank=True)
    backfilled_at = models.DateTimeField(null=True, blank=True)  # first backfill finished
    # Meta 2108006: media published before this time predate the business conversion and have
    # no insights; the refresh stops asking about them.
    media_insights_cutoff = models.DateTimeField(null=True, blank=True)
    # The last complete listing of /media (insights.refresh.media): daily runs read only the
    # newest media; a complete listing, about weekly, finds the media deleted since.
    media_listed_at = models.DateTimeField(null=True, blank=True)
    last_refresh_stats = models.JSONField(default=dict, blank=True)  # what the last run fetched

    connected_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(default=timezone.now)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    objects = InstagramAccountQuerySet.as_manager()

    class Meta:
        ordering = ["username", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "ig_user_id"], name="ig_account_once_per_agency"
            ),
        ]
        indexes = [
            # The dispatcher: accounts due for a connection check.
            models.Index(fields=["next_check_at"], name="igaccount_next_check"),
            # The token refresher: Instagram Login tokens nearing expiry.
            models.Index(fields=["login_path", "token_expires_at"], name="igaccount_token_expiry"),
            # The refresh dispatcher: accounts whose refresh is due.
            models.Index(fields=["next_refresh_at"], name="igaccount_next_refresh"),
        ]

    def __str__(self) -> str:
        return f"@{self.username}"

    def __repr__(self) -> str:
        return f"<InstagramAccount {self.pk} @{self.username} agency={self.agency_id}>"

    @property
    def host(self) -> str:
        return (
            "graph.instagram.com"
            if self.login_path == LoginPath.INSTAGRAM
            else "graph.facebook.com"
        )

    @property
    def has_token(self) -> bool:
        return bool(self.token_ciphertext)

    @property
    def has_access(self) -> bool:
        """Whether Meta gives Prism this account's data (refreshes run) without a reconnect."""
        return self.health not in NO_ACCESS

    @property
    def badge(self) -> str:
        return HEALTH_BADGE.get(Health(self.health), "")

    @property
    def health_help(self) -> str:
        return HEALTH_HELP.get(Health(self.health), "")

    @property
    def unavoidable_expiry(self):
        """When access ends unless someone reconnects (None: not foreseeable)."""
        candidates = [d for d in (self.token_expires_at, self.data_access_expires_at) if d]
        return min(candidates) if candidates else None

    @property
    def data_as_of_day(self):
        """The Pacific day "data as of" names: data_as_of is Meta's end_time of that day
        (midnight Pacific at its end)."""
        if self.data_as_of is None:
            return None
        from zoneinfo import ZoneInfo

        return (
            self.data_as_of.astimezone(ZoneInfo("America/Los_Angeles")) - timedelta(days=1)
        ).date()

    def meta_refusals(self) -> list[dict]:
        """Metrics Meta refuses for this account, for the agency's pages and the reports
        (docs/graph-api.md §3): one dict per metric and scope, `{"metric", "scope" ("account",
        a breakdown or a media kind), "since", "retry_at", "media" (how many media it concerns,
        for a media's own refusals), "error"}`, oldest first. Two queries."""
        found = [
            {
                "metric": r.metric,
                "scope": r.product_type or "account",
                "since": r.first_seen_at,
                "retry_at": r.retry_at,
                "media": 0,
                "error": r.error,
            }
            for r in self.metric_rejections.order_by("first_seen_at")
        ]
        by_metric: dict[str, dict] = {}
        for refused in self.media.exclude(refused_metrics={}).values_list(
            "refused_metrics", flat=True
        ):
            for metric, hold in (refused or {}).items():
                entry = by_metric.setdefault(
                    metric,
                    {
                        "metric": metric,
                        "scope": "media",
                        "since": None,
                        "retry_at": None,
                        "media": 0,
                        "error": hold.get("error", ""),
                    },
                )
                entry["media"] += 1
                since = hold.get("since")
                if since and (entry["since"] is None or since < entry["since"]):
                    entry["since"] = since
        for entry in by_metric.values():
            entry["since"] = datetime.fromisoformat(entry["since"]) if entry["since"] else None
        return found + sorted(by_metric.values(), key=lambda e: e["metric"])

    @sensitive_variables()
    def reveal_token(self) -> str:
        return crypto.decrypt(self.token_ciphertext)

    @sensitive_variables()
    def store_token(self, plaintext: str) -> None:
        self.token_ciphertext = crypto.encrypt(plaintext)

    def meta_client(self) -> MetaClient:
        """Meta's client with this account's token (a token that cannot be decrypted means the
        account needs a reconnect: recorded, and the error raised)."""
        try:
            return MetaClient(self.host, self.reveal_token())
        except crypto.TokenDecryptError:
            self.set_health(Health.NEEDS_RECONNECT, "The stored token could not be decrypted.")
            raise

    def set_health(self, health: str, error: str = "") -> None:
        """Record a connection state; tell the agency's admins when it needs a person."""
        previous = self.health
        now = timezone.now()
        self.health = health
        if health != previous:
            self.health_changed_at = now
        if error:
            self.last_error, self.last_error_at = error[:1000], now
        self.save(update_fields=["health", "health_changed_at", "last_error", "last_error_at"])
        if health != previous:
            ConnectionChange.record(self, previous, health, now)
        if health != previous and health in NOTIFY_ON:
            self.notify_admins("insights/email/needs_attention")

    def notify_admins(self, template: str) -> None:
        """Tell the agency's owners and admins, by email from a task on the `user` queue (the
        dispatcher and requests never wait on SMTP; connections.health.email_admins renders)."""
        enqueue.on_commit("insights.tasks.send_account_notice", self.pk, template)


def health_from_error(error: MetaError) -> str | None:
    """The connection state a failed call implies (None: the connection itself is fine).
    Rejected metrics and unavailable media never mark an account as disconnected."""
    if error.kind == ErrorKind.TOKEN_INVALID:
        return Health.NEEDS_RECONNECT
    if error.kind == ErrorKind.PERMISSION:
        return Health.MISSING_PERMISSION
    if error.kind in (ErrorKind.UNKNOWN, ErrorKind.INVALID_REQUEST):
        return Health.ERROR
    return None


# Health states that need a person: the agency's owners and admins are emailed on entering one.
NOTIFY_ON = {Health.NEEDS_RECONNECT, Health.MISSING_PERMISSION, Health.NOT_PROFESSIONAL}


# Health states in which Prism gets no data from Meta until someone reconnects the account.
NO_ACCESS = frozenset(
    {
        Health.NEEDS_RECONNECT,
        Health.MISSING_PERMISSION,
        Health.NOT_PROFESSIONAL,
        Health.DISCONNECTED,
    }
)


class ConnectionChange(models.Model):
    """The account's connection history: each time it lost or regained Meta's data access, so
    reports can mark the days it was disconnected (the account keeps only its latest health).
    Only flips between access and no access are kept (`NO_ACCESS`), not every passing error, so
    the history stays a handful of rows."""

    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="connection_changes"
    )
    health = models.CharField(max_length=20, choices=Health.choices)  # the state entered
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "at", "pk"]
        indexes = [
            # Reports: an account's history up to the end of the period.
            models.Index(fields=["account", "at"], name="connection_change_history"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.at:%Y-%m-%d %H:%M} {self.health}"

    @property
    def has_access(self) -> bool:
        return self.health not in NO_ACCESS

    @classmethod
    def record(cls, account: InstagramAccount, previous: str, health: str, at=None) -> None:
        """Called wherever an account's health changes: keeps the change if access flipped
        (a first connection has no previous state and is always kept)."""
        if previous and (previous in NO_ACCESS) == (health in NO_ACCESS):
            return
        cls.objects.create(account=account, health=health, at=at or timezone.now())
