"""Client logins: inviting people at a client to read its reports, and removing them. Thin
shells over insights.reports.viewers."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import agency_view

from ..access import get_client_for_agency
from ..delivery_forms import ClientViewerForm
from ..reports import viewers
from .share_links import delivery_page


@agency_view(Role.ADMIN)
@require_POST
def client_viewer_invite(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for_agency(request, pk, include_archived=False)
    form = ClientViewerForm(request.POST, agency=request.agency)
    if not form.is_valid():
        return delivery_page(request, client, viewer_form=form)
    email = form.cleaned_data["email"]
    viewers.invite_viewer(
        agency=request.agency, client=client, email=email, invited_by=request.user
    )
    messages.success(request, f"{email} is invited to read {client.name}'s reports.")
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=client.pk)


@agency_view(Role.ADMIN)
@require_POST
def client_viewer_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = viewers.find_viewer(request.agency, pk)
    if membership is None:
        raise Http404("No such client viewer.")
    client = viewers.remove_viewer(membership, actor=request.user)
    messages.success(request, f"{membership.user.email} no longer has access.")
    if client is None:
        return redirect("client_list", agency_slug=request.agency.slug)
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=client.pk)
