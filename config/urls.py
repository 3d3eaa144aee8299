from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("prism/favicon.svg")), name="favicon"),
    path("", include("accounts.urls")),
    path("", include("insights.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("_sandbox/", include("sandbox.urls")))
