"""Standalone mode (SANDBOX_STANDALONE=1): only the sandbox, e.g. `make sandbox` on port 8100."""

from django.http import JsonResponse
from django.urls import include, path


def index(request):
    return JsonResponse(
        {
            "sandbox": "Prism's emulator of Meta's Instagram Platform",
            "hosts": "/_sandbox/<host>/...",
            "control": "/_sandbox/control/",
        }
    )


urlpatterns = [
    path("", index),
    path("_sandbox/", include("sandbox.urls")),
]
