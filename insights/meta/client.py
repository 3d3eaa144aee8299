"""The one seam between Prism and Meta's Instagram Platform (or the sandbox standing in for it).

- One requests session, explicit connect/read timeouts and a cap on a whole answer's time, no
  redirects followed.
- Tokens travel in the `Authorization` header or a POST body, never in a URL, and never appear in
  log lines or exception text: errors are rebuilt from Meta's envelope and the path alone.
- Meta's errors become a small taxonomy (`ErrorKind`) that callers act on.
- Malformed bodies, HTML error pages, timeouts and connection failures are transient errors.
- Pagination follows `paging.next` only on the host it started from (no SSRF through Meta's links).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import urllib3
from django.conf import settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_PAGES = 500
BATCH_LIMIT = 50


class ErrorKind(StrEnum):
    TOKEN_INVALID = "token_invalid"  # reconnect needed (190, 102, 463...)
    PERMISSION = "permission"  # a permission is missing (10, 200-299)
    RATE_LIMITED = "rate_limited"  # back off for `retry_after` seconds (4, 17, 32, 613, 80002)
    METRIC_UNSUPPORTED = "metric_unsupported"  # this metric is not (or no longer) offered
    MEDIA_UNAVAILABLE = "media_unavailable"  # 2108006, #10 not enough viewers, 100/33
    TRANSIENT = "transient"  # retry with backoff (1, 2, 5xx, timeouts, garbage bodies)
    INVALID_REQUEST = "invalid_request"  # our request is wrong (bad code, range, parameter)
    UNKNOWN = "unknown"


class OutOfTime(Exception):
    """The caller's time limit passed: no further request is sent (`MetaClient.deadline`)."""


class MetaError(Exception):
    """A failed call. `str()` is safe to log and store: no token, no query string."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        status: int | None = None,
        path: str = "",
        retry_after: float | None = None,
        fbtrace_id: str = "",
        user_title: str = "",
    ):
        self.kind, self.message, self.code, self.subcode = kind, message, code, subcode
        self.status, self.path, self.retry_after = status, path, retry_after
        self.fbtrace_id, self.user_title = fbtrace_id, user_title
        super().__init__(self.describe())

    def describe(self) -> str:
        codes = (
            f" (code {self.code}" + (f"/{self.subcode}" if self.subcode else "") + ")"
            if self.code is not None
            else ""
        )
        where = f" on {self.path}" if self.path else ""
        return f"{self.kind}: {self.message}{codes}{where}"

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED)


APP_USAGE_FIELDS = ("call_count", "total_time", "total_cputime", "call_volume", "cpu_time")


@dataclass
class Usage:
    """What Meta's usage headers said on the last response (percentages, wait in seconds)."""

    app: dict = field(default_factory=dict)
    business: dict = field(default_factory=dict)  # {object_id: [{"type": ..., ...}]}

    @property
    def highest_percent(self) -> int:
        # graph.facebook.com names call_count / total_time / total_cputime; graph.instagram.com
        # call_volume / cpu_time (restfb#1571, docs/graph-api.md §6): both are read.
        values = [v for k, v in self.app.items() if k in APP_USAGE_FIELDS]
        for entries in self.business.values():
            for entry in entries if isinstance(entries, list) else []:
                values += [entry.get(k, 0) for k in ("call_count", "total_time", "total_cputime")]
        return max([int(v) for v in values if isinstance(v, int | float)] or [0])

    @property
    def regain_seconds(self) -> float:
        minutes = [
            entry.get("estimated_time_to_regain_access", 0)
            for entries in self.business.values()
            for entry in (entries if isinstance(entries, list) else [])
        ]
        return max([float(m) for m in minutes if isinstance(m, int | float)] or [0]) * 60


def classify(error: dict, status: int | None, *, breakdown: bool = False) -> ErrorKind:
    """Map Meta's error envelope to what Prism should do about it (graph-api.md §6).
    `breakdown`: the request asked for a breakdown, so "An unknown error has occurred." is
    Meta's documented answer to a breakdown the metric lacks (docs/graph-api.md §4), permanent
    whatever its HTTP status, not an outage to retry."""
    code = error.get("code")
    subcode = error.get("error_subcode")
    message = str(error.get("message", ""))
    if breakdown and code == 1 and "unknown error" in message.lower():
        return ErrorKind.METRIC_UNSUPPORTED
    if code in (190, 102) or (code == 100 and subcode == 463):
        return ErrorKind.TOKEN_INVALID
    if code == 10 and "not enough viewers" in message.lower():
        return ErrorKind.MEDIA_UNAVAILABLE  # a story under 5 viewers: expected, not a permission
    if subcode == 2108006:
        return ErrorKind.MEDIA_UNAVAILABLE  # posted before the business conversion: permanent
    if code in (4, 17, 32, 341, 613, 80001, 80002) or status == 429:
        return ErrorKind.RATE_LIMITED
    if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        return ErrorKind.PERMISSION
    if code == 100 and subcode == 33:
        return ErrorKind.MEDIA_UNAVAILABLE
    if code == 100 and ("metric" in message.lower() or "impressions" in message.lower()):
        return ErrorKind.METRIC_UNSUPPORTED
    if code in (1, 2) or error.get("is_transient") or (status is not None and status >= 500):
        return ErrorKind.TRANSIENT
    if code == 100:
        return ErrorKind.INVALID_REQUEST
    return ErrorKind.UNKNOWN


def _clean_message(message: str) -> str:
    from .redact import redact

    return redact(message)[:500]


class MetaClient:
    """Calls one Meta host with one token. `host` is a key of settings.META_HOSTS."""

    def __init__(
        self,
        host: str,
        token: str | None = None,
        *,
        session: requests.Session | None = None,
        version: str | None = None,
        max_retries: int | None = None,
        backoff: float | None = None,
    ):
        self.host = host
        self.base = settings.META_HOSTS[host]
        self.version = settings.META_API_VERSION if version is None else version
        self._token = token
        self.session = session or _shared_session()
        self.timeout = (settings.META_CONNECT_TIMEOUT, settings.META_READ_TIMEOUT)
        self.answer_timeout = settings.META_ANSWER_TIMEOUT
        self.max_retries = settings.META_MAX_RETRIES if max_retries is None else max_retries
        self.backoff = settings.META_RETRY_BACKOFF if backoff is None else backoff
        self.usage = Usage()
        self.requests_made = 0
        # time.monotonic() after which no request starts: a refresh run's soft time limit,
        # enforced in any Celery pool (the threads pool enforces none of its own).
        self.deadline: float | None = None

    def __repr__(self) -> str:  # never the token
        return f"<MetaClient {self.host}>"

    # --- URLs -------------------------------------------------------------------------------

    def url(self, path: str, *, versioned: bool = True) -> str:
        path = path.lstrip("/")
        if (
            versioned
            and self.version
            and self.host in ("graph.facebook.com", "graph.instagram.com")
        ):
            return f"{self.base}/{self.version}/{path}"
        return f"{self.base}/{path}"

    # --- Calls ------------------------------------------------------------------------------

    def get(self, path: str, params: dict | None = None, *, versioned: bool = True) -> Any:
        return self.request("GET", path, params=params, versioned=versioned)

    def post(
        self, path: str, data: dict | None = None, *, versioned: bool = True, auth: bool = True
    ) -> Any:
        return self.request("POST", path, data=data, versioned=versioned, auth=auth)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        data: dict | None = None,
        versioned: bool = True,
        auth: bool = True,
    ) -> Any:
        """One call with retries for transient failures (backoff with jitter)."""
        attempt = 0
        while True:
            try:
                return self._once(
                    method,
                    self.url(path, versioned=versioned),
                    path,
                    params=params,
                    data=data,
                    auth=auth,
                )
            except MetaError as error:
                if error.kind != ErrorKind.TRANSIENT or attempt >= self.max_retries:
                    raise
                attempt += 1
                delay = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
                log.info("retrying %s %s after %s (attempt %d)", method, path, error.kind, attempt)
                time.sleep(delay)

    def _once(
        self, method: str, url: str, path: str, *, params=None, data=None, auth: bool = True
    ) -> Any:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfTime(f"the time limit passed before {path}")
        headers = {"Accept": "application/json"}
        if auth and self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        params = {k: _encode(v) for k, v in (params or {}).items()}
        self.requests_made += 1
        give_up_at = time.monotonic() + self.answer_timeout
        try:
            response = self.session.request(
                method,
                url,
                params=params or None,
                data=data,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            body = _read_capped(response, give_up_at)
        except requests.Timeout:
            raise MetaError(ErrorKind.TRANSIENT, "Meta did not answer in time", path=path) from None
        except requests.RequestException as error:
            raise MetaError(
                ErrorKind.TRANSIENT, f"connection failed ({type(error).__name__})", path=path
            ) from None
        self._read_usage(response)
        return self._parse(response, body, path, breakdown=bool(params.get("breakdown")))

    def _parse(
        self, response: requests.Response, body: bytes, path: str, *, breakdown: bool = False
    ) -> Any:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if 300 <= status < 400:
            raise MetaError(
                ErrorKind.UNKNOWN, f"unexpected redirect ({status})", status=status, path=path
            )
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            kind = (
                "an HTML page"
                if "html" in content_type or body.lstrip()[:1] == b"<"
                else "malformed JSON"
            )
            raise MetaError(
                ErrorKind.TRANSIENT,
                f"Meta answered with {kind} (HTTP {status})",
                status=status,
                path=path,
            ) from None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            raise self._error(payload["error"], status, path, breakdown=breakdown)
        if isinstance(payload, dict) and "error_type" in payload:  # api.instagram.com's shape
            raise MetaError(
                ErrorKind.INVALID_REQUEST,
                _clean_message(str(payload.get("error_message", ""))),
                code=payload.get("code"),
                status=status,
                path=path,
            )
        if status >= 500:
            raise MetaError(ErrorKind.TRANSIENT, f"HTTP {status}", status=status, path=path)
        if status >= 400:
            raise MetaError(ErrorKind.UNKNOWN, f"HTTP {status}", status=status, path=path)
        if payload is None:
            raise MetaError(ErrorKind.TRANSIENT, "empty answer", status=status, path=path)
        return payload

    def _error(self, error: dict, status: int, path: str, *, breakdown: bool = False) -> MetaError:
        kind = classify(error, status, breakdown=breakdown)
        retry_after = None
        if kind == ErrorKind.RATE_LIMITED:
            # Meta's estimate, when its BUC header names one (0 or no header: it named none).
            retry_after = self.usage.regain_seconds or None
        return MetaError(
            kind,
            _clean_message(str(error.get("message", "Meta returned an error"))),
            code=error.get("code"),
            subcode=error.get("error_subcode"),
            status=status,
            path=path,
            retry_after=retry_after,
            fbtrace_id=str(error.get("fbtrace_id", "")),
            user_title=str(error.get("error_user_title", "")),
        )

    def _read_usage(self, response: requests.Response) -> None:
        self._read_usage_headers(response.headers)

    def _read_usage_headers(self, headers) -> None:
        # Case-insensitive mappings (requests' headers); HTTP/2 sends them lower-case.
        for header, attr in (("X-App-Usage", "app"), ("X-Business-Use-Case-Usage", "business")):
            raw = headers.get(header)
            if raw:
                try:
                    setattr(self.usage, attr, json.loads(raw))
                except ValueError:
                    log.warning("unparseable %s header", header)

    # --- Paging and batches -----------------------------------------------------------------

    def paginate(
        self, path: str, params: dict | None = None, *, max_pages: int = MAX_PAGES
    ) -> Iterator[dict]:
        """Every item of a list edge. Stops when `paging.next` is absent (the only reliable end),
        repeats, leaves this host, or after `max_pages`."""
        page = self.get(path, params)
        seen: set[str] = set()
        for _ in range(max_pages):
            yield from page.get("data", [])
            next_url = (page.get("paging") or {}).get("next")
            if not next_url or next_url in seen:
                return
            seen.add(next_url)
            page = self._follow(next_url)
        log.warning("stopped paging %s after %d pages", path, max_pages)

    def _follow(self, next_url: str) -> Any:
        """Follow a paging link, but only to this host; Meta's links may carry the token in the
        query, which is dropped in favour of the header."""
        ours, theirs = urlsplit(self.base), urlsplit(next_url)
        if (theirs.scheme, theirs.netloc) != (
            ours.scheme,
            ours.netloc,
        ) or not theirs.path.startswith(ours.path):
            raise MetaError(ErrorKind.UNKNOWN, "refused a paging link to another host")
        params = {k: v for k, v in parse_qsl(theirs.query) if k != "access_token"}
        path = theirs.path[len(ours.path) :]
        return self._once("GET", f"{ours.scheme}://{ours.netloc}{theirs.path}", path, params=params)

    def batch(self, operations: list[dict]) -> list[Any]:
        """Run up to 50 GETs in one HTTP request (graph.facebook.com). Each operation is
        {"relative_url": "..."}; each result is the decoded body or a MetaError."""
        return list(self.batch_results(operations))

    def batch_results(self, operations: list[dict]) -> Iterator[Any]:
        """`batch`, with each operation's body decoded only when its result is taken. Every
        HTTP request is made (and a failed one raises) here, before the first result; what the
        iterator holds is the answers' raw JSON text, which it lets go as it goes. A round of a
        complete listing (fifty pages of a hundred media) would otherwise be held decoded all at
        once, several times its text (bench/refresh.py's memory figures)."""
        raw: deque[tuple[str, Any]] = deque()
        for start in range(0, len(operations), BATCH_LIMIT):
            chunk = operations[start : start + BATCH_LIMIT]
            batch = [
                {"method": op.get("method", "GET"), "relative_url": op["relative_url"]}
                for op in chunk
            ]
            # Each operation's own headers are kept (Meta's default): the account's BUC usage,
            # and the wait a rate-limited operation names, arrive there, not on the batch.
            answers = self.post("", {"batch": json.dumps(batch)})
            if not isinstance(answers, list) or len(answers) != len(chunk):
                raise MetaError(
                    ErrorKind.TRANSIENT, "batch answer does not match the request", path="batch"
                )
            raw.extend(zip((op["relative_url"] for op in chunk), answers, strict=True))
            del answers
        return self._decoded(raw)

    def _decoded(self, raw: deque[tuple[str, Any]]) -> Iterator[Any]:
        while raw:
            relative_url, answer = raw.popleft()
            yield self._batch_result(relative_url, answer)

    def _batch_result(self, relative_url: str, answer: Any) -> Any:
        path = relative_url.split("?", 1)[0]
        if answer is None:  # Meta: the operation timed out
            return MetaError(ErrorKind.TRANSIENT, "batch operation timed out", path=path)
        status = answer.get("code", 200)
        pairs = answer.get("headers")
        if isinstance(pairs, list):
            self._read_usage_headers(
                requests.structures.CaseInsensitiveDict(
                    {
                        str(h.get("name", "")): str(h.get("value", ""))
                        for h in pairs
                        if isinstance(h, dict)
                    }
                )
            )
        try:
            body = json.loads(answer.get("body") or "null")
        except ValueError:
            return MetaError(ErrorKind.TRANSIENT, "malformed batch body", path=path)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            asked = dict(parse_qsl(relative_url.partition("?")[2]))
            return self._error(body["error"], status, path, breakdown=bool(asked.get("breakdown")))
        return body


def _encode(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _read_capped(response: requests.Response, give_up_at: float) -> bytes:
    """The body, at most MAX_BODY_BYTES, complete before `give_up_at` (time.monotonic()).
    requests' read timeout bounds each socket read, not the whole answer, and `iter_content`
    waits for a full chunk: `read1` hands over whatever has come, so the clock is checked
    after every arrival."""
    chunks, size = [], 0
    try:
        while chunk := response.raw.read1(64 * 1024, decode_content=True):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise requests.exceptions.ContentDecodingError("answer larger than the cap")
            if time.monotonic() > give_up_at:
                raise requests.exceptions.ReadTimeout("the whole answer took too long")
            chunks.append(chunk)
    except (urllib3.exceptions.HTTPError, OSError) as error:  # RequestException is an OSError
        response.close()
        if isinstance(error, requests.RequestException):
            raise
        if isinstance(error, urllib3.exceptions.ReadTimeoutError | TimeoutError):
            raise requests.exceptions.ReadTimeout("Meta stopped answering") from None
        raise requests.exceptions.ConnectionError(type(error).__name__) from None
    return b"".join(chunks)


_session: requests.Session | None = None
_session_lock = threading.Lock()


def _shared_session() -> requests.Session:
    """One session per process, shared by a threads-pool worker's threads (requests' connection
    pool is thread-safe; the session keeps no cookies or state Prism relies on). Created under
    a lock so two threads starting together do not make two."""
    global _session
    with _session_lock:
        if _session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "Prism/1.0"
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _session = session
    return _session
