"""Client viewers: a client's own people, invited by the agency, who sign in and see only that
client's reports, in the agency's branding."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from accounts.models import AuditEvent, Invitation, Membership, Role
from insights.models import AgencyBranding

pytestmark = pytest.mark.django_db


def invite_viewer(world, http, client_key="a1", email="cmo@acme.example"):
    url = reverse("client_viewer_invite", args=["alpha", world.clients[client_key].pk])
    return http.post(url, {"email": email})


def test_admin_invites_a_client_viewer_who_signs_up_and_lands_on_the_report(
    world, django_capture_on_commit_callbacks
):
    AgencyBranding.objects.create(agency=world.a, primary_colour="#0f766e", footer_text="Alpha ©")
    with django_capture_on_commit_callbacks(execute=True):
        response = invite_viewer(world, world.client_for("a_admin"))
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="cmo@acme.example")
    assert invitation.role == Role.CLIENT and invitation.limited_to_clients
    assert list(invitation.clients.all()) == [world.clients["a1"]]
    link = re.search(r"http://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)

    newcomer = HttpClient()
    path = "/" + link.split("/", 3)[3]
    signed_up = newcomer.post(
        path,
        {
            "name": "Casey CMO",
            "password1": "a long passphrase 9",
            "password2": "a long passphrase 9",
        },
    )
    assert signed_up.status_code == 302
    membership = Membership.objects.get(user__email="cmo@acme.example")
    assert membership.role == Role.CLIENT and membership.is_limited
    # Wherever they land, they end on their client's report.
    landing = newcomer.get(reverse("agency_dashboard", args=["alpha"]), follow=True)
    final = landing.redirect_chain[-1][0]
    assert final == reverse("portal_report", args=["alpha", world.clients["a1"].pk])
    page = landing.content.decode()
    assert "Acme Coffee" in page and "Apex Bikes" not in page
    assert "/brand/" in page  # the agency's stylesheet
    assert "Alpha ©" in page
    for team_link in ("/clients/", "/members/", "/settings/", "/attention/"):
        assert f'/a/alpha{team_link}"' not in page


def test_client_viewers_reach_no_team_page_no_connection_control_no_other_client(world):
    viewer = world.client_for("a_client")  # a client viewer of Apex Bikes (a2)
    a1, a2 = world.clients["a1"].pk, world.clients["a2"].pk
    refused = {
        reverse("client_list", args=["alpha"]): 403,
        reverse("client_detail", args=["alpha", a2]): 403,
        reverse("client_edit", args=["alpha", a2]): 403,
        reverse("members", args=["alpha"]): 403,
        reverse("attention", args=["alpha"]): 403,
        reverse("agency_settings", args=["alpha"]): 403,
        reverse("client_delivery", args=["alpha", a2]): 403,
        reverse("portal_report", args=["alpha", a1]): 404,  # another client of the agency
        reverse("portal_report", args=["bravo", world.clients["b1"].pk]): 404,
    }
    for url, status in refused.items():
        assert viewer.get(url).status_code == status, url
    connect = reverse("connect_start", args=["alpha", a2, "instagram"])
    assert viewer.post(connect).status_code == 403
    assert viewer.get(reverse("portal_report", args=["alpha", a2])).status_code == 200


def test_a_client_viewer_is_limited_whatever_the_flag_says(world):
    membership = world.memberships["a_client"]
    Membership.objects.filter(pk=membership.pk).update(limited_to_clients=False)
    membership.refresh_from_db()
    assert membership.is_limited
    viewer = world.client_for("a_client")
    a1 = world.clients["a1"].pk
    assert viewer.get(reverse("portal_report", args=["alpha", a1])).status_code == 404


def test_the_team_invitation_form_does_not_hand_out_the_client_role(world, as_owner):
    page = as_owner.get(reverse("members", args=["alpha"])).content.decode()
    assert 'value="client"' not in page
    response = as_owner.post(
        reverse("members", args=["alpha"]), {"email": "x@example.com", "role": "client"}
    )
    assert response.status_code == 200
    assert not Invitation.objects.filter(email="x@example.com").exists()


def test_only_admins_invite_and_remove_client_viewers_and_b_cannot_at_all(world):
    assert invite_viewer(world, world.client_for("a_member")).status_code == 403
    assert invite_viewer(world, world.client_for("b_owner")).status_code == 404
    assert not Invitation.objects.filter(role=Role.CLIENT).exists()
    membership = world.memberships["a_client"]
    remove = reverse("client_viewer_remove", args=["alpha", membership.pk])
    assert world.client_for("a_member").post(remove).status_code == 403
    b_remove = reverse("client_viewer_remove", args=["bravo", membership.pk])
    assert world.client_for("b_owner").post(b_remove).status_code == 404
    # A team member's membership is not a client viewer's: the remove URL does not touch it.
    member = reverse("client_viewer_remove", args=["alpha", world.memberships["a_member"].pk])
    assert world.client_for("a_admin").post(member).status_code == 404
    assert world.client_for("a_admin").post(remove).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_removing_a_client_viewer_is_in_the_agency_audit_trail(world):
    # Through accounts.services.remove_member, like any member's removal (it was a bare delete).
    membership = world.memberships["a_client"]
    remove = reverse("client_viewer_remove", args=["alpha", membership.pk])
    assert world.client_for("a_admin").post(remove).status_code == 302
    event = AuditEvent.objects.get(agency=world.a, kind=AuditEvent.Kind.MEMBER_REMOVED)
    assert event.actor == world.users["a_admin"]
    assert "a_client@example.com" in event.subject
    assert not AuditEvent.objects.filter(agency=world.b).exists()


def test_the_client_page_lists_its_viewers_and_invitations(world):
    admin = world.client_for("a_admin")
    invite_viewer(world, admin, "a2", "new@apex.example")
    page = admin.get(reverse("client_delivery", args=["alpha", world.clients["a2"].pk]))
    body = page.content.decode()
    assert "a_client@example.com" in body and "new@apex.example" in body
    other = admin.get(reverse("client_delivery", args=["alpha", world.clients["a1"].pk]))
    assert "a_client@example.com" not in other.content.decode()
