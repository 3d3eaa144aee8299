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
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return _error("the body is not JSON", 400)
    if not isinstance(payload, dict) or not isinstance(payload.get("entry", []), list):
        return _error("the body is not a webhook notification", 400)
    try:
        stored = _store(payload)
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


def _store(payload: dict) -> int:
    found = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        sent = entry.get("time")
        sent_at = None
        if parse.is_number(sent) and sent > 0:
            seconds = sent / 1000 if sent > 10**11 else sent  # some events send milliseconds
            sent_at = datetime.fromtimestamp(seconds, tz=UTC)
        # Facebook Login: entry.changes[]; Instagram-Login examples put field/value in the entry.
        changes = entry.get("changes") if isinstance(entry.get("changes"), list) else [entry]
        for change in changes[:MAX_CHANGES]:
            if not isinstance(change, dict) or change.get("field") != "story_insights":
                continue
            if isinstance(change.get("value"), dict):
                found.append((str(entry["id"]), change["value"], sent_at))
    return record_story_insights(found)
