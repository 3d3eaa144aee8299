"""Two-factor sign-in (allauth MFA): who has it, and agencies that require it."""

from __future__ import annotations

from .models import User


def has_mfa(user: User) -> bool:
    """True when the person signs in with an authenticator app (TOTP) as a second factor."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
