"""Freshness and control of an account's refresh: the status fragment the account row polls
while a backfill runs, and a throttled "Refresh now"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import agency_view

from ..access import get_ig_account_for_agency
from ..refresh import schedule
from ..refresh.freshness import status


@never_cache
@agency_view(Role.VIEWER)
def account_refresh_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The fragment htmx swaps in; it stops polling by rendering without hx-trigger."""
    account = get_ig_account_for_agency(request, pk)
    return render(request, "insights/_account_refresh.html", status(account))


@agency_view(Role.MEMBER)
@require_POST
def account_refresh_now(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_ig_account_for_agency(request, pk)
    if schedule.request_refresh(account):
        messages.info(request, f"@{account.username} will be refreshed within a minute.")
    else:
        messages.info(
            request,
            f"@{account.username} was refreshed or asked for very recently, or is waiting for "
            "Meta or a reconnect; it refreshes on its own schedule.",
        )
    return redirect("client_detail", agency_slug=request.agency.slug, pk=account.client_id)
