import time

from django.conf import settings
from django.contrib.auth import logout
from django.utils.cache import add_never_cache_headers

_STARTED = "_auth_started_at"
_SEEN = "_auth_last_seen"


class SessionTimeoutMiddleware:
    """End authenticated sessions after SESSION_IDLE_TIMEOUT of inactivity or
    SESSION_ABSOLUTE_TIMEOUT after login, whichever comes first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(_STARTED)
            seen = request.session.get(_SEEN, now)
            if started is None:
                request.session[_STARTED] = started = now
            if (
                now - seen > settings.SESSION_IDLE_TIMEOUT
                or now - started > settings.SESSION_ABSOLUTE_TIMEOUT
            ):
                logout(request)
            elif now - seen > 30 or _SEEN not in request.session:
                # Written at most every 30 s, so a page of requests costs one session save.
                request.session[_SEEN] = now
        return self.get_response(request)


class PrivatePagesMiddleware:
    """Pages shown to a signed-in person, and everything under an agency's URLs, are never
    stored by browsers or proxies (a shared computer's back button, a caching proxy). A
    response that set its own Cache-Control (thumbnails, the brand stylesheet) keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and (
            request.path.startswith("/a/") or request.user.is_authenticated
        ):
            add_never_cache_headers(response)
        return response


class RequestSizeLimitMiddleware:
    """Refuse bodies over MAX_REQUEST_BYTES with a clear page, before anything reads them.
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE leaves out file parts, so without this a stray 10 MB
    file field in any form would be written to disk and ignored. Meta's callbacks answer size
    errors themselves (in JSON), and the sandbox emulates Meta's own limits."""

    EXEMPT = ("/meta/", "/_sandbox/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BYTES and not request.path.startswith(self.EXEMPT):
            from django.shortcuts import render

            return render(
                request,
                "413.html",
                {"limit_mb": settings.MAX_REQUEST_BYTES // (1024 * 1024)},
                status=413,
            )
        return self.get_response(request)
