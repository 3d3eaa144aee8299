import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from insights.models import Client

pytestmark = pytest.mark.django_db


def _png(size=(32, 32), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 40, 200)).save(buffer, fmt)
    return buffer.getvalue()


def test_member_creates_edits_archives_and_restores_a_client(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    http = world.client_for("a_member")
    response = http.post(
        "/a/alpha/clients/new/",
        {
            "name": "Northwind",
            "time_zone": "America/New_York",
            "notes": "Retainer since 2024",
            "logo": SimpleUploadedFile("logo.png", _png(), content_type="image/png"),
        },
    )
    client = Client.objects.get(name="Northwind")
    assert response["Location"] == f"/a/alpha/clients/{client.pk}/"
    assert client.agency == world.a and client.time_zone == "America/New_York"
    logo = http.get(f"/a/alpha/clients/{client.pk}/logo/")
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    # ...and the other agency cannot see the logo.
    assert world.client_for("b_owner").get(f"/a/alpha/clients/{client.pk}/logo/").status_code == 404
    assert world.client_for("b_owner").get(f"/a/bravo/clients/{client.pk}/logo/").status_code == 404

    http.post(
        f"/a/alpha/clients/{client.pk}/edit/",
        {"name": "Northwind Traders", "time_zone": "UTC"},
        follow=True,
    )
    client.refresh_from_db()
    assert client.name == "Northwind Traders"

    http.post(f"/a/alpha/clients/{client.pk}/archive/", follow=True)
    client.refresh_from_db()
    assert client.is_archived
    assert "Northwind" not in http.get("/a/alpha/clients/").content.decode()
    assert "Northwind" in http.get("/a/alpha/clients/?archived=1").content.decode()
    http.post(f"/a/alpha/clients/{client.pk}/archive/")
    client.refresh_from_db()
    assert not client.is_archived


@pytest.mark.parametrize(
    "data,message",
    [
        ({"name": "", "time_zone": "UTC"}, "This field is required"),
        ({"name": "   ", "time_zone": "UTC"}, "This field is required"),
        ({"name": "X", "time_zone": "Nowhere/Atlantis"}, "Select a valid choice"),
        ({"name": "X" * 121, "time_zone": "UTC"}, "at most 120 characters"),
    ],
)
def test_client_form_bad_input_changes_nothing(world, data, message):
    http = world.client_for("a_member")
    client = world.clients["a1"]
    before = Client.objects.count()
    for url in ("/a/alpha/clients/new/", f"/a/alpha/clients/{client.pk}/edit/"):
        response = http.post(url, data)
        assert response.status_code == 200
        assert message in response.content.decode()
    assert Client.objects.count() == before
    client.refresh_from_db()
    assert client.name == "Acme Coffee"


def test_logo_must_be_a_small_image(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    http = world.client_for("a_member")
    not_image = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = http.post(
        "/a/alpha/clients/new/", {"name": "Bad", "time_zone": "UTC", "logo": not_image}
    )
    assert response.status_code == 200 and b"Upload a PNG, JPEG or WebP image" in response.content
    gif = SimpleUploadedFile("logo.gif", _png(fmt="GIF"), content_type="image/gif")
    response = http.post("/a/alpha/clients/new/", {"name": "Bad", "time_zone": "UTC", "logo": gif})
    assert response.status_code == 200 and b"PNG, JPEG or WebP" in response.content
    big = SimpleUploadedFile(
        "logo.png", _png(size=(3000, 3000)) + b"\0" * (1024 * 1024), content_type="image/png"
    )
    response = http.post("/a/alpha/clients/new/", {"name": "Bad", "time_zone": "UTC", "logo": big})
    assert response.status_code == 200 and b"larger than 1 MB" in response.content
    assert not Client.objects.filter(name="Bad").exists()


def test_viewers_read_but_do_not_change_clients(world):
    http = world.client_for("a_viewer")
    client = world.clients["a1"]
    assert http.get(f"/a/alpha/clients/{client.pk}/").status_code == 200
    assert http.get("/a/alpha/clients/new/").status_code == 403
    assert (
        http.post("/a/alpha/clients/new/", {"name": "Nope", "time_zone": "UTC"}).status_code == 403
    )
    assert http.post(f"/a/alpha/clients/{client.pk}/archive/").status_code == 403
    client.refresh_from_db()
    assert not client.is_archived


def test_limited_viewer_sees_only_their_clients(world):
    http = world.client_for("a_limited")
    page = http.get("/a/alpha/clients/").content.decode()
    assert "Apex Bikes" in page and "Acme Coffee" not in page
    assert http.get(f"/a/alpha/clients/{world.clients['a1'].pk}/").status_code == 404
    assert http.get(f"/a/alpha/clients/{world.clients['a2'].pk}/").status_code == 200


def test_client_list_query_count_does_not_grow_with_clients(world, django_assert_max_num_queries):
    from .factories import ClientFactory

    http = world.client_for("a_owner")
    http.get("/a/alpha/clients/")  # warm the session
    with django_assert_max_num_queries(12) as first:
        http.get("/a/alpha/clients/")
    ClientFactory.create_batch(25, agency=world.a)
    with django_assert_max_num_queries(12) as second:
        assert http.get("/a/alpha/clients/").status_code == 200
    assert len(second.captured_queries) == len(first.captured_queries)


def test_dashboard_and_client_page_query_counts_do_not_grow(world, django_assert_max_num_queries):
    from insights.models import Health, InstagramAccount

    from .factories import ClientFactory, InstagramAccountFactory

    http = world.client_for("a_owner")
    client = world.clients["a1"]
    InstagramAccountFactory(agency=world.a, client=client)
    http.get("/a/alpha/")

    def counts():
        with django_assert_max_num_queries(15) as dash:
            assert http.get("/a/alpha/").status_code == 200
        with django_assert_max_num_queries(15) as detail:
            assert http.get(f"/a/alpha/clients/{client.pk}/").status_code == 200
        return len(dash.captured_queries), len(detail.captured_queries)

    small = counts()
    for other in ClientFactory.create_batch(10, agency=world.a):
        InstagramAccountFactory.create_batch(2, agency=world.a, client=other)
    InstagramAccountFactory.create_batch(4, agency=world.a, client=client)
    InstagramAccount.objects.filter(agency=world.a).update(health=Health.NEEDS_RECONNECT)
    assert counts() == small


def test_a_logo_is_stored_and_served_by_its_detected_format(world, settings, tmp_path):
    """Issue #8, defect 3: a PNG uploaded as x.pdf is a PNG, never served as a PDF."""
    settings.MEDIA_ROOT = tmp_path
    http = world.client_for("a_member")
    client = world.clients["a1"]
    upload = SimpleUploadedFile("x.pdf", _png(), content_type="application/pdf")
    response = http.post(
        f"/a/alpha/clients/{client.pk}/edit/",
        {"name": client.name, "time_zone": "UTC", "logo": upload},
    )
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.logo.name.endswith(".png")
    logo = http.get(f"/a/alpha/clients/{client.pk}/logo/")
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert logo["Content-Disposition"].startswith("attachment")
    assert logo["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in logo["Content-Security-Policy"]


def test_a_refused_logo_says_what_is_accepted(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    http = world.client_for("a_member")
    text = SimpleUploadedFile("notes.txt", b"plain text, not an image", content_type="text/plain")
    response = http.post("/a/alpha/clients/new/", {"name": "Txt", "time_zone": "UTC", "logo": text})
    body = response.content.decode()
    assert response.status_code == 200 and "PNG, JPEG or WebP" in body
    assert "Allowed extensions" not in body and "bmp" not in body.lower()


def test_a_missing_logo_file_is_a_404_and_pages_show_the_placeholder(world, settings, tmp_path):
    """Issue #8, defect 5."""
    settings.MEDIA_ROOT = tmp_path
    client = world.clients["a1"]
    from django.core.files.base import ContentFile

    client.logo.save("logo.png", ContentFile(_png()), save=True)
    (tmp_path / client.logo.name).unlink()
    http = world.client_for("a_viewer")
    assert http.get(f"/a/alpha/clients/{client.pk}/logo/").status_code == 404
    for url in ("/a/alpha/", "/a/alpha/clients/", f"/a/alpha/clients/{client.pk}/"):
        page = http.get(url)
        assert page.status_code == 200
        assert '<span class="logo' in page.content.decode() and ">A<img" in page.content.decode()
