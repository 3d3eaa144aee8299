"""Client reports: the page, its downloads (PDF, CSV, XLSX), notes on dates and settings.

Thin shells over insights.reports: every view resolves the client through the agency-scoped
helpers (404 for other agencies' clients) and builds the one Report from snapshots.
"""

from __future__ import annotations

import functools
import logging
import mimetypes

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
from ..reports import exports, notes, pdf
from ..reports.branding import branding_for
from ..reports.build import build_report
from ..reports.forms import NoteForm, RangeForm, ReportSettingsForm
from ..reports.model import Report
from ..reports.page import report_context
from ..reports.request import ReportRequest, from_query

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


def _report_for(request: HttpRequest, client: Client) -> tuple[Report, RangeForm, ReportRequest]:
    asked, form = from_query(client, request.GET)
    return build_report(asked), form, asked


def _thumb_src(request: HttpRequest):
    slug = request.agency.slug

    def src(name: str, pk: int) -> str:
        return reverse("report_media_thumbnail", kwargs={"agency_slug": slug, "pk": pk})

    return src


@agency_view(Role.VIEWER)
@_read_only
def client_report(request: HttpRequest, pk: int) -> HttpResponse:
    client = _readable_client(request, pk)
    report, form, asked = _report_for(request, client)
    branding = branding_for(request.agency)
    context = report_context(report, branding=branding, media_src=_thumb_src(request))
    can_edit = request.membership.has_role(Role.MEMBER)
    context.update(
        form=form,
        query=asked.query_string(),
        notes=report.notes,
        note_form=NoteForm(initial={"day": report.period.end}),
        can_edit=can_edit,
    )
    return render(request, "reports/report.html", context)


@agency_view(Role.VIEWER)
@_read_only
def client_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    client = _readable_client(request, pk)
    report = _report_for(request, client)[0]
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
    report = _report_for(request, _readable_client(request, pk))[0]
    return exports.tidy_csv_response(report)


@agency_view(Role.VIEWER)
@_read_only
def client_report_posts_csv(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_for(request, _readable_client(request, pk))[0]
    return exports.posts_csv_response(report)


@agency_view(Role.VIEWER)
@_read_only
def client_report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_for(request, _readable_client(request, pk))[0]
    return exports.xlsx_response(report)


@agency_view(Role.MEMBER)
def client_report_settings(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk)
    instance = ReportSettings.objects.filter(client=client).first() or ReportSettings(
        client=client, agency=request.agency
    )
    form = ReportSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        notes.save_settings(form)
        messages.success(request, "Report settings saved.")
        return redirect("client_report", agency_slug=request.agency.slug, pk=client.pk)
    return render(request, "reports/settings.html", {"client": client, "form": form})


@agency_view(Role.MEMBER)
@require_POST
def report_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        notes.add_note(form, client=client, author=request.user)
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
    notes.remove_note(note)
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
