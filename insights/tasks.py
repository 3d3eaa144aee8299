"""Celery tasks: thin shells over service functions. Arguments are ids, never tokens."""

from celery import shared_task
from django.conf import settings

from accounts.services import purge_old_invitations

from .connections import health, oauth, removal
from .models import DeletionRequest, InstagramAccount, ReportDelivery
from .refresh import account as refresh
from .refresh import schedule
from .reports import delivery


@shared_task
def dispatch_due_work() -> dict:
    """Beat's one entry (every minute): hands out whatever the database says is due. Each item
    is claimed with a conditional UPDATE first, so overlapping dispatchers never double up."""
    refreshes = health.claim_token_refreshes()
    for pk in refreshes:
        refresh_account_token.delay(pk)
    checks = health.claim_checks()
    for pk in checks:
        check_account_health.delay(pk)
    claimed = schedule.claim_due(limit=settings.REFRESH_DISPATCH_LIMIT)
    for pk, token in claimed:
        # After commit: the worker must find the lease the claim wrote.
        refresh_account.delay_on_commit(pk, token)
    warned = health.warn_about_expiries()
    reports_due = delivery.claim_due_schedules()
    for pk, lease_token in reports_due:
        send_report.delay(pk, lease_token)
    purged = purge_old_invitations()
    oauth.purge_expired_attempts()
    return {
        "token_refreshes": len(refreshes),
        "health_checks": len(checks),
        "refreshes": len(claimed),
        "expiry_warnings": warned,
        "invitations_purged": purged,
        "reports_due": len(reports_due),
    }


@shared_task(
    acks_late=True,
    # Under the lease (REFRESH_LEASE_SECONDS): a run that hits these has lost nothing but time,
    # and the lease lapses for the dispatcher to claim the account again. No autoretry: waits
    # are written to next_refresh_at.
    soft_time_limit=240,
    time_limit=300,
)
def refresh_account(account_id: int, lease_token: str) -> dict:
    """One account's refresh. The lease token is a fence, not a secret (no Meta token here)."""
    return refresh.refresh_account(account_id, lease_token)


@shared_task
def refresh_account_token(account_id: int) -> bool:
    account = InstagramAccount.objects.filter(pk=account_id).first()
    return bool(account) and health.refresh_token(account)


@shared_task
def check_account_health(account_id: int) -> str | None:
    account = InstagramAccount.objects.filter(pk=account_id).first()
    return health.check_account(account) if account else None


@shared_task
def run_data_deletion(deletion_id: int) -> int:
    deletion = DeletionRequest.objects.filter(pk=deletion_id).first()
    return removal.perform_deletion(deletion) if deletion else 0


@shared_task
def send_reconnect_link(account_id: int, email: str, user_id: int | None) -> bool:
    """Issue a reconnect link and email it: the link is made here, never passed in."""
    account = InstagramAccount.objects.filter(pk=account_id, disconnected_at=None).first()
    if account is None:
        return False
    removal.email_reconnect_link(account, email, created_by_id=user_id)
    return True


@shared_task
def send_account_notice(account_id: int, template: str) -> bool:
    """An account needs a person (or will soon): email the agency's owners and admins."""
    account = (
        InstagramAccount.objects.select_related("agency", "client").filter(pk=account_id).first()
    )
    if account is None:
        return False
    health.email_admins(account, template)
    return True


@shared_task
def send_report(schedule_id: int, lease_token: str) -> str:
    """A scheduled report claimed by the dispatcher; the lease token fences its writes."""
    return delivery.send_scheduled(schedule_id, lease_token)


@shared_task
def send_delivery(delivery_id: int) -> str:
    """A resend or a "send now": one delivery row, claimed inside deliver()."""
    found = ReportDelivery.objects.select_related("agency", "client").filter(pk=delivery_id).first()
    return delivery.deliver(found) if found else "missing"
