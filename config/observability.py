"""Request ids, structured logs and error reporting.

Every log record carries the id of the request (or Celery task) it belongs to, so one line in a
JSON log leads to every other line of the same request. The id travels in a contextvar: each
thread (gunicorn's threads, Celery's pool) and each task has its own, and it never leaks into
the next request because the middleware resets it.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

from insights.meta.redact import redact

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("task_id", default=None)

# A caller's id is kept only when it is short and made of harmless characters: it ends up in
# every log line and in a response header, so anything else (newlines, quotes, 10 kB) is replaced.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
request_log = logging.getLogger("prism.request")


def sane_request_id(value: str | None) -> str:
    if value and _SANE_ID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Take X-Request-ID from the proxy when it is sane, or make one; put it on the response and
    on every log record of this request. With REQUEST_LOG on, log one line per request (the path
    only: query strings can carry OAuth codes)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        from django.conf import settings

        self.get_response = get_response
        self.log_requests = settings.REQUEST_LOG

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = sane_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if self.log_requests:
                request_log.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    },
                )
            return response
        finally:
            request_id_var.reset(token)


class ContextFilter(logging.Filter):
    """Stamps request_id and task_id on every record (None outside a request or task), and
    `ids`, their short form for plain logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        parts = [p for p in (record.request_id, record.task_id and f"task {record.task_id}") if p]
        record.ids = f" [{' '.join(parts)}]" if parts else ""
        return True


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines. The redacting filter has already cleaned the message; every other value is
    redacted too, because JSON output also carries `extra` fields and the formatted traceback,
    which the filter does not see. (Values, not the serialized line: escaped quotes would let a
    pattern eat a backslash and break the JSON.)"""

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.pop("ids", None)  # the plain format's short form; JSON has the fields

    def process_log_record(self, log_data: dict) -> dict:
        return {key: _redact_value(value) for key, value in log_data.items()}


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (a request, a socket, an exception) would be written as its str(): redact
    # that text, not the object the encoder would print as it is.
    return redact(str(value))


class RedactingPlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def bind_celery_task_ids() -> None:
    """Celery tasks log their task id the way requests log their request id."""
    from celery.signals import task_postrun, task_prerun

    tokens: dict[str, Any] = {}

    @task_prerun.connect(weak=False)
    def _set(task_id=None, **_):
        tokens[task_id] = task_id_var.set(task_id)

    @task_postrun.connect(weak=False)
    def _reset(task_id=None, **_):
        token = tokens.pop(task_id, None)
        if token is not None:
            try:
                task_id_var.reset(token)
            except ValueError:  # set in another context (should not happen); clear instead
                task_id_var.set(None)


# --- Sentry -----------------------------------------------------------------------------------

# Keys whose values never leave the process, whatever they hold.
_SECRET_KEYS = re.compile(
    r"(?i)(authorization|cookie|token|secret|password|passwd|session|csrf|signed_request"
    r"|api[_-]?key|appsecret|fernet|credential|dsn|^code$|^state$|^params$)"
)
FILTERED = "[Filtered]"


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return FILTERED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            k: FILTERED if isinstance(k, str) and _SECRET_KEYS.search(k) else _scrub(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        # Sentry sends headers and cookies as [name, value] pairs in some shapes.
        if (
            len(value) == 2
            and isinstance(value[0], str)
            and _SECRET_KEYS.search(value[0])
            and not isinstance(value[1], dict | list)
        ):
            return [value[0], FILTERED]
        return [_scrub(v, depth + 1) for v in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send: drop cookies, mask secret-named keys anywhere in the event (headers,
    frame variables, extra, breadcrumbs' data) and redact token-shaped text in every string
    (exception messages, log messages, URLs and query strings)."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)  # form bodies may hold passwords or signed_requests
    # Library frames' variables hold SQL parameters (session keys, ciphertexts), request headers
    # and response bodies: only Prism's own frames keep theirs (scrubbed below).
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            if not frame.get("in_app", True):
                frame.pop("vars", None)
    return _scrub(event)


def init_sentry(dsn: str, *, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        in_app_include=["accounts", "config", "insights", "sandbox"],
        send_default_pii=False,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        traces_sample_rate=traces_sample_rate,
    )
