from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from . import audit
from .forms import (
    AcceptInvitationSignupForm,
    AgencyFieldsMixin,
    AgencyForm,
    InvitationForm,
    MembershipForm,
    ProfileForm,
)
from .mfa import has_mfa
from .models import ROLE_HELP, Invitation, Membership, Role, User
from .services import (
    TeamError,
    accept_invitation,
    create_agency,
    decline_invitation,
    invite,
    remove_member,
    resend_invitation,
    revoke_invitation,
)
from .tenancy import (
    CURRENT_AGENCY_SESSION_KEY,
    agency_view,
    get_invitation_for_agency,
    get_membership_for_agency,
)


def home(request: HttpRequest) -> HttpResponse:
    """Landing page for visitors; members go straight to their current agency."""
    if not request.user.is_authenticated:
        return render(request, "accounts/landing.html")
    memberships = Membership.objects.filter(user=request.user).select_related("agency")
    current = request.session.get(CURRENT_AGENCY_SESSION_KEY)
    chosen = next((m for m in memberships if m.agency.slug == current), None) or memberships.first()
    if chosen is None:
        return redirect("agency_create")
    return redirect("agency_dashboard", agency_slug=chosen.agency.slug)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's login page, in place of Django's own password form: everyone signs in through
    allauth's, where the second factor and the failed-login throttles apply. `next` is kept."""
    target = request.GET.get("next") or request.POST.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return redirect(target)
        # Signed in, not staff: sending them to the login page again would loop.
        raise PermissionDenied("The admin is for staff only.")
    return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your name is saved.")
        return redirect("profile")
    return render(
        request, "accounts/profile.html", {"form": form, "has_mfa": has_mfa(request.user)}
    )


@login_required
def agency_create(request: HttpRequest) -> HttpResponse:
    form = AgencyFieldsMixin(request.POST or None)
    if request.method == "POST" and form.is_valid():
        agency = create_agency(
            owner=request.user,
            name=form.cleaned_data["agency_name"],
            time_zone=form.cleaned_data["time_zone"],
        )
        messages.success(request, f"{agency.name} is ready. Add your first client.")
        return redirect("agency_dashboard", agency_slug=agency.slug)
    return render(request, "accounts/agency_create.html", {"form": form})


@agency_view(Role.ADMIN, write_role=Role.OWNER)
def agency_settings(request: HttpRequest) -> HttpResponse:
    was_required = request.agency.require_mfa
    form = AgencyForm(request.POST or None, instance=request.agency, actor=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        if form.instance.require_mfa != was_required:
            kind = (
                audit.Kind.MFA_REQUIRED
                if form.instance.require_mfa
                else audit.Kind.MFA_NOT_REQUIRED
            )
            audit.record(request.agency, kind, actor=request.user)
        messages.success(request, "Agency settings saved.")
        return redirect("agency_settings", agency_slug=request.agency.slug)
    return render(request, "accounts/agency_settings.html", {"form": form})


@agency_view(Role.ADMIN)
def members(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST or None, agency=request.agency, actor=request.membership)
    if request.method == "POST" and form.is_valid():
        invitation = invite(
            agency=request.agency,
            invited_by=request.user,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            limited_to_clients=form.cleaned_data["limited_to_clients"],
            clients=form.cleaned_data["clients"],
        )
        # The same words whether or not the address has a Prism account.
        messages.success(request, f"Invitation sent to {invitation.email}.")
        return redirect("members", agency_slug=request.agency.slug)
    team = (
        Membership.objects.filter(agency=request.agency)
        .select_related("user")
        .prefetch_related("clients")
        .order_by("user__email")
    )
    pending = request.agency.invitations.pending().order_by("-created_at")
    return render(
        request,
        "accounts/members.html",
        {
            "form": form,
            "team": team,
            "pending": pending,
            "role_help": ROLE_HELP.items(),
        },
    )


@agency_view(Role.OWNER)
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_membership_for_agency(request, pk)
    before = membership.role  # the form writes the new role into the instance as it validates
    form = MembershipForm(
        request.POST or None,
        instance=membership,
        agency=request.agency,
        actor=request.membership,
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        if form.has_changed():
            limit = " (some clients)" if membership.is_limited else ""
            audit.record(
                request.agency,
                audit.Kind.ROLE_CHANGED,
                actor=request.user,
                subject=f"{membership.user.get_full_name()}: {before} → {membership.role}{limit}",
            )
        messages.success(
            request,
            f"{membership.user.get_full_name()} is now {membership.get_role_display().lower()}.",
        )
        return redirect("members", agency_slug=request.agency.slug)
    return render(request, "accounts/member_edit.html", {"form": form, "member": membership})


@agency_view(Role.OWNER)
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_membership_for_agency(request, pk)
    if membership.user_id == request.user.pk:
        return leave_agency(request, membership)
    try:
        remove_member(membership, actor=request.user)
    except TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{membership.user.get_full_name()} no longer has access.")
    return redirect("members", agency_slug=request.agency.slug)


@agency_view(Role.VIEWER)
@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    return leave_agency(request, request.membership)


def leave_agency(request: HttpRequest, membership: Membership) -> HttpResponse:
    try:
        remove_member(membership, actor=request.user)
    except TeamError as error:
        messages.error(request, str(error))
        return redirect("agency_dashboard", agency_slug=request.agency.slug)
    request.session.pop(CURRENT_AGENCY_SESSION_KEY, None)
    messages.success(request, f"You left {request.agency.name}.")
    return redirect("home")


@agency_view(Role.ADMIN)
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_invitation_for_agency(request, pk)
    if revoke_invitation(invitation, actor=request.user):
        messages.success(request, f"The invitation for {invitation.email} is revoked.")
    return redirect("members", agency_slug=request.agency.slug)


@agency_view(Role.ADMIN)
@require_POST
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_invitation_for_agency(request, pk)
    if resend_invitation(invitation, actor=request.user):
        messages.success(
            request, f"Invitation sent again to {invitation.email}; the earlier link stops working."
        )
    else:
        messages.error(request, "This invitation is no longer pending.")
    return redirect("members", agency_slug=request.agency.slug)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation email, for new people, existing users and logged-in users."""
    invitation = Invitation.find(token)
    if invitation is None or invitation.state != "pending":
        state = invitation.state if invitation else "unknown"
        return render(
            request,
            "accounts/invitation_invalid.html",
            {"state": state},
            status=404 if state == "unknown" else 410,
        )

    existing = User.objects.filter(email__iexact=invitation.email).first()
    if request.user.is_authenticated:
        if request.user.email.lower() != invitation.email.lower():
            return render(
                request,
                "accounts/invitation_wrong_user.html",
                {"invitation": invitation},
                status=403,
            )
        if request.method == "POST" and request.POST.get("action") == "decline":
            decline_invitation(invitation, user=request.user)
            messages.info(request, f"You declined the invitation to {invitation.agency.name}.")
            return redirect("home")
        if request.method == "POST":
            return _accept_and_go(request, invitation, request.user)
        return render(request, "accounts/invitation_accept.html", {"invitation": invitation})

    if existing is not None:
        # They have an account: log in first, then come back to this page to accept.
        messages.info(request, "Log in to accept the invitation.")
        return redirect(f"{reverse('account_login')}?next={request.path}")

    form = AcceptInvitationSignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = User.objects.create_user(
                email=invitation.email,
                password=form.cleaned_data["password1"],
                name=form.cleaned_data["name"].strip(),
            )
            # The invitation link proves the address: record it as verified for allauth.
            from allauth.account.models import EmailAddress

            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return _accept_and_go(request, invitation, user)
    return render(
        request, "accounts/invitation_signup.html", {"invitation": invitation, "form": form}
    )


def _accept_and_go(request: HttpRequest, invitation: Invitation, user: User) -> HttpResponse:
    try:
        membership = accept_invitation(invitation, user)
    except TeamError as error:
        messages.error(request, str(error))
        return redirect("home")
    messages.success(request, f"Welcome to {membership.agency.name}.")
    return redirect("agency_dashboard", agency_slug=membership.agency.slug)


@agency_view(Role.ADMIN)
def activity(request: HttpRequest) -> HttpResponse:
    """The agency's audit trail, newest first, for owners and admins."""
    events = request.agency.audit_events.select_related("actor")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/activity.html", {"page": page})
