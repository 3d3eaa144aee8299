"""The shared report: what a share link opens, without a login.

Every answer here, including the 404 for an unknown, revoked or expired token, carries
`Referrer-Policy: same-origin` (the token is in the URL and must not leak to the sites the report
links to; `no-referrer` made Chrome post the password form with `Origin: null`, which Django's
CSRF check refuses), `X-Robots-Tag: noindex` and `Cache-Control: no-store`.
"""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from ..delivery_forms import SharePasswordForm
from ..images import open_stored
from ..reports import branding as brand
from ..reports import exports, pdf, sharing


def _private(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Cache-Control"] = "no-store"
    return response


def _gone(request: HttpRequest) -> HttpResponse:
    # One answer for unknown, revoked and expired tokens: nothing tells them apart.
    return _private(render(request, "reports/shared_gone.html", status=404))


def _find(request: HttpRequest, token: str):
    """The live link, or None; counts misses so a scanner is slowed down (429 for everything,
    live links included, so the throttle itself reveals nothing)."""
    if sharing.too_many_misses(request):
        return None, _private(render(request, "reports/shared_gone.html", status=429))
    link = sharing.find_live_link(token)
    if link is None:
        sharing.count_miss(request)
        return None, _gone(request)
    return link, None


def shared_report(request: HttpRequest, token: str) -> HttpResponse:
    link, refusal = _find(request, token)
    if refusal:
        return refusal
    branding = brand.branding_for(link.agency)
    if not sharing.is_unlocked(link, request):
        return _password_page(request, link, branding)
    sharing.record_view(link, request)
    context = sharing.shared_report_context(link, token, branding)
    return _private(render(request, "reports/shared.html", {**context, "link": link}))


@require_safe  # 405 for any token alike: the method tells nothing about the link
def shared_report_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The shared report as PDF: the same report (the link's client, range and comparison) and
    the same restricted renderer as the agency's download. Revoked, expired and unknown links
    get the page's 404; a locked link sends the visitor to its password page first."""
    link, refusal = _find(request, token)
    if refusal:
        return refusal
    if not sharing.is_unlocked(link, request):
        return _private(redirect(reverse("shared_report", args=[token])))
    branding = brand.branding_for(link.agency)
    if sharing.pdf_throttled(link):
        return _private(
            render(request, "reports/shared_pdf_busy.html", {"branding": branding}, status=429)
        )
    report = sharing.report_for_link(link)
    try:
        body = pdf.render_pdf(report, branding=branding.for_pdf())
    except pdf.PdfUnavailable:
        return _private(
            render(
                request,
                "reports/shared_pdf_busy.html",
                {"branding": branding, "unavailable": True},
                status=503,
            )
        )
    sharing.count_pdf(link)
    sharing.record_view(link, request, kind="pdf")
    response = HttpResponse(body, content_type="application/pdf")
    return _private(exports.download_headers(response, exports.filename(report, "report", "pdf")))


def shared_media(request: HttpRequest, token: str, ref: str) -> HttpResponse:
    """A thumbnail in a shared report: only of the link's client, only once unlocked."""
    link, refusal = _find(request, token)
    if refusal:
        return refusal
    if not sharing.is_unlocked(link, request):
        return _gone(request)
    media = sharing.media_for_link(link, ref)
    if media is None:
        return _gone(request)
    try:
        handle = open_stored(media.thumbnail)
    except Http404:
        return _gone(request)
    content_type = mimetypes.guess_type(media.thumbnail.name)[0] or "image/jpeg"
    response = _private(FileResponse(handle, content_type=content_type))
    response["Cache-Control"] = "private, no-store"
    return response


def _password_page(request: HttpRequest, link, branding) -> HttpResponse:
    form = SharePasswordForm(request.POST or None)
    status, throttled = 200, False
    if request.method == "POST":
        if sharing.password_throttled(link, request):
            form, status, throttled = SharePasswordForm(), 429, True
        elif form.is_valid() and sharing.try_password(link, request, form.cleaned_data["password"]):
            return _private(redirect(request.path))  # GET the report (no re-POST on reload)
        else:
            form.add_error("password", "That password is not right.")
            status = 403
    return _private(
        render(
            request,
            "reports/shared_password.html",
            {"form": form, "branding": branding, "client": link.client, "throttled": throttled},
            status=status,
        )
    )
