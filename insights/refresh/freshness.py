"""What the account row says about its data while it moves: the backfill's progress and whether
a run holds the lease. Derived from the account row and the backfill windows, never from Celery's
result backend. (Last success, next due time, last error and "data as of" are the row's fields.)"""

from __future__ import annotations

from django.utils import timezone

from ..models import InstagramAccount
from . import backfill


def status(account: InstagramAccount) -> dict:
    """Template context for insights/_account_refresh.html."""
    progress = None
    if account.backfilled_at is None and not account.disconnected_at:
        progress = backfill.progress(account)
        if not progress["steps_total"]:
            progress = {**progress, "pending": 1}  # not planned yet: the first run is coming
    refreshing = bool(
        account.lease_token and account.lease_until and account.lease_until > timezone.now()
    )
    return {
        "account": account,
        "progress": progress,
        "refreshing": refreshing,
        # The page keeps polling only while something is moving.
        "polling": refreshing or bool(progress and progress["pending"]),
    }
