"""The agency's brand around the pages a client viewer sees.

Someone at a client (a member with the client role and no other role anywhere) sees the agency
that shares reports with them on every page they reach, their profile and password pages
included: the agency's name and logo in the top bar, its footer, and nothing of the tool's own
(no "+ New agency", no tool name in the title).
"""

from __future__ import annotations

from accounts.models import Role

from .reports.branding import branding_for


def client_brand(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = getattr(request, "membership", None)
    memberships = getattr(request, "_prism_memberships", None)
    if memberships is None:  # accounts.context_processors.agency runs first and fills it
        return {}
    if current is not None:
        client_only = current.role == Role.CLIENT
        agency = current.agency
    else:
        client_only = bool(memberships) and all(m.role == Role.CLIENT for m in memberships)
        agency = memberships[0].agency if client_only else None
    if not client_only:
        return {}
    return {"client_brand": branding_for(agency)}
