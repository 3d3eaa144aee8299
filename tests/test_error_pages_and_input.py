"""Issue #8, defect 8: Prism's own 400 and CSRF 403 pages with DEBUG off; bounded input; no
bidi control characters in names."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from accounts.models import Agency, User
from insights.models import Client

pytestmark = pytest.mark.django_db


def test_csrf_failure_page_has_prisms_layout(world, settings):
    settings.DEBUG = False
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(world.users["a_member"])
    response = http.post("/a/alpha/clients/new/", {"name": "X", "time_zone": "UTC"})
    body = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in body and 'class="topbar"' in body
    assert "CSRF verification failed" not in body


def test_bad_request_page_has_prisms_layout(settings):
    settings.DEBUG = False
    # More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: Django answers 400 (SuspiciousOperation).
    fields = {f"f{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5)}
    response = HttpClient().post("/accounts/login/", fields)
    body = response.content.decode()
    assert response.status_code == 400
    assert "could not be read" in body and 'class="topbar"' in body
    assert "<h1>Bad Request (400)</h1>" not in body


def test_a_stray_large_multipart_field_is_refused_clearly(world, settings):
    http = world.client_for("a_member")
    junk = SimpleUploadedFile("junk.bin", b"\0" * (10 * 1024 * 1024))
    response = http.post(
        "/a/alpha/clients/new/", {"name": "Big", "time_zone": "UTC", "stray": junk}
    )
    assert response.status_code == 413 and "too large" in response.content.decode()
    assert not Client.objects.filter(name="Big").exists()


def test_client_notes_are_capped(world):
    http = world.client_for("a_member")
    response = http.post(
        "/a/alpha/clients/new/", {"name": "Chatty", "time_zone": "UTC", "notes": "n" * 2_000_000}
    )
    assert response.status_code == 200 and "Keep notes under 5,000 characters" in (
        response.content.decode()
    )
    assert not Client.objects.filter(name="Chatty").exists()
    ok = http.post(
        "/a/alpha/clients/new/", {"name": "Brief", "time_zone": "UTC", "notes": "n" * 5000}
    )
    assert ok.status_code == 302


BIDI = "\u202e\u2066\u200f"


def test_bidi_controls_are_stripped_from_names(world, client):
    http = world.client_for("a_owner")
    http.post("/a/alpha/clients/new/", {"name": f"Evil{BIDI}gnp.exe", "time_zone": "UTC"})
    assert Client.objects.filter(agency=world.a, name="Evilgnp.exe").exists()
    http.post("/a/alpha/settings/", {"name": f"Alpha{BIDI} Agency", "time_zone": "UTC"})
    assert Agency.objects.get(pk=world.a.pk).name == "Alpha Agency"
    response = client.post(
        "/accounts/signup/",
        {
            "name": f"Mallory{BIDI}",
            "email": "mallory@example.com",
            "password1": "a-long-enough-passphrase-42",
            "password2": "a-long-enough-passphrase-42",
            "agency_name": f"{BIDI}Shady",
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(email="mallory@example.com").name == "Mallory"
    assert Agency.objects.filter(name="Shady").exists()
    only_controls = http.post("/a/alpha/clients/new/", {"name": BIDI, "time_zone": "UTC"})
    assert only_controls.status_code == 200 and not Client.objects.filter(name="").exists()


def test_error_pages_render_without_a_static_manifest(settings, world):
    """A 400 (a bad Host header, say) must never become a 500 because a static file name
    cannot be looked up: these pages are rendered without a request, often during attacks."""
    settings.DEBUG = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    fields = {f"f{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5)}
    assert HttpClient().post("/accounts/login/", fields).status_code == 400
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(world.users["a_member"])
    assert http.post("/a/alpha/clients/new/", {"name": "X"}).status_code == 403
