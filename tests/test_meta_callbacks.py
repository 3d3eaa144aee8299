"""Meta's deauthorize and data-deletion callbacks: signed_request verified in constant time."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client as HttpClient

from insights.connections.removal import perform_deletion
from insights.meta.signed_request import BadSignedRequest, parse_signed_request
from insights.models import DeletionRequest, Health, InstagramAccount

from .factories import InstagramAccountFactory

pytestmark = pytest.mark.django_db


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed_request(payload: dict, secret: str) -> str:
    payload = {"issued_at": int(time.time()), **payload}
    encoded = b64(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return f"{b64(signature)}.{encoded}"


def post(url: str, value: str):
    return HttpClient(enforce_csrf_checks=True).post(url, {"signed_request": value})


@pytest.fixture
def connected(world, settings):
    return InstagramAccountFactory(
        agency=world.a, client=world.clients["a1"], login_path="instagram", meta_user_id="555"
    )


def test_parse_rejects_tampering(settings):
    secret = settings.INSTAGRAM_APP_SECRET
    good = signed_request({"algorithm": "HMAC-SHA256", "user_id": "555"}, secret)
    assert parse_signed_request(good, secret)["user_id"] == "555"
    sig, payload = good.split(".")
    forged = b64(json.dumps({"algorithm": "HMAC-SHA256", "user_id": "556"}).encode())
    for bad in [
        f"{sig}.{forged}",
        f"{sig[:-2]}AA.{payload}",
        payload,
        "",
        "a.b.c",
        signed_request({"algorithm": "HMAC-SHA256", "user_id": "555"}, "other-secret"),
        signed_request({"algorithm": "none", "user_id": "555"}, secret),
    ]:
        with pytest.raises(BadSignedRequest):
            parse_signed_request(bad, secret)


def test_deauthorize_drops_tokens_and_flags_the_account(
    connected, settings, mailoutbox, django_capture_on_commit_callbacks
):
    value = signed_request(
        {"algorithm": "HMAC-SHA256", "user_id": "555"}, settings.INSTAGRAM_APP_SECRET
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post("/meta/instagram/deauthorize/", value)
    assert response.status_code == 200
    connected.refresh_from_db()
    assert connected.token_ciphertext == "" and connected.health == Health.NEEDS_RECONNECT
    assert any("needs attention" in m.subject for m in mailoutbox)
    assert post("/meta/instagram/deauthorize/", value).status_code == 200  # a replay is harmless


def test_bad_signature_gets_400_and_changes_nothing(connected, settings):
    before = connected.token_ciphertext
    for url in ("/meta/instagram/deauthorize/", "/meta/instagram/data-deletion/"):
        value = signed_request({"algorithm": "HMAC-SHA256", "user_id": "555"}, "wrong")
        assert post(url, value).status_code == 400
        assert post(url, "").status_code == 400
    connected.refresh_from_db()
    assert connected.token_ciphertext == before
    assert not DeletionRequest.objects.exists()


def test_oversized_callback_is_refused(connected, settings):
    value = signed_request(
        {"algorithm": "HMAC-SHA256", "user_id": "555", "pad": "x" * 20000},
        settings.INSTAGRAM_APP_SECRET,
    )
    assert post("/meta/instagram/data-deletion/", value).status_code == 400
    assert not DeletionRequest.objects.exists()


@pytest.mark.parametrize("size", [20_000, 3 * 1024 * 1024])
def test_an_oversized_body_gets_the_json_error(connected, size):
    """Issue #8, defect 7: even past Django's own upload limit, the answer is JSON."""
    for url in ("/meta/instagram/deauthorize/", "/meta/instagram/data-deletion/"):
        response = HttpClient().post(url, {"signed_request": "x" * size})
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"error": "request too large"}


def test_an_old_signed_request_is_refused(connected, settings):
    """Issue #8, defect 7: a captured signed_request cannot be replayed years later."""
    secret = settings.INSTAGRAM_APP_SECRET
    for issued_at in (int(time.time()) - 3 * 365 * 86400, int(time.time()) - 7200, None):
        payload = {"algorithm": "HMAC-SHA256", "user_id": "555", "issued_at": issued_at}
        response = post("/meta/instagram/deauthorize/", signed_request(payload, secret))
        assert response.status_code == 400 and response.json() == {
            "error": "invalid signed_request"
        }
    connected.refresh_from_db()
    assert connected.has_token
    fresh = {"algorithm": "HMAC-SHA256", "user_id": "555", "issued_at": int(time.time()) - 60}
    assert post("/meta/instagram/deauthorize/", signed_request(fresh, secret)).status_code == 200


def test_data_deletion_answers_code_and_status_page_then_deletes(
    connected, settings, django_capture_on_commit_callbacks
):
    value = signed_request(
        {"algorithm": "HMAC-SHA256", "user_id": "555"}, settings.INSTAGRAM_APP_SECRET
    )
    settings.CELERY_TASK_ALWAYS_EAGER = True  # one of the few eager tests: the task's wiring
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = post("/meta/instagram/data-deletion/", value)
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 200
    data = response.json()
    code = data["confirmation_code"]
    assert data["url"].endswith(f"/meta/deletion-status/{code}/")
    assert not InstagramAccount.objects.filter(pk=connected.pk).exists()
    page = HttpClient().get(f"/meta/deletion-status/{code}/")
    assert page.status_code == 200 and b"Completed" in page.content
    # A replay: the same code, no second request.
    again = post("/meta/instagram/data-deletion/", value).json()
    assert again["confirmation_code"] == code
    assert DeletionRequest.objects.count() == 1
    assert HttpClient().get("/meta/deletion-status/nope/").status_code == 404


def test_deletion_only_touches_that_person(world, settings):
    mine = InstagramAccountFactory(
        agency=world.a, client=world.clients["a1"], login_path="facebook", meta_user_id="777"
    )
    other = InstagramAccountFactory(
        agency=world.b, client=world.clients["b1"], login_path="facebook", meta_user_id="778"
    )
    same_id_other_app = InstagramAccountFactory(
        agency=world.b, client=world.clients["b1"], login_path="instagram", meta_user_id="777"
    )
    deletion = DeletionRequest.objects.create(
        confirmation_code="c1", app="facebook", meta_user_id="777"
    )
    assert perform_deletion(deletion) == 1
    assert not InstagramAccount.objects.filter(pk=mine.pk).exists()
    assert InstagramAccount.objects.filter(pk__in=[other.pk, same_id_other_app.pk]).count() == 2
