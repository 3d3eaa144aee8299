"""Meta's webhooks for Instagram (graph-api.md §8): the subscription handshake and the
`story_insights` notifications.

Public by necessity: a notification is authorised only by its `X-Hub-Signature-256` over the raw
body, so the view is CSRF-exempt, reads at most MAX_BODY bytes, and answers every refusal in
JSON. It answers fast and never calls Meta: each change is a few row writes. Changes for
accounts Prism does not know, and fields other than story_insights, are acknowledged (200) and
dropped, or Meta would keep retrying them for 36 hours.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ..meta import parse
from ..meta.signed_request import valid_hub_signature
from ..refresh.stories import record_story_insights

log = logging.getLogger(__name__)
# Meta batches up to 1000 changes (~250 bytes each) in one POST.
MAX_BODY = 1024 * 1024
MAX_CHANGES = 1000  # per entry, as Meta batches
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{1,200}")


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
def instagram_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    if request.method != "POST":
        response = _error(f"method {request.method} not allowed", 405)
        response["Allow"] = "GET, POST"
        return response
    raw = _body(request)
    if raw is None:
        return _error("request too large", 413)
    secrets = [settings.META_APP_SECRET, settings.INSTAGRAM_APP_SECRET]
    if not valid_hub_signature(raw, request.headers.get("X-Hub-Signature-256", ""), secrets):
        log.warning("refused a webhook: bad or missing X-Hub-Signature-256")
        return _error("invalid signature", 403)
    try:
        payload = json.loads(raw, parse_constant=_no_constants)
    except OutOfRange as error:
        return _error(str(error), 400)
    except (ValueError, RecursionError):
        return _error("the body is not JSON", 400)
    if not isinstance(payload, dict) or not isinstance(payload.get("entry", []), list):
        return _error("the body is not a webhook notification", 400)
    try:
        _check_numbers(payload)
        sent_times = [_sent_at(entry) for entry in payload.get("entry") or []]
    except OutOfRange as error:
        return _error(str(error), 400)  # nothing stored: Meta never sends these
    try:
        stored = _store(payload, sent_times)
    except DatabaseError:
        # Not stored: a 5xx makes Meta deliver it again (the writes are idempotent).
        log.exception("a webhook could not be stored")
        return _error("temporarily unavailable, deliver again", 503)
    return JsonResponse({"received": True, "stored": stored})


def _handshake(request: HttpRequest) -> HttpResponse:
    """§8.1: echo hub.challenge, as plain text, when hub.verify_token is ours."""
    params = request.GET

    def param(name: str) -> str:  # PHP-style clients turn "." into "_"
        return params.get(f"hub.{name}") or params.get(f"hub_{name}") or ""

    expected = settings.META_WEBHOOK_VERIFY_TOKEN
    token, challenge = param("verify_token"), param("challenge")
    if (
        param("mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        return _error("verification refused", 403)
    if not CHALLENGE.fullmatch(challenge):
        return _error("hub.challenge is missing or malformed", 400)
    return HttpResponse(challenge, content_type="text/plain")


def _body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over MAX_BODY (decided from Content-Length before
    reading it, and by reading no more than MAX_BODY + 1 bytes otherwise)."""
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
            return None
    except ValueError:
        return None
    raw = request.read(MAX_BODY + 1)
    return None if len(raw) > MAX_BODY else raw


class OutOfRange(ValueError):
    pass


# Larger than any count or timestamp Meta sends, and than the database's integers.
LARGEST = 2**63 - 1


def _no_constants(name: str):
    raise OutOfRange(f"{name} is not a number Meta sends")


def _check_numbers(value, depth: int = 0) -> None:
    """Every number in the payload is finite and fits the database (json.loads reads 1e300 and
    10**30; round() or a timestamp of them raised OverflowError, a 500 page)."""
    if depth > 50:
        raise OutOfRange("the body is nested too deeply")
    if isinstance(value, dict):
        for item in value.values():
            _check_numbers(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_numbers(item, depth + 1)
    elif isinstance(value, int | float) and not isinstance(value, bool) and _out_of_range(value):
        raise OutOfRange("a number is out of range")


def _out_of_range(number: int | float) -> bool:
    return (isinstance(number, float) and not math.isfinite(number)) or abs(number) > LARGEST


def _sent_at(entry) -> datetime | None:
    """The entry's `time` as a moment (seconds, or milliseconds as some events send), or None;
    a time no calendar holds is refused."""
    sent = entry.get("time") if isinstance(entry, dict) else None
    if not (parse.is_number(sent) and sent > 0):
        return None
    seconds = sent / 1000 if sent > 10**11 else sent
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise OutOfRange("an entry's time is out of range") from None


def _store(payload: dict, sent_times: list[datetime | None]) -> int:
    found = []
    for entry, sent_at in zip(payload.get("entry") or [], sent_times, strict=True):
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        # Facebook Login: entry.changes[]; Instagram-Login examples put field/value in the entry.
        changes = entry.get("changes") if isinstance(entry.get("changes"), list) else [entry]
        for change in changes[:MAX_CHANGES]:
            if not isinstance(change, dict) or change.get("field") != "story_insights":
                continue
            if isinstance(change.get("value"), dict):
                found.append((str(entry["id"]), change["value"], sent_at))
    return record_story_insights(found)
