"""Celery tasks: thin shells over service functions. Arguments are ids, never tokens."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task
def dispatch_due_work() -> dict:
    """Beat's one entry (every minute): hands out whatever the database says is due. Each item
    is claimed with a conditional UPDATE first, so overlapping dispatchers never double up."""
    from accounts.models import Invitation

    from . import connections

    refreshes = connections.claim_token_refreshes()
    for pk in refreshes:
        refresh_account_token.delay(pk)
    checks = connections.claim_checks()
    for pk in checks:
        check_account_health.delay(pk)
    warned = connections.warn_about_expiries()
    # Invitations that ended a month ago are of no use to anyone.
    cutoff = timezone.now() - timedelta(days=30)
    purged, _ = Invitation.objects.filter(expires_at__lt=cutoff).delete()
    from .models import OAuthState, PendingConnection

    OAuthState.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    PendingConnection.objects.filter(expires_at__lt=timezone.now()).delete()
    return {
        "token_refreshes": len(refreshes),
        "health_checks": len(checks),
        "expiry_warnings": warned,
        "invitations_purged": purged,
    }


@shared_task
def refresh_account_token(account_id: int) -> bool:
    from . import connections
    from .models import InstagramAccount

    account = InstagramAccount.objects.filter(pk=account_id).first()
    return bool(account) and connections.refresh_token(account)


@shared_task
def check_account_health(account_id: int) -> str | None:
    from . import connections
    from .models import InstagramAccount

    account = InstagramAccount.objects.filter(pk=account_id).first()
    return connections.check_account(account) if account else None


@shared_task
def run_data_deletion(deletion_id: int) -> int:
    from .meta_callbacks import perform_deletion
    from .models import DeletionRequest

    deletion = DeletionRequest.objects.filter(pk=deletion_id).first()
    return perform_deletion(deletion) if deletion else 0
