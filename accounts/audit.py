"""The agency's audit trail: one call per event, from the service that made the change."""

from __future__ import annotations

import logging

from .models import Agency, AuditEvent, User

log = logging.getLogger("prism.audit")
Kind = AuditEvent.Kind


def record(
    agency: Agency | int,
    kind: str,
    *,
    actor: User | None = None,
    actor_label: str = "",
    subject: str = "",
) -> AuditEvent:
    """Record `kind` for the agency. `actor_label` names non-people (a client through a
    reconnect link, Meta) and defaults to the actor's name and email."""
    if not actor_label:
        actor_label = f"{actor.get_full_name()} ({actor.email})" if actor else "Prism"
    agency_id = agency if isinstance(agency, int) else agency.pk
    event = AuditEvent.objects.create(
        agency_id=agency_id,
        actor=actor,
        actor_label=actor_label[:200],
        kind=kind,
        subject=subject[:300],
    )
    log.info("audit agency=%s kind=%s actor=%s", agency_id, kind, actor.pk if actor else "-")
    return event
