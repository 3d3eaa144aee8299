"""Celery tasks: thin shells over service functions. Arguments are ids, never tokens."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task
def dispatch_due_work() -> dict:
    """Beat's one entry (every minute): hands out whatever the database says is due."""
    from accounts.models import Invitation

    # Invitations that ended a month ago are of no use to anyone.
    cutoff = timezone.now() - timedelta(days=30)
    purged, _ = Invitation.objects.filter(expires_at__lt=cutoff).delete()
    return {"invitations_purged": purged}
