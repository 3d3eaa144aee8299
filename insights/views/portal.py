"""The client portal: where client viewers read their client's report, in the agency's
branding, with no way into the agency's own pages."""

from __future__ import annotations

import mimetypes

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.models import Role
from accounts.tenancy import agency_view

from ..access import get_client_for_agency, visible_clients
from ..images import open_stored
from ..models import Media
from ..reports import branding as brand
from ..reports import exports, pdf, thumbnails
from ..reports.build import build_report
from ..reports.page import report_context
from ..reports.request import from_query


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
    client = get_client_for_agency(request, pk, include_archived=False)
    asked, form = from_query(client, request.GET)
    report = build_report(asked)

    def media_src(_name: str, media_pk: int) -> str:
        ref = thumbnails.reference(thumbnails.portal_scope(request.agency.pk), media_pk)
        return reverse("portal_media", args=[request.agency.slug, ref])

    branding = brand.branding_for(request.agency)
    context = report_context(report, branding=branding, media_src=media_src, mode="shared")
    context.update(client=client, form=form, query=asked.query_string())
    response = render(request, "reports/portal_report.html", context)
    response["Cache-Control"] = "no-store"
    return response


@agency_view(Role.CLIENT)
def portal_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The portal's report as PDF: the same report, the agency's branding, for client viewers
    too (they could not download it before)."""
    client = get_client_for_agency(request, pk, include_archived=False)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    asked, _form = from_query(client, request.GET)
    report = build_report(asked)
    branding = brand.branding_for(request.agency)
    try:
        body = pdf.render_pdf(report, branding=branding.for_pdf())
    except pdf.PdfUnavailable:
        return render(
            request,
            "reports/shared_pdf_busy.html",
            {"branding": branding, "unavailable": True},
            status=503,
        )
    response = HttpResponse(body, content_type="application/pdf")
    return exports.download_headers(response, exports.filename(report, "report", "pdf"))


@agency_view(Role.CLIENT)
def portal_media(request: HttpRequest, ref: str) -> HttpResponse:
    """A thumbnail on a portal page, by the reference that page made (reports.thumbnails): a
    client the person may see, never a media id walked."""
    pk = thumbnails.media_pk(thumbnails.portal_scope(request.agency.pk), ref)
    media = (
        Media.objects.filter(pk=pk, account__client__in=visible_clients(request))
        .exclude(thumbnail="")
        .first()
        if pk is not None
        else None
    )
    if media is None:
        raise Http404("No such picture.")
    content_type = mimetypes.guess_type(media.thumbnail.name)[0] or "image/jpeg"
    response = FileResponse(open_stored(media.thumbnail), content_type=content_type)
    response["Cache-Control"] = "private, max-age=600"
    return response
