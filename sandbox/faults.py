"""Injected faults (the control API's `faults`): which fault applies to a request, and what it
does to the answer. Faults act before the resolvers run, so a fault naming an account finds the
account a request is about from its path or token (`presumed_account`), including the owner of a
media id in the synthetic world.
"""

from __future__ import annotations

import random
import re
import time

from django.db.models import F
from django.http import HttpResponse

from . import world
from .core import GraphError, SandboxRequest, forget_tokens, memoized, token_string, usage_headers
from .models import Fault, InstagramAccount, Token


def matching_fault(req: SandboxRequest) -> Fault | None:
    """The first fault that applies to this request, consuming one of its N uses."""
    account = None  # looked up once, and only if a fault names an account
    # Listed once per request; a use is still handed out by a conditional UPDATE below.
    for fault in memoized(("faults",), lambda: list(Fault.objects.order_by("pk"))):
        if fault.host and fault.host != req.host:
            continue
        if fault.path_regex and not re.search(fault.path_regex, "/" + req.path):
            continue
        if any(req.params.get(k) != str(v) for k, v in fault.query.items()):
            continue
        if fault.account:
            account = presumed_account(req) if account is None else account
            if fault.account not in (account, *req.path.split("/")):
                continue
        if fault.probability < 1 and random.random() >= fault.probability:  # noqa: S311
            continue
        if fault.remaining is not None:
            # Conditional UPDATE: with concurrent requests each use is handed out once.
            used = Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(
                remaining=F("remaining") - 1
            )
            Fault.objects.filter(pk=fault.pk, remaining__lte=0).delete()
            if not used:
                continue
        return fault
    return None


def presumed_account(req: SandboxRequest) -> str:
    """The IG account a request is about, before the resolvers run (faults act first):
    /<ig-user-id>/…, /<media-id>/… of an account, or /me… with an Instagram-Login token."""
    if req.account_id:
        return req.account_id
    first = req.path.split("/")[0]
    if first == "me":
        raw = token_string(req.http, req.params)
        token = (
            Token.objects.filter(token=raw).select_related("ig_account").first() if raw else None
        )
        return token.ig_account.ig_user_id if token and token.ig_account else ""
    if not first.isdigit():
        return ""
    if InstagramAccount.objects.filter(ig_user_id=first).exists():
        return first
    item = world.get_media(first)
    return item.account.ig_user_id if item else ""


def fault_response_before(fault: Fault, req: SandboxRequest) -> HttpResponse | None:
    """Faults that replace the answer. Latency delays it; body faults act afterwards."""
    kind, p = fault.kind, fault.params
    if kind == Fault.Kind.LATENCY:
        time.sleep(float(p.get("seconds", 1.0)))
        return None
    if kind == Fault.Kind.TIMEOUT:
        time.sleep(float(p.get("seconds", 30.0)))
        return HttpResponse(status=504)
    if kind == Fault.Kind.SERVER_ERROR:
        status = int(p.get("status", 500))
        return GraphError(
            p.get("message", "An unexpected error has occurred. Please retry your request later."),
            int(p.get("code", 2)),
            status=status,
            is_transient=True,
        ).response()
    if kind == Fault.Kind.HTML:
        status = int(p.get("status", 502))
        return HttpResponse(
            "<!DOCTYPE html><html><head><title>Error</title></head><body>"
            "<h1>Sorry, something went wrong.</h1><p>We're working on getting "
            "this fixed as soon as we can.</p></body></html>",
            status=status,
            content_type="text/html; charset=utf-8",
        )
    if kind == Fault.Kind.RATE_LIMIT:
        code = int(p.get("code", 80002))
        messages = {
            4: "(#4) Application request limit reached",
            17: "(#17) User request limit reached",
            32: "(#32) Page request limit reached",
            613: "(#613) Calls to this api have exceeded the rate limit.",
            80002: "(#80002) There have been too many calls to this Instagram account. Wait a "
            "bit and try again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        }
        minutes = int(p.get("minutes", 15))
        req.account_id = presumed_account(req)  # the BUC header is keyed by the account
        headers = usage_headers(req, force_percent=100, regain_minutes=minutes)
        return GraphError(
            messages.get(code, messages[80002]), code, is_transient=code in (4, 17), headers=headers
        ).response()
    if kind == Fault.Kind.GRAPH_ERROR:
        e = p.get("error", {})
        return GraphError(
            e.get("message", "An unknown error occurred"),
            int(e.get("code", 1)),
            type=e.get("type", "OAuthException"),
            subcode=e.get("error_subcode"),
            status=int(p.get("status", 400)),
            is_transient=bool(e.get("is_transient", False)),
        ).response()
    if kind == Fault.Kind.REVOKE_TOKEN:
        raw = token_string(req.http, req.params)
        forget_tokens()
        Token.objects.filter(token=raw).update(revoked_subcode=int(p.get("subcode", 467)))
        if fault.account:  # revoke every token of the account, as a password change would
            Token.objects.filter(ig_account__ig_user_id=fault.account).update(
                revoked_subcode=int(p.get("subcode", 460))
            )
            Token.objects.filter(page__ig_account__ig_user_id=fault.account).update(
                revoked_subcode=int(p.get("subcode", 460))
            )
        return None
    return None


def fault_response_after(fault: Fault, response: HttpResponse) -> HttpResponse:
    if fault.kind == Fault.Kind.MALFORMED:
        response.content = b'{"data": [{"id": "1784", "name": reach, }'
    elif fault.kind == Fault.Kind.TRUNCATED:
        response.content = response.content[: max(1, len(response.content) // 2)]
    return response
