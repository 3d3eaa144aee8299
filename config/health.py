"""GET /healthz: is the database answering, and can the broker be reached?"""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "down"; the type is enough to diagnose
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict:
    from config.celery import app, ensure_broker_folders

    started = time.monotonic()
    try:
        ensure_broker_folders()
        with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            conn.default_channel  # noqa: B018 - opening a channel proves the broker answers
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {
        "ok": True,
        "transport": settings.CELERY_BROKER_URL.split("://", 1)[0],
        "ms": round((time.monotonic() - started) * 1000, 1),
    }


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )
