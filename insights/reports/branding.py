"""White label: what an agency's clients see instead of Prism's own look.

`branding_for(agency)` gives a `Branding`, the one value the report page, shared pages, the PDF
(`insights.reports.pdf.render_pdf(report, branding=...)`) and report emails all read. Colours
reach pages as CSS custom properties in a generated stylesheet (`stylesheet()`), never as
`style=` attributes: the CSP forbids inline styles.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass, replace

from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.models import Agency
from accounts.text import clean_name, clean_text

from ..models.delivery import DEFAULT_ACCENT, DEFAULT_PRIMARY, AgencyBranding

log = logging.getLogger("prism.reports")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Branding:
    agency_name: str
    primary: str = DEFAULT_PRIMARY
    accent: str = DEFAULT_ACCENT
    sender_name: str = ""
    reply_to: str = ""
    footer: str = ""
    powered_by: bool = False  # the agency chose to show "Powered by Prism"
    # The logo as a stored file (the default storage: MEDIA_ROOT or a bucket), read for the PDF
    # and emails, and as a Prism-relative URL for pages; None without a logo.
    logo_name: str | None = None
    logo_url: str | None = None
    stylesheet_url: str | None = None

    # The logo as the report template addresses it: logo_url on pages, a data: URI in the PDF
    # (`for_pdf`); '' without a logo.
    logo_src: str = ""

    @property
    def name(self) -> str:
        return self.agency_name

    @property
    def from_name(self) -> str:
        return self.sender_name or self.agency_name

    @property
    def ink(self) -> str:
        """Text colour readable on the primary colour."""
        return _ink(self.primary)

    def css(self) -> str:
        return stylesheet(self.primary, self.accent)

    def logo_png(self) -> bytes | None:
        """The logo's bytes (always a PNG: uploads are re-encoded), or None without one or when
        it cannot be read; a missing logo never stops a PDF or an email."""
        if not self.logo_name:
            return None
        try:
            with default_storage.open(self.logo_name, "rb") as f:
                return f.read()
        except Exception as error:  # noqa: BLE001 - any storage's failure: go without the logo
            log.warning("branding: logo unreadable: %s", type(error).__name__)
            return None

    def for_pdf(self) -> Branding:
        """The same branding with the logo inlined as a data: URI, so the PDF renderer needs no
        URL fetch for it (its fetcher reads nothing outside Prism's own files anyway)."""
        data = self.logo_png()
        if data is None:
            return replace(self, logo_src="")
        return replace(self, logo_src=f"data:image/png;base64,{base64.b64encode(data).decode()}")


def branding_for(agency: Agency) -> Branding:
    row = AgencyBranding.objects.filter(agency=agency).first()
    return from_row(agency, row)


def from_row(agency: Agency, row: AgencyBranding | None) -> Branding:
    if row is None:
        return Branding(agency_name=agency.name)
    logo_name = logo_url = None
    if row.logo:
        logo_name = row.logo.name
        logo_url = reverse("brand_logo", args=[row.public_id, row.version])
    return Branding(
        agency_name=agency.name,
        primary=_safe(row.primary_colour, DEFAULT_PRIMARY),
        accent=_safe(row.accent_colour, DEFAULT_ACCENT),
        # Cleaned again here: rows saved before the form removed bidi controls.
        sender_name=clean_name(row.sender_name),
        reply_to=row.reply_to,
        footer=clean_text(row.footer_text),
        powered_by=row.powered_by,
        logo_name=logo_name,
        logo_url=logo_url,
        stylesheet_url=reverse("brand_stylesheet", args=[row.public_id, row.version]),
        logo_src=logo_url or "",
    )


def _safe(colour: str, default: str) -> str:
    # Validated on save; checked again because this string is written into CSS.
    return colour.lower() if _HEX.match(colour or "") else default


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _ink(colour: str) -> str:
    return "#ffffff" if contrast(colour, "#ffffff") >= contrast(colour, "#111111") else "#111111"


def _tint(colour: str, amount: float) -> str:
    r, g, b = (round(c + (255 - c) * amount) for c in _rgb(colour))
    return f"#{r:02x}{g:02x}{b:02x}"


def stylesheet(primary: str, accent: str) -> str:
    """The agency's colours as CSS custom properties over Prism's own (static/prism/prism.css
    reads --brand, --brand-2 and --brand-soft everywhere), plus readable text on buttons."""
    primary, accent = _safe(primary, DEFAULT_PRIMARY), _safe(accent, DEFAULT_ACCENT)
    ink = _ink(primary)
    return (
        ":root {\n"
        f"  --brand: {primary};\n  --brand-2: {accent};\n  --brand-soft: {_tint(primary, 0.9)};\n"
        f"  --brand-ink: {ink};\n"
        "}\n"
        ".button:not(.secondary):not(.danger), "
        "button:not(.secondary):not(.danger):not(.linklike) { color: var(--brand-ink); }\n"
    )


def save_branding(form) -> AgencyBranding:
    """A valid BrandingForm (insights.delivery_forms): its colours, sender, footer and logo (a
    new upload, or none when "remove" is ticked)."""
    return form.save()
