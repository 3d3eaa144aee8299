"""The one view behind every emulated host: /_sandbox/<host>/<path>."""

from __future__ import annotations

import contextlib
import json
import time

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

# Handler modules register their routes on import.
from . import core, faults, graph, oauth, world_settings  # noqa: F401,E402


def graph_json(data, status: int = 200) -> HttpResponse:
    # Meta escapes "/" and non-ASCII in its JSON; clients must cope, so the sandbox does it too.
    body = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
    return HttpResponse(body, status=status, content_type="application/json; charset=UTF-8")


@csrf_exempt
def host_view(request: HttpRequest, host: str, path: str = "") -> HttpResponse:
    if host not in core.HOSTS:
        raise Http404("The sandbox does not emulate this host.")
    # One instant and one read of the world settings per request (and its batch operations).
    with core.frozen_clock(), world_settings.shared():
        return answer(request, host, path)


def answer(request: HttpRequest, host: str, path: str) -> HttpResponse:
    path = path.strip("/")
    version = None
    match = core.VERSION_RE.match(path)
    if match:
        version, path = match.group(0).strip("/"), path[match.end() :].strip("/")
    req = core.SandboxRequest(
        http=request, host=host, path=path, version=version, params=core.collect_params(request)
    )
    api = host in core.GRAPH_HOSTS or host == "api.instagram.com"
    latency = world_settings.get("latency_ms") if api else 0
    if latency:
        time.sleep(latency / 1000)
    fault = faults.matching_fault(req) if api else None
    response = faults.fault_response_before(fault, req) if fault else None
    if response is None:
        try:
            result = core.dispatch(req)
            response = result if isinstance(result, HttpResponse) else graph_json(result)
        except core.GraphError as error:
            response = error.response()
        except core.PlainError as error:
            response = graph_json(error.body, error.status)
    if host in core.GRAPH_HOSTS and response.status_code != 504:
        for name, value in core.usage_headers(req).items():
            response.setdefault(name, value)
        response.setdefault("x-fb-trace-id", core.fbtrace_id())
        # The version that served the call (an expired one: the oldest available); a version
        # Meta never had was served by none.
        with contextlib.suppress(core.GraphError):
            response.setdefault("facebook-api-version", req.served_version)
    if fault:
        response = faults.fault_response_after(fault, response)
    core.log_call(req, response.status_code)
    return response
