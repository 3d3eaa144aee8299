from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from accounts.views import admin_login

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Resolved per request: the hashed static name exists only after collectstatic.
    path("favicon.ico", lambda request: redirect(static("prism/favicon.svg")), name="favicon"),
    path("", include("accounts.urls")),
    path("", include("insights.urls")),
    path("accounts/", include("allauth.urls")),
    # Before the admin's own URLs: its password form never answers (accounts.views.admin_login).
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("_sandbox/", include("sandbox.urls")))
