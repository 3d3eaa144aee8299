"""The demo a first `make run` shows: an agency, its clients and their sandbox accounts, connected
through the real connect code (tokens the sandbox issues, profiles and Pages read from the
sandbox over HTTP, `upsert_account`), so the worker backfills them like any other account.

Local only: it refuses to run unless the sandbox stands in for Meta.
"""

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Agency, User
from accounts.services import create_agency

from .connections import oauth as connect
from .meta import oauth
from .models import Client, LoginPath

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@prism.local"
# A fixed, published password: the demo exists only with the sandbox on, on the developer's machine.
DEMO_PASSWORD = "prism-demo-2026"  # noqa: S105
DEMO_AGENCY = "Northstar Social"


@dataclass(frozen=True)
class DemoClient:
    name: str
    time_zone: str
    ig_user_id: str  # a seeded sandbox account (sandbox/seed.py)
    login_path: str


DEMO_CLIENTS = [
    DemoClient("Ava's Bakery", "America/New_York", "17841400000000101", LoginPath.INSTAGRAM),
    DemoClient("Marco Travels", "Europe/Berlin", "17841400000000103", LoginPath.FACEBOOK),
    DemoClient("Oak & Ivy Interiors", "America/Chicago", "17841400000000106", LoginPath.INSTAGRAM),
    DemoClient("Harbor Dental", "America/Los_Angeles", "17841400000000107", LoginPath.FACEBOOK),
]


class DemoError(Exception):
    pass


@dataclass
class DemoResult:
    created: bool
    agency: Agency
    accounts: int


def demo_agency() -> Agency | None:
    return Agency.objects.filter(memberships__user__email=DEMO_EMAIL).first()


def seed_demo() -> DemoResult | None:
    """Create the demo on an empty database. A database that already has an agency is left as
    it is (None, or the existing demo)."""
    if not settings.SANDBOX_ENABLED:
        raise DemoError("The demo needs the sandbox (SANDBOX_ENABLED); it never runs against Meta.")
    existing = demo_agency()
    if existing is not None:
        return DemoResult(created=False, agency=existing, accounts=existing.ig_accounts.count())
    if Agency.objects.exists():
        return None  # someone's real data: not ours to add to
    with transaction.atomic():
        user = User.objects.create_user(email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo Owner")
        EmailAddress.objects.create(user=user, email=DEMO_EMAIL, verified=True, primary=True)
        agency = create_agency(owner=user, name=DEMO_AGENCY, time_zone="America/New_York")
        clients = [
            (Client.objects.create(agency=agency, name=c.name, time_zone=c.time_zone), c)
            for c in DEMO_CLIENTS
        ]
    connected = 0
    with sandbox_reachable():
        for client, spec in clients:
            connect_sandbox_account(client, spec, user)
            connected += 1
    return DemoResult(created=True, agency=agency, accounts=connected)


def _control_url(path: str) -> str:
    base = settings.META_HOSTS["graph.facebook.com"].rsplit("/", 1)[0]  # .../_sandbox
    return f"{base}/control/{path}"


def connect_sandbox_account(client: Client, spec: DemoClient, user: User):
    """What the OAuth round trip ends with, minus the dialogs: the sandbox issues a long-lived
    token for its seeded account, Prism reads the profile (Instagram Login) or the Pages
    (Facebook Login) with it, and upserts the account."""
    answer = requests.post(
        _control_url(f"accounts/{spec.ig_user_id}/tokens"),
        json={"login": spec.login_path},
        timeout=30,
    )
    if answer.status_code != 201:
        raise DemoError(f"the sandbox refused a token for {spec.name}: {answer.text[:200]}")
    issued = answer.json()
    token = issued["access_token"]
    now = timezone.now()
    if spec.login_path == LoginPath.INSTAGRAM:
        profile = oauth.instagram_profile(token)
        expires_in = issued.get("expires_in")
        return connect.upsert_account(
            client=client,
            ig_user_id=str(profile.get("user_id") or spec.ig_user_id),
            login_path=LoginPath.INSTAGRAM,
            username=profile.get("username", ""),
            name=profile.get("name", ""),
            account_type=str(profile.get("account_type", "")).upper(),
            token=token,
            token_expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
            meta_user_id=str(profile.get("id", "")),
            granted_scopes=list(oauth.INSTAGRAM_SCOPES),
            user=user,
            picture_url=profile.get("profile_picture_url", ""),
        )
    from .meta.client import MetaClient

    me = MetaClient("graph.facebook.com", token).get("me", {"fields": "id"})
    accounts, _bare_pages = oauth.facebook_pages(token)
    [candidate] = [a for a in accounts if a["ig_user_id"] == spec.ig_user_id]
    return connect.upsert_account(
        client=client,
        ig_user_id=candidate["ig_user_id"],
        login_path=LoginPath.FACEBOOK,
        username=candidate["username"],
        name=candidate["name"],
        token=candidate["page_token"],
        token_expires_at=None,
        data_access_expires_at=now + timedelta(days=oauth.FACEBOOK_DATA_ACCESS_DAYS),
        meta_user_id=str(me.get("id", "")),
        granted_scopes=list(oauth.FACEBOOK_SCOPES),
        user=user,
        page_id=candidate["page_id"],
        picture_url=candidate.get("profile_picture_url", ""),
    )


@contextmanager
def sandbox_reachable() -> Iterator[None]:
    """The sandbox is served by Prism itself under SITE_URL. Before `make run` starts the web
    server nobody answers there, so serve the app on that address for the length of the seeding
    (threaded: the sandbox's answers and Prism's calls share the process)."""
    parts = urlsplit(settings.META_HOSTS["graph.facebook.com"])
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if _listening(host, port):
        yield  # a server is already up (seed_demo run beside `make run`)
        return
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer((host, port), QuietHandler, allow_reuse_address=True)
    server.set_app(sandbox_only(WSGIHandler()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        # Meta's client keeps connections alive; close them so no handler thread outlives us.
        from .meta.client import _shared_session

        _shared_session().close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


SANDBOX_PREFIX = "/_sandbox/"
STARTING = b"Prism is starting: the demo is being prepared. This page answers in a minute.\n"


def sandbox_only(app):
    """The seeding's temporary server answers the sandbox's paths only: on the public port,
    the app itself (sign-up, /healthz) would look ready and vanish when the seeding ends."""

    def guarded(environ, start_response):
        if environ.get("PATH_INFO", "").startswith(SANDBOX_PREFIX):
            return app(environ, start_response)
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "30")],
        )
        return [STARTING]

    return guarded


def _listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0
