"""Share links: entropy and hash-only storage, expiry, revocation, password and its throttle,
the view log, the privacy headers, and each link opening only its own client's report."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from insights.models import ShareLink, ShareLinkView
from insights.reports import sharing
from insights.reports.periods import Period, preset_range
from insights.reports.request import for_share_link

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def one_character_off(token: str) -> str:
    """The token with its last character changed: never the token itself (a fixed "A" was, 1 in 64)."""
    return token[:-1] + ("B" if token.endswith("A") else "A")


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def new_link(world, client_key: str = "a1", **kwargs):
    kwargs.setdefault("preset", "last_28")
    return sharing.create_share_link(
        client=world.clients[client_key], created_by=world.users["a_owner"], **kwargs
    )


def assert_private(response):
    assert response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Cache-Control"] == "no-store"


def test_token_has_256_random_bits_and_only_its_hash_is_stored(world):
    tokens = {token_of(new_link(world).url) for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        # token_urlsafe(32): 43 url-safe characters = 256 bits; ASVS asks for >= 128, no UUIDs.
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        with pytest.raises(ValueError):
            uuid.UUID(token)
    stored = list(ShareLink.objects.values_list("token_hash", flat=True))
    assert sorted(stored) == sorted(hashlib.sha256(t.encode()).hexdigest() for t in tokens)
    dump = repr(list(ShareLink.objects.values()))
    assert not any(t in dump for t in tokens)


def test_a_link_opens_its_client_report_anonymously_and_logs_the_view(world):
    made = new_link(world, label="For Acme's board")
    anonymous = HttpClient(HTTP_USER_AGENT="Mozilla/5.0 (private window)")
    response = anonymous.get(path_of(made.url), REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    assert_private(response)
    body = response.content.decode()
    assert '<meta name="robots" content="noindex' in body
    assert "Acme Coffee" in body
    assert "Apex Bikes" not in body and "ZZ-TENANT-B" not in body
    view = ShareLinkView.objects.get(link=made.link)
    assert view.user_agent == "Mozilla/5.0 (private window)"
    assert "203.0.113.7" not in view.ip_hash and len(view.ip_hash) == 64
    anonymous.get(path_of(made.url), REMOTE_ADDR="203.0.113.8")
    hashes = list(ShareLinkView.objects.filter(link=made.link).values_list("ip_hash", flat=True))
    assert len(hashes) == 2 and hashes[0] != hashes[1]


def test_unknown_revoked_and_expired_links_answer_the_same_404(world):
    live, revoked, expired = new_link(world), new_link(world), new_link(world)
    sharing.revoke(revoked.link)
    ShareLink.objects.filter(pk=expired.link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    anonymous = HttpClient()
    assert anonymous.get(path_of(live.url)).status_code == 200
    answers = []
    for url in (
        revoked.url,
        expired.url,
        reverse("shared_report", args=["x" * 43]),
        reverse("shared_report", args=[one_character_off(token_of(live.url))]),
    ):
        response = anonymous.get(path_of(url) if url.startswith("http") else url)
        assert response.status_code == 404
        assert_private(response)
        answers.append(response.content)
    assert len(set(answers)) == 1  # nothing tells revoked, expired and unknown apart
    assert not ShareLinkView.objects.filter(link__in=[revoked.link, expired.link]).exists()


def test_revoking_from_the_client_page_stops_the_link_at_once(world, as_owner):
    made = new_link(world)
    anonymous = HttpClient()
    assert anonymous.get(path_of(made.url)).status_code == 200
    response = as_owner.post(reverse("share_link_revoke", args=["alpha", made.link.pk]))
    assert response.status_code == 302
    assert anonymous.get(path_of(made.url)).status_code == 404
    # And the other agency cannot revoke A's links (404, not 403).
    other = new_link(world)
    b = world.client_for("b_owner")
    assert b.post(reverse("share_link_revoke", args=["bravo", other.link.pk])).status_code == 404
    assert ShareLink.objects.get(pk=other.link.pk).revoked_at is None


def test_creating_a_link_shows_it_once_and_lists_it_with_expiry_and_views(world, as_owner):
    url = reverse("client_delivery", args=["alpha", world.clients["a1"].pk])
    response = as_owner.post(
        url,
        {
            "label": "Monthly board",
            "range": "last_month",
            "compare": "previous",
            "lifetime_days": "7",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    shown = re.search(r'value="(http[^"]+/r/[^"]+/)"', response.content.decode()).group(1)
    link = ShareLink.objects.get()
    assert link.token_hash == hashlib.sha256(token_of(shown).encode()).hexdigest()
    assert link.preset == "last_month"
    assert abs((link.expires_at - timezone.now()) - timedelta(days=7)) < timedelta(minutes=1)
    HttpClient().get(path_of(shown))
    listing = as_owner.get(url).content.decode()
    assert "Monthly board" in listing and token_of(shown) not in listing
    assert re.search(r"<td class=\"small\">1<br>", listing)  # one view


def test_fixed_range_link_shows_that_range_and_custom_dates_are_validated(world, as_owner):
    made = new_link(world, preset="", start=date(2026, 10, 1), end=date(2026, 10, 31))
    asked = for_share_link(made.link, now=datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert (asked.period.start, asked.period.end) == (date(2026, 10, 1), date(2026, 10, 31))
    url = reverse("client_delivery", args=["alpha", world.clients["a1"].pk])
    bad = as_owner.post(
        url,
        {
            "range": "custom",
            "start": "2026-10-31",
            "end": "2026-10-01",
            "compare": "previous",
            "lifetime_days": "30",
        },
    )
    assert bad.status_code == 200 and "The end comes before the start." in bad.content.decode()
    assert ShareLink.objects.count() == 1


def test_presets_end_yesterday_in_the_clients_calendar():
    today = date(2026, 3, 15)
    assert preset_range("last_7", today) == Period(date(2026, 3, 8), date(2026, 3, 14))
    assert preset_range("last_month", today) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert preset_range("this_month", date(2026, 3, 1)) == Period(
        date(2026, 3, 1), date(2026, 3, 1)
    )


def test_password_protected_link(world):
    made = new_link(world, password="open sesame 42")
    assert made.link.password_hash.startswith(("pbkdf2_", "md5$", "argon2"))
    assert "open sesame" not in made.link.password_hash
    visitor = HttpClient()
    page = visitor.get(path_of(made.url))
    assert page.status_code == 200 and b'type="password"' in page.content
    assert b"Acme Coffee" in page.content  # the client's name, never its numbers
    assert not ShareLinkView.objects.exists()
    wrong = visitor.post(path_of(made.url), {"password": "nope"})
    assert wrong.status_code == 403
    assert_private(wrong)
    right = visitor.post(path_of(made.url), {"password": "open sesame 42"})
    assert right.status_code == 302
    assert visitor.get(path_of(made.url)).status_code == 200
    assert ShareLinkView.objects.filter(link=made.link).count() == 1
    # Another browser still needs the password.
    assert b'type="password"' in HttpClient().get(path_of(made.url)).content


def test_wrong_passwords_are_throttled_per_visitor(world):
    made = new_link(world, password="open sesame 42")
    visitor = HttpClient()
    for _ in range(sharing.PASSWORD_TRIES_PER_VISITOR):
        assert visitor.post(path_of(made.url), {"password": "guess"}).status_code == 403
    blocked = visitor.post(path_of(made.url), {"password": "open sesame 42"})
    assert blocked.status_code == 429  # even the right one, until the window passes
    assert b"Too many wrong passwords" in blocked.content
    # Someone else (another IP) still gets in.
    other = HttpClient(REMOTE_ADDR="198.51.100.9")
    assert other.post(path_of(made.url), {"password": "open sesame 42"}).status_code == 302


def test_each_link_opens_only_its_own_clients_report(world):
    acme, apex = new_link(world, "a1"), new_link(world, "a2")
    bravo = sharing.create_share_link(client=world.clients["b1"], preset="last_7")
    anonymous = HttpClient()
    assert b"Acme Coffee" in anonymous.get(path_of(acme.url)).content
    body = anonymous.get(path_of(apex.url)).content
    assert b"Apex Bikes" in body and b"Acme Coffee" not in body
    body = anonymous.get(path_of(bravo.url)).content
    assert b"ZZ-TENANT-B Client" in body and b"Alpha" not in body
    # A share session is not a login: the agency's pages still want one.
    assert (
        anonymous.get(reverse("client_detail", args=["alpha", world.clients["a1"].pk])).status_code
        == 302
    )


def test_an_archived_clients_links_stop_working(world):
    made = new_link(world)
    world.clients["a1"].archive()
    assert HttpClient().get(path_of(made.url)).status_code == 404


def test_the_other_agency_cannot_see_or_list_a_links(world):
    new_link(world, label="secret-label-A")
    b = world.client_for("b_owner")
    page = b.get(reverse("client_delivery", args=["bravo", world.clients["a1"].pk]))
    assert page.status_code == 404
    own = b.get(reverse("client_delivery", args=["bravo", world.clients["b1"].pk]))
    assert own.status_code == 200 and b"secret-label-A" not in own.content


def test_a_visitor_trying_many_unknown_tokens_is_slowed_down(world):
    live = new_link(world)
    scanner = HttpClient(REMOTE_ADDR="192.0.2.66")
    for i in range(sharing.MISSES_PER_VISITOR):
        assert scanner.get(reverse("shared_report", args=[f"guess{i}"])).status_code == 404
    # From now on everything is 429 for this visitor, a live link too: nothing to learn.
    assert scanner.get(reverse("shared_report", args=["guess-more"])).status_code == 429
    assert scanner.get(path_of(live.url)).status_code == 429
    assert HttpClient(REMOTE_ADDR="192.0.2.67").get(path_of(live.url)).status_code == 200


def test_shared_thumbnails_are_only_those_of_the_links_client(world):
    from django.core.files.base import ContentFile

    from insights.models import Media
    from insights.reports.thumbnails import reference, share_scope

    from .factories import InstagramAccountFactory

    pictures = {}
    for key in ("a1", "a2"):
        account = InstagramAccountFactory(agency=world.a, client=world.clients[key])
        media = Media.objects.create(
            account=account, media_id=f"m-{key}", timestamp=timezone.now() - timedelta(days=3)
        )
        media.thumbnail.save("t.jpg", ContentFile(b"\xff\xd8\xff" + key.encode()), save=True)
        pictures[key] = media

    def url(made, key):  # addressed as the shared page addresses it (issue 18)
        ref = reference(share_scope(made.link.pk), pictures[key].pk)
        return reverse("shared_media", args=[token_of(made.url), ref])

    made = new_link(world, "a1")
    own = HttpClient().get(url(made, "a1"))
    assert own.status_code == 200 and b"".join(own.streaming_content).endswith(b"a1")
    assert own["Referrer-Policy"] == "same-origin"
    other = HttpClient().get(url(made, "a2"))
    assert other.status_code == 404
    locked = new_link(world, "a1", password="open sesame 42")
    assert HttpClient().get(url(locked, "a1")).status_code == 404  # not before the password
    sharing.revoke(made.link)
    gone = HttpClient().get(url(made, "a1"))
    assert gone.status_code == 404


def _link_form(as_owner, url) -> dict:
    page = as_owner.get(url).content.decode()
    key = re.search(r'name="form_key" value="([^"]+)"', page).group(1)
    return {
        "form_key": key,
        "label": "Board",
        "range": "last_28",
        "compare": "previous",
        "lifetime_days": "30",
        "password": "",
    }


def _shown(response) -> str:
    return re.search(r'value="(http[^"]+/r/[^"]+/)"', response.content.decode()).group(1)


def test_the_same_form_sent_twice_gives_the_same_link_not_a_second_one(world, as_owner):
    url = reverse("client_delivery", args=["alpha", world.clients["a1"].pk])
    form = _link_form(as_owner, url)
    first = as_owner.post(url, form)
    again = as_owner.post(url, form)  # a double click, or the browser re-sending on reload
    assert ShareLink.objects.count() == 1
    assert _shown(first) == _shown(again)
    assert "already sent" in again.content.decode()
    link = ShareLink.objects.get()
    assert link.token_hash == hashlib.sha256(token_of(_shown(again)).encode()).hexdigest()
    assert HttpClient().get(path_of(_shown(again))).status_code == 200
    # Each page carries a fresh key: the next link asked for from it is a new one.
    assert (
        re.search(r'name="form_key" value="([^"]+)"', again.content.decode()).group(1)
        != (form["form_key"])
    )
    other = _link_form(as_owner, url)
    assert _shown(as_owner.post(url, other)) != _shown(first)
    # Same key, other choices (back button, range changed): that is a new link too.
    changed = as_owner.post(url, {**form, "range": "last_7"})
    assert _shown(changed) != _shown(first)
    assert ShareLink.objects.count() == 3
    # Without a key (or with a malformed one) every POST makes its own link, as before.
    for key in ("", "not-a-key"):
        as_owner.post(url, {**form, "form_key": key})
        as_owner.post(url, {**form, "form_key": key})
    assert ShareLink.objects.count() == 7


def test_a_form_sent_again_after_its_link_was_revoked_makes_nothing(world, as_owner):
    url = reverse("client_delivery", args=["alpha", world.clients["a1"].pk])
    form = _link_form(as_owner, url)
    token = token_of(_shown(as_owner.post(url, form)))
    sharing.revoke(ShareLink.objects.get())
    again = as_owner.post(url, form)
    assert again.status_code == 200
    assert "has since been revoked" in again.content.decode()
    assert token not in again.content.decode()
    assert ShareLink.objects.count() == 1


def test_form_keys_are_bound_to_the_user_and_the_client(world):
    key = "k" * 43
    made = {
        sharing.create_share_link(
            client=world.clients[client],
            created_by=world.users[user],
            preset="last_28",
            form_key=key,
        ).url
        for client, user in (("a1", "a_owner"), ("a1", "a_admin"), ("a2", "a_owner"))
    }
    assert len(made) == 3 and ShareLink.objects.count() == 3


def _pdf_text(body: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
def two_clients_with_data(world):
    from insights.reports.periods import client_today

    from .factories import InstagramAccountFactory
    from .report_world import fill_account

    for key, username in (("a1", "acme.coffee"), ("a2", "apex.bikes")):
        account = InstagramAccountFactory(
            agency=world.a, client=world.clients[key], username=username
        )
        last = client_today(world.clients[key]) - timedelta(days=1)
        fill_account(account, last_day=last, days=40, media=30)


def test_the_shared_page_offers_its_report_as_pdf(world, two_clients_with_data):
    made = new_link(world, preset="last_7")
    visitor = HttpClient()
    page = visitor.get(path_of(made.url)).content.decode()
    pdf_path = path_of(made.url) + "report.pdf"
    assert f'href="{pdf_path}"' in page
    response = visitor.get(pdf_path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert_private(response)
    assert response["Content-Disposition"].startswith('attachment; filename="acme-coffee-report')
    text = _pdf_text(response.content)
    # That client's report only: the agency's other client is not in it.
    assert "Acme Coffee" in text and "@acme.coffee" in text
    assert "apex" not in text.lower()
    assert list(made.link.views.values_list("kind", flat=True).order_by("pk")) == ["page", "pdf"]
    assert visitor.post(pdf_path).status_code == 405
    # Revoked: the PDF is the same 404 as the page, and nothing is logged.
    sharing.revoke(made.link)
    gone = visitor.get(pdf_path)
    assert gone.status_code == 404 and b"%PDF" not in gone.content
    assert gone.content == visitor.get(path_of(made.url)).content
    assert_private(gone)
    assert made.link.views.count() == 2


def test_a_locked_links_pdf_waits_for_the_password(world, two_clients_with_data):
    made = new_link(world, preset="last_7", password="open sesame 42")
    visitor = HttpClient()
    pdf_path = path_of(made.url) + "report.pdf"
    locked = visitor.get(pdf_path)
    assert locked.status_code == 302 and locked["Location"] == path_of(made.url)
    assert not made.link.views.exists()
    visitor.post(path_of(made.url), {"password": "open sesame 42"})
    assert visitor.get(pdf_path).content.startswith(b"%PDF")
    assert HttpClient().get(pdf_path).status_code == 302  # another browser: locked still


def test_a_links_pdfs_are_rationed(world, two_clients_with_data):
    made = new_link(world, preset="last_7")
    pdf_path = path_of(made.url) + "report.pdf"
    cache.set(f"share-pdf:{made.link.pk}", sharing.PDFS_PER_LINK - 1, 600)
    assert HttpClient().get(pdf_path).status_code == 200
    busy = HttpClient(REMOTE_ADDR="198.51.100.20").get(pdf_path)
    assert busy.status_code == 429 and b"Too many PDFs" in busy.content
    assert_private(busy)
    # The page itself still opens.
    assert HttpClient().get(path_of(made.url)).status_code == 200


def test_without_pango_the_shared_pdf_says_so_plainly(world, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    made = new_link(world, preset="last_7")
    monkeypatch.setattr(builtins, "__import__", no_pango)
    response = HttpClient().get(path_of(made.url) + "report.pdf")
    assert response.status_code == 503
    assert b"not available right now" in response.content and b"pango" not in response.content
    assert_private(response)
