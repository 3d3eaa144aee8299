"""Users, agencies (the tenants), memberships with roles, and invitations."""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

TIME_ZONE_CHOICES = [
    (tz, tz.replace("_", " "))
    for tz in sorted(zoneinfo.available_timezones())
    if "/" in tz and not tz.startswith(("Etc/", "SystemV/", "posix/", "right/"))
]
TIME_ZONE_CHOICES.insert(0, ("UTC", "UTC"))


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with an email address; belongs to agencies through memberships."""

    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class Agency(models.Model):
    """The tenant. Every tenant-owned row points here, directly or through a parent."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    # Owners can require two-factor sign-in of everyone who opens the agency.
    require_mfa = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name

    def owners(self):
        return self.memberships.filter(role=Role.OWNER)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"
    # A client's own people: they read only their client's reports, in the agency's branding.
    CLIENT = "client", "Client viewer"


# Higher rank can do everything a lower rank can.
ROLE_RANK = {Role.CLIENT: -1, Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
ROLE_HELP = {
    Role.OWNER: "Everything, including roles, removing people and agency settings.",
    Role.ADMIN: "Manages clients, connections and invites the team.",
    Role.MEMBER: "Manages clients and their Instagram connections.",
    Role.VIEWER: "Reads reports.",
    Role.CLIENT: "Someone at the client: reads that one client's reports, nothing else.",
}


class Membership(models.Model):
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Members and viewers can be limited to some clients; owners and admins see all of them.
    limited_to_clients = models.BooleanField(default=False)
    clients = models.ManyToManyField("insights.Client", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "user"], name="one_membership_per_agency"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.agency} ({self.role})"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def is_limited(self) -> bool:
        # A client viewer is limited whatever the flag says: one stray checkbox must not open
        # every client of the agency to someone outside it.
        if self.role == Role.CLIENT:
            return True
        return self.limited_to_clients and not self.has_role(Role.ADMIN)


INVITATION_LIFETIME = timedelta(days=7)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(
            accepted_at=None, revoked_at=None, declined_at=None, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """A single-use, expiring invitation. Only the token's hash is stored; the link carries it."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    limited_to_clients = models.BooleanField(default=False)
    clients = models.ManyToManyField("insights.Client", blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # the latest email (resends move it)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        indexes = [
            # The members page lists an agency's pending invitations.
            models.Index(fields=["agency", "accepted_at"], name="invitation_agency_pending"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.agency}"

    @classmethod
    def issue(cls, **fields) -> tuple[Invitation, str]:
        """Create an invitation; returns it with the raw token, which is never stored."""
        raw = secrets.token_urlsafe(32)
        invitation = cls.objects.create(
            token_hash=_hash_token(raw),
            expires_at=timezone.now() + INVITATION_LIFETIME,
            **fields,
        )
        return invitation, raw

    def new_token(self) -> str:
        """A fresh link for this invitation (the emailed one); earlier links stop working."""
        raw = secrets.token_urlsafe(32)
        self.token_hash = _hash_token(raw)
        self.expires_at = timezone.now() + INVITATION_LIFETIME
        self.sent_at = timezone.now()
        self.save(update_fields=["token_hash", "expires_at", "sent_at"])
        return raw

    @classmethod
    def find(cls, raw_token: str) -> Invitation | None:
        if not raw_token or len(raw_token) > 100:
            return None
        return (
            cls.objects.select_related("agency").filter(token_hash=_hash_token(raw_token)).first()
        )

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.declined_at:
            return "declined"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class AuditEvent(models.Model):
    """Who did what to an agency's connections and team, and when (shown to owners and admins).
    The actor and subject are also kept as text, so the trail survives deleted people and
    accounts."""

    class Kind(models.TextChoices):
        CONNECTED = "connected", "Connected an account"
        RECONNECTED = "reconnected", "Reconnected an account"
        DISCONNECTED = "disconnected", "Disconnected an account"
        ACCESS_REMOVED = "access_removed", "Access removed in Meta's settings"
        LINK_CREATED = "link_created", "Created a reconnect link"
        LINK_EMAILED = "link_emailed", "Emailed a reconnect link"
        LINK_REVOKED = "link_revoked", "Revoked a reconnect link"
        INVITED = "invited", "Invited someone"
        INVITATION_RESENT = "invitation_resent", "Resent an invitation"
        INVITATION_REVOKED = "invitation_revoked", "Revoked an invitation"
        JOINED = "joined", "Joined the agency"
        DECLINED = "declined", "Declined an invitation"
        ROLE_CHANGED = "role_changed", "Changed a role"
        MEMBER_REMOVED = "member_removed", "Removed a member"
        LEFT = "left", "Left the agency"
        MFA_REQUIRED = "mfa_required", "Required two-factor sign-in"
        MFA_NOT_REQUIRED = "mfa_not_required", "Stopped requiring two-factor sign-in"

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    subject = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["agency", "-created_at"], name="audit_agency_recent")]

    def __str__(self) -> str:
        return f"{self.actor_label}: {self.get_kind_display()} {self.subject}"
