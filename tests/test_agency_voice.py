"""Everything a client sees speaks in the agency's voice: the report in the client portal, the
share page, the PDF, report emails, the client-viewer invitation and the reconnect page and
email carry the agency's brand only and never name the tool (issue 16, point 6). "Powered by"
is the agency's choice, off by default."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from accounts.models import Invitation, Role
from insights.models import AgencyBranding
from insights.reports import sharing
from insights.reports.periods import client_today

from .factories import InstagramAccountFactory
from .report_world import fill_account

pytestmark = pytest.mark.django_db
TOOL = re.compile(r"\bPrism\b")


def visible(html: str) -> str:
    """The text a reader sees and the attributes a browser shows (title, alt)."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    shown = " ".join(re.findall(r'(?:alt|title|aria-label)="([^"]*)"', html))
    return re.sub(r"<[^>]+>", " ", html) + " " + shown


@pytest.fixture
def apex(world):
    """Apex Bikes (a_client's client) with a connected account and its history."""
    client = world.clients["a2"]
    account = InstagramAccountFactory(agency=world.a, client=client, username="apex.bikes")
    fill_account(account, last_day=client_today(client) - timedelta(days=1), days=60, media=30)
    return account


def test_the_client_portal_is_the_agencys_only(world, apex):
    http = world.client_for("a_client")
    for url in (
        reverse("portal_report", args=["alpha", world.clients["a2"].pk]),
        reverse("profile"),
        reverse("account_change_password"),
    ):
        html = http.get(url, follow=True).content.decode()
        assert "Alpha Agency" in html, url
        assert not TOOL.search(visible(html)), (url, TOOL.findall(visible(html)))
        assert "+ New agency" not in html and "agencies/new" not in html, url


def test_the_share_page_and_its_pdf_never_name_the_tool(world, apex):
    made = sharing.create_share_link(client=world.clients["a2"], preset="last_28")
    html = HttpClient().get(urlsplit(made.url).path).content.decode()
    assert "Apex Bikes" in html and "Alpha Agency" in html
    assert not TOOL.search(visible(html)), TOOL.findall(visible(html))
    from insights.reports.pdf import render_html
    from insights.reports.sharing import report_for_link

    assert not TOOL.search(visible(render_html(report_for_link(made.link))))


def test_powered_by_is_the_agencys_choice(world, apex):
    made = sharing.create_share_link(client=world.clients["a2"], preset="last_28")
    path = urlsplit(made.url).path
    assert "Powered by" not in HttpClient().get(path).content.decode()
    admin = world.client_for("a_admin")
    form = admin.get(reverse("branding_settings", args=["alpha"])).content.decode()
    assert "Powered by" in form
    response = admin.post(
        reverse("branding_settings", args=["alpha"]),
        {"primary_colour": "#123456", "accent_colour": "#654321", "powered_by": "on"},
    )
    assert response.status_code == 302
    assert AgencyBranding.objects.get(agency=world.a).powered_by
    assert "Powered by Prism" in HttpClient().get(path).content.decode()


def test_the_client_viewer_invitation_comes_from_the_agency(
    world, django_capture_on_commit_callbacks
):
    admin = world.client_for("a_admin")
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            reverse("client_viewer_invite", args=["alpha", world.clients["a1"].pk]),
            {"email": "cmo@acme.example"},
        )
    (message,) = mail.outbox
    assert message.from_email.startswith("Alpha Agency <")
    assert "Acme Coffee" in message.subject and "Alpha Agency" in message.subject
    for text in (message.subject, message.body, message.alternatives[0][0]):
        assert not TOOL.search(text), text
    link = re.search(r"https?://\S+", message.body).group(0)
    page = HttpClient().get(urlsplit(link).path).content.decode()
    assert "Alpha Agency" in page and not TOOL.search(visible(page)), TOOL.findall(visible(page))
    assert "Start free" not in page
    # A team member's invitation still says where they are going.
    assert Invitation.objects.get(email="cmo@acme.example").role == Role.CLIENT


def test_the_reconnect_page_and_email_are_the_agencys(world, apex):
    from insights.connections.removal import email_reconnect_link

    email_reconnect_link(apex, "owner@apex.example")
    (message,) = mail.outbox
    assert message.from_email.startswith("Alpha Agency <")
    assert not TOOL.search(message.subject + message.body), message.body
    link = re.search(r"https?://\S+/reconnect/\S+", message.body).group(0)
    page = HttpClient().get(urlsplit(link).path).content.decode()
    assert "Alpha Agency" in page
    assert not TOOL.search(visible(page)), TOOL.findall(visible(page))
    assert "Start free" not in page and "Log in" not in page
