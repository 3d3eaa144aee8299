"""The access matrix: every URL pattern, walked from the resolver, against every persona.

A URL pattern that is in neither TENANT_URLS nor PUBLIC_URLS fails the test, so a new view is
covered without anyone remembering. For agency A's objects:
- members of agency B get 404 (never 403: ids must not be probed), also under B's own slug;
- a viewer limited to other clients gets 404 for those clients' objects;
- anonymous visitors are sent to the login page;
- inside agency A, roles below a view's minimum get 403, the others get in;
- no 200 page shown to A's people contains B's sentinel strings, and no refused request changes
  anything in the database.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Agency, Invitation, Membership, Role
from insights.models import (
    AgencyBranding,
    Client,
    InstagramAccount,
    Media,
    PendingConnection,
    ReconnectLink,
    ReportDelivery,
    ReportNote,
    ReportSchedule,
    ReportSettings,
    ShareLink,
)
from insights.reports import sharing

from .factories import InstagramAccountFactory, UserFactory, far_future

pytestmark = pytest.mark.django_db

# name -> what the URL names, the role it needs, and the methods it answers.
#   obj: None (agency-level), "client", "membership", "invitation"
TENANT_URLS = {
    # Client viewers are sent on to their own reports (client_portal).
    "agency_dashboard": dict(obj=None, role=Role.CLIENT, methods=("GET",), client_redirect=True),
    "agency_settings": dict(
        obj=None, role=Role.ADMIN, write_role=Role.OWNER, methods=("GET", "POST")
    ),
    "agency_leave": dict(obj=None, role=Role.VIEWER, methods=("POST",)),
    "members": dict(obj=None, role=Role.ADMIN, methods=("GET", "POST")),
    "activity": dict(obj=None, role=Role.ADMIN, methods=("GET",)),
    "member_edit": dict(obj="membership", role=Role.OWNER, methods=("GET", "POST")),
    "member_remove": dict(obj="membership", role=Role.OWNER, methods=("POST",)),
    "invitation_revoke": dict(obj="invitation", role=Role.ADMIN, methods=("POST",)),
    "invitation_resend": dict(obj="invitation", role=Role.ADMIN, methods=("POST",)),
    "client_list": dict(obj=None, role=Role.VIEWER, methods=("GET",)),
    "client_create": dict(obj=None, role=Role.MEMBER, methods=("GET", "POST")),
    "client_detail": dict(obj="client", role=Role.VIEWER, methods=("GET",)),
    "client_edit": dict(obj="client", role=Role.MEMBER, methods=("GET", "POST")),
    "client_archive": dict(obj="client", role=Role.MEMBER, methods=("POST",)),
    "client_logo": dict(obj="client", role=Role.VIEWER, methods=("GET",)),
    "attention": dict(obj=None, role=Role.VIEWER, methods=("GET",)),
    "connect_start": dict(
        obj="client", role=Role.MEMBER, methods=("POST",), extra={"login_path": "instagram"}
    ),
    # Bound to the browser session that made it: everyone else gets 404 (tests/test_connect).
    "connect_pick": dict(
        obj="pending", role=Role.MEMBER, methods=("GET", "POST"), session_bound=True
    ),
    "account_check": dict(obj="account", role=Role.MEMBER, methods=("POST",)),
    "account_reconnect": dict(obj="account", role=Role.MEMBER, methods=("POST",)),
    "account_reconnect_link": dict(obj="account", role=Role.MEMBER, methods=("GET", "POST")),
    "account_reconnect_link_email": dict(obj="account", role=Role.MEMBER, methods=("POST",)),
    "account_reconnect_link_revoke": dict(
        obj="account", role=Role.MEMBER, methods=("POST",), extra_obj={"link_pk": "link"}
    ),
    "account_disconnect": dict(obj="account", role=Role.MEMBER, methods=("GET", "POST")),
    "account_picture": dict(obj="account", role=Role.VIEWER, methods=("GET",)),
    "account_refresh_status": dict(obj="account", role=Role.VIEWER, methods=("GET",)),
    "account_refresh_now": dict(obj="account", role=Role.MEMBER, methods=("POST",)),
    "client_report": dict(obj="client", role=Role.VIEWER, methods=("GET",)),
    "client_report_pdf": dict(obj="client", role=Role.VIEWER, methods=("GET",)),
    "client_report_csv": dict(obj="client", role=Role.VIEWER, methods=("GET",)),
    "client_report_posts_csv": dict(obj="client", role=Role.VIEWER, methods=("GET",)),
    "client_report_xlsx": dict(obj="client", role=Role.VIEWER, methods=("GET",)),
    "client_report_settings": dict(obj="client", role=Role.MEMBER, methods=("GET", "POST")),
    "report_note_add": dict(obj="client", role=Role.MEMBER, methods=("POST",)),
    "report_note_delete": dict(obj="note", role=Role.MEMBER, methods=("POST",)),
    "report_media_thumbnail": dict(obj="media", role=Role.VIEWER, methods=("GET",)),
    # Sharing and delivery
    "branding_settings": dict(obj=None, role=Role.ADMIN, methods=("GET", "POST")),
    "client_delivery": dict(
        obj="client", role=Role.VIEWER, write_role=Role.MEMBER, methods=("GET", "POST")
    ),
    "share_link_revoke": dict(obj="share_link", role=Role.MEMBER, methods=("POST",)),
    "schedule_create": dict(obj="client", role=Role.MEMBER, methods=("GET", "POST")),
    "schedule_edit": dict(obj="schedule", role=Role.MEMBER, methods=("GET", "POST")),
    "schedule_delete": dict(obj="schedule", role=Role.MEMBER, methods=("POST",)),
    "schedule_send_now": dict(obj="schedule", role=Role.MEMBER, methods=("POST",)),
    "delivery_pdf": dict(obj="delivery", role=Role.VIEWER, methods=("GET",)),
    "delivery_resend": dict(obj="delivery", role=Role.MEMBER, methods=("POST",)),
    "client_viewer_invite": dict(obj="client", role=Role.ADMIN, methods=("POST",)),
    "client_viewer_remove": dict(obj="client_viewer", role=Role.ADMIN, methods=("POST",)),
    "portfolio": dict(obj=None, role=Role.VIEWER, methods=("GET",)),
    # A client viewer's own pages; the team may open them too (to see what the client sees).
    "client_portal": dict(obj=None, role=Role.CLIENT, methods=("GET",), client_redirect=True),
    "portal_report": dict(obj="client", role=Role.CLIENT, methods=("GET",)),
    # By an unguessable reference, not the id (insights/reports/thumbnails.py).
    "portal_media": dict(obj="media", role=Role.CLIENT, methods=("GET",), by_ref=True),
    "portal_report_pdf": dict(obj="client", role=Role.CLIENT, methods=("GET",)),
}

# Patterns outside any agency, with the reason they are safe to leave out of the matrix.
PUBLIC_URLS = {
    "home": "landing page, or a redirect to the user's own agency",
    "agency_create": "creates a new agency owned by the caller",
    "profile": "the signed-in person's own name; login required (tests/test_profile_and_team)",
    "invitation_accept": "authorised by a 256-bit single-use token (tests/test_signup_and_team)",
    "healthz": "infrastructure status, no tenant data",
    "favicon": "a redirect to a static file",
    "oauth_callback": "Meta's redirect; authorised by the single-use, session-bound state "
    "(tests/test_connect)",
    "connect_failed": "shows the failure this browser session's own callback stored; names a "
    "client only to a member who may see it (tests/test_security_round3)",
    "reconnect_link": "authorised by a single-use, expiring 256-bit link for one account "
    "(tests/test_connect)",
    "reconnect_done": "names only the account this browser session just reconnected",
    "meta_deauthorize": "authorised by Meta's signed_request (tests/test_meta_callbacks)",
    "meta_data_deletion": "authorised by Meta's signed_request (tests/test_meta_callbacks)",
    "deletion_status": "public by Meta's rules; names only a random confirmation code",
    "meta_webhook": "Meta's webhooks: the handshake needs the verify token, notifications an "
    "X-Hub-Signature-256 over the raw body (tests/test_story_webhook)",
    "shared_report": "authorised by a 256-bit share token naming one client's report; unknown, "
    "revoked and expired tokens all answer 404 (tests/test_sharing)",
    "shared_media": "a thumbnail the share link's report shows (its client, its period), by a "
    "reference signed for that link (tests/test_sharing, tests/test_security_round3)",
    "shared_report_pdf": "the share link's own report as PDF, same token check and 404 as the "
    "page, locked links send to the password page (tests/test_sharing)",
    "brand_stylesheet": "two colours of an agency's white label, named by a random id",
    "brand_logo": "an agency's public logo (shown to its clients), named by a random id",
}
# Whole subtrees served by well-tested libraries or by the Meta emulator (not tenant data).
PUBLIC_PREFIXES = ("accounts/", "admin/", "_sandbox/")

PERSONAS = (
    "a_owner",
    "a_admin",
    "a_member",
    "a_viewer",
    "a_limited",
    "a_client",
    "b_owner",
    "b_member",
    None,
)
# Limited to Apex Bikes (a2): agency A's objects below belong to Acme Coffee (a1).
LIMITED = ("a_limited", "a_client")
ROLE_OF = {
    "a_owner": Role.OWNER,
    "a_admin": Role.ADMIN,
    "a_member": Role.MEMBER,
    "a_viewer": Role.VIEWER,
    "a_limited": Role.VIEWER,
    "a_client": Role.CLIENT,
}


def walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def all_patterns() -> list[tuple[str, str | None]]:
    return [
        (route, name)
        for route, name in walk(get_resolver())
        if not route.startswith(PUBLIC_PREFIXES)
    ]


def fingerprint() -> tuple:
    """Everything a refused request might have changed."""
    return (
        list(Agency.objects.order_by("pk").values_list("pk", "name", "time_zone")),
        list(Client.objects.order_by("pk").values_list("pk", "name", "archived_at", "notes")),
        list(Membership.objects.order_by("pk").values_list("pk", "role", "limited_to_clients")),
        list(Invitation.objects.order_by("pk").values_list("pk", "revoked_at", "accepted_at")),
        list(
            InstagramAccount.objects.order_by("pk").values_list(
                "pk", "token_ciphertext", "health", "disconnected_at"
            )
        ),
        list(PendingConnection.objects.order_by("pk").values_list("pk")),
        list(ReconnectLink.objects.order_by("pk").values_list("pk", "revoked_at", "used_at")),
        list(ReportNote.objects.order_by("pk").values_list("pk", "text", "day")),
        list(
            ReportSettings.objects.order_by("pk").values_list(
                "pk", "engagement_formula", "default_range"
            )
        ),
        list(ShareLink.objects.order_by("pk").values_list("pk", "revoked_at")),
        list(ReportSchedule.objects.order_by("pk").values_list("pk", "next_send_at", "active")),
        list(ReportDelivery.objects.order_by("pk").values_list("pk", "status")),
        list(AgencyBranding.objects.order_by("pk").values_list("pk", "primary_colour")),
    )


def build_url(name: str, spec: dict, world, objects: dict, agency_slug: str = "alpha") -> str:
    from django.urls import reverse

    kwargs = {"agency_slug": agency_slug, **spec.get("extra", {})}
    if spec["obj"] and spec.get("by_ref"):
        from insights.reports.thumbnails import portal_scope, reference

        kwargs["ref"] = reference(portal_scope(world.a.pk), objects[spec["obj"]].pk)
    elif spec["obj"]:
        kwargs["pk"] = objects[spec["obj"]].pk
    for kwarg, obj in spec.get("extra_obj", {}).items():
        kwargs[kwarg] = objects[obj].pk
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def objects(world, settings, tmp_path):

    from accounts.services import invite

    settings.MEDIA_ROOT = tmp_path
    world.clients["a1"].logo.save("logo.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    invitation = invite(
        agency=world.a,
        invited_by=world.users["a_owner"],
        email="pending@example.com",
        role=Role.MEMBER,
    )
    # A's objects a limited viewer (who sees only Apex Bikes) must not reach.
    account = InstagramAccountFactory(agency=world.a, client=world.clients["a1"])
    account.profile_picture.save("p.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    pending = PendingConnection.objects.create(
        agency=world.a,
        client=world.clients["a1"],
        user=world.users["a_owner"],
        session_hash="-",
        token_ciphertext="-",
        meta_user_id="1",
        expires_at=far_future(),
    )
    link, _raw = ReconnectLink.issue(account=account, created_by=None, lifetime=timedelta(days=1))
    note = ReportNote.objects.create(
        agency=world.a, client=world.clients["a1"], day=far_future().date(), text="Launch"
    )
    media = Media.objects.create(
        account=account, media_id="1790000000001", product_type="FEED", timestamp=far_future()
    )
    media.thumbnail.save("t.jpg", ContentFile(b"\xff\xd8\xff\xe0"), save=True)
    share_link = sharing.create_share_link(
        client=world.clients["a1"], preset="last_28", created_by=world.users["a_owner"]
    ).link
    schedule = ReportSchedule.objects.create(
        agency=world.a, client=world.clients["a1"], recipients=["client@example.com"]
    )
    sent = ReportDelivery.objects.create(
        agency=world.a,
        client=world.clients["a1"],
        schedule=schedule,
        period_start=date(2026, 11, 2),
        period_end=date(2026, 11, 8),
        recipients=["client@example.com"],
        status="sent",
        pdf_sha256="-",
    )
    sent.pdf.save("report.pdf", ContentFile(b"%PDF-1.7 test"), save=True)
    viewer = Membership.objects.create(
        agency=world.a,
        user=UserFactory(email="someone@acme.example"),
        role=Role.CLIENT,
        limited_to_clients=True,
    )
    viewer.clients.set([world.clients["a1"]])
    return {
        "link": link,
        "client": world.clients["a1"],
        "membership": world.memberships["a_member"],
        "invitation": invitation,
        "account": account,
        "pending": pending,
        "note": note,
        "share_link": share_link,
        "schedule": schedule,
        "delivery": sent,
        "client_viewer": viewer,
        "media": media,
    }


def test_every_url_pattern_is_in_the_matrix():
    unknown = [
        (route, name)
        for route, name in all_patterns()
        if name not in TENANT_URLS and name not in PUBLIC_URLS
    ]
    assert not unknown, f"URL patterns missing from the access matrix: {unknown}"
    for route, name in all_patterns():
        if name in TENANT_URLS:
            assert route.startswith("a/<slug:agency_slug>/"), f"{name} is not under /a/<slug>/"


def test_access_matrix(world, objects, capsys):
    checked = leaks = 0
    problems = []
    for name, spec in TENANT_URLS.items():
        for persona in PERSONAS:
            for method in ("GET", "POST"):
                url = build_url(name, spec, world, objects)
                http = world.client_for(persona)
                before = fingerprint()
                response = getattr(http, method.lower())(url)
                status = response.status_code
                body = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                )
                checked += 1
                expected = expected_status(persona, spec, method)
                if status not in expected:
                    problems.append(f"{persona} {method} {url}: {status}, expected {expected}")
                refused = status in (403, 404, 405) or not (persona or "").startswith("a_")
                if refused and fingerprint() != before:
                    problems.append(f"{persona} {method} {url} changed data ({status})")
                if status == 200 and b"ZZ-TENANT-B" in body:
                    leaks += 1
                    problems.append(f"{persona} {method} {url} shows agency B's data")
                if status == 200 and persona in LIMITED and b"Acme Coffee" in body:
                    leaks += 1
                    problems.append(f"{persona} {method} {url} shows a client outside its limit")
                if fingerprint() != before:
                    reset_world(world, objects)
        # B's people asking for A's objects under B's own slug: refused, and refused exactly as
        # for an id that does not exist (a 403 or 405 decided before any lookup is fine).
        if spec["obj"]:
            for persona in ("b_owner", "b_member"):
                url = build_url(name, spec, world, objects, agency_slug="bravo")
                missing = url.replace(f"/{objects[spec['obj']].pk}/", "/987654/")
                for method in ("GET", "POST"):
                    checked += 1
                    http = world.client_for(persona)
                    status = getattr(http, method.lower())(url).status_code
                    probe = getattr(http, method.lower())(missing).status_code
                    if status not in (403, 404, 405) or status != probe:
                        problems.append(
                            f"{persona} {method} {url}: {status} (missing id: "
                            f"{probe}), expected a refusal equal to the missing id's"
                        )
    with capsys.disabled():
        print(
            f"\naccess matrix: {len(TENANT_URLS)} tenant URLs × {len(PERSONAS)} personas × "
            f"2 methods (+ cross-slug) = {checked} requests checked, {leaks} leaks, "
            f"{len(problems)} problems"
        )
    assert not problems, "\n".join(problems)


def expected_status(persona: str | None, spec: dict, method: str) -> set[int]:
    if persona is None:
        return {302}
    if persona.startswith("b_"):
        return {404}
    needed = spec.get("write_role", spec["role"]) if method == "POST" else spec["role"]
    if not world_role_allows(persona, needed):
        return {403}  # decided from the role alone, before any object is looked up
    if persona in LIMITED and spec["obj"] in (
        "client",
        "account",
        "pending",
        "share_link",
        "schedule",
        "delivery",
        "note",
        "media",
    ):
        return {404}
    if spec.get("session_bound"):
        return {404}
    if persona == "a_client" and spec.get("client_redirect"):
        return {302}
    if method not in spec["methods"]:
        return {405, 200}  # 200: a read-only page that ignores the POST (and changes nothing)
    return {200, 302}


def world_role_allows(persona: str, needed: str) -> bool:
    from accounts.models import ROLE_RANK

    return ROLE_RANK[ROLE_OF[persona]] >= ROLE_RANK[Role(needed)]


def reset_world(world, objects) -> None:
    """A permitted POST by agency A's own people may change things; put them back."""
    note = objects["note"]
    ReportNote.objects.update_or_create(
        pk=note.pk,
        defaults={"agency": note.agency, "client": note.client, "day": note.day, "text": note.text},
    )
    ReportNote.objects.exclude(pk=note.pk).delete()
    ReportSettings.objects.all().delete()
    for persona, membership in world.memberships.items():
        Membership.objects.update_or_create(
            pk=membership.pk,
            defaults={
                "agency": membership.agency,
                "user": membership.user,
                "role": ROLE_OF.get(persona, membership.role),
                "limited_to_clients": persona in LIMITED,
            },
        )
    Client.objects.filter(agency=world.a).update(archived_at=None)
    ShareLink.objects.update(revoked_at=None)
    for name in ("schedule", "client_viewer"):
        if not type(objects[name]).objects.filter(pk=objects[name].pk).exists():
            objects[name].save(force_insert=True)  # deleted by a permitted POST: put it back
    objects["client_viewer"].clients.set([world.clients["a1"]])
    ReportDelivery.objects.exclude(pk=objects["delivery"].pk).delete()
