"""Issue #8, defect 6: bearer secrets in request paths never reach the logs."""

import logging

from insights.meta.redact import RedactSecretsFilter, redact


def _through_filter(message: str, *args) -> str:
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, message, args, None)
    RedactSecretsFilter().filter(record)
    return record.getMessage()


def test_invitation_and_reconnect_paths_are_redacted():
    token = "Zq3x_9kLmN0pQrStUvWxYz-1234567890abcdefGHIJ"
    for path in (f"/invitations/{token}/", f"/reconnect/{token}/", f"/share/{token}/"):
        line = _through_filter('"GET %s HTTP/1.1" 200 1234', path)
        assert token not in line and "[redacted]" in line
        assert line.startswith('"GET /') and line.endswith('HTTP/1.1" 200 1234')


def test_routes_and_ids_are_kept():
    for path in ("/reconnect/done/", "/a/alpha/clients/12/", "/a/alpha/accounts/3/reconnect/"):
        assert redact(f'"GET {path} HTTP/1.1" 200') == f'"GET {path} HTTP/1.1" 200'


def test_the_console_handler_filters_every_logger(settings):
    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]
    server = settings.LOGGING["loggers"]["django.server"]
    assert server["handlers"] == ["console"] and server["propagate"] is False
