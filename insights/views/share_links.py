"""Share & schedule, the agency's page for one client's outside readers: share links (made
and revoked here), scheduled emails and sent reports (insights.views.schedules), client logins
(insights.views.client_viewers). Thin shells over insights.reports.sharing."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import agency_view

from ..access import get_client_for_agency, visible_clients
from ..delivery_forms import ClientViewerForm, ShareLinkForm
from ..models import ShareLink
from ..reports import branding as brand
from ..reports import delivery, sharing, viewers

REPEATED_FORM = (
    "This form was already sent, and the link it made has since been revoked or has expired. "
    "Use the form below for a new link."
)


def _links_for(client):
    return (
        client.share_links.annotate(view_count=Count("views"), last_view=Max("views__viewed_at"))
        .select_related("created_by")
        .order_by("-created_at")
    )


def delivery_page(request: HttpRequest, client, **extra) -> HttpResponse:
    """The Share & schedule page; `extra` carries a form with its errors, or a new link."""
    deliveries = list(delivery.deliveries_for(client)[:30])
    for sent in deliveries:
        sent.error_summary = delivery.error_summary(sent.error) if sent.error else ""
    context = {
        "client": client,
        # Viewers read the page; the addresses of recipients and client logins are for those
        # who send and invite (members and up).
        "show_addresses": request.membership.has_role(Role.MEMBER),
        "branding": brand.branding_for(request.agency),
        "links": _links_for(client)[:50],
        "link_form": extra.pop("link_form", None) or ShareLinkForm(),
        "schedules": client.report_schedules.order_by("pk"),
        "deliveries": deliveries,
        "viewers": viewers.client_viewers(request.agency, client),
        "viewer_invitations": viewers.pending_invitations(request.agency, client),
        "viewer_form": extra.pop("viewer_form", None) or ClientViewerForm(agency=request.agency),
        "now": timezone.now(),
        **extra,
    }
    # The page says "dates in <the client's zone>": every time on it is in that zone (schedules'
    # next send, the delivery log, links' last views).
    with timezone.override(delivery.zone_of(client)):
        return render(request, "reports/client_delivery.html", context)


@agency_view(Role.VIEWER, write_role=Role.MEMBER)
def client_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """Share links, scheduled emails, delivery log and client viewers for one client; a POST
    makes a share link."""
    client = get_client_for_agency(request, pk)
    if request.method == "POST":
        form = ShareLinkForm(request.POST)
        if not form.is_valid():
            return delivery_page(request, client, link_form=form, open_form=True)
        data = form.cleaned_data
        custom = data["range"] == "custom"
        new = sharing.create_share_link(
            client=client,
            created_by=request.user,
            lifetime_days=data["lifetime_days"],
            preset="" if custom else data["range"],
            start=data["start"] if custom else None,
            end=data["end"] if custom else None,
            compare=data["compare"],
            password=data["password"],
            label=data["label"],
            form_key=data["form_key"],
        )
        if new.link.state != "live":  # the form sent again after its link was revoked
            messages.error(request, REPEATED_FORM)
            return delivery_page(request, client, open_form=True)
        # Shown in this response only: the token is not stored anywhere we could read (the same
        # form sent again derives it again, see sharing.create_share_link).
        response = delivery_page(request, client, new_link=new)
        response["Cache-Control"] = "no-store"
        return response
    return delivery_page(request, client)


def _get_link(request: HttpRequest, pk: int) -> ShareLink:
    link = ShareLink.objects.filter(
        pk=pk, agency=request.agency, client__in=visible_clients(request)
    ).first()
    if link is None:
        raise Http404("No such link.")
    return link


@agency_view(Role.MEMBER)
@require_POST
def share_link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = _get_link(request, pk)
    sharing.revoke(link)
    messages.success(request, "The link is revoked: it no longer opens the report.")
    return redirect("client_delivery", agency_slug=request.agency.slug, pk=link.client_id)
