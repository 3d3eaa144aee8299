"""Scheduled report emails and the delivery log: create, edit, delete, send now, resend, and
the exact PDF a delivery sent. Thin shells over insights.reports.delivery."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import agency_view

from ..access import get_client_for_agency, visible_clients
from ..delivery_forms import ScheduleForm
from ..images import open_stored
from ..models import ReportDelivery, ReportSchedule
from ..reports import delivery


def _get_schedule(request: HttpRequest, pk: int) -> ReportSchedule:
    schedule = (
        ReportSchedule.objects.select_related("client", "agency")
        .filter(pk=pk, agency=request.agency, client__in=visible_clients(request))
        .first()
    )
    if schedule is None:
        raise Http404("No such schedule.")
    return schedule


def _get_delivery(request: HttpRequest, pk: int) -> ReportDelivery:
    found = (
        ReportDelivery.objects.select_related("client", "agency", "resend_of")
        .filter(pk=pk, agency=request.agency, client__in=visible_clients(request))
        .first()
    )
    if found is None:
        raise Http404("No such delivery.")
    return found


@agency_view(Role.MEMBER)
def schedule_create(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk, include_archived=False)
    schedule = ReportSchedule(agency=request.agency, client=client, created_by=request.user)
    return _schedule_form(request, client, schedule)


@agency_view(Role.MEMBER)
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _get_schedule(request, pk)
    return _schedule_form(request, schedule.client, schedule)


def _schedule_form(request: HttpRequest, client, schedule: ReportSchedule) -> HttpResponse:
    form = ScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        schedule = delivery.save_schedule(form.save(commit=False))
        when = timezone.localtime(schedule.next_send_at, delivery.zone_of(client))
        messages.success(
            request,
            f"Scheduled. The next email goes out {when:%a %-d %b %Y, %H:%M} ({client.time_zone}).",
        )
        return redirect("client_delivery", agency_slug=request.agency.slug, pk=client.pk)
    with timezone.override(delivery.zone_of(client)):  # "Times are in <the client's zone>"
        return render(
            request,
            "reports/schedule_form.html",
            {"form": form, "client": client, "schedule": schedule},
        )


@agency_view(Role.MEMBER)
@require_POST
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _get_schedule(request, pk)
    client_id = schedule.client_id
    delivery.delete_schedule(schedule)
    messages.success(request, "The schedule is deleted. Sent reports stay in the log.")
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=client_id)


@agency_view(Role.MEMBER)
@require_POST
def schedule_send_now(request: HttpRequest, pk: int) -> HttpResponse:
    from ..tasks import send_delivery

    schedule = _get_schedule(request, pk)
    if not delivery.may_send_by_hand(schedule.client):
        messages.error(request, delivery.HAND_SEND_LIMIT)
        return redirect("client_delivery", agency_slug=request.agency.slug, pk=schedule.client_id)
    made = delivery.send_now(schedule, requested_by=request.user)
    send_delivery.delay(made.pk)
    messages.success(
        request,
        f"Sending the report for {made.period_start:%-d %b}–{made.period_end:%-d %b %Y} now.",
    )
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=schedule.client_id)


@agency_view(Role.MEMBER)
@require_POST
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    from ..tasks import send_delivery

    original = _get_delivery(request, pk)
    if not original.pdf:
        messages.error(request, "This delivery has no stored PDF to resend.")
    elif not delivery.may_send_by_hand(original.client):
        messages.error(request, delivery.HAND_SEND_LIMIT)
    else:
        made = delivery.resend(original, requested_by=request.user)
        send_delivery.delay(made.pk)
        messages.success(request, "Resending the same PDF.")
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=original.client_id)


@agency_view(Role.VIEWER)
def delivery_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The exact PDF a delivery sent; only through the agency check (no public URL)."""
    found = _get_delivery(request, pk)
    if not found.pdf:
        raise Http404("No PDF stored.")
    response = FileResponse(open_stored(found.pdf), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        False, delivery.pdf_filename(found)
    )
    response["Cache-Control"] = "no-store"
    return response
