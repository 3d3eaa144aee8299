from .models import Membership


def agency(request):
    """The current agency (when the URL names one) and the user's agencies for the switcher."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    memberships = getattr(request, "_prism_memberships", None)
    if memberships is None:
        memberships = list(
            Membership.objects.filter(user=request.user)
            .select_related("agency")
            .order_by("agency__name")
        )
        request._prism_memberships = memberships
    return {
        "current_agency": getattr(request, "agency", None),
        "current_membership": getattr(request, "membership", None),
        "my_memberships": memberships,
    }
