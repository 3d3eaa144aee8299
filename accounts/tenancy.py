"""Tenant resolution for URLs under /a/<agency_slug>/.

`agency_view` resolves the agency from the URL, checks the user's membership and sets
`request.agency` and `request.membership`. A user who is not a member gets 404, exactly as if the
agency did not exist, so slugs and ids of other agencies cannot be probed. Objects named by id are
fetched only through the `get_<thing>_for_agency` helpers, which filter by the resolved agency:
the team's here, the product's (clients, accounts, ...) in `insights.access`.
"""

from __future__ import annotations

import functools
import logging
import zoneinfo
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import render
from django.utils import timezone

from .mfa import has_mfa, passed_mfa
from .models import Membership, Role

log = logging.getLogger("prism.access")

CURRENT_AGENCY_SESSION_KEY = "current_agency"


def agency_view(min_role: str = Role.VIEWER, *, write_role: str | None = None) -> Callable:
    """Decorate a view taking `agency_slug`.

    `min_role` is needed for any request; `write_role`, when given, for unsafe methods (POST...).
    A member of the agency lacking the role gets 403: they may know the agency exists.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, agency_slug: str, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = (
                Membership.objects.select_related("agency")
                .filter(agency__slug=agency_slug, user=request.user)
                .first()
            )
            if membership is None:
                log.warning(
                    "denied: user=%s is not a member of agency %r", request.user.pk, agency_slug
                )
                raise Http404("No such agency.")
            needed = (
                write_role if write_role and request.method not in ("GET", "HEAD") else min_role
            )
            if not membership.has_role(needed):
                log.warning(
                    "denied: user=%s role=%s needs %s on %s",
                    request.user.pk,
                    membership.role,
                    needed,
                    request.path,
                )
                raise PermissionDenied("Your role in this agency does not allow this.")
            if membership.agency.require_mfa and not passed_mfa(request):
                # The owners require a second factor, used by this very session: set one up,
                # or confirm it, before anything else here.
                return render(
                    request,
                    "accounts/mfa_required.html",
                    {"required_by": membership.agency, "has_mfa": has_mfa(request.user)},
                    status=403,
                )
            request.agency = membership.agency
            request.membership = membership
            if request.session.get(CURRENT_AGENCY_SESSION_KEY) != agency_slug:
                request.session[CURRENT_AGENCY_SESSION_KEY] = agency_slug  # for "/" next time
            # Times on the agency's pages are in the agency's zone (a page about one client
            # narrows it to the client's, and says so).
            with timezone.override(zoneinfo.ZoneInfo(membership.agency.time_zone)):
                return view(request, *args, **kwargs)

        wrapper.agency_min_role = min_role
        return wrapper

    return decorator


def get_membership_for_agency(request: HttpRequest, pk: int) -> Membership:
    membership = (
        Membership.objects.select_related("user").filter(agency=request.agency, pk=pk).first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


def get_invitation_for_agency(request: HttpRequest, pk: int):
    from .models import Invitation

    invitation = Invitation.objects.filter(agency=request.agency, pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation
