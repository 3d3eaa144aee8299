"""Mounted at /_sandbox/ when SANDBOX_ENABLED (config/urls.py) or alone (standalone_urls)."""

from django.urls import include, path, re_path

from . import views

urlpatterns = [
    path("control/", include("sandbox.control")),
    re_path(r"^(?P<host>[a-z.]+\.com)/(?P<path>.*)$", views.host_view, name="sandbox_host"),
]
