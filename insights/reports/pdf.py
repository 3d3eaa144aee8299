"""The PDF: WeasyPrint renders the report's own HTML template with the print CSS.

WeasyPrint fetches stylesheets, fonts and images through `PrismFetcher`, which reads only Prism's
static files and its MEDIA_ROOT (thumbnails, logos) and refuses everything else, so a caption, a
logo or a crafted URL cannot make the server fetch from the network or read other local files.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from .branding import Branding
from .model import Report
from .page import report_context

log = logging.getLogger("prism.reports")

BASE_URL = "https://prism.invalid/"  # never fetched: PrismFetcher maps it to static files
MEDIA_SCHEME = "prism-media:"
PANGO_HELP = (
    "PDF downloads need the Pango text library from the operating system, which is missing on "
    "this server. On Debian or Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0"
)
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
# Pictures are embedded at no more than print resolution. A 640 px thumbnail printed 50 pt wide
# is over 900 dpi, so without the cap a report's PDF (an email attachment) carried about 2 MB of
# pixels nobody can see; at 300 dpi it is about a tenth of that, for a few ms of resizing.
IMAGE_DPI = 300


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot load: the OS libraries it needs (Pango) are missing."""


def _weasyprint():
    try:
        import weasyprint
    except OSError as exc:  # WeasyPrint loads Pango with ctypes at import time
        log.error("weasyprint unavailable: %s", exc)
        raise PdfUnavailable(PANGO_HELP) from exc
    return weasyprint


def pdf_available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


def _inside(root: Path, relative: str) -> Path | None:
    root = root.resolve()
    candidate = (root / relative).resolve()
    if candidate != root and root in candidate.parents and candidate.is_file():
        return candidate
    return None


def resolve(url: str) -> Path | None:
    """The local file a PDF resource URL names, or None when it is not one of Prism's own."""
    if url.startswith(MEDIA_SCHEME):
        return _inside(Path(settings.MEDIA_ROOT), unquote(url[len(MEDIA_SCHEME) :]).lstrip("/"))
    if not url.startswith(BASE_URL):
        return None
    path = unquote(urlsplit(url).path)
    static_prefix = urlsplit(settings.STATIC_URL).path
    if not path.startswith(static_prefix):
        return None
    relative = path[len(static_prefix) :]
    if ".." in Path(relative).parts:
        return None
    # The source files first: a collectstatic output left in STATIC_ROOT (tests/test_production
    # runs one) would otherwise shadow every later edit of report.css. Deployments that ship
    # only the collected files still find them there.
    found = finders.find(relative)
    if found:
        return Path(found)
    return _inside(Path(settings.STATIC_ROOT), relative)


def _fetcher_class():
    weasyprint = _weasyprint()
    from weasyprint.urls import URLFetcherResponse

    class PrismFetcher(weasyprint.URLFetcher):
        """Static files, media files and data: URLs only; no network, no other file."""

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = resolve(url)
            if path is None:
                log.warning("pdf: refused to fetch %s", url[:200])
                raise ValueError("Prism's PDFs read only Prism's own files")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                url, path.read_bytes(), headers={"Content-Type": content_type}
            )

    return PrismFetcher


def brand_css(branding: Branding | None) -> str:
    """The white label's colours as CSS for the PDF (no CSP there); only validated hex values."""
    if branding is None:
        return ""
    rules = []
    for name, value in (("--brand", branding.primary), ("--brand-2", branding.accent)):
        if isinstance(value, str) and _HEX.match(value):
            rules.append(f"{name}: {value};")
    return f":root {{ {' '.join(rules)} }}" if rules else ""


def render_html(report: Report, *, branding: Branding | None = None) -> str:
    context = report_context(
        report,
        branding=branding,
        media_src=lambda name, pk: MEDIA_SCHEME + name,
        mode="pdf",
    )
    context["brand_css"] = brand_css(branding)
    return render_to_string("reports/report_pdf.html", context)


def render_pdf(report: Report, *, branding: Branding | None = None) -> bytes:
    """The report as PDF bytes. Raises PdfUnavailable when WeasyPrint cannot load."""
    weasyprint = _weasyprint()
    html = render_html(report, branding=branding)
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher_class()())
    return document.write_pdf(dpi=IMAGE_DPI)
