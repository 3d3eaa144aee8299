"""Meta's deauthorize and data-deletion callbacks (graph-api.md §9).

Both are POSTs carrying `signed_request`, verified with the app's secret in constant time; the
signature is the only authentication, so these views are CSRF-exempt and small-bodied.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import DeletionRequest, InstagramAccount, LoginPath

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024


class BadSignedRequest(Exception):
    pass


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_signed_request(signed_request: str, secret: str) -> dict:
    """Verify and decode `<b64url(sig)>.<b64url(payload)>` (no padding). The HMAC-SHA256 is over
    the encoded payload string exactly as received."""
    try:
        encoded_sig, payload = signed_request.split(".", 1)
        signature = _b64decode(encoded_sig)
        data = json.loads(_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        raise BadSignedRequest("malformed") from None
    if not isinstance(data, dict) or str(data.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise BadSignedRequest("unsupported algorithm")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise BadSignedRequest("bad signature")
    if not data.get("user_id"):
        raise BadSignedRequest("no user_id")
    return data


def _secret(app: str) -> str:
    return settings.META_APP_SECRET if app == LoginPath.FACEBOOK else settings.INSTAGRAM_APP_SECRET


def _verified(request: HttpRequest, app: str) -> dict | HttpResponse:
    if app not in LoginPath.values or not _secret(app):
        raise Http404
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "request too large"}, status=400)
    try:
        return parse_signed_request(request.POST.get("signed_request", ""), _secret(app))
    except BadSignedRequest as error:
        log.warning("refused a %s callback: %s", app, error)
        return JsonResponse({"error": "invalid signed_request"}, status=400)


def _accounts_of(app: str, user_id: str):
    return InstagramAccount.objects.filter(login_path=app, meta_user_id=str(user_id))


@csrf_exempt
@require_POST
def deauthorize(request: HttpRequest, app: str) -> HttpResponse:
    """The person removed the app: their tokens are useless, drop them (history stays)."""
    data = _verified(request, app)
    if isinstance(data, HttpResponse):
        return data
    from .connections import Health, set_health

    for account in _accounts_of(app, data["user_id"]).exclude(token_ciphertext=""):
        account.token_ciphertext = ""
        account.save(update_fields=["token_ciphertext"])
        set_health(
            account,
            Health.NEEDS_RECONNECT,
            "The app was removed from the account owner's Meta settings.",
        )
    return JsonResponse({"success": True})


@csrf_exempt
@require_POST
def data_deletion(request: HttpRequest, app: str) -> HttpResponse:
    """Start deleting everything kept about the person; answer with a status URL and code.
    A replayed request gets the same code and starts no second deletion."""
    data = _verified(request, app)
    if isinstance(data, HttpResponse):
        return data
    user_id = str(data["user_id"])
    try:
        with transaction.atomic():
            deletion, created = DeletionRequest.objects.get_or_create(
                app=app, meta_user_id=user_id, defaults={"confirmation_code": secrets.token_hex(10)}
            )
    except IntegrityError:  # a concurrent replay created it
        deletion, created = DeletionRequest.objects.get(app=app, meta_user_id=user_id), False
    if created or _accounts_of(app, user_id).exists():
        from .tasks import run_data_deletion

        transaction.on_commit(lambda: run_data_deletion.delay(deletion.pk))
    url = settings.SITE_URL + reverse("deletion_status", args=[deletion.confirmation_code])
    return JsonResponse({"url": url, "confirmation_code": deletion.confirmation_code})


def perform_deletion(deletion: DeletionRequest) -> int:
    """Delete the person's connected accounts with all their history."""
    from django.utils import timezone

    deleted = 0
    for account in _accounts_of(deletion.app, deletion.meta_user_id):
        account.delete()
        deleted += 1
    DeletionRequest.objects.filter(pk=deletion.pk).update(
        status=DeletionRequest.Status.DONE,
        completed_at=timezone.now(),
        accounts_deleted=deletion.accounts_deleted + deleted,
    )
    return deleted


def deletion_status(request: HttpRequest, code: str) -> HttpResponse:
    deletion = DeletionRequest.objects.filter(confirmation_code=code).first()
    if deletion is None:
        raise Http404("Unknown confirmation code.")
    return render(request, "insights/deletion_status.html", {"deletion": deletion})
