"""Meta's deauthorize and data-deletion callbacks (graph-api.md §9).

Both are POSTs carrying `signed_request`, verified with the app's secret in constant time; the
signature is the only authentication, so these views are CSRF-exempt and small-bodied.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..connections import removal
from ..meta.signed_request import BadSignedRequest, parse_signed_request
from ..models import DeletionRequest, LoginPath
from ..tasks import run_data_deletion

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024


def _secret(app: str) -> str:
    return settings.META_APP_SECRET if app == LoginPath.FACEBOOK else settings.INSTAGRAM_APP_SECRET


def _verified(request: HttpRequest, app: str) -> dict | HttpResponse:
    if app not in LoginPath.values or not _secret(app):
        raise Http404
    too_large = JsonResponse({"error": "request too large"}, status=400)
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
            return too_large  # decided before reading a byte of it
        if len(request.body) > MAX_BODY:
            return too_large
        signed = request.POST.get("signed_request", "")
    except (ValueError, RequestDataTooBig):
        return too_large
    try:
        return parse_signed_request(signed, _secret(app))
    except BadSignedRequest as error:
        log.warning("refused a %s callback: %s", app, error)
        return JsonResponse({"error": "invalid signed_request"}, status=400)


@csrf_exempt
@require_POST
def deauthorize(request: HttpRequest, app: str) -> HttpResponse:
    """The person removed the app: their tokens are useless, drop them (history stays)."""
    data = _verified(request, app)
    if isinstance(data, HttpResponse):
        return data
    removal.drop_tokens_of_meta_user(app, data["user_id"])
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
    if created or removal.accounts_of_meta_user(app, user_id).exists():
        transaction.on_commit(lambda: run_data_deletion.delay(deletion.pk))
    url = settings.SITE_URL + reverse("deletion_status", args=[deletion.confirmation_code])
    return JsonResponse({"url": url, "confirmation_code": deletion.confirmation_code})


def deletion_status(request: HttpRequest, code: str) -> HttpResponse:
    deletion = DeletionRequest.objects.filter(confirmation_code=code).first()
    if deletion is None:
        raise Http404("Unknown confirmation code.")
    return render(request, "insights/deletion_status.html", {"deletion": deletion})
