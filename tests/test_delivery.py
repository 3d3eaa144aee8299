"""Sending scheduled reports: the email in the agency's branding with the PDF attached and a
share link, the exact PDF stored and served only to the agency, duplicates and failures, and
resending the very same file."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import Client as HttpClient
from django.urls import reverse
from pypdf import PdfReader

from insights.models import (
    AgencyBranding,
    ReportDelivery,
    ReportSchedule,
    ShareLink,
)
from insights.reports import delivery

pytestmark = pytest.mark.django_db

FAILS_FOR: set[str] = set()


class FlakyBackend(EmailBackend):
    """The locmem backend, refusing some recipients the way an SMTP server would."""

    def send_messages(self, messages):
        for message in messages:
            if set(message.to) & FAILS_FOR:
                raise ConnectionRefusedError("SMTP server said no")
        return super().send_messages(messages)


@pytest.fixture
def branded(world):
    return AgencyBranding.objects.create(
        agency=world.a,
        primary_colour="#0f766e",
        accent_colour="#f59e0b",
        sender_name="Alpha Reports",
        reply_to="hello@alpha.example",
        footer_text="Alpha Agency · 1 Rue de la Paix",
    )


@pytest.fixture
def due_schedule(world):
    schedule = ReportSchedule(
        agency=world.a,
        client=world.clients["a1"],
        recipients=["boss@acme.example", "team@acme.example"],
    )
    delivery.plan(schedule, now=datetime(2026, 11, 30, tzinfo=UTC))
    schedule.save()
    ReportSchedule.objects.filter(pk=schedule.pk).update(
        next_send_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    schedule.refresh_from_db()
    return schedule


def claim_and_send(schedule) -> str:
    [(pk, token)] = delivery.claim_due_schedules()
    assert pk == schedule.pk
    return delivery.send_scheduled(pk, token)


def test_a_scheduled_report_arrives_branded_with_its_pdf_and_a_working_link(
    world, branded, due_schedule
):
    assert claim_and_send(due_schedule) == "sent"
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@acme.example", "team@acme.example"]
    message = mail.outbox[0]
    assert message.from_email.startswith('"Alpha Reports" <') or message.from_email.startswith(
        "Alpha Reports <"
    )
    assert message.reply_to == ["hello@alpha.example"]
    assert "Acme Coffee" in message.subject and "23 Nov" in message.subject
    html = message.alternatives[0][0]
    assert "#0f766e" in html and "Alpha Agency · 1 Rue de la Paix" in html
    assert "Alpha Agency · 1 Rue de la Paix" in message.body
    [(filename, pdf, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and pdf.startswith(b"%PDF")
    assert filename.endswith(".pdf") and "Acme Coffee" in filename
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Acme Coffee" in text and "Alpha Agency · 1 Rue de la Paix" in text

    sent = ReportDelivery.objects.get()
    assert sent.status == "sent" and sent.sent_to == ["boss@acme.example", "team@acme.example"]
    assert (str(sent.period_start), str(sent.period_end)) == ("2026-11-23", "2026-11-29")
    with sent.pdf.open("rb") as f:
        stored = f.read()
    assert stored == pdf  # the exact bytes that were sent
    assert sent.pdf_sha256 == hashlib.sha256(pdf).hexdigest()

    # The link in the email opens that period's report, without a login.
    url = re.search(r"https?://\S+/r/[\w-]+/", message.body).group(0)
    page = HttpClient().get("/" + url.split("/", 3)[3])
    assert page.status_code == 200 and b"Acme Coffee" in page.content
    link = ShareLink.objects.get(pk=sent.share_link_id)
    assert (str(link.start), str(link.end)) == ("2026-11-23", "2026-11-29") and not link.preset

    # The schedule moved on to the next week and let go of its lease.
    due_schedule.refresh_from_db()
    assert str(due_schedule.next_period_start) == "2026-11-30"
    assert due_schedule.lease_token == "" and due_schedule.lease_until is None


def _png(colour=(15, 118, 110, 255)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (240, 80), colour).save(out, "PNG")
    return out.getvalue()


def test_the_subject_is_plain_text_not_html(world, due_schedule):
    world.clients["a1"].name = "Ava's Bakery & Café"
    world.clients["a1"].save()
    assert claim_and_send(due_schedule) == "sent"
    assert mail.outbox[0].subject == "Ava's Bakery & Café: Instagram report 23 Nov–29 Nov 2026"


def test_the_logo_travels_inside_the_email_not_as_a_remote_image(world, branded, due_schedule):
    from email import message_from_bytes, policy

    from django.core.files.base import ContentFile

    branded.logo.save("logo.png", ContentFile(_png()), save=True)
    assert claim_and_send(due_schedule) == "sent"
    # What an SMTP server receives, parsed back the way a mail client reads it.
    sent = message_from_bytes(mail.outbox[0].message().as_bytes(), policy=policy.default)
    assert sent.get_content_type() == "multipart/mixed"
    alternative, attachment = sent.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert attachment.get_content_type() == "application/pdf"
    text, related = alternative.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, picture = related.iter_parts()
    assert picture.get_content_type() == "image/png"
    assert picture.get_content_disposition() == "inline"
    with branded.logo.open("rb") as f:
        assert picture.get_content() == f.read()
    content_id = picture["Content-ID"].strip("<>")
    body = html.get_content()
    assert f'src="cid:{content_id}"' in body
    # No picture from the web: every <img> is one carried in the message.
    assert re.findall(r'<img[^>]+src="([^"]+)"', body) == [f"cid:{content_id}"]
    assert "/brand/" not in body

    # Without a logo the agency's name stands in, and the message has no related part.
    mail.outbox.clear()
    branded.logo.delete(save=True)
    made = delivery.send_now(due_schedule)
    assert delivery.deliver(made) == "sent"
    plain = message_from_bytes(mail.outbox[0].message().as_bytes(), policy=policy.default)
    alternative, _ = plain.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert "<img" not in alternative.get_body(("html",)).get_content()
    assert "Alpha Reports" in alternative.get_body(("html",)).get_content()


def test_a_duplicated_send_report_message_mails_nobody_twice(world, due_schedule):
    [(pk, token)] = delivery.claim_due_schedules()
    # The same message delivered twice (a redelivery after a lost ack): the first one runs.
    first = delivery.send_scheduled(pk, token)
    second = delivery.send_scheduled(pk, token)
    assert first == "sent" and second == "lease lost"
    assert len(mail.outbox) == 2
    # Even a rival holding a fresh lease on the same period finds it sent.
    ReportSchedule.objects.filter(pk=pk).update(
        next_send_at=datetime(2020, 1, 1, tzinfo=UTC),
        next_period_start=due_schedule.next_period_start,
        next_period_end=due_schedule.next_period_end,
    )
    [(pk, token)] = delivery.claim_due_schedules()
    assert delivery.send_scheduled(pk, token) == "sent"
    assert len(mail.outbox) == 2 and ReportDelivery.objects.count() == 1


def test_a_failed_send_is_retried_for_the_remaining_recipients_only(world, due_schedule, settings):
    settings.EMAIL_BACKEND = "tests.test_delivery.FlakyBackend"
    FAILS_FOR.clear()
    FAILS_FOR.add("team@acme.example")
    try:
        assert claim_and_send(due_schedule) == "retry"
        failed = ReportDelivery.objects.get()
        assert failed.status == "failed" and "ConnectionRefusedError" in failed.error
        assert failed.sent_to == ["boss@acme.example"]
        # The link made for the failed attempt no longer works.
        assert not ShareLink.objects.live().exists()
        due_schedule.refresh_from_db()
        assert due_schedule.failures == 1 and due_schedule.lease_token == ""
        assert str(due_schedule.next_period_start) == "2026-11-23"  # same period, later
        FAILS_FOR.clear()
        ReportSchedule.objects.filter(pk=due_schedule.pk).update(
            next_send_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
        assert claim_and_send(due_schedule) == "sent"
    finally:
        FAILS_FOR.clear()
    assert [m.to[0] for m in mail.outbox] == ["boss@acme.example", "team@acme.example"]
    assert ReportDelivery.objects.get().status == "sent"


def test_resend_attaches_the_very_same_pdf(
    world, as_owner, due_schedule, django_capture_on_commit_callbacks
):
    claim_and_send(due_schedule)
    original = ReportDelivery.objects.get()
    first_pdf = mail.outbox[0].attachments[0][1]
    mail.outbox.clear()
    from insights import tasks

    sent_ids = []
    real_delay = tasks.send_delivery.delay
    tasks.send_delivery.delay = lambda pk: sent_ids.append(pk)
    try:
        response = as_owner.post(reverse("delivery_resend", args=["alpha", original.pk]))
    finally:
        tasks.send_delivery.delay = real_delay
    assert response.status_code == 302
    [resend_id] = sent_ids
    assert tasks.send_delivery(resend_id) == "sent"  # the task's body, as the worker runs it
    again = ReportDelivery.objects.get(pk=resend_id)
    assert again.resend_of_id == original.pk and again.pdf.name == original.pdf.name
    assert [m.attachments[0][1] for m in mail.outbox] == [first_pdf, first_pdf]
    # The other agency cannot resend it.
    b = world.client_for("b_owner")
    assert b.post(reverse("delivery_resend", args=["bravo", original.pk])).status_code == 404


def test_the_stored_pdf_is_served_only_to_the_agency(world, due_schedule):
    claim_and_send(due_schedule)
    sent = ReportDelivery.objects.get()
    url = reverse("delivery_pdf", args=["alpha", sent.pk])
    viewer = world.client_for("a_viewer").get(url)
    assert viewer.status_code == 200
    assert b"".join(viewer.streaming_content) == mail.outbox[0].attachments[0][1]
    assert viewer["Content-Type"] == "application/pdf"
    assert viewer["Cache-Control"] == "no-store"
    assert "filename" in viewer["Content-Disposition"]
    assert (
        world.client_for("b_owner")
        .get(reverse("delivery_pdf", args=["bravo", sent.pk]))
        .status_code
        == 404
    )
    assert world.client_for("a_limited").get(url).status_code == 404  # not one of their clients
    assert world.client_for("a_client").get(url).status_code == 403
    assert HttpClient().get(url).status_code == 302
    # No public path: MEDIA_URL is not served.
    assert HttpClient().get("/media-not-served/" + sent.pdf.name).status_code == 404


def test_the_delivery_log_lists_status_and_resend(world, as_owner, due_schedule):
    claim_and_send(due_schedule)
    page = as_owner.get(reverse("client_delivery", args=["alpha", world.clients["a1"].pk]))
    body = page.content.decode()
    assert "Sent" in body and "boss@acme.example" in body
    sent = ReportDelivery.objects.get()
    assert reverse("delivery_pdf", args=["alpha", sent.pk]) in body
    assert reverse("delivery_resend", args=["alpha", sent.pk]) in body


def test_the_email_body_carries_the_headline_figures_and_a_resend_repeats_them(world, due_schedule):
    from datetime import date

    from insights.models import AccountDaily, WindowMetric

    from .factories import InstagramAccountFactory
    from .report_world import end_time

    account = InstagramAccountFactory(agency=world.a, client=world.clients["a1"], username="acme")
    for i in range(14):  # the week sent (23–29 Nov) and the week before
        day = date(2026, 11, 16) + timedelta(days=i)
        for metric, value in (("views", 1000 + i), ("total_interactions", 50)):
            AccountDaily.objects.create(
                account=account, metric=metric, day=day, value=value, end_time=end_time(day)
            )
    WindowMetric.objects.create(
        account=account,
        metric="reach",
        kind="7d",
        start=date(2026, 11, 23),
        end=date(2026, 11, 29),
        value=4321,
    )
    assert claim_and_send(due_schedule) == "sent"
    message = mail.outbox[0]
    views = sum(1000 + i for i in range(7, 14))
    previous = sum(1000 + i for i in range(7))
    change = f"{(views - previous) / previous * 100:+.1f}%"
    assert f"- Views: {views:,} ({change} vs {previous:,})" in message.body
    assert "- Reach: 4,321" in message.body
    assert f"{views:,}" in message.alternatives[0][0] and "4,321" in message.alternatives[0][0]
    sent = ReportDelivery.objects.get()
    mail.outbox.clear()
    again = delivery.resend(sent)
    delivery.deliver(again)
    assert f"- Views: {views:,} ({change} vs {previous:,})" in mail.outbox[0].body
