"""The agency's portfolio: every client on one screen (insights.reports.portfolio)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.tenancy import agency_view

from ..access import visible_clients
from ..reports.portfolio import DAYS, build_portfolio, late_or_failed


@agency_view(Role.VIEWER)
def portfolio(request: HttpRequest) -> HttpResponse:
    rows = build_portfolio(visible_clients(request).active().order_by("name", "pk"))
    return render(
        request,
        "reports/portfolio.html",
        {"rows": rows, "failed": late_or_failed(rows), "days": DAYS},
    )
