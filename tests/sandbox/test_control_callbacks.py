"""Webhooks and signed_request callbacks sent by the control API to a real local receiver.
graph-api.md §8.1 (verification), §8.2 (story_insights, X-Hub-Signature-256 over the raw body),
§9 (signed_request), §12.18 (re-serialised JSON breaks the signature)."""

import base64
import hashlib
import hmac
import json

from django.conf import settings

from sandbox import core

from .receiver import receiver  # noqa: F401  (fixture)

FB_SECRET = settings.SANDBOX_FACEBOOK_APP_SECRET.encode()
IG_SECRET = settings.SANDBOX_INSTAGRAM_APP_SECRET.encode()
BAKERY_IG = "17841400000000101"  # seeded, US
MARCO_IG = "17841400000000103"  # seeded creator in Germany: story replies are 0


def control(sandbox, method, path, **body):
    return sandbox.control(method, path, json=body) if body else sandbox.control(method, path)


def add_story(sandbox, ig_user_id, viewers=4000) -> str:
    return control(sandbox, "POST", f"accounts/{ig_user_id}/stories", viewers=viewers).json()[
        "media_id"
    ]


def test_story_insights_webhook_is_signed_over_the_raw_body(sandbox, receiver):  # noqa: F811
    """§8.2: POST JSON with X-Hub-Signature-256 = sha256 HMAC of the raw bytes (Facebook app
    secret) and the legacy sha1 X-Hub-Signature; legacy story_insights payload."""
    story = add_story(sandbox, BAKERY_IG)
    answer = control(
        sandbox, "POST", "webhooks/send", url=receiver.url, ig_user_id=BAKERY_IG, media_id=story
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status_code"] == 200 and answer.json()["body"] == "ok"
    [got] = receiver.received
    assert got.method == "POST" and got.headers["content-type"] == "application/json"
    expected = hmac.new(FB_SECRET, got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-hub-signature-256"] == f"sha256={expected}"
    assert (
        got.headers["x-hub-signature"]
        == "sha1=" + hmac.new(FB_SECRET, got.body, hashlib.sha1).hexdigest()
    )
    payload = json.loads(got.body)
    assert payload["object"] == "instagram"
    [entry] = payload["entry"]
    assert entry["id"] == BAKERY_IG and isinstance(entry["time"], int)
    assert abs(entry["time"] - core.now().timestamp()) < 60
    [change] = entry["changes"]
    assert change["field"] == "story_insights"
    value = change["value"]
    assert set(value) == {
        "media_id",
        "exits",
        "replies",
        "reach",
        "taps_forward",
        "taps_back",
        "impressions",
    }
    assert value["media_id"] == story
    assert (
        0 < value["reach"] <= 4000
        and value["impressions"] >= value["reach"]
        and value["replies"] > 0
    )
    assert all(isinstance(value[k], int) for k in value if k != "media_id")


def test_story_insights_replies_are_zero_for_eu_creators(sandbox, receiver):  # noqa: F811
    """§5.2: stories by EU (and Japanese) creators report replies as 0."""
    story = add_story(sandbox, MARCO_IG)
    control(sandbox, "POST", "webhooks/send", url=receiver.url, ig_user_id=MARCO_IG, media_id=story)
    value = json.loads(receiver.received[0].body)["entry"][0]["changes"][0]["value"]
    assert value["replies"] == 0 and value["reach"] > 0


def test_non_ascii_and_slashes_are_escaped_like_meta(sandbox, receiver):  # noqa: F811
    """§8.2, §12.18: Meta sends \\uXXXX and \\/; hashing re-serialised JSON breaks the signature."""
    value = {"media_id": "1", "text": "Grüße / 東京 🎉"}
    control(
        sandbox,
        "POST",
        "webhooks/send",
        url=receiver.url,
        ig_user_id=BAKERY_IG,
        field="comments",
        value=value,
    )
    raw = receiver.received[0].body
    assert b"\\u00fc" in raw and b"\\/" in raw and b"\\ud83c\\udf89" in raw
    assert raw.isascii()
    signature = receiver.received[0].headers["x-hub-signature-256"]
    assert signature == "sha256=" + hmac.new(FB_SECRET, raw, hashlib.sha256).hexdigest()
    reserialised = json.dumps(json.loads(raw)).encode()
    assert signature != "sha256=" + hmac.new(FB_SECRET, reserialised, hashlib.sha256).hexdigest()
    assert json.loads(raw)["entry"][0]["changes"][0]["value"] == value


def test_default_story_is_the_newest_live_one_and_instagram_app_secret(sandbox, receiver):  # noqa: F811
    story = add_story(sandbox, BAKERY_IG)
    control(
        sandbox, "POST", "webhooks/send", url=receiver.url, ig_user_id=BAKERY_IG, app="instagram"
    )
    got = receiver.received[0]
    assert json.loads(got.body)["entry"][0]["changes"][0]["value"]["media_id"] == story
    assert (
        got.headers["x-hub-signature-256"]
        == "sha256=" + hmac.new(IG_SECRET, got.body, hashlib.sha256).hexdigest()
    )


def test_webhook_retries_until_the_receiver_accepts(sandbox, receiver):  # noqa: F811
    """§8.2: failed deliveries are retried; receivers must dedupe."""
    add_story(sandbox, BAKERY_IG)
    answers = iter(
        [(500, "text/plain", b"busy"), (503, "text/plain", b"busy"), (200, "text/plain", b"ok")]
    )
    receiver.answer = lambda request: next(answers)
    result = control(
        sandbox, "POST", "webhooks/send", url=receiver.url, ig_user_id=BAKERY_IG, retries=3
    ).json()
    assert result["attempts"] == 3 and result["status_code"] == 200
    assert len({r.body for r in receiver.received}) == 1  # the same delivery each time


def test_webhook_send_validation(sandbox, receiver):  # noqa: F811
    acct = control(sandbox, "POST", "accounts", active_stories=0).json()
    no_story = control(
        sandbox, "POST", "webhooks/send", url=receiver.url, ig_user_id=acct["ig_user_id"]
    )
    assert no_story.status_code == 400 and "no live story" in no_story.json()["error"]
    not_a_story = control(
        sandbox, "POST", "webhooks/send", url=receiver.url, ig_user_id=BAKERY_IG, media_id="182000"
    )
    assert not_a_story.status_code == 404
    assert (
        control(sandbox, "POST", "webhooks/send", url="ftp://x", ig_user_id=BAKERY_IG).status_code
        == 400
    )
    unreachable = control(
        sandbox,
        "POST",
        "webhooks/send",
        url="http://127.0.0.1:9/hook",
        ig_user_id=BAKERY_IG,
        field="mentions",
        value={"media_id": "1"},
    )
    assert unreachable.status_code == 502
    assert receiver.received == []


def test_verification_handshake(sandbox, receiver):  # noqa: F811
    """§8.1: GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…; echo the challenge."""

    def answer(request):
        if (
            request.query.get("hub.verify_token") == "s3cret"
            and request.query.get("hub.mode") == "subscribe"
        ):
            return 200, "text/plain", request.query["hub.challenge"].encode()
        return 403, "text/plain", b"no"

    receiver.answer = answer
    ok = control(sandbox, "POST", "webhooks/verify", url=receiver.url, verify_token="s3cret").json()
    assert ok["verified"] is True and ok["status_code"] == 200 and ok["body"] == ok["challenge"]
    assert receiver.received[0].method == "GET" and ok["challenge"].isdigit()
    wrong = control(
        sandbox, "POST", "webhooks/verify", url=receiver.url, verify_token="guess"
    ).json()
    assert wrong["verified"] is False and wrong["status_code"] == 403


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_signed_request(signed: str, secret: bytes) -> dict:
    """What a receiver does (§9): split, HMAC-SHA256 the encoded payload, compare, decode."""
    signature, encoded = signed.split(".", 1)
    expected = hmac.new(secret, encoded.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(b64decode(signature), expected)
    return json.loads(b64decode(encoded))


def test_signed_request_make(sandbox):
    """§9: <b64url(sig)>.<b64url(payload)>, no padding, HMAC-SHA256 of the encoded payload."""
    answer = control(sandbox, "POST", "signed-request/make", user_id="218471").json()
    signed = answer["signed_request"]
    assert "=" not in signed and signed.count(".") == 1
    payload = verify_signed_request(signed, FB_SECRET)
    assert payload == answer["payload"]
    assert payload["algorithm"] == "HMAC-SHA256" and payload["user_id"] == "218471"
    assert abs(payload["issued_at"] - core.now().timestamp()) < 60
    ig = control(
        sandbox, "POST", "signed-request/make", ig_user_id=BAKERY_IG, app="instagram"
    ).json()
    assert verify_signed_request(ig["signed_request"], IG_SECRET)["user_id"] == "2000000000000101"
    fb = control(sandbox, "POST", "signed-request/make", ig_user_id=BAKERY_IG).json()
    assert fb["payload"]["user_id"] == "100000000000101"
    assert control(sandbox, "POST", "signed-request/make").status_code == 400


def test_signed_request_send_deauthorize_and_data_deletion(sandbox, receiver):  # noqa: F811
    """§9: a form POST with one field, signed_request; data deletion must answer
    {"url", "confirmation_code"} JSON."""
    deauth = control(sandbox, "POST", "signed-request/send", url=receiver.url, user_id="42").json()
    assert deauth["status_code"] == 200
    got = receiver.received[0]
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    field, _, value = got.body.decode().partition("=")
    assert field == "signed_request" and value == deauth["signed_request"]
    assert verify_signed_request(value, FB_SECRET)["user_id"] == "42"

    receiver.answer = lambda r: (
        200,
        "application/json",
        b'{"url":"https://prism.example.com/deletion?id=abc","confirmation_code":"abc"}',
    )
    deletion = control(
        sandbox, "POST", "signed-request/send", url=receiver.url, user_id="42", kind="data_deletion"
    ).json()
    assert deletion["deletion_answer_valid"] is True
    receiver.answer = lambda r: (200, "text/plain", b"deleted, thanks")
    sloppy = control(
        sandbox, "POST", "signed-request/send", url=receiver.url, user_id="42", kind="data_deletion"
    ).json()
    assert sloppy["deletion_answer_valid"] is False
