"""Tenant-owned data: clients, their connected Instagram accounts, and what Prism keeps of them.

One module per concern; everything is re-exported here, so `from insights.models import X` works.
"""

from .accounts import (
    HEALTH_BADGE,
    HEALTH_HELP,
    Health,
    InstagramAccount,
    InstagramAccountQuerySet,
    LoginPath,
)
from .clients import Client, ClientQuerySet, _logo_path
from .oauth import DeletionRequest, OAuthState, PendingConnection

__all__ = [
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
    "_logo_path",
]
