"""Views for sharing and delivery: white label, share links and the shared page, scheduled
reports and their deliveries, client viewers. Thin shells over insights.reports.{branding,
sharing,delivery}."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.db.models import Count, Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from accounts.models import Membership, Role
from accounts.services import invite
from accounts.tenancy import agency_view

from ..access import get_client_for_agency, visible_clients
from ..delivery_forms import BrandingForm, ClientViewerForm, ScheduleForm, ShareLinkForm
from ..images import open_stored
from ..models import AgencyBranding, ReportDelivery, ReportSchedule, ShareLink
from ..reports import branding as brand
from ..reports import delivery, sharing

# --- White label ----------------------------------------------------------------------------


@agency_view(Role.ADMIN)
def branding_settings(request: HttpRequest) -> HttpResponse:
    # Unsaved until the first POST: a GET never writes.
    row = AgencyBranding.objects.filter(agency=request.agency).first() or AgencyBranding(
        agency=request.agency
    )
    form = BrandingForm(request.POST or None, request.FILES or None, instance=row)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Branding saved. Reports, shared links and emails use it now.")
        return redirect("branding_settings", agency_slug=request.agency.slug)
    return render(
        request,
        "reports/branding_settings.html",
        {"form": form, "branding": brand.from_row(request.agency, row if row.pk else None)},
    )


def brand_stylesheet(request: HttpRequest, public_id: str, version: str) -> HttpResponse:
    """The agency's colours as CSS. Public (shared pages are anonymous); names an agency only by
    a random id and holds nothing but two colours."""
    row = AgencyBranding.objects.filter(public_id=public_id).first()
    if row is None:
        raise Http404("No such stylesheet.")
    response = HttpResponse(
        brand.stylesheet(row.primary_colour, row.accent_colour), content_type="text/css"
    )
    # The version in the URL changes with the colours, so browsers may keep this for good.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def brand_logo(request: HttpRequest, public_id: str, version: str) -> HttpResponse:
    """The agency's logo, public for the same reason as the stylesheet (and for emails)."""
    row = AgencyBranding.objects.filter(public_id=public_id).exclude(logo="").first()
    if row is None:
        raise Http404("No logo.")
    response = FileResponse(open_stored(row.logo), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- Share links, from the agency's side ----------------------------------------------------


REPEATED_FORM = (
    "This form was already sent, and the link it made has since been revoked or has expired. "
    "Use the form below for a new link."
)


def _links_for(client):
    return (
        client.share_links.annotate(view_count=Count("views"), last_view=Max("views__viewed_at"))
        .select_related("created_by")
        .order_by("-created_at")
    )


def _delivery_page(request: HttpRequest, client, **extra) -> HttpResponse:
    context = {
        "client": client,
        "branding": brand.branding_for(request.agency),
        "links": _links_for(client)[:50],
        "link_form": extra.pop("link_form", None) or ShareLinkForm(),
        "schedules": _with_local_times(client),
        "deliveries": delivery.deliveries_for(client)[:30],
        "viewers": client_viewers(request.agency, client),
        "viewer_invitations": pending_viewer_invitations(request.agency, client),
        "viewer_form": extra.pop("viewer_form", None) or ClientViewerForm(agency=request.agency),
        "now": timezone.now(),
        **extra,
    }
    return render(request, "reports/client_delivery.html", context)


def _with_local_times(client) -> list[ReportSchedule]:
    tz = _tz(client)
    schedules = list(client.report_schedules.order_by("pk"))
    for s in schedules:
        s.local_next = timezone.localtime(s.next_send_at, tz) if s.next_send_at else None
    return schedules


@agency_view(Role.VIEWER, write_role=Role.MEMBER)
def client_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """Share links, scheduled emails, delivery log and client viewers for one client."""
    client = get_client_for_agency(request, pk)
    if request.method == "POST":
        form = ShareLinkForm(request.POST)
        if not form.is_valid():
            return _delivery_page(request, client, link_form=form, open_form=True)
        data = form.cleaned_data
        custom = data["range"] == "custom"
        new = sharing.create_share_link(
            client=client,
            created_by=request.user,
            lifetime_days=data["lifetime_days"],
            preset="" if custom else data["range"],
            start=data["start"] if custom else None,
            end=data["end"] if custom else None,
            compare=data["compare"],
            password=data["password"],
            label=data["label"],
            form_key=data["form_key"],
        )
        if new.link.state != "live":  # the form sent again after its link was revoked
            messages.error(request, REPEATED_FORM)
            return _delivery_page(request, client, open_form=True)
        # Shown in this response only: the token is not stored anywhere we could read (the same
        # form sent again derives it again, see sharing.create_share_link).
        response = _delivery_page(request, client, new_link=new)
        response["Cache-Control"] = "no-store"
        return response
    return _delivery_page(request, client)


def _get_link(request: HttpRequest, pk: int) -> ShareLink:
    link = ShareLink.objects.filter(
        pk=pk, agency=request.agency, client__in=visible_clients(request)
    ).first()
    if link is None:
        raise Http404("No such link.")
    return link


@agency_view(Role.MEMBER)
@require_POST
def share_link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = _get_link(request, pk)
    sharing.revoke(link)
    messages.success(request, "The link is revoked: it no longer opens the report.")
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=link.client_id)


# --- Schedules and deliveries ---------------------------------------------------------------


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
        schedule = form.save(commit=False)
        delivery.plan(schedule)
        schedule.save()
        when = timezone.localtime(schedule.next_send_at, _tz(client))
        messages.success(
            request,
            f"Scheduled. The next email goes out {when:%a %-d %b %Y, %H:%M} ({client.time_zone}).",
        )
        return redirect("client_delivery", agency_slug=request.agency.slug, pk=client.pk)
    return render(
        request,
        "reports/schedule_form.html",
        {"form": form, "client": client, "schedule": schedule},
    )


def _tz(client):
    import zoneinfo

    return zoneinfo.ZoneInfo(client.time_zone)


@agency_view(Role.MEMBER)
@require_POST
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _get_schedule(request, pk)
    client_id = schedule.client_id
    schedule.delete()  # its deliveries and their PDFs stay in the log
    messages.success(request, "The schedule is deleted. Sent reports stay in the log.")
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=client_id)


@agency_view(Role.MEMBER)
@require_POST
def schedule_send_now(request: HttpRequest, pk: int) -> HttpResponse:
    from ..tasks import send_delivery

    schedule = _get_schedule(request, pk)
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


# --- Client viewers -------------------------------------------------------------------------


def client_viewers(agency, client):
    return (
        Membership.objects.filter(agency=agency, role=Role.CLIENT, clients=client)
        .select_related("user")
        .order_by("user__email")
    )


def pending_viewer_invitations(agency, client):
    return agency.invitations.pending().filter(role=Role.CLIENT, clients=client)


@agency_view(Role.ADMIN)
@require_POST
def client_viewer_invite(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk, include_archived=False)
    form = ClientViewerForm(request.POST, agency=request.agency)
    if not form.is_valid():
        return _delivery_page(request, client, viewer_form=form)
    invite(
        agency=request.agency,
        invited_by=request.user,
        email=form.cleaned_data["email"],
        role=Role.CLIENT,
        limited_to_clients=True,
        clients=[client],
    )
    messages.success(
        request, f"{form.cleaned_data['email']} is invited to read {client.name}'s reports."
    )
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=client.pk)


@agency_view(Role.ADMIN)
@require_POST
def client_viewer_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = Membership.objects.filter(agency=request.agency, role=Role.CLIENT, pk=pk).first()
    if membership is None:
        raise Http404("No such client viewer.")
    client = membership.clients.first()
    membership.delete()
    messages.success(request, f"{membership.user.email} no longer has access.")
    if client is None:
        return redirect("client_list", agency_slug=request.agency.slug)
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=client.pk)


# --- Client viewers' own pages --------------------------------------------------------------


@agency_view(Role.CLIENT)
def client_portal(request: HttpRequest) -> HttpResponse:
    """Where client viewers land: their client's report. The agency's team gets the list of
    what each client sees."""
    clients = list(visible_clients(request).active())
    if request.membership.role == Role.CLIENT and len(clients) == 1:
        return redirect("portal_report", agency_slug=request.agency.slug, pk=clients[0].pk)
    return render(
        request,
        "reports/portal.html",
        {"clients": clients, "branding": brand.branding_for(request.agency)},
    )


@agency_view(Role.CLIENT)
def portal_report(request: HttpRequest, pk: int) -> HttpResponse:
    """A client's report as its own people see it: read-only, in the agency's branding, with no
    links into the agency's pages. The team may open it to see what the client sees."""
    from ..models import ReportSettings
    from ..reports.build import build_report, client_today
    from ..reports.forms import RangeForm
    from ..reports.page import report_context

    client = get_client_for_agency(request, pk, include_archived=False)
    branding = brand.branding_for(request.agency)
    settings_row = ReportSettings.objects.filter(client=client).first()
    form = RangeForm(request.GET, today=client_today(client), settings=settings_row)
    period, compare = form.period()
    report = build_report(client, period.start, period.end, compare, settings=settings_row)

    def media_src(_name: str, media_pk: int) -> str:
        return reverse("portal_media", args=[request.agency.slug, media_pk])

    context = report_context(report, branding=branding, media_src=media_src, mode="shared")
    response = render(
        request, "reports/portal_report.html", {**context, "client": client, "form": form}
    )
    response["Cache-Control"] = "no-store"
    return response


@agency_view(Role.CLIENT)
def portal_media(request: HttpRequest, pk: int) -> HttpResponse:
    from ..models import Media

    media = (
        Media.objects.filter(pk=pk, account__client__in=visible_clients(request))
        .exclude(thumbnail="")
        .first()
    )
    if media is None:
        raise Http404("No such picture.")
    content_type = mimetypes.guess_type(media.thumbnail.name)[0] or "image/jpeg"
    response = FileResponse(open_stored(media.thumbnail), content_type=content_type)
    response["Cache-Control"] = "private, max-age=600"
    return response


@agency_view(Role.VIEWER)
def portfolio(request: HttpRequest) -> HttpResponse:
    """Every client of the agency on one screen (insights.reports.portfolio)."""
    from ..reports.portfolio import DAYS, build_portfolio, late_or_failed

    rows = build_portfolio(visible_clients(request).active().order_by("name", "pk"))
    return render(
        request,
        "reports/portfolio.html",
        {"rows": rows, "failed": late_or_failed(rows), "days": DAYS},
    )
