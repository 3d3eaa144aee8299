"""Client reports: the page, its downloads (PDF, CSV, XLSX), notes on dates and settings.

Thin shells over insights.reports: every view resolves the client through the agency-scoped
helpers (404 for other agencies' clients) and builds the one Report from snapshots.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
from urllib.parse import urlencode

from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import agency_view

from ..access import get_client_for_agency, visible_clients
from ..images import open_stored
from ..models import Client, Media, ReportNote, ReportSettings
from ..reports import exports, pdf
from ..reports.branding import branding_for
from ..reports.build import Report, build_report, client_today
from ..reports.forms import NoteForm, RangeForm, ReportSettingsForm
from ..reports.page import report_context

log = logging.getLogger("prism.reports")


class _ReadOnly(Exception):
    pass


def _readable_client(request: HttpRequest, pk: int) -> Client:
    """The client, or 404; then 405 for anything but GET/HEAD (decided after the lookup, so
    a member limited to other clients learns nothing from the method)."""
    client = get_client_for_agency(request, pk)
    if request.method not in ("GET", "HEAD"):
        raise _ReadOnly
    return client


def _read_only(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _ReadOnly:
            return HttpResponseNotAllowed(["GET", "HEAD"])

    return wrapper


def _report_for(request: HttpRequest, client: Client) -> tuple[Report, RangeForm]:
    settings = ReportSettings.objects.filter(client=client).first()
    form = RangeForm(request.GET, today=client_today(client), settings=settings)
    period, compare = form.period()
    return build_report(client, period.start, period.end, compare, settings=settings), form


def _thumb_src(request: HttpRequest):
    slug = request.agency.slug

    def src(name: str, pk: int) -> str:
        return reverse("report_media_thumbnail", kwargs={"agency_slug": slug, "pk": pk})

    return src


def _query(report: Report) -> str:
    """The downloads' query string: exactly the page's period, as a custom range."""
    return urlencode(
        {
            "range": "custom",
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
            "compare": report.compare,
        }
    )


@agency_view(Role.VIEWER)
@_read_only
def client_report(request: HttpRequest, pk: int) -> HttpResponse:
    client = _readable_client(request, pk)
    report, form = _report_for(request, client)
    branding = branding_for(request.agency)
    context = report_context(report, branding=branding, media_src=_thumb_src(request))
    can_edit = request.membership.has_role(Role.MEMBER)
    context.update(
        form=form,
        query=_query(report),
        notes=report.notes,
        note_form=NoteForm(initial={"day": report.period.end}),
        can_edit=can_edit,
    )
    return render(request, "reports/report.html", context)


@agency_view(Role.VIEWER)
@_read_only
def client_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    client = _readable_client(request, pk)
    report, _ = _report_for(request, client)
    try:
        body = pdf.render_pdf(report, branding=branding_for(request.agency).for_pdf())
    except pdf.PdfUnavailable as exc:
        return render(
            request,
            "reports/pdf_unavailable.html",
            {"client": client, "help": str(exc)},
            status=503,
        )
    response = HttpResponse(body, content_type="application/pdf")
    return exports.download_headers(response, exports.filename(report, "report", "pdf"))


@agency_view(Role.VIEWER)
@_read_only
def client_report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    report, _ = _report_for(request, _readable_client(request, pk))
    return exports.tidy_csv_response(report)


@agency_view(Role.VIEWER)
@_read_only
def client_report_posts_csv(request: HttpRequest, pk: int) -> HttpResponse:
    report, _ = _report_for(request, _readable_client(request, pk))
    return exports.posts_csv_response(report)


@agency_view(Role.VIEWER)
@_read_only
def client_report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    report, _ = _report_for(request, _readable_client(request, pk))
    return exports.xlsx_response(report)


@agency_view(Role.MEMBER)
def client_report_settings(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk)
    instance = ReportSettings.objects.filter(client=client).first() or ReportSettings(
        client=client, agency=request.agency
    )
    form = ReportSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Report settings saved.")
        return redirect("client_report", agency_slug=request.agency.slug, pk=client.pk)
    return render(request, "reports/settings.html", {"client": client, "form": form})


@agency_view(Role.MEMBER)
@require_POST
def report_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        note = form.save(commit=False)
        note.agency, note.client, note.created_by = request.agency, client, request.user
        note.save()
        messages.success(request, "Note added to the report.")
    else:
        errors = " ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, f"The note was not added: {errors}")
    return _back(request, client)


@agency_view(Role.MEMBER)
@require_POST
def report_note_delete(request: HttpRequest, pk: int) -> HttpResponse:
    note = (
        ReportNote.objects.select_related("client")
        .filter(pk=pk, agency=request.agency, client__in=visible_clients(request))
        .first()
    )
    if note is None:
        raise Http404("No such note.")
    note.delete()
    messages.success(request, "Note removed.")
    return _back(request, note.client)


def _back(request: HttpRequest, client: Client) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse(
            "client_report", kwargs={"agency_slug": request.agency.slug, "pk": client.pk}
        )
    return redirect(target)


@agency_view(Role.VIEWER)
@_read_only
def report_media_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    """A post's locally cached thumbnail (Meta's CDN links expire), after the agency check."""
    media = (
        Media.objects.filter(
            pk=pk,
            account__agency=request.agency,
            account__client__in=visible_clients(request),
        )
        .only("thumbnail")
        .first()
    )
    if media is None or not media.thumbnail:
        raise Http404("No thumbnail.")
    if request.method not in ("GET", "HEAD"):
        raise _ReadOnly
    content_type = mimetypes.guess_type(media.thumbnail.name)[0] or "image/jpeg"
    response = FileResponse(open_stored(media.thumbnail), content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
