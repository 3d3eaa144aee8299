"""Share links: one client's report opened without a login.

The raw token is 256 bits from `secrets.token_urlsafe(32)`, shown to the agency once and never
stored (only its SHA-256). Unknown, revoked and expired tokens are answered identically (404),
so nothing tells a visitor which of the three a token is. Passwords use Django's hasher, and
wrong guesses are throttled per link and per visitor.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ..models import PRESET_LABELS, Client, ShareLink, ShareLinkView, hash_share_token

NEVER = 0  # lifetime_days: the link lives until it is revoked
LIFETIME_CHOICES = [
    (7, "7 days"),
    (30, "30 days"),
    (90, "90 days"),
    (365, "1 year"),
    (NEVER, "Never (until revoked)"),
]
DEFAULT_LIFETIME_DAYS = 30
# Wrong passwords: this many per visitor and per link within the window, then 429.
PASSWORD_TRIES_PER_VISITOR = 5
PASSWORD_TRIES_PER_LINK = 30
PASSWORD_WINDOW_SECONDS = 15 * 60
_UNLOCKED_SESSION_KEY = "share_unlocked"
# Unknown tokens from one visitor before every shared URL answers 429 for a while. 256-bit
# tokens cannot be guessed anyway; this keeps scanners from hammering the database.
MISSES_PER_VISITOR = 30
MISS_WINDOW_SECONDS = 10 * 60
PDFS_PER_LINK = 20
PDF_WINDOW_SECONDS = 10 * 60

PRESETS = PRESET_LABELS


@dataclass(frozen=True)
class NewLink:
    link: ShareLink
    url: str  # the only place the raw token exists
    created: bool = True  # False: the same form was sent again, this is the link it made


def create_share_link(
    *,
    client: Client,
    created_by=None,
    lifetime_days: int = DEFAULT_LIFETIME_DAYS,
    preset: str = "",
    start: date | None = None,
    end: date | None = None,
    compare: str = "previous",
    password: str = "",
    label: str = "",
    form_key: str = "",
) -> NewLink:
    """A new link to `client`'s report, either for a preset range (evaluated when opened) or a
    fixed `start`..`end` (inclusive).

    `form_key` (the random key of the form that asks for the link) makes this idempotent: the
    same form sent again, with the same choices, by a double click or a reload of the POST,
    answers with the link it made the first time (`created` False) instead of a second one."""
    if not preset and (start is None or end is None):
        raise ValueError("A share link needs a preset or a fixed range.")
    if preset and preset not in PRESETS:
        raise ValueError(f"Unknown range {preset!r}.")
    start, end = (None, None) if preset else (start, end)
    label = label.strip()
    if form_key:
        choices = [preset, start, end, compare, password, label, lifetime_days]
        raw = _form_token(client, created_by, form_key, choices)
    else:
        raw = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():  # a savepoint: the request's transaction goes on
            link = ShareLink.objects.create(
                agency_id=client.agency_id,
                client=client,
                token_hash=hash_share_token(raw),
                label=label,
                preset=preset,
                start=start,
                end=end,
                compare=compare,
                password_hash=make_password(password) if password else "",
                created_by=created_by,
                expires_at=timezone.now() + timedelta(days=lifetime_days)
                if lifetime_days != NEVER
                else None,
            )
    except IntegrityError:
        # The same form again (or its twin racing it): token_hash is unique, so this is the one.
        made = ShareLink.objects.filter(client=client, token_hash=hash_share_token(raw)).first()
        if made is None or not form_key:
            raise
        return NewLink(link=made, url=share_url(raw), created=False)
    return NewLink(link=link, url=share_url(raw))


def _form_token(client: Client, user, form_key: str, choices: list) -> str:
    """The raw token a form submission stands for: an HMAC (under SECRET_KEY) of the form's
    256-bit random key, who sent it, for which client, and what was chosen. As unguessable as
    token_urlsafe(32) without SECRET_KEY *and* the form key (which only that user's page held),
    and re-derivable, so a repeat can show the same URL although only its hash is stored."""
    value = json.dumps(
        [client.agency_id, client.pk, getattr(user, "pk", None), form_key, *choices], default=str
    )
    digest = salted_hmac("prism.share.form", value, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def share_url(raw_token: str) -> str:
    return settings.SITE_URL + reverse("shared_report", args=[raw_token])


def find_live_link(raw_token: str) -> ShareLink | None:
    """The live link for `raw_token`, or None for an unknown, revoked or expired one alike."""
    if not raw_token or len(raw_token) > 100:
        return None
    return (
        ShareLink.objects.live()
        .select_related("client", "agency")
        .filter(token_hash=hash_share_token(raw_token), client__archived_at=None)
        .first()
    )


def too_many_misses(request: HttpRequest) -> bool:
    return cache.get(_miss_key(request), 0) >= MISSES_PER_VISITOR


def count_miss(request: HttpRequest) -> None:
    _bump(_miss_key(request), MISS_WINDOW_SECONDS)


def _miss_key(request: HttpRequest) -> str:
    return f"share-miss:{visitor_hash(request)[:32]}"


def _bump(key: str, seconds: int) -> None:
    # add() then incr(): the counter's window starts at the first failure.
    cache.add(key, 0, seconds)
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, seconds)


def revoke(link: ShareLink) -> None:
    # Conditional: revoking twice keeps the first time.
    ShareLink.objects.filter(pk=link.pk, revoked_at=None).update(revoked_at=timezone.now())


def visitor_hash(request: HttpRequest) -> str:
    """The visitor's IP (behind the proxies: config/clientip.py) as a keyed hash (HMAC under
    SECRET_KEY): IPv4 is small enough that a plain hash could be reversed by trying every
    address."""
    from config.clientip import client_ip

    ip = client_ip(request)
    return salted_hmac("prism.share.visitor", ip, algorithm="sha256").hexdigest()


def record_view(link: ShareLink, request: HttpRequest, kind: str = "page") -> ShareLinkView:
    return ShareLinkView.objects.create(
        link=link,
        ip_hash=visitor_hash(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        kind=kind,
    )


def is_unlocked(link: ShareLink, request: HttpRequest) -> bool:
    if not link.has_password:
        return True
    unlocked = request.session.get(_UNLOCKED_SESSION_KEY, {})
    # Bound to the password's hash: changing the password locks earlier visitors out again.
    return unlocked.get(str(link.pk)) == _password_fingerprint(link)


def password_throttled(link: ShareLink, request: HttpRequest) -> bool:
    visitor, overall = _throttle_keys(link, request)
    return (
        cache.get(visitor, 0) >= PASSWORD_TRIES_PER_VISITOR
        or cache.get(overall, 0) >= PASSWORD_TRIES_PER_LINK
    )


def try_password(link: ShareLink, request: HttpRequest, password: str) -> bool:
    """Check a password typed on the shared page; on success the browser session is unlocked
    for this link. Callers check `password_throttled` first."""
    if check_password(password, link.password_hash):
        request.session.cycle_key()
        unlocked = dict(request.session.get(_UNLOCKED_SESSION_KEY, {}))
        unlocked[str(link.pk)] = _password_fingerprint(link)
        request.session[_UNLOCKED_SESSION_KEY] = unlocked
        return True
    for key in _throttle_keys(link, request):
        _bump(key, PASSWORD_WINDOW_SECONDS)
    return False


def _throttle_keys(link: ShareLink, request: HttpRequest) -> tuple[str, str]:
    return (
        f"share-pw:{link.pk}:{visitor_hash(request)[:32]}",
        f"share-pw:{link.pk}",
    )


def _password_fingerprint(link: ShareLink) -> str:
    return salted_hmac("prism.share.unlocked", link.password_hash).hexdigest()[:32]


def report_for_link(link: ShareLink):
    """The Report a link shows today: its client only, its range, its comparison."""
    from .build import build_report
    from .request import for_share_link

    return build_report(for_share_link(link))


def shared_report_context(link: ShareLink, token: str, branding) -> dict:
    """What the shared page renders: the same report body the agency sees (reports/_report.html),
    with thumbnails addressed through the link itself (nothing else of the agency's is reachable
    from a share session)."""
    from .page import report_context
    from .thumbnails import reference, share_scope

    def media_src(_name: str, media_pk: int) -> str:
        return reverse("shared_media", args=[token, reference(share_scope(link.pk), media_pk)])

    context = report_context(
        report_for_link(link), branding=branding, media_src=media_src, mode="shared"
    )
    context["pdf_url"] = reverse("shared_report_pdf", args=[token])
    return context


def pdf_throttled(link: ShareLink) -> bool:
    """A PDF costs the server about a second: a link's holders get PDFS_PER_LINK of them per
    PDF_WINDOW_SECONDS, so a leaked link cannot be used to keep the server busy."""
    return cache.get(f"share-pdf:{link.pk}", 0) >= PDFS_PER_LINK


def count_pdf(link: ShareLink) -> None:
    _bump(f"share-pdf:{link.pk}", PDF_WINDOW_SECONDS)


def media_for_link(link: ShareLink, ref: str):
    """A post or story thumbnail the link's report shows today (its client, its period), named
    by a reference made for this link (reports.thumbnails), or None."""
    from .request import for_share_link
    from .thumbnails import share_scope, shown_media

    return shown_media(for_share_link(link), share_scope(link.pk), ref)
