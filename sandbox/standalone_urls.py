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


# Prism's own error pages extend its site layout, whose URLs do not exist here.
def not_found(request, exception=None):
    return JsonResponse({"error": "not found", "sandbox": "/_sandbox/"}, status=404)


def server_error(request):
    return JsonResponse({"error": "server error"}, status=500)


handler404 = not_found
handler500 = server_error

urlpatterns = [
    path("", index),
    path("_sandbox/", include("sandbox.urls")),
]
