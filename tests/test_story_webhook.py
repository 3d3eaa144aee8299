"""The story_insights webhook over real HTTP: the sandbox sends Meta's signed notifications and
handshakes to Prism's live server (control API `webhooks/send`, `webhooks/verify`)."""

import hashlib
import hmac
import json

import pytest
import requests
from django.urls import reverse

from insights.models import Media, MediaSample, StoryState
from insights.refresh import account as refresh
from insights.refresh import schedule
from tests.refresh import conftest as refresh_fixtures

pytestmark = pytest.mark.django_db(transaction=True)

# The refresh tests' fixtures: the sandbox on the live server (clock frozen), a connected account.
sandbox, connect = refresh_fixtures.sandbox, refresh_fixtures.connect


@pytest.fixture
def url(live_server):
    return live_server.url + reverse("meta_webhook")


@pytest.fixture
def story(connect, sandbox, settings):
    """A connected account (Facebook Login) with one live story, polled once by a refresh."""
    settings.BACKFILL_DAYS = 3
    account, remote = connect(followers=5000, media_count=10, history_days=30, active_stories=0)
    answer = sandbox.control(
        "POST", f"accounts/{remote['ig_user_id']}/stories", json={"viewers": 800, "hours_ago": 6}
    )
    media_id = answer.json()["media_id"]
    refresh.run(account.pk, schedule.claim_one(account.pk))
    assert Media.objects.get(media_id=media_id).story_state == StoryState.PENDING
    return account, remote, media_id


def send(sandbox, url, remote, media_id=None, **extra):
    body = {"url": url, "ig_user_id": remote["ig_user_id"], **extra}
    if media_id:
        body["media_id"] = media_id
    answer = sandbox.control("POST", "webhooks/send", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def signed_post(url, raw: bytes, secret: str, **headers):
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return requests.post(
        url,
        data=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature, **headers},
        timeout=10,
    )


def webhook_samples():
    return MediaSample.objects.filter(source=MediaSample.Source.WEBHOOK)


def test_the_final_values_are_stored_and_the_story_captured(story, sandbox, url):
    account, remote, media_id = story
    sandbox.control("POST", "stats/reset")
    sent = send(sandbox, url, remote, media_id)
    assert sent["status_code"] == 200, sent["body"]
    assert json.loads(sent["body"]) == {"received": True, "stored": 1}
    value = sent["payload"]["entry"][0]["changes"][0]["value"]
    (sample,) = webhook_samples()
    assert sample.metrics == {
        "reach": value["reach"],
        "replies": value["replies"],
        "views": value["impressions"],
        "navigation.tap_forward": value["taps_forward"],
        "navigation.tap_back": value["taps_back"],
        "navigation.tap_exit": value["exits"],
    }
    assert value["reach"] > 0
    media = Media.objects.get(media_id=media_id)
    assert media.story_state == StoryState.CAPTURED
    assert sample.captured_at == media.expires_at == media.story_final_at
    assert sample.age_seconds == 24 * 3600
    assert media.webhook_received_at and media.next_sample_at is None
    assert media.latest_metrics["reach"] == value["reach"]
    assert "shares" in media.latest_metrics  # the poll's other metrics stay
    # Answered without a single call to Meta.
    assert sandbox.control("GET", "stats").json()["requests"] == 0


def test_a_redelivered_payload_is_stored_once(story, sandbox, url):
    _, remote, media_id = story
    first = send(sandbox, url, remote, media_id)
    again = send(sandbox, url, remote, media_id)
    assert again["status_code"] == 200
    assert json.loads(again["body"])["stored"] == 0
    assert webhook_samples().count() == 1
    assert Media.objects.get(media_id=media_id).sample_count == 2  # the poll's and the webhook's
    # The same bytes replayed by hand (a retry after a lost answer) change nothing either.
    raw = first["raw_body"].encode()
    replay = requests.post(
        url,
        data=raw,
        headers={"X-Hub-Signature-256": first["signature_256"], "Content-Type": "application/json"},
        timeout=10,
    )
    assert replay.status_code == 200 and replay.json()["stored"] == 0
    assert webhook_samples().count() == 1


def test_a_story_the_poll_never_saw_is_kept(connect, sandbox, url):
    account, remote = connect(active_stories=0, history_days=30)
    media_id = sandbox.control(
        "POST", f"accounts/{remote['ig_user_id']}/stories", json={"viewers": 500, "hours_ago": 2}
    ).json()["media_id"]
    sent = send(sandbox, url, remote, media_id)
    assert json.loads(sent["body"])["stored"] == 1
    media = Media.objects.get(account=account, media_id=media_id)
    assert media.is_story and media.story_state == StoryState.CAPTURED
    assert (
        webhook_samples().get().metrics["reach"]
        == sent["payload"]["entry"][0]["changes"][0]["value"]["reach"]
    )


def test_a_bad_signature_is_refused_and_nothing_stored(story, sandbox, url, settings):
    _, remote, media_id = story
    settings.META_APP_SECRET = "not-the-secret-the-sandbox-signs-with"
    settings.INSTAGRAM_APP_SECRET = "nor-this-one"
    sent = send(sandbox, url, remote, media_id)
    assert sent["status_code"] == 403
    assert json.loads(sent["body"]) == {"error": "invalid signature"}
    assert not webhook_samples().exists()
    assert Media.objects.get(media_id=media_id).story_state == StoryState.PENDING


def test_a_tampered_or_unsigned_body_is_refused(story, sandbox, url, settings):
    _, remote, media_id = story
    good = send(sandbox, url, remote, media_id, retries=0)
    webhook_samples().delete()
    tampered = good["raw_body"].replace('"reach":', '"reach":1').encode()
    for headers in (
        {"X-Hub-Signature-256": good["signature_256"]},
        {"X-Hub-Signature-256": "sha1=" + good["signature_256"].split("=")[1]},
        {},
    ):
        answer = requests.post(url, data=tampered, headers=headers, timeout=10)
        assert answer.status_code == 403 and answer.json()["error"] == "invalid signature"
    assert not webhook_samples().exists()


def test_the_instagram_apps_secret_is_accepted_too(story, sandbox, url):
    _, remote, media_id = story
    sent = send(sandbox, url, remote, media_id, app="instagram")
    assert sent["status_code"] == 200 and json.loads(sent["body"])["stored"] == 1


def test_unknown_accounts_and_other_fields_are_acknowledged_and_dropped(sandbox, url, settings):
    from sandbox.accounts import create_account

    stranger = create_account(active_stories=1, history_days=30)  # not connected to Prism
    sent = send(sandbox, url, stranger)
    assert sent["status_code"] == 200 and json.loads(sent["body"])["stored"] == 0
    other = send(sandbox, url, stranger, field="mentions", value={"media_id": "1"})
    assert other["status_code"] == 200
    assert not Media.objects.exists()


def test_malformed_json_is_a_400_in_json(url, settings, live_server):
    for raw in (b"{not json", b'["a list"]', b'{"entry": "nope"}', b"[" * 100_000, b"\xff\xfe"):
        answer = signed_post(url, raw, settings.META_APP_SECRET)
        assert answer.status_code == 400, raw
        assert answer.headers["Content-Type"].startswith("application/json")
        assert "error" in answer.json()


def test_a_body_over_the_cap_is_a_413_in_json(url, settings, live_server):
    from insights.views.webhooks import MAX_BODY

    raw = b'{"object":"instagram","entry":[' + b" " * MAX_BODY + b"]}"
    answer = signed_post(url, raw, settings.META_APP_SECRET)
    assert answer.status_code == 413
    assert answer.json() == {"error": "request too large"}
    assert MAX_BODY <= settings.MAX_REQUEST_BYTES


def test_the_handshake_echoes_the_challenge_only_for_the_right_token(sandbox, url, settings):
    settings.META_WEBHOOK_VERIFY_TOKEN = "prism-verify-7f3a"
    right = sandbox.control(
        "POST", "webhooks/verify", json={"url": url, "verify_token": "prism-verify-7f3a"}
    ).json()
    assert right["verified"] and right["status_code"] == 200
    assert right["body"] == right["challenge"]
    assert right["content_type"].startswith("text/plain")
    wrong = sandbox.control(
        "POST", "webhooks/verify", json={"url": url, "verify_token": "guess"}
    ).json()
    assert not wrong["verified"] and wrong["status_code"] == 403
    assert right["challenge"] not in wrong["body"]
    settings.META_WEBHOOK_VERIFY_TOKEN = ""  # not configured: nothing verifies
    empty = sandbox.control("POST", "webhooks/verify", json={"url": url, "verify_token": ""})
    assert empty.json()["status_code"] == 403


def test_other_methods_are_refused_in_json(url, live_server):
    answer = requests.put(url, data=b"{}", timeout=10)
    assert answer.status_code == 405 and answer.json()["error"]


def test_concurrent_deliveries_of_one_payload_store_one_sample(story, sandbox, url):
    from concurrent.futures import ThreadPoolExecutor

    _, remote, media_id = story
    made = sandbox.control(
        "POST", "webhooks/send", json={"url": url, "ig_user_id": remote["ig_user_id"]}
    ).json()
    webhook_samples().delete()
    Media.objects.filter(media_id=media_id).update(story_state=StoryState.PENDING)
    headers = {"X-Hub-Signature-256": made["signature_256"], "Content-Type": "application/json"}

    def deliver(_):
        return requests.post(url, data=made["raw_body"].encode(), headers=headers, timeout=30)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(deliver, range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert sum(a.json()["stored"] for a in answers) == 1
    assert webhook_samples().count() == 1


def test_instagram_login_shaped_entries_are_read_too(story, url, settings):
    """Meta's Instagram-Login examples put field and value in the entry itself (§8.2)."""
    account, _, media_id = story
    value = {"media_id": media_id, "reach": 41, "replies": 2, "views": 77}
    entry = {"id": account.ig_user_id, "time": 1, "field": "story_insights", "value": value}
    raw = json.dumps({"object": "instagram", "entry": [entry]}).encode()
    answer = signed_post(url, raw, settings.INSTAGRAM_APP_SECRET)
    assert answer.status_code == 200 and answer.json()["stored"] == 1
    assert webhook_samples().get().metrics == {"reach": 41, "replies": 2, "views": 77}


def test_replies_zeroed_by_the_eu_rule_are_marked_from_the_webhook_too(connect, sandbox, url):
    account, remote = connect(followers=5000, history_days=30, active_stories=0, region="FR")
    media_id = sandbox.control(
        "POST", f"accounts/{remote['ig_user_id']}/stories", json={"viewers": 900, "hours_ago": 8}
    ).json()["media_id"]
    refresh.run(account.pk, schedule.claim_one(account.pk))  # demographics say: France
    sent = send(sandbox, url, remote, media_id)
    assert sent["payload"]["entry"][0]["changes"][0]["value"]["replies"] == 0
    media = Media.objects.get(media_id=media_id)
    assert media.story_state == StoryState.CAPTURED and media.replies_zeroed_by_region


def test_the_webhook_upgrades_a_story_the_poll_caught_late(story, sandbox, url):
    _, remote, media_id = story
    # As if it had expired between refreshes: resolved late from its one poll sample.
    Media.objects.filter(media_id=media_id).update(story_state=StoryState.LATE)
    send(sandbox, url, remote, media_id)
    media = Media.objects.get(media_id=media_id)
    assert media.story_state == StoryState.CAPTURED
    assert media.story_final_at == media.expires_at
