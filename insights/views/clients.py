"""The agency's dashboard and its clients."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import agency_view
from accounts.text import clean_name

from ..access import get_client_for_agency, get_ig_account_for_agency, visible_clients
from ..forms import ClientForm
from ..images import private_image_response
from ..meta import oauth
from ..models import InstagramAccount


@agency_view(Role.CLIENT)
def dashboard(request: HttpRequest) -> HttpResponse:
    if request.membership.role == Role.CLIENT:
        # Client viewers land here after login and invitations: their reports, nothing else.
        return redirect("client_portal", agency_slug=request.agency.slug)
    clients = visible_clients(request).active()
    attention = (
        InstagramAccount.objects.needing_attention()
        .filter(agency=request.agency, client__in=clients)
        .select_related("client")
        .order_by("health_changed_at")
    )
    return render(
        request,
        "insights/dashboard.html",
        {
            "clients": clients.prefetch_related("ig_accounts")[:12],
            "client_count": clients.count(),
            "attention": attention[:10],
        },
    )


@agency_view(Role.VIEWER)
def client_list(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    query = clean_name(request.GET.get("q", ""))[:120]
    clients = visible_clients(request)
    clients = clients.exclude(archived_at=None) if show_archived else clients.active()
    if query:
        clients = clients.filter(name__icontains=query)
    accounts = InstagramAccount.objects.only(
        "pk", "client_id", "username", "health", "disconnected_at"
    ).order_by("disconnected_at", "username")
    return render(
        request,
        "insights/client_list.html",
        {
            "clients": clients.prefetch_related(Prefetch("ig_accounts", queryset=accounts)),
            "query": query,
            "show_archived": show_archived,
            "archived_count": visible_clients(request).exclude(archived_at=None).count(),
        },
    )


@agency_view(Role.MEMBER)
def client_create(request: HttpRequest) -> HttpResponse:
    form = ClientForm(
        request.POST or None, request.FILES or None, initial={"time_zone": request.agency.time_zone}
    )
    if request.method == "POST" and form.is_valid():
        client = form.save(commit=False)
        client.agency = request.agency
        client.save()
        if request.membership.is_limited:
            # A limited member who adds a client can see it.
            request.membership.clients.add(client)
        messages.success(request, f"{client.name} added.")
        return redirect("client_detail", agency_slug=request.agency.slug, pk=client.pk)
    return render(request, "insights/client_form.html", {"form": form})


@agency_view(Role.VIEWER)
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk)
    return render(
        request,
        "insights/client_detail.html",
        {
            "client": client,
            "accounts": client.ig_accounts.order_by("disconnected_at", "username"),
            "login_paths": oauth.enabled_paths(),
        },
    )


@agency_view(Role.MEMBER)
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk)
    form = ClientForm(request.POST or None, request.FILES or None, instance=client)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Changes saved.")
        return redirect("client_detail", agency_slug=request.agency.slug, pk=client.pk)
    return render(request, "insights/client_form.html", {"form": form, "client": client})


@agency_view(Role.MEMBER)
@require_POST
def client_archive(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk)
    if client.is_archived:
        client.restore()
        messages.success(request, f"{client.name} is active again.")
    else:
        client.archive()
        messages.success(request, f"{client.name} is archived. Its history is kept.")
    return redirect("client_detail", agency_slug=request.agency.slug, pk=client.pk)


@agency_view(Role.VIEWER)
def client_logo(request: HttpRequest, pk: int) -> HttpResponse:
    return _private_image(get_client_for_agency(request, pk).logo)


@agency_view(Role.VIEWER)
def account_picture(request: HttpRequest, pk: int) -> HttpResponse:
    return _private_image(get_ig_account_for_agency(request, pk).profile_picture)


def _private_image(field) -> HttpResponse:
    return private_image_response(field)
