"""The control API under /_sandbox/control/ (JSON)."""

urlpatterns: list = []
