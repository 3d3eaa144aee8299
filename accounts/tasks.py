"""Celery tasks of the team side: thin shells, ids only (routed to the `user` queue)."""

from celery import shared_task

from .models import Invitation
from .services import email_invitation


@shared_task
def send_invitation(invitation_id: int) -> bool:
    invitation = Invitation.objects.select_related("agency", "invited_by").filter(pk=invitation_id)
    invitation = invitation.first()
    return bool(invitation) and email_invitation(invitation)
