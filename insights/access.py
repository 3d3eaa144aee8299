"""Agency-scoped lookups of the product's objects, for views under `agency_view`.

Each helper filters by the resolved agency (and by the member's client limits) and answers 404
for anything else, never 403, so ids of other agencies cannot be probed.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest

from .models import Client, InstagramAccount

log = logging.getLogger("prism.access")


def visible_clients(request: HttpRequest):
    """The agency's clients this member may see (all of them unless limited)."""
    qs = Client.objects.filter(agency=request.agency)
    if request.membership.is_limited:
        qs = qs.filter(pk__in=request.membership.clients.values("pk"))
    return qs


def get_client_for_agency(
    request: HttpRequest, pk: int, *, include_archived: bool = True
) -> Client:
    """The client `pk` of the current agency, or 404 (also for clients the member may not see)."""
    qs = visible_clients(request)
    if not include_archived:
        qs = qs.filter(archived_at=None)
    client = qs.filter(pk=pk).first()
    if client is None:
        log.warning("denied: user=%s client=%s agency=%s", request.user.pk, pk, request.agency.pk)
        raise Http404("No such client.")
    return client


def get_ig_account_for_agency(request: HttpRequest, pk: int) -> InstagramAccount:
    """A connected Instagram account of a client this member may see, or 404."""
    account = (
        InstagramAccount.objects.select_related("client")
        .filter(pk=pk, agency=request.agency, client__in=visible_clients(request))
        .first()
    )
    if account is None:
        log.warning("denied: user=%s account=%s agency=%s", request.user.pk, pk, request.agency.pk)
        raise Http404("No such account.")
    return account
