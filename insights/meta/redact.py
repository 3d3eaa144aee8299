"""Last line of defence: mask anything token-shaped before a log record is written.

The Meta client never puts tokens in URLs or messages; this filter catches what a library might
(urllib3 logs request lines at DEBUG, exceptions carry URLs).
"""

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

_PATTERNS = [
    # access_token=..., client_secret=..., code=..., fb_exchange_token=..., signed_request=...,
    # and the OAuth round trip's state and the webhook's verify token (a request's repr in a
    # log record carries its query string).
    re.compile(
        r"(?i)(?<![A-Za-z0-9_])((?:access_token|input_token|client_secret|fb_exchange_token|code|signed_request"
        r"|appsecret_proof|state|verify_token)=)[^&\s'\"]+"
    ),
    re.compile(r"(?i)((?:bearer|oauth)\s+)[^\s'\"&,}]+"),
    re.compile(r"(?i)(['\"](?:access_token|client_secret|token)['\"]\s*:\s*['\"])[^'\"]+"),
    # Bearer secrets in paths (access logs print them): invitation links, reconnect links, share
    # links. Any long segment after such a prefix; short words ("done") are routes, not secrets.
    re.compile(
        r"(/(?:invitations|reconnect|share|shared|r|s)/)[A-Za-z0-9_\-.:~%]{16,}", re.IGNORECASE
    ),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # Django logs 4xx and 5xx with the request itself (`extra={"request": ...}`), and JSON
        # lines print every extra: its repr carries the path and query string (share tokens,
        # OAuth codes). Keep only the method and the redacted path.
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "get_full_path"):
            record.request = redact(f"{request.method} {request.get_full_path()}")
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = str(exc)
            if redact(text) != text:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class SafeReporterFilter(SafeExceptionReporterFilter):
    """Django's error reports show every frame's local variables, library frames included
    (requests keeps the Authorization header in several). Redact whatever looks like a secret,
    on top of Django's own `sensitive_variables` handling."""

    def get_traceback_frame_variables(self, request, tb_frame):
        cleaned = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            try:
                text = repr(value)
            except Exception:  # a broken __repr__ must not break the report
                text = "<unrepresentable>"
            cleaned.append((name, redact(text) if redact(text) != text else value))
        return cleaned
