"""Client viewers: people at a client who sign in to read that client's reports, and nothing
else (a Membership with the client role, limited to that one client).

Invitations and removals go through accounts.services, like any member's: the invitation email,
the owner lock and the audit trail are theirs.
"""

from __future__ import annotations

from accounts.models import Agency, Membership, Role
from accounts.services import invite, remove_member

from ..models import Client


def client_viewers(agency: Agency, client: Client):
    return (
        Membership.objects.filter(agency=agency, role=Role.CLIENT, clients=client)
        .select_related("user")
        .order_by("user__email")
    )


def pending_invitations(agency: Agency, client: Client):
    return agency.invitations.pending().filter(role=Role.CLIENT, clients=client)


def invite_viewer(*, agency: Agency, client: Client, email: str, invited_by):
    return invite(
        agency=agency,
        invited_by=invited_by,
        email=email,
        role=Role.CLIENT,
        limited_to_clients=True,
        clients=[client],
    )


def find_viewer(agency: Agency, pk: int) -> Membership | None:
    return (
        Membership.objects.filter(agency=agency, role=Role.CLIENT, pk=pk)
        .select_related("user", "agency")
        .first()
    )


def remove_viewer(membership: Membership, *, actor) -> Client | None:
    """Take a client viewer's access away (accounts.services.remove_member: audited). Returns
    the client they read, for the page to go back to."""
    client = membership.clients.first()
    remove_member(membership, actor=actor)
    return client
