"""The shared two-agency world and helpers every test can use."""

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import time_machine
from django.test import Client as HttpClient

from accounts.models import Role

from .factories import AgencyFactory, ClientFactory, MembershipFactory, UserFactory
from .instants import DEFAULT_INSTANT, instant

CLOCK_HOOK = Path(__file__).parent / "clockhook"


# Every test belongs to one tier, by where it lives (pyproject's markers say what each means):
# `-m pipeline`, `-m "not procs"` and so on select them. Under pytest-xdist each worker has its
# own broker (tests/plugin.py); a file of real-process tests stays on one worker (it shares a
# sandbox server), and the longest tiers are handed out first.
TIERS = {
    "e2e": "e2e",
    "reliability": "procs",
    "refresh": "pipeline",
    "sandbox": "contract",
}
# Tiers and files whose meaning depends on the database engine (claims and leases, upserts,
# transactions, SQL functions such as dates in a time zone, migrations): CI runs them on
# PostgreSQL as well as SQLite.
ON_POSTGRES = {"procs", "pipeline"}
ON_POSTGRES_FILES = {
    "test_reports.py",
    "test_report_history.py",
    "test_report_reconciliation.py",
    "test_report_charts.py",
    "test_portfolio.py",
    "test_schedules.py",
    "test_delivery.py",
    "test_sharing.py",
    "test_story_webhook.py",
    "test_tokens_at_rest.py",
    "test_connection_lifecycle.py",
    "test_connect.py",
    "test_broker.py",
    "test_access_matrix.py",
}
# What depends on the hour: .ci/run also runs these with every process's clock shifted to
# trap instants (a Pacific midnight, a daylight-saving change).
TIMING_FILES = {
    "test_schedules.py",
    "test_delivery.py",
    "test_meta_client.py",
    "test_production.py",
    "test_report_history.py",
    "test_reports.py",
    "test_story_webhook.py",
    "test_connection_lifecycle.py",
}
PROCESS_FILES = {"test_production.py", "test_production_apps.py", "test_make_run.py"}


FIRST = ("procs", "e2e", "pipeline")  # the slowest tiers start first: the run ends sooner


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: _first(TIERS.get(Path(str(item.fspath)).parent.name, "app")))
    for item in items:
        path = Path(str(item.fspath))
        folder = path.parent.name
        tier = TIERS.get(folder, "app")
        item.add_marker(getattr(pytest.mark, tier))
        if tier in ON_POSTGRES or path.name in ON_POSTGRES_FILES:
            item.add_marker(pytest.mark.postgres)
        if tier in ("pipeline", "procs") or path.name in TIMING_FILES:
            item.add_marker(pytest.mark.timing)
        if tier == "procs" or path.name in PROCESS_FILES:
            item.add_marker(pytest.mark.xdist_group(path.stem))


def _first(tier: str) -> int:
    return FIRST.index(tier) if tier in FIRST else len(FIRST)


@pytest.fixture(autouse=True)
def clock(request, monkeypatch):
    """Prism's clock, the sandbox's (unless a test moves it) and every process the test starts
    stand at a named instant (tests/instants.py) and tick from there: the world under test is
    the same whatever the day and hour. `@pytest.mark.at(name)` picks another instant (and
    PRISM_TEST_INSTANT another default),
    `@pytest.mark.real_clock` keeps the real one. Yields the time_machine traveller."""
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    marker = request.node.get_closest_marker("at")
    name = getattr(request, "param", None) or (marker.args[0] if marker else DEFAULT_INSTANT)
    moment = instant(name)
    epoch = time.time()
    monkeypatch.setenv("PRISM_TEST_CLOCK", f"{moment.isoformat()}@{epoch!r}")
    paths = [str(CLOCK_HOOK), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    with time_machine.travel(moment, tick=True) as traveller:
        time.time()  # time_machine starts ticking at the first reading: from `epoch`, as children
        yield traveller


@dataclass
class World:
    """Agency A (the one under test) and agency B (the outsider), healthchecks style."""

    a: object = None
    b: object = None
    users: dict = field(default_factory=dict)
    memberships: dict = field(default_factory=dict)
    clients: dict = field(default_factory=dict)

    def client_for(self, persona: str | None) -> HttpClient:
        http = HttpClient()
        if persona:
            http.force_login(self.users[persona])
        return http


@pytest.fixture
def world(db) -> World:
    w = World()
    w.a = AgencyFactory(name="Alpha Agency", slug="alpha")
    w.b = AgencyFactory(name="ZZ-TENANT-B Bravo", slug="bravo")
    w.clients["a1"] = ClientFactory(agency=w.a, name="Acme Coffee")
    w.clients["a2"] = ClientFactory(agency=w.a, name="Apex Bikes")
    w.clients["b1"] = ClientFactory(agency=w.b, name="ZZ-TENANT-B Client")
    for persona, agency, role in [
        ("a_owner", w.a, Role.OWNER),
        ("a_admin", w.a, Role.ADMIN),
        ("a_member", w.a, Role.MEMBER),
        ("a_viewer", w.a, Role.VIEWER),
        ("a_limited", w.a, Role.VIEWER),
        ("a_client", w.a, Role.CLIENT),
        ("b_owner", w.b, Role.OWNER),
        ("b_member", w.b, Role.MEMBER),
    ]:
        user = UserFactory(email=f"{persona}@example.com", name=persona.replace("_", " ").title())
        w.users[persona] = user
        w.memberships[persona] = MembershipFactory(agency=agency, user=user, role=role)
    # a_limited sees only Apex Bikes.
    limited = w.memberships["a_limited"]
    limited.limited_to_clients = True
    limited.save()
    limited.clients.set([w.clients["a2"]])
    # a_client is someone at Apex Bikes: a client viewer of that one client.
    client_viewer = w.memberships["a_client"]
    client_viewer.limited_to_clients = True
    client_viewer.save()
    client_viewer.clients.set([w.clients["a2"]])
    return w


@pytest.fixture
def as_owner(world) -> HttpClient:
    return world.client_for("a_owner")


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production keeps Django's PBKDF2 (see test_security); tests need not pay for it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Retries still happen in tests, without the waiting.
    settings.META_RETRY_BACKOFF = 0


@pytest.fixture(autouse=True, scope="session")
def _tasks_sent_in_tests_stay_in_memory():
    """Tasks enqueued by views under test go to an in-memory broker, not to var/ or Redis
    (/healthz still checks the configured broker)."""
    from config.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "memory://"
    yield
    app.conf.broker_url = original


@pytest.fixture(autouse=True)
def _emails_are_sent_inline(monkeypatch):
    """Emails go from send_* tasks on the `user` queue. In tests (no worker) such a task runs
    in place when it is sent, as a worker would run it: tests read mail.outbox."""
    from config.celery import app

    app.loader.import_default_modules()
    for name, task in list(app.tasks.items()):
        if name.rsplit(".", 1)[-1].startswith("send_"):
            monkeypatch.setattr(
                task, "delay", lambda *a, _task=task, **kw: _task.apply(args=a, kwargs=kw)
            )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Live-server threads open their own connections; persistent ones would outlive the
    threads and keep PostgreSQL from dropping the test database at the end."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
