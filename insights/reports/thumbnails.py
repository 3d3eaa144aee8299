"""Thumbnails outside the agency's own pages (a share link, the client portal): addressed by an
unguessable reference, and served only when the report there can show them.

A reference is the media's id signed (HMAC under SECRET_KEY) for one place, a share link or an
agency's portal, so ids cannot be walked and a reference made for one link opens nothing
through another (the portal also checks the person may see the media's client). A share link
serves only media published in the period it shows today, the only ones its report can show.
"""

from __future__ import annotations

from django.core import signing

from ..models import Media
from .periods import period_bounds
from .request import ReportRequest


def _signer(scope: str) -> signing.Signer:
    return signing.Signer(salt=f"prism.media.{scope}", sep=".", algorithm="sha256")


def reference(scope: str, media_pk: int) -> str:
    return _signer(scope).sign(str(media_pk))


def media_pk(scope: str, ref: str) -> int | None:
    """The media id a reference was made for in `scope`, or None for anything else."""
    if not ref or len(ref) > 100:
        return None
    try:
        value = _signer(scope).unsign(ref)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def share_scope(link_pk: int) -> str:
    return f"share:{link_pk}"


def portal_scope(agency_pk: int) -> str:
    return f"portal:{agency_pk}"


def shown_media(asked: ReportRequest, scope: str, ref: str) -> Media | None:
    """The thumbnail `ref` names, when it is of the report's client and published in its period
    (what its report can show), or None."""
    pk = media_pk(scope, ref)
    if pk is None:
        return None
    since, until = period_bounds(asked.period, asked.zone)
    return (
        Media.objects.filter(
            pk=pk, account__client_id=asked.client.pk, timestamp__gte=since, timestamp__lt=until
        )
        .exclude(thumbnail="")
        .first()
    )
