"""`manage.py seed_demo`: the first `make run` shows a demo agency with connected accounts."""

import io
import socket

import pytest
import requests
from django.core.management import call_command
from django.test import Client as HttpClient
from django.utils.html import escape

from accounts.models import Agency
from bench.processes import free_port
from insights.demo import DEMO_CLIENTS, DEMO_EMAIL, DEMO_PASSWORD, DemoError, seed_demo
from insights.models import Client, Health, InstagramAccount

from .factories import AgencyFactory


@pytest.fixture
def sandbox_on_live_server(live_server, settings, transactional_db):
    settings.META_HOSTS = {h: f"{live_server.url}/_sandbox/{h}" for h in settings.META_HOSTS}
    return live_server


def _sandbox_profile(live_server, ig_user_id: str) -> dict:
    answer = requests.get(f"{live_server.url}/_sandbox/control/accounts/{ig_user_id}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_first_run_seeds_a_demo_agency_with_connected_accounts(sandbox_on_live_server, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}" in out
    agency = Agency.objects.get()
    assert f"/a/{agency.slug}/" in out
    accounts = InstagramAccount.objects.filter(agency=agency).select_related("client")
    assert {a.client.name for a in accounts} == {c.name for c in DEMO_CLIENTS}
    for spec in DEMO_CLIENTS:
        account = accounts.get(ig_user_id=spec.ig_user_id)
        # What Prism stored is what the sandbox says about the account...
        profile = _sandbox_profile(sandbox_on_live_server, spec.ig_user_id)
        assert account.username == profile["username"]
        assert account.login_path == spec.login_path and account.health == Health.CONNECTED
        # ...and the stored token works against the sandbox (the worker will use it).
        from insights.connections import health

        assert health.check_account(account) == Health.CONNECTED
    # The demo login works, and the dashboard lists the clients.
    http = HttpClient()
    assert http.login(email=DEMO_EMAIL, password=DEMO_PASSWORD)
    page = http.get(f"/a/{agency.slug}/clients/")
    assert page.status_code == 200
    for spec in DEMO_CLIENTS:
        assert escape(spec.name) in page.content.decode()


def test_seed_demo_is_idempotent_and_leaves_existing_data_alone(sandbox_on_live_server, capsys):
    first = seed_demo()
    assert first.created and first.accounts == len(DEMO_CLIENTS)
    again = seed_demo()
    assert not again.created and again.agency == first.agency
    assert InstagramAccount.objects.count() == len(DEMO_CLIENTS)
    assert Client.objects.count() == len(DEMO_CLIENTS)


def test_an_existing_database_gets_no_demo(sandbox_on_live_server, capsys):
    AgencyFactory(name="Real Agency")
    call_command("seed_demo")
    assert "no demo added" in capsys.readouterr().out
    assert Agency.objects.count() == 1 and not Client.objects.exists()


def test_the_demo_never_runs_without_the_sandbox(settings, db):
    settings.SANDBOX_ENABLED = False
    with pytest.raises(DemoError):
        seed_demo()
    assert not Agency.objects.exists()


def test_seeding_serves_the_sandbox_itself_when_no_server_runs(settings, transactional_db):
    """Before `make run` starts the web server, nobody answers at SITE_URL: seeding serves the
    app there for its own length, then lets go of the port."""
    port = free_port()
    settings.META_HOSTS = {h: f"http://127.0.0.1:{port}/_sandbox/{h}" for h in settings.META_HOSTS}
    result = seed_demo()
    assert result.created and result.accounts == len(DEMO_CLIENTS)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the temporary server is gone


def test_the_seedings_server_answers_the_sandbox_only(settings, transactional_db):
    """While the demo is seeded, the public port must not look like a ready Prism: /healthz and
    the sign-up page answer 503 until the real web server is up (a newcomer who signed up there
    lost that server when the seeding ended)."""
    from insights.demo import sandbox_reachable

    port = free_port()
    settings.META_HOSTS = {h: f"http://127.0.0.1:{port}/_sandbox/{h}" for h in settings.META_HOSTS}
    base = f"http://127.0.0.1:{port}"
    with sandbox_reachable():
        assert requests.get(f"{base}/_sandbox/control/", timeout=10).status_code == 200
        for path in ("/healthz", "/accounts/signup/", "/", "/a/anything/"):
            answer = requests.get(base + path, timeout=10)
            assert answer.status_code == 503, path
            assert "starting" in answer.text and answer.headers["Retry-After"]


def test_make_run_says_ready_only_once_the_web_server_answers(live_server, settings, monkeypatch):
    """`announce_ready` (a Procfile process) says "ready" only when /healthz answers 200."""
    from insights.management.commands import announce_ready

    monkeypatch.setattr(announce_ready.Command, "_wait", lambda self: None)
    monkeypatch.setattr(announce_ready, "WAIT_SECONDS", 2)
    closed = free_port()
    settings.SITE_URL = f"http://127.0.0.1:{closed}"  # nothing listens: not ready
    out, err = io.StringIO(), io.StringIO()
    call_command("announce_ready", stdout=out, stderr=err)
    assert "ready" not in out.getvalue() and "did not answer" in err.getvalue()
    settings.SITE_URL = live_server.url
    call_command("announce_ready", stdout=out)
    assert f"Prism is ready on {live_server.url}/" in out.getvalue()
