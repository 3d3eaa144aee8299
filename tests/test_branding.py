"""White label: the settings page, logo validation (SVG refused), colours as a generated
stylesheet (no inline styles), and who may change it."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse
from PIL import Image

from insights.models import AgencyBranding
from insights.reports.branding import branding_for, contrast, stylesheet

pytestmark = pytest.mark.django_db

URL = reverse("branding_settings", args=["alpha"])


def image_file(fmt: str = "PNG", size=(300, 120), name: str = "logo.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, format=fmt)
    return SimpleUploadedFile(name, out.getvalue(), content_type=f"image/{fmt.lower()}")


def post(http, **fields):
    data = {
        "primary_colour": "#0f766e",
        "accent_colour": "#f59e0b",
        "sender_name": "Alpha Reports",
        "reply_to": "hello@alpha.example",
        "footer_text": "Alpha Agency · 1 Rue de la Paix, Paris",
        **fields,
    }
    return http.post(URL, data)


def test_owner_sets_colours_logo_sender_and_footer(world, as_owner):
    response = post(as_owner, logo=image_file("JPEG", (2000, 600), "big.jpg"))
    assert response.status_code == 302
    row = AgencyBranding.objects.get(agency=world.a)
    assert (row.primary_colour, row.accent_colour) == ("#0f766e", "#f59e0b")
    with Image.open(row.logo.path) as stored:
        # Re-encoded: a PNG of at most 800x400, nothing else carried over from the upload.
        assert stored.format == "PNG" and stored.size[0] <= 800 and stored.size[1] <= 400
    branding = branding_for(world.a)
    assert branding.from_name == "Alpha Reports" and branding.footer.startswith("Alpha Agency")
    page = as_owner.get(URL).content.decode()
    assert branding.stylesheet_url in page and branding.logo_url in page
    assert "style=" not in page  # the CSP forbids inline styles; colours come by stylesheet


def test_svg_and_other_formats_are_refused(world, as_owner):
    svg = SimpleUploadedFile(
        "logo.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        content_type="image/svg+xml",
    )
    response = post(as_owner, logo=svg)
    assert response.status_code == 200
    assert "SVG is not accepted" in response.content.decode()
    gif = post(as_owner, logo=image_file("GIF", name="logo.gif"))
    assert "SVG is not accepted" in gif.content.decode()
    huge = post(as_owner, logo=image_file("PNG", (5000, 100)))
    assert "larger than 4096" in huge.content.decode()
    assert not AgencyBranding.objects.filter(agency=world.a).exclude(logo="").exists()


@pytest.mark.parametrize("bad", ["red", "#12345", "#1234567", "#gggggg", "#fff;}body{x:y"])
def test_colours_must_be_hex(world, as_owner, bad):
    response = post(as_owner, primary_colour=bad)
    assert response.status_code == 200
    assert not AgencyBranding.objects.filter(agency=world.a).exists()  # nothing saved
    assert branding_for(world.a).primary == "#6d28d9"


def test_sender_name_cannot_inject_headers(world, as_owner):
    post(as_owner, sender_name="Alpha\r\nBcc: everyone@example.com")
    assert (
        AgencyBranding.objects.get(agency=world.a).sender_name == "Alpha Bcc: everyone@example.com"
    )


def test_stylesheet_is_public_cacheable_and_only_holds_the_colours(world, as_owner):
    post(as_owner)
    branding = branding_for(world.a)
    response = HttpClient().get(branding.stylesheet_url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert "immutable" in response["Cache-Control"]
    css = response.content.decode()
    assert "--brand: #0f766e;" in css and "--brand-2: #f59e0b;" in css
    assert "Alpha" not in css
    # A new colour, a new URL (browsers keep the old one for good).
    post(as_owner, primary_colour="#111827")
    assert branding_for(world.a).stylesheet_url != branding.stylesheet_url
    bogus = branding.stylesheet_url.replace(branding.stylesheet_url.split("/")[2], "nope")
    assert HttpClient().get(bogus).status_code == 404


def test_button_text_stays_readable_on_light_colours():
    css = stylesheet("#fde047", "#000000")  # a light yellow
    assert "--brand-ink: #111111;" in css
    assert "--brand-ink: #ffffff;" in stylesheet("#1e3a8a", "#000000")
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    # Whatever reaches the stylesheet is a colour: anything else falls back to Prism's.
    assert "body" not in stylesheet("#fff;}body{", "x")


def test_admins_may_change_branding_members_and_viewers_may_not(world):
    assert post(world.client_for("a_admin")).status_code == 302
    for persona in ("a_member", "a_viewer", "a_client"):
        assert post(world.client_for(persona)).status_code == 403
    # And the other agency gets 404 for A's page, and its own branding is its own.
    assert world.client_for("b_owner").get(URL).status_code == 404
    assert branding_for(world.b).primary == "#6d28d9"


def _colours_drawn(pdf: bytes) -> set[str]:
    """The RGB colours a PDF paints with (rg/RG operators), as #rrggbb."""
    import re

    from pypdf import PdfReader

    found = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        content = page.get_contents().get_data().decode("latin-1")
        for r, g, b in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) (?:rg|RG)\b", content):
            found.add("#" + "".join(f"{round(float(c) * 255):02x}" for c in (r, g, b)))
    return found


def test_the_pdf_and_the_page_draw_in_the_agencys_colours_not_prisms(world, as_owner):
    from insights.reports.build import build_report
    from insights.reports.pdf import render_pdf
    from insights.reports.periods import client_today
    from insights.reports.request import for_days

    post(as_owner, primary_colour="#0f766e")
    client = world.clients["a1"]  # no accounts: only the header and names carry the brand
    today = client_today(client)
    report = build_report(for_days(client, today.replace(day=1), today, "none"))
    drawn = _colours_drawn(render_pdf(report, branding=branding_for(world.a).for_pdf()))
    assert "#0f766e" in drawn
    assert "#6d28d9" not in drawn  # Prism's own purple
    # On the page the agency's stylesheet comes after report.css, whose defaults sit on :root
    # (on .report they would win over the agency's :root for everything inside the report).
    page = as_owner.get(reverse("client_report", args=["alpha", client.pk])).content.decode()
    assert page.index("prism/report") < page.index(branding_for(world.a).stylesheet_url)
    from django.contrib.staticfiles import finders

    with open(finders.find("prism/report.css")) as f:
        css = f.read()
    assert "--brand:" not in css.replace(":root { --brand:", "")
