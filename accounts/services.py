"""Workflows on agencies and their teams. Views stay thin and call these."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from config import enqueue

from . import audit
from .models import Agency, Invitation, Membership, Role, User

log = logging.getLogger(__name__)

INVITATION_KEPT_AFTER_EXPIRY = timedelta(days=30)
RESERVED_SLUGS = {"new", "admin", "api", "static", "media", "accounts", "healthz", "invitations"}


class TeamError(Exception):
    """A team change that would break an invariant (e.g. leaving the agency without an owner)."""


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "agency"
    if base in RESERVED_SLUGS:
        base = f"{base}-agency"
    slug, n = base, 1
    while Agency.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_agency(*, owner: User, name: str, time_zone: str = "UTC") -> Agency:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                agency = Agency.objects.create(
                    name=name, slug=_unique_slug(name), time_zone=time_zone
                )
                Membership.objects.create(agency=agency, user=owner, role=Role.OWNER)
                return agency
        except IntegrityError:  # two signups raced for the same slug; pick the next one
            continue
    raise TeamError("Could not pick a unique address for the agency; try another name.")


def invite(
    *,
    agency: Agency,
    invited_by: User,
    email: str,
    role: str,
    limited_to_clients: bool = False,
    clients=(),
) -> Invitation:
    """Invite someone by email: a single-use, expiring link they accept or decline. Whether
    the address already has a Prism account makes no difference here (nobody is added without
    consenting, and the inviter cannot probe which addresses have accounts)."""
    email = email.strip().lower()
    with transaction.atomic():
        invitation, _unused = Invitation.issue(
            agency=agency,
            email=email,
            role=role,
            limited_to_clients=limited_to_clients,
            invited_by=invited_by,
        )
        invitation.clients.set(clients)
        send_invitation_later(invitation)
        audit.record(
            agency,
            audit.Kind.INVITED,
            actor=invited_by,
            subject=f"{email} as {Role(role).label.lower()}",
        )
    log.info("invitation %s created for agency %s", invitation.pk, agency.pk)
    return invitation


def send_invitation_later(invitation: Invitation) -> None:
    """The email goes from a task on the `user` queue, after the transaction commits. The task
    makes the link itself: a bearer token never travels through the broker."""
    enqueue.on_commit("accounts.tasks.send_invitation", invitation.pk)


def resend_invitation(invitation: Invitation, *, actor: User | None = None) -> bool:
    """Send a pending invitation again (a new link; the earlier one stops working)."""
    if invitation.state != "pending":
        return False
    send_invitation_later(invitation)
    audit.record(
        invitation.agency_id, audit.Kind.INVITATION_RESENT, actor=actor, subject=invitation.email
    )
    return True


def email_invitation(invitation: Invitation) -> bool:
    """Give the invitation a fresh link and email it (the task's work)."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if invitation is None or invitation.state != "pending":
            return False
        raw_token = invitation.new_token()
    agency, inviter = invitation.agency, invitation.invited_by
    url = settings.SITE_URL + reverse("invitation_accept", args=[raw_token])
    who = inviter.get_full_name() if inviter else "Someone"
    _send(
        "accounts/email/invitation",
        to=invitation.email,
        subject=f"{who} invited you to {agency.name} on Prism",
        context={"invitation": invitation, "url": url, "inviter": inviter, "agency": agency},
    )
    log.info("invitation %s emailed for agency %s", invitation.pk, agency.pk)
    return True


def _send(template: str, *, to: str, subject: str, context: dict) -> None:
    send_mail(
        subject=subject,
        message=render_to_string(f"{template}.txt", context),
        from_email=None,
        recipient_list=[to],
        html_message=render_to_string(f"{template}.html", context),
    )


def decline_invitation(invitation: Invitation, *, user: User | None = None) -> bool:
    declined = Invitation.objects.pending().filter(pk=invitation.pk)
    if not declined.update(declined_at=timezone.now()):
        return False
    audit.record(invitation.agency_id, audit.Kind.DECLINED, actor=user, subject=invitation.email)
    return True


def revoke_invitation(invitation: Invitation, *, actor: User | None = None) -> bool:
    revoked = Invitation.objects.pending().filter(pk=invitation.pk)
    if not revoked.update(revoked_at=timezone.now()):
        return False
    audit.record(
        invitation.agency_id, audit.Kind.INVITATION_REVOKED, actor=actor, subject=invitation.email
    )
    return True


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Turn a pending invitation into a membership. Single use: a second call fails."""
    with transaction.atomic():
        # Claim the invitation with a conditional UPDATE so two clicks cannot both succeed.
        claimed = (
            Invitation.objects.pending()
            .filter(pk=invitation.pk)
            .update(accepted_at=timezone.now(), accepted_by=user)
        )
        if not claimed:
            raise TeamError("This invitation has already been used, was revoked or has expired.")
        membership, created = Membership.objects.get_or_create(
            agency=invitation.agency,
            user=user,
            defaults={"role": invitation.role, "limited_to_clients": invitation.limited_to_clients},
        )
        if created and invitation.limited_to_clients:
            membership.clients.set(invitation.clients.filter(agency=invitation.agency))
        audit.record(
            invitation.agency,
            audit.Kind.JOINED,
            actor=user,
            subject=f"as {membership.get_role_display().lower()}",
        )
    return membership


def purge_old_invitations(now=None) -> int:
    """Delete invitations that ended (expired) over a month ago: of no use to anyone."""
    cutoff = (now or timezone.now()) - INVITATION_KEPT_AFTER_EXPIRY
    purged, _ = Invitation.objects.filter(expires_at__lt=cutoff).delete()
    return purged


def remove_member(membership: Membership, *, actor: User | None = None) -> None:
    with transaction.atomic():
        # Lock the agency's owner rows so two owners cannot remove each other at once.
        owners = list(
            Membership.objects.select_for_update().filter(agency=membership.agency, role=Role.OWNER)
        )
        if membership.role == Role.OWNER and len(owners) <= 1:
            raise TeamError("The last owner cannot leave. Make someone else an owner first.")
        membership.delete()
        left = actor is not None and actor.pk == membership.user_id
        audit.record(
            membership.agency_id,
            audit.Kind.LEFT if left else audit.Kind.MEMBER_REMOVED,
            actor=actor,
            subject="" if left else f"{membership.user.get_full_name()} ({membership.user.email})",
        )
