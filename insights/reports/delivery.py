"""Scheduled report emails: when each is due, who may send it, and the sending itself.

The schedule lives in the database (`ReportSchedule.next_send_at`), as refreshes do. The
every-minute dispatcher claims due rows with a conditional UPDATE that sets a lease
(`claim_due_schedules`) and enqueues `send_report(schedule_id, lease_token)`; the task re-checks
the lease, and its final write is fenced by the token, so two dispatchers or a duplicated
message send a period once. Each send is a `ReportDelivery` with the exact PDF attached, stored
under MEDIA_ROOT and served only through an agency-checked view; a resend attaches that file
again, byte for byte.

When: at each (weekday or day of month, time) slot in the client's time zone, the report covers
the last full week (Monday to Sunday) or calendar month before the slot. Meta keeps adjusting a
day's numbers for about two days, so if the period has not settled (`settle_hours` after it
ended) at the slot, the email waits for the first time of day `send_time` after it has.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import (
    Client,
    DeliveryStatus,
    Frequency,
    ReportDelivery,
    ReportSchedule,
)
from . import sharing
from .branding import Branding, branding_for  # noqa: F401 - branding_for: the reports' seam
from .insight.highlights import highlights
from .mail import RelatedEmail, inline_image

log = logging.getLogger(__name__)

# Longer than a send takes (build, PDF, a few emails), shorter than anyone would wait.
LEASE = timedelta(minutes=10)
CLAIM_BATCH = 25
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=15)
DELIVERY_LINK_DAYS = 90
MAX_SETTLE_HOURS = 144  # under a week, so a weekly schedule never skips a period


@dataclass(frozen=True)
class Due:
    send_at: datetime  # aware, UTC
    period_start: date
    period_end: date  # inclusive


def _at(day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """`day` at wall-clock `at` in `tz`, as UTC. A wall time that does not exist (the hour
    skipped when clocks go forward) lands just after the gap; a repeated one takes its first
    occurrence (fold=0)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def period_for(frequency: str, slot_day: date) -> tuple[date, date]:
    """The last complete period before a slot on `slot_day` (local date)."""
    if frequency == Frequency.MONTHLY:
        end = slot_day.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    monday = slot_day - timedelta(days=slot_day.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def _slot_days(schedule: ReportSchedule, start: date):
    day = start
    for _ in range(800):
        if schedule.frequency == Frequency.MONTHLY:
            if day.day == schedule.day_of_month:
                yield day
        elif day.weekday() == schedule.weekday:
            yield day
        day += timedelta(days=1)


def next_due(schedule: ReportSchedule, after: datetime, *, tz_name: str | None = None) -> Due:
    """The first send strictly after `after`, with the period it covers."""
    tz = zoneinfo.ZoneInfo(tz_name or schedule.client.time_zone)
    last_end = schedule.next_period_end
    for day in _slot_days(schedule, after.astimezone(tz).date() - timedelta(days=1)):
        slot = _at(day, schedule.send_time, tz)
        if slot <= after:
            continue
        start, end = period_for(schedule.frequency, day)
        if last_end is not None and start <= last_end:
            continue  # that period was already due; never send one twice
        settled = _at(end + timedelta(days=1), time(0), tz) + timedelta(hours=schedule.settle_hours)
        send_at = slot
        if settled > slot:
            local = settled.astimezone(tz)
            send_at = _at(local.date(), schedule.send_time, tz)
            if send_at < settled:
                send_at = _at(local.date() + timedelta(days=1), schedule.send_time, tz)
        return Due(send_at=send_at, period_start=start, period_end=end)
    raise ValueError("No slot found for this schedule.")  # unreachable with validated fields


def zone_of(client: Client) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(client.time_zone)


def save_schedule(schedule: ReportSchedule, now: datetime | None = None) -> ReportSchedule:
    """A new or edited schedule, planned from now (its next send and the period it covers)."""
    plan(schedule, now)
    schedule.save()
    return schedule


def delete_schedule(schedule: ReportSchedule) -> None:
    """The schedule goes; its deliveries and their PDFs stay in the log."""
    schedule.delete()


def plan(schedule: ReportSchedule, now: datetime | None = None) -> None:
    """Set the schedule's next send from now (on creation and after an edit)."""
    schedule.next_period_end = None
    due = next_due(schedule, now or timezone.now())
    schedule.next_send_at = due.send_at
    schedule.next_period_start = due.period_start
    schedule.next_period_end = due.period_end
    schedule.failures = 0


def latest_settled_period(schedule: ReportSchedule, now: datetime | None = None) -> tuple:
    """The most recent period that has settled by now (for "send now")."""
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(schedule.client.time_zone)
    day = now.astimezone(tz).date()
    for _ in range(3):
        start, end = period_for(schedule.frequency, day)
        settled = _at(end + timedelta(days=1), time(0), tz) + timedelta(hours=schedule.settle_hours)
        if settled <= now:
            return start, end
        day = start
    return start, end


# --- Claims ---------------------------------------------------------------------------------


def claim_due_schedules(now: datetime | None = None, limit: int = CLAIM_BATCH) -> list:
    """Claim due schedules for sending: [(schedule_id, lease_token)]. Each row is taken with a
    conditional UPDATE (one row changed = ours), so dispatchers running at the same time never
    both get it; an expired lease (a worker that died) is claimable again."""
    now = now or timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = ReportSchedule.objects.filter(
        free, active=True, next_send_at__lte=now, client__archived_at=None
    )
    claimed = []
    for pk in due.order_by("next_send_at").values_list("pk", flat=True)[:limit]:
        token = secrets.token_hex(16)
        won = ReportSchedule.objects.filter(free, pk=pk, active=True, next_send_at__lte=now).update(
            lease_until=now + LEASE, lease_token=token
        )
        if won:
            claimed.append((pk, token))
    return claimed


def _holding(schedule_id: int, lease_token: str):
    return ReportSchedule.objects.filter(
        pk=schedule_id, lease_token=lease_token, lease_until__gt=timezone.now()
    )


def send_scheduled(schedule_id: int, lease_token: str) -> str:
    """The body of the `send_report` task."""
    schedule = _holding(schedule_id, lease_token).select_related("client", "agency").first()
    if schedule is None:
        return "lease lost"  # another worker has it, or it was released
    try:
        with transaction.atomic():
            delivery, _ = ReportDelivery.objects.get_or_create(
                schedule=schedule,
                period_start=schedule.next_period_start,
                resend_of=None,
                defaults={
                    "agency": schedule.agency,
                    "client": schedule.client,
                    "period_end": schedule.next_period_end,
                    "recipients": list(schedule.recipients),
                    "compare": schedule.compare,
                },
            )
    except IntegrityError:  # a duplicate message made it first
        delivery = ReportDelivery.objects.get(
            schedule=schedule, period_start=schedule.next_period_start, resend_of=None
        )
    result = deliver(delivery)
    if result == DeliveryStatus.FAILED and schedule.failures + 1 < MAX_ATTEMPTS:
        # Try the same period again soon; the fence keeps a stale worker from doing this.
        _holding(schedule_id, lease_token).update(
            next_send_at=timezone.now() + RETRY_AFTER * (schedule.failures + 1),
            failures=schedule.failures + 1,
            lease_until=None,
            lease_token="",
        )
        return "retry"
    due = next_due(schedule, max(timezone.now(), schedule.next_send_at))
    _holding(schedule_id, lease_token).update(
        next_send_at=due.send_at,
        next_period_start=due.period_start,
        next_period_end=due.period_end,
        failures=0,
        lease_until=None,
        lease_token="",
    )
    return str(result)


# --- Sending --------------------------------------------------------------------------------


def _claim_delivery(delivery: ReportDelivery) -> bool:
    """pending/failed -> sending, once; a send that died mid-way is retried after the lease."""
    now = timezone.now()
    return bool(
        ReportDelivery.objects.filter(pk=delivery.pk)
        .filter(
            Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED])
            | Q(status=DeliveryStatus.SENDING, attempt_started_at__lt=now - LEASE)
        )
        .update(status=DeliveryStatus.SENDING, attempt_started_at=now)
    )


def deliver(delivery: ReportDelivery) -> str:
    """Render (once) and email one delivery. Returns its final status."""
    if not _claim_delivery(delivery):
        delivery.refresh_from_db(fields=["status"])
        return delivery.status
    delivery.refresh_from_db()
    branding = branding_for(delivery.agency)
    link = None
    try:
        if not delivery.pdf:
            _render_and_store(delivery, branding)
        new_link = sharing.create_share_link(
            client=delivery.client,
            lifetime_days=DELIVERY_LINK_DAYS,
            start=delivery.period_start,
            end=delivery.period_end,
            compare=delivery.compare,
            label=f"Emailed report {delivery.period_start:%-d %b}–{delivery.period_end:%-d %b %Y}",
        )
        link = new_link.link
        remaining = [r for r in delivery.recipients if r not in delivery.sent_to]
        pdf_bytes = _read(delivery)
        with get_connection() as connection:
            for recipient in remaining:
                message = build_email(delivery, branding, new_link.url, pdf_bytes, recipient)
                connection.send_messages([message])
                delivery.sent_to = [*delivery.sent_to, recipient]
                ReportDelivery.objects.filter(pk=delivery.pk).update(sent_to=delivery.sent_to)
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the delivery
        log.warning("delivery %s failed: %s", delivery.pk, type(error).__name__)
        if link is not None:
            sharing.revoke(link)
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000]
        )
        return DeliveryStatus.FAILED
    ReportDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), error="", share_link=link
    )
    log.info("delivery %s sent to %d recipient(s)", delivery.pk, len(delivery.sent_to))
    return DeliveryStatus.SENT


def _render_and_store(delivery: ReportDelivery, branding: Branding) -> None:
    from .build import build_report
    from .pdf import render_pdf
    from .request import for_days

    report = build_report(
        for_days(delivery.client, delivery.period_start, delivery.period_end, delivery.compare)
    )
    pdf = render_pdf(report, branding=branding.for_pdf())
    delivery.pdf.save("report.pdf", ContentFile(pdf), save=False)
    delivery.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    delivery.pdf_size = len(pdf)
    delivery.headline = headline(report)
    delivery.highlights = highlights(report)
    ReportDelivery.objects.filter(pk=delivery.pk).update(
        pdf=delivery.pdf.name,
        pdf_sha256=delivery.pdf_sha256,
        pdf_size=delivery.pdf_size,
        headline=delivery.headline,
        highlights=delivery.highlights,
    )


HEADLINE_KEYS = ("followers", "reach", "reach_daily", "views", "interactions", "engagement_rate")


def headline(report) -> list[dict]:
    """The figures an email shows: the main tiles of the whole client (the roll-up when it has
    several accounts), as the report shows them."""
    from .page import kpi_view

    section = report.rollup or (report.sections[0] if report.sections else None)
    if section is None:
        return []
    tiles = {k.key: k for k in section.kpis}
    out = []
    for key in HEADLINE_KEYS:
        if key in tiles and tiles[key].value is not None:
            view = kpi_view(tiles[key])
            change = f"{view.delta} vs {view.previous}" if view.delta else view.why
            out.append({"label": view.label, "value": view.value, "change": change})
    return out


def _read(delivery: ReportDelivery) -> bytes:
    with delivery.pdf.open("rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != delivery.pdf_sha256:
        raise ValueError("The stored PDF does not match what was rendered.")
    return data


def pdf_filename(delivery: ReportDelivery) -> str:
    return f"{delivery.client.name} report {delivery.period_start}–{delivery.period_end}.pdf"


def build_email(
    delivery: ReportDelivery, branding: Branding, link_url: str, pdf: bytes, recipient: str
) -> RelatedEmail:
    """The report email: text and HTML, the logo inside the message (cid:, never a remote
    image), and the PDF attached."""
    logo = branding.logo_png()
    logo_image = inline_image(logo) if logo else None
    context = {
        "delivery": delivery,
        "client": delivery.client,
        "branding": branding,
        "link_url": link_url,
        "link_days": DELIVERY_LINK_DAYS,
        "logo_cid": logo_image.content_id if logo_image else "",
    }
    subject = " ".join(render_to_string("reports/email/report_subject.txt", context).split())
    message = RelatedEmail(
        subject=subject,
        body=render_to_string("reports/email/report.txt", context),
        from_email=sender(branding),
        to=[recipient],
        reply_to=[branding.reply_to] if branding.reply_to else None,
        inline_images=[logo_image] if logo_image else [],
    )
    message.attach_alternative(render_to_string("reports/email/report.html", context), "text/html")
    message.attach(pdf_filename(delivery), pdf, "application/pdf")
    return message


def sender(branding: Branding) -> str:
    """The agency's sender name on Prism's own address (an agency's domain would fail SPF)."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "prism@localhost"
    name = " ".join(branding.from_name.split())  # no CR/LF: header injection
    return formataddr((name, address))


# --- Resend and "send now" ------------------------------------------------------------------


# Emails sent by hand ("Send latest now", "Resend") per client and hour: each one mails the
# schedule's recipients with a new share link, so a held-down button must not become a flood.
HAND_SENDS_PER_HOUR = 5
HAND_SEND_LIMIT = (
    f"This client's report was already sent by hand {HAND_SENDS_PER_HOUR} times in the last "
    "hour. Try again later; scheduled emails go out as planned."
)


def may_send_by_hand(client: Client) -> bool:
    """Fewer than HAND_SENDS_PER_HOUR deliveries sent by hand (no schedule) for this client in
    the last hour. The log is the counter: every delivery made stays in it."""
    since = timezone.now() - timedelta(hours=1)
    recent = ReportDelivery.objects.filter(client=client, schedule=None, created_at__gte=since)
    return recent.count() < HAND_SENDS_PER_HOUR


def resend(delivery: ReportDelivery, *, requested_by=None) -> ReportDelivery:
    """A new delivery of the same stored PDF to the same recipients."""
    original = delivery.resend_of or delivery
    return ReportDelivery.objects.create(
        agency=original.agency,
        client=original.client,
        schedule=None,
        resend_of=original,
        period_start=original.period_start,
        period_end=original.period_end,
        recipients=list(original.recipients),
        compare=original.compare,
        pdf=original.pdf.name,
        pdf_sha256=original.pdf_sha256,
        pdf_size=original.pdf_size,
        headline=original.headline,
        highlights=original.highlights,
        requested_by=requested_by,
    )


def send_now(schedule: ReportSchedule, *, requested_by=None) -> ReportDelivery:
    """Send the latest settled period at once, outside the schedule."""
    start, end = latest_settled_period(schedule)
    return ReportDelivery.objects.create(
        agency=schedule.agency,
        client=schedule.client,
        schedule=None,
        period_start=start,
        period_end=end,
        recipients=list(schedule.recipients),
        compare=schedule.compare,
        requested_by=requested_by,
    )


# What people read about a failed delivery: the kind of failure, never the exception's text
# (addresses, server paths, library internals stay in `error`, for the admin and the logs).
_FAILURES = [
    (("SMTPRecipientsRefused", "SMTPSenderRefused", "SMTPDataError"),
     "The mail server refused to deliver it (an address may be wrong)."),
    (("SMTPAuthenticationError",), "The mail server refused Prism's sign-in."),
    (("ConnectionRefusedError", "ConnectionResetError", "TimeoutError", "timeout",
      "SMTPConnectError", "SMTPServerDisconnected", "gaierror", "OSError", "SSLError"),
     "The mail server could not be reached."),
    (("PdfUnavailable",), "The PDF could not be made."),
]  # fmt: skip


def error_summary(error: str) -> str:
    """A failed delivery's stored error (`Type: message`) as a sentence for people."""
    kind = (error or "").split(":", 1)[0].strip().rsplit(".", 1)[-1]
    for kinds, sentence in _FAILURES:
        if kind in kinds:
            return sentence
    return "Sending failed; Resend tries again."


def deliveries_for(client: Client):
    return client.report_deliveries.select_related("resend_of").order_by("-created_at", "-pk")
