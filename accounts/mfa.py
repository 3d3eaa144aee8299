"""Two-factor sign-in (allauth MFA): who has it, whether this session passed it, and agencies
that require it."""

from __future__ import annotations

from django.http import HttpRequest

from .models import User


def has_mfa(user: User) -> bool:
    """True when the person signs in with an authenticator app (TOTP) as a second factor."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def passed_mfa(request: HttpRequest) -> bool:
    """True when this session passed the second factor: signed in with it, confirmed it since
    (allauth's reauthentication), or set the authenticator app up (typing a code from it).
    Having an authenticator is not enough: a session signed in some other way has not used it.
    allauth records each step of a sign-in in the session ("password", "mfa", ...)."""
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def record_setup(request: HttpRequest, user: User, authenticator) -> None:
    """Setting the authenticator app up in this session proves it, as a sign-in with it would."""
    from allauth.account.internal.flows.login import record_authentication

    record_authentication(
        request, user, "mfa", id=authenticator.pk, type=authenticator.type, setup=True
    )
