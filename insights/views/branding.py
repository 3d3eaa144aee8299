"""White label: the agency's branding form, and the stylesheet and logo its clients' pages load.
Thin shells over insights.reports.branding."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import Role
from accounts.tenancy import agency_view

from ..delivery_forms import BrandingForm
from ..images import open_stored
from ..models import AgencyBranding
from ..reports import branding as brand


@agency_view(Role.ADMIN)
def branding_settings(request: HttpRequest) -> HttpResponse:
    # Unsaved until the first POST: a GET never writes.
    row = AgencyBranding.objects.filter(agency=request.agency).first() or AgencyBranding(
        agency=request.agency
    )
    form = BrandingForm(request.POST or None, request.FILES or None, instance=row)
    if request.method == "POST" and form.is_valid():
        brand.save_branding(form)
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
