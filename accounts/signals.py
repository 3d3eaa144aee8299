import hashlib
import logging
import time

from allauth.mfa.signals import authenticator_added
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

log = logging.getLogger("prism.auth")


def _ip(request) -> str:
    from config.clientip import client_ip

    return (client_ip(request) or "-") if request is not None else "-"


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session["_auth_started_at"] = request.session["_auth_last_seen"] = time.time()
    log.info("login ok user=%s ip=%s", user.pk, _ip(request))


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    log.info("logout user=%s ip=%s", getattr(user, "pk", None), _ip(request))


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    # The attempted address is hashed: failed logins must not put typed credentials in logs.
    who = str(credentials.get("email") or credentials.get("username") or "").lower()
    digest = hashlib.sha256(who.encode()).hexdigest()[:12]
    log.warning("login failed account=%s ip=%s", digest, _ip(request))


@receiver(authenticator_added)
def on_authenticator_added(sender, request=None, user=None, authenticator=None, **kwargs):
    from allauth.mfa.models import Authenticator

    from .mfa import record_setup

    if request is not None and getattr(authenticator, "type", None) == Authenticator.Type.TOTP:
        record_setup(request, user, authenticator)
