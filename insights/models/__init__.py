"""Tenant-owned data: clients, their connected Instagram accounts, and what Prism keeps of them.

One module per concern; everything is re-exported here, so `from insights.models import X` works.
"""

from .accounts import (
    HEALTH_BADGE,
    HEALTH_HELP,
    NO_ACCESS,
    ConnectionChange,
    Health,
    InstagramAccount,
    InstagramAccountQuerySet,
    LoginPath,
    WaitingReason,
)
from .clients import Client, ClientQuerySet, _logo_path
from .delivery import (
    PRESET_LABELS,
    WEEKDAYS,
    AgencyBranding,
    DeliveryStatus,
    Frequency,
    ReportDelivery,
    ReportSchedule,
    ShareLink,
    ShareLinkView,
    hash_share_token,
)
from .media import InsightsStatus, Media, MediaSample, StoryState
from .oauth import DeletionRequest, OAuthState, PendingConnection, ReconnectLink
from .reports import (
    ENGAGEMENT_FORMULA_HELP,
    Compare,
    EngagementFormula,
    RangePreset,
    ReportNote,
    ReportSettings,
)
from .snapshots import (
    AccountDaily,
    ApiThrottle,
    BackfillWindow,
    DemographicBucket,
    DemographicSnapshot,
    MetricRejection,
    ProfileSnapshot,
    WindowKind,
    WindowMetric,
)

__all__ = [
    "NO_ACCESS",
    "ConnectionChange",
    "ENGAGEMENT_FORMULA_HELP",
    "Compare",
    "EngagementFormula",
    "RangePreset",
    "ReportNote",
    "ReportSettings",
    "AccountDaily",
    "ApiThrottle",
    "BackfillWindow",
    "DemographicBucket",
    "DemographicSnapshot",
    "InsightsStatus",
    "Media",
    "MediaSample",
    "MetricRejection",
    "ProfileSnapshot",
    "StoryState",
    "WaitingReason",
    "WindowKind",
    "WindowMetric",
    "WEEKDAYS",
    "AgencyBranding",
    "DeliveryStatus",
    "Frequency",
    "PRESET_LABELS",
    "ReportDelivery",
    "ReportSchedule",
    "ShareLink",
    "ShareLinkView",
    "hash_share_token",
    "HEALTH_BADGE",
    "HEALTH_HELP",
    "Client",
    "ClientQuerySet",
    "DeletionRequest",
    "Health",
    "InstagramAccount",
    "InstagramAccountQuerySet",
    "LoginPath",
    "OAuthState",
    "PendingConnection",
    "ReconnectLink",
    "_logo_path",
]
