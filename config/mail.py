"""Emails printed instead of sent (no EMAIL_URL): the development default.

A Celery worker turns its stdout into a logger, so Django's console backend, run by a worker,
wrote each email through the log's redaction: invitation and share links came out
`[redacted]`, and README's "open the invitation in a private window" could not be followed. In
development this backend prints to the process's real stdout, links whole: an email shown to the
developer is not a log. With DEBUG off the console is the production log, and links are
redacted like any other log line.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

from insights.meta.redact import redact


class _RedactingStream:
    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(redact(text))

    def flush(self) -> None:
        self.stream.flush()


class ConsoleEmailBackend(DjangoConsoleBackend):
    def __init__(self, *args, **kwargs):
        if "stream" not in kwargs:
            real = sys.__stdout__ or sys.stdout
            kwargs["stream"] = real if settings.DEBUG else _RedactingStream(sys.stdout)
        super().__init__(*args, **kwargs)
