"""Security round 3 (issue 18): each finding's tests failed on the code before its fix (see
/work/notes/security18.md for which test covers which finding)."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from accounts.models import Role

from .factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _totp_for(user) -> str:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def _code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


# --- 1. The admin signs in through allauth only; "require MFA" means this session passed it ------


@pytest.fixture
def superuser_with_totp(world):
    user = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    MembershipFactory(agency=world.a, user=user, role=Role.OWNER)
    return user, _totp_for(user)


def test_the_admin_password_form_is_gone(superuser_with_totp):
    user, _secret = superuser_with_totp
    http = HttpClient()
    # Django's own form signed a superuser with an authenticator app in on the password alone.
    answer = http.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert "_auth_user_id" not in http.session
    assert http.get("/admin/").status_code == 302
    # Asking for the admin's login page lands on allauth's, keeping where to go next.
    answer = http.get("/admin/login/", {"next": "/admin/accounts/user/"})
    assert answer["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    answer = http.get("/admin/accounts/user/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")


def test_the_admin_signs_in_with_the_second_factor(superuser_with_totp):
    user, secret = superuser_with_totp
    http = HttpClient()
    answer = http.post("/accounts/login/?next=/admin/", {"login": user.email, "password": PASSWORD})
    assert answer.status_code == 302 and "/2fa/authenticate" in answer["Location"]
    assert http.get("/admin/").status_code == 302  # the password alone is not enough
    done = http.post(answer["Location"], {"code": _code(secret)})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert http.get("/admin/").status_code == 200
    # Signed in already: the admin's login page goes on to where it was asked to.
    assert http.get("/admin/login/", {"next": "/admin/"})["Location"] == "/admin/"


def test_someone_signed_in_but_not_staff_is_refused_the_admin_without_a_loop(world):
    http = world.client_for("a_member")
    assert http.get("/admin/login/", {"next": "/admin/"}).status_code == 403


def test_require_mfa_means_this_session_passed_the_second_factor(world):
    world.a.require_mfa = True
    world.a.save()
    member = world.users["a_member"]
    secret = _totp_for(member)
    # A session signed in without the second factor (as the admin's password form made one).
    http = world.client_for("a_member")
    page = http.get("/a/alpha/")
    assert page.status_code == 403
    text = page.content.decode()
    assert "Acme Coffee" not in text and reverse("mfa_reauthenticate") in text
    # Confirming the authenticator app in this session opens the agency.
    http.get(reverse("mfa_reauthenticate"))
    confirmed = http.post(reverse("mfa_reauthenticate"), {"code": _code(secret)})
    assert confirmed.status_code == 302
    assert http.get("/a/alpha/").status_code == 200


@pytest.mark.django_db(transaction=True)  # allauth signals after commit, as in production
def test_setting_up_the_authenticator_counts_as_passing_it(world):
    """Who sets up the app in this session typed a code from it: no second sign-in needed."""
    world.a.require_mfa = True
    world.a.save()
    member = world.users["a_member"]
    http = HttpClient()
    http.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    assert http.get("/a/alpha/").status_code == 403
    page = http.get("/accounts/2fa/totp/activate/", follow=True)
    if page.redirect_chain:  # allauth asks for the password again before changing security
        http.post(page.redirect_chain[-1][0], {"password": PASSWORD})
        http.get("/accounts/2fa/totp/activate/")
    secret = http.session["mfa.totp.secret"]
    activated = http.post("/accounts/2fa/totp/activate/", {"code": _code(secret)})
    assert activated.status_code == 302
    assert http.get("/a/alpha/").status_code == 200


# --- 2. The client's address, from X-Forwarded-For behind a configured number of proxies ---------

PROXY = "10.0.0.2"  # the reverse proxy in front of web: every request comes from it


@pytest.fixture
def behind_one_proxy(settings):
    from django.core.cache import cache

    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = [PROXY]
    cache.clear()
    yield
    cache.clear()


def _via_proxy(client_address: str, forged: str = "") -> HttpClient:
    """A browser at `client_address` behind the proxy, which appends the address it saw to
    whatever X-Forwarded-For the browser sent (`forged`)."""
    chain = f"{forged}, {client_address}" if forged else client_address
    return HttpClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=chain)


def _share_link(world, **kwargs):
    from insights.reports import sharing

    made = sharing.create_share_link(client=world.clients["a1"], preset="last_28", **kwargs)
    return made, "/" + made.url.split("/", 3)[3]


def test_one_visitor_scanning_share_links_does_not_lock_out_another(world, behind_one_proxy):
    from insights.reports import sharing

    _made, live = _share_link(world)
    scanner = _via_proxy("203.0.113.66")
    for i in range(sharing.MISSES_PER_VISITOR + 1):
        scanner.get(reverse("shared_report", args=[f"guess{i}"]))
    assert scanner.get(live).status_code == 429
    assert _via_proxy("198.51.100.20").get(live).status_code == 200
    # Changing the part of the header the scanner writes itself changes nothing.
    forging = _via_proxy("203.0.113.66", forged="192.0.2.1")
    assert forging.get(live).status_code == 429


def test_wrong_share_passwords_lock_out_only_that_visitor(world, behind_one_proxy):
    from insights.reports import sharing

    _made, path = _share_link(world, password="open sesame 42")
    guesser = _via_proxy("203.0.113.66")
    for _ in range(sharing.PASSWORD_TRIES_PER_VISITOR):
        assert guesser.post(path, {"password": "guess"}).status_code == 403
    assert guesser.post(path, {"password": "open sesame 42"}).status_code == 429
    other = _via_proxy("198.51.100.20")
    assert other.post(path, {"password": "open sesame 42"}).status_code == 302


def test_wrong_logins_from_many_clients_do_not_refuse_another_users_login(world, behind_one_proxy):
    for n in range(12):
        _via_proxy(f"203.0.113.{n + 1}").post(
            "/accounts/login/", {"login": f"nobody{n}@example.com", "password": "wrong-password"}
        )
    http = _via_proxy("198.51.100.20")
    answer = http.post("/accounts/login/", {"login": "a_owner@example.com", "password": PASSWORD})
    assert answer.status_code == 302
    assert http.get("/a/alpha/").status_code == 200


def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(world, behind_one_proxy):
    """A peer that is not the proxy (someone reaching web directly) cannot pick its address."""
    from insights.reports import sharing

    _made, live = _share_link(world)
    for i in range(sharing.MISSES_PER_VISITOR + 1):
        HttpClient(REMOTE_ADDR="192.0.2.99", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").get(
            reverse("shared_report", args=[f"guess{i}"])
        )
    fresh_forgery = HttpClient(REMOTE_ADDR="192.0.2.99", HTTP_X_FORWARDED_FOR="198.51.100.250")
    assert fresh_forgery.get(live).status_code == 429


def test_the_client_address_rule(settings):
    from django.test import RequestFactory

    from config.clientip import client_ip

    def ip(remote, xff=None):
        headers = {"HTTP_X_FORWARDED_FOR": xff} if xff is not None else {}
        return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))

    settings.TRUSTED_PROXY_COUNT, settings.FORWARDED_ALLOW_IPS = 0, ["10.0.0.2"]
    assert ip("10.0.0.2", "203.0.113.5") == "10.0.0.2"  # no proxy configured: the peer
    settings.TRUSTED_PROXY_COUNT = 1
    assert ip("10.0.0.2", "203.0.113.5") == "203.0.113.5"
    assert ip("10.0.0.2", "6.6.6.6, 203.0.113.5") == "203.0.113.5"
    assert ip("10.0.0.2", " 2001:db8::1 ") == "2001:db8::1"
    assert ip("10.0.0.2") == "10.0.0.2"  # no header: the peer itself
    assert ip("10.0.0.2", "not-an-address") == "10.0.0.2"
    assert ip("192.0.2.99", "203.0.113.5") == "192.0.2.99"  # not the proxy: ignored
    settings.TRUSTED_PROXY_COUNT = 2  # a CDN, then the TLS proxy
    assert ip("10.0.0.2", "6.6.6.6, 203.0.113.5, 172.16.0.9") == "203.0.113.5"
    assert ip("10.0.0.2", "172.16.0.9") == "10.0.0.2"  # shorter than the chain: not trusted
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.0/8"]
    assert ip("10.9.9.9", "6.6.6.6, 203.0.113.5, 172.16.0.9") == "203.0.113.5"
    settings.FORWARDED_ALLOW_IPS = ["*"]
    assert ip("192.0.2.99", "203.0.113.5, 172.16.0.9") == "203.0.113.5"


def test_one_setting_feeds_allauth_and_gunicorn():
    from .test_security import _manage

    script = "from django.conf import settings as s; print(s.ALLAUTH_TRUSTED_PROXY_COUNT)"
    result = _manage("shell", "-c", script, TRUSTED_PROXY_COUNT="2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "2"


def test_gunicorn_trusts_forwarded_headers_only_with_a_proxy_count(monkeypatch):
    import importlib

    import config.gunicorn

    monkeypatch.delenv("TRUSTED_PROXY_COUNT", raising=False)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.2")
    assert importlib.reload(config.gunicorn).forwarded_allow_ips == ""
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "1")
    assert importlib.reload(config.gunicorn).forwarded_allow_ips == "10.0.0.2"
    monkeypatch.undo()
    importlib.reload(config.gunicorn)


# --- gunicorn as docker-compose runs it, behind one proxy (findings 2, 3 and 14) ----------------


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> str:
    from .test_security import _manage

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'prism.sqlite3'}"
    result = _manage("migrate", "--noinput", "-v0", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    return url


@pytest.fixture(scope="module")
def gunicorn_behind_proxy(tmp_path_factory, migrated_db):
    """Production settings, JSON logs, one trusted proxy at 127.0.0.1. Yields (base URL, a
    function returning what the server logged so far)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    from .test_production import _free_port
    from .test_security import PRODUCTION, ROOT

    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        PRODUCTION,
        LOG_FORMAT="json",
        PORT=str(port),
        DATABASE_URL=migrated_db,
        CELERY_BROKER_URL="memory://",
        TRUSTED_PROXY_COUNT="1",
        FORWARDED_ALLOW_IPS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
    )
    # As the Dockerfile does: production pages name static files through the manifest.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip
    log_path = tmp_path_factory.mktemp("logs") / "gunicorn.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"0.0.0.0:{port}",
        "--workers", "1", "--threads", "2", "--config", "python:config.gunicorn",
    ]  # fmt: skip
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/healthz", headers={"Host": "prism.example.com"}, timeout=5)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, log_path.read_text()[-2000:]
                time.sleep(0.3)
        yield base, env, log_path.read_text
    finally:
        process.terminate()
        process.wait(timeout=20)


def _get_from(base: str, path: str, source: str = "127.0.0.1", **headers):
    """GET through a connection from `source` (any 127.x address is this machine)."""
    import requests
    from requests.adapters import HTTPAdapter

    class FromAddress(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["source_address"] = (source, 0)
            super().init_poolmanager(*args, **kwargs)

    with requests.Session() as session:
        session.mount("http://", FromAddress())
        return session.get(
            base + path,
            headers={"Host": "prism.example.com", "X-Forwarded-Proto": "https", **headers},
            allow_redirects=False,
            timeout=10,
        )


def test_gunicorn_throttles_the_client_behind_the_proxy_not_a_forger(gunicorn_behind_proxy):
    from insights.reports import sharing

    base, _env, _logs = gunicorn_behind_proxy
    # 127.0.0.2 is not the proxy: its forged X-Forwarded-For is ignored, so it is throttled as
    # itself however it rotates the header.
    for i in range(sharing.MISSES_PER_VISITOR):
        answer = _get_from(base, f"/r/guess{i}/", "127.0.0.2", **{"X-Forwarded-For": f"10.8.0.{i}"})
        assert answer.status_code == 404
    forged = _get_from(base, "/r/guess-more/", "127.0.0.2", **{"X-Forwarded-For": "10.8.0.250"})
    assert forged.status_code == 429
    # Through the proxy (127.0.0.1), visitors are told apart by the address it appended.
    for i in range(sharing.MISSES_PER_VISITOR):
        answer = _get_from(base, f"/r/guess{i}/", **{"X-Forwarded-For": f"6.6.6.{i}, 203.0.113.5"})
        assert answer.status_code == 404
    assert _get_from(base, "/r/x/", **{"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    assert _get_from(base, "/r/x/", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 404


# --- 3 and 4. Secrets out of logs, in JSON and plain formats; emails printed whole in development -

SHARE_TOKEN = "FKCN3DKf8PqRstUvWxYz0123456789abcdefGHIJKLm"  # a share token's shape (43 chars)
OAUTH_CODE, OAUTH_STATE = "AQBxSECRETCODE0042", "stateSECRETVALUE0042xyz"


def test_gunicorn_json_logs_carry_no_share_token_or_oauth_code(gunicorn_behind_proxy):
    import json

    base, _env, logs = gunicorn_behind_proxy
    assert _get_from(base, f"/r/{SHARE_TOKEN}/", "127.0.0.3").status_code == 404
    callback = f"/oauth/instagram/callback/?code={OAUTH_CODE}&state={OAUTH_STATE}"
    assert _get_from(base, callback).status_code in (302, 400)
    text = logs()
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(r.get("status_code") == 404 for r in records), text[-3000:]
    for secret in (SHARE_TOKEN, SHARE_TOKEN[:16], OAUTH_CODE, OAUTH_STATE):
        assert secret not in text


LOG_SCRIPT = f"""
from django.test import Client
client = Client()
client.get("/r/{SHARE_TOKEN}/")
client.get("/oauth/instagram/callback/?code={OAUTH_CODE}&state={OAUTH_STATE}")
client.get("/invitations/{SHARE_TOKEN}/")
print("DONE")
"""


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_development_console_logs_carry_no_secrets(migrated_db, log_format):
    """`make run` (DEBUG on): Django's own DEBUG console handler printed 4xx paths as they were."""
    from .test_security import _manage

    result = _manage(
        "shell", "-c", LOG_SCRIPT, DATABASE_URL=migrated_db, DEBUG="1", LOG_FORMAT=log_format
    )
    assert result.returncode == 0 and "DONE" in result.stdout, result.stderr[-3000:]
    assert "Not Found: /r/[redacted]/" in result.stderr or '"/r/[redacted]/' in result.stderr
    for secret in (SHARE_TOKEN, SHARE_TOKEN[:16], OAUTH_CODE, OAUTH_STATE):
        assert secret not in result.stderr and secret not in result.stdout


def test_the_json_formatter_redacts_a_request_in_the_record():
    import json
    import logging

    from django.test import RequestFactory

    from config.observability import ContextFilter, RedactingJsonFormatter
    from insights.meta.redact import RedactSecretsFilter

    request = RequestFactory().get(
        f"/oauth/instagram/callback/?code={OAUTH_CODE}&state={OAUTH_STATE}"
    )
    record = logging.getLogger("django.request").makeRecord(
        "django.request", logging.WARNING, __file__, 1, "Bad Request: %s", (request.path,), None,
        extra={"status_code": 400, "request": request},
    )  # fmt: skip
    ContextFilter().filter(record)
    RedactSecretsFilter().filter(record)
    line = RedactingJsonFormatter("%(message)s").format(record)
    assert OAUTH_CODE not in line and OAUTH_STATE not in line
    data = json.loads(line)
    assert data["request"].startswith("GET /oauth/instagram/callback/?code=[redacted]")


EMAIL_SCRIPT = f"""
import logging
from django.core.mail import send_mail
from config.celery import app
# What a Celery worker does at start: its stdout and stderr become a logger.
app.log.redirect_stdouts_to_logger(logging.getLogger("celery.redirected"))
send_mail("You are invited", "Accept: http://127.0.0.1:8000/invitations/{SHARE_TOKEN}/",
          "prism@localhost", ["someone@example.com"])
"""


def test_emails_printed_in_development_keep_their_links_whole(migrated_db):
    from .test_security import PRODUCTION, _manage

    result = _manage("shell", "-c", EMAIL_SCRIPT, DATABASE_URL=migrated_db, DEBUG="1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"/invitations/{SHARE_TOKEN}/" in result.stdout  # README: open it in a private window
    assert SHARE_TOKEN not in result.stderr  # and nothing of it in the log
    # With DEBUG off the console is the production log: links are redacted there.
    result = _manage("shell", "-c", EMAIL_SCRIPT, DATABASE_URL=migrated_db, **PRODUCTION)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "You are invited" in result.stdout + result.stderr
    assert SHARE_TOKEN not in result.stdout + result.stderr


# --- 14. No gunicorn access log; agency pages are not cached -------------------------------------


def test_gunicorn_writes_no_access_log_of_its_own(gunicorn_behind_proxy):
    """prism.request logs each request (path only); gunicorn's access log printed query strings
    (an OAuth callback's state) although config/gunicorn.py said accesslog = None."""
    import json

    base, _env, logs = gunicorn_behind_proxy
    _get_from(base, f"/oauth/instagram/callback/?code={OAUTH_CODE}&state={OAUTH_STATE}")
    _get_from(base, "/healthz")
    records = [json.loads(line) for line in logs().splitlines() if line.startswith("{")]
    assert any(r["logger"] == "prism.request" for r in records)
    assert [r for r in records if r["logger"] == "gunicorn.access"] == []
    assert OAUTH_STATE not in logs()


def test_agency_pages_are_not_kept_in_caches(world):
    http = world.client_for("a_owner")
    for path in (
        "/a/alpha/",
        f"/a/alpha/clients/{world.clients['a1'].pk}/",
        f"/a/alpha/clients/{world.clients['a1'].pk}/report/",
        "/a/alpha/members/",
        "/profile/",
    ):
        response = http.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    landing = HttpClient().get("/")
    assert "no-store" not in landing.get("Cache-Control", "")  # the public landing page


# --- 5 and 6. The OAuth callback: nothing about a client before the session and the person are
# checked, failures end on a clean URL, and only a current member with the role may finish --------


def _started_state(world, persona: str = "a_member", client_key: str = "a1"):
    """A connect attempt started by `persona` in a browser session; (that browser, raw state)."""
    from urllib.parse import parse_qs, urlsplit

    http = world.client_for(persona)
    client = world.clients[client_key]
    started = http.post(f"/a/alpha/clients/{client.pk}/connect/instagram/")
    assert started.status_code == 302, started.content[:300]
    return http, parse_qs(urlsplit(started["Location"]).query)["state"][0]


@pytest.mark.parametrize("tamper", ["replayed", "expired"])
def test_a_callback_opened_elsewhere_names_no_client(world, tamper):
    from datetime import timedelta

    from django.utils import timezone

    from insights.models import OAuthState

    _owner_browser, state = _started_state(world)
    if tamper == "replayed":
        OAuthState.objects.update(used_at=timezone.now())
    else:
        OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    for persona in ("b_owner", "a_viewer", None):
        stranger = world.client_for(persona)
        page = stranger.get(
            "/oauth/instagram/callback/", {"code": "AQBx-code", "state": state}, follow=True
        )
        text = page.content.decode()
        assert page.status_code == 400
        assert "Acme Coffee" not in text, persona
        assert f"/clients/{world.clients['a1'].pk}/" not in text, persona


def test_the_person_who_started_it_is_still_offered_the_way_back(world):
    from django.utils import timezone

    from insights.models import OAuthState

    browser, state = _started_state(world)
    OAuthState.objects.update(used_at=timezone.now())
    page = browser.get(
        "/oauth/instagram/callback/", {"code": "AQBx-code", "state": state}, follow=True
    )
    assert page.status_code == 400 and "already used" in page.content.decode()
    assert "Back to Acme Coffee" in page.content.decode()


def test_a_failed_callback_ends_on_a_clean_url(world):
    browser, state = _started_state(world)
    answer = browser.get(
        "/oauth/instagram/callback/", {"error": "access_denied", "code": "", "state": state}
    )
    assert answer.status_code == 302
    assert "state=" not in answer["Location"] and "code=" not in answer["Location"]
    assert "?" not in answer["Location"]
    page = browser.get(answer["Location"])
    assert page.status_code == 400 and "You cancelled the connection" in page.content.decode()
    assert "Back to Acme Coffee" in page.content.decode()
    # Forged or unknown states too: no code in the address bar either.
    answer = world.client_for("b_owner").get(
        "/oauth/instagram/callback/", {"code": "AQBx-code", "state": "forged"}
    )
    assert answer.status_code == 302 and "?" not in answer["Location"]


@pytest.mark.parametrize("change", ["removed", "demoted", "limited"])
def test_only_a_current_member_with_the_role_finishes_a_connect(world, change):
    """The state lives 10 minutes: a member removed (or demoted, or limited to other clients)
    meanwhile cannot finish the connect already in progress."""
    from insights.models import InstagramAccount

    browser, state = _started_state(world)
    membership = world.memberships["a_member"]
    if change == "removed":
        membership.delete()
    elif change == "demoted":
        membership.role = Role.VIEWER
        membership.save()
    else:
        membership.limited_to_clients = True
        membership.save()
        membership.clients.set([world.clients["a2"]])
    page = browser.get(
        "/oauth/instagram/callback/", {"code": "AQBx-code", "state": state}, follow=True
    )
    text = page.content.decode()
    assert page.status_code == 400 and "no longer" in text
    assert "Acme Coffee" not in text
    assert not InstagramAccount.objects.exists()


# --- 7. Out-of-range numbers in a signed webhook: a JSON 400, nothing stored ---------------------


def _signed_webhook(client, raw: bytes, secret: str):
    import hashlib
    import hmac

    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        reverse("meta_webhook"),
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )


REACH_12 = '{"media_id": "17890000000000001", "reach": 12}'


@pytest.mark.parametrize(
    "entry_time, value",
    [
        pytest.param("1e300", REACH_12, id="time 1e300"),
        pytest.param("-1e300", REACH_12, id="time -1e300"),
        pytest.param("Infinity", REACH_12, id="time Infinity"),
        pytest.param("100000000000000000", REACH_12, id="time past year 9999"),
        pytest.param("1" + "0" * 400, REACH_12, id="time 10**400"),
        pytest.param("1700000000", REACH_12.replace("12", "Infinity"), id="reach Infinity"),
        pytest.param("1700000000", REACH_12.replace("12", "NaN"), id="reach NaN"),
        pytest.param("1700000000", REACH_12.replace("12", "1e300"), id="reach 1e300"),
        pytest.param("1700000000", REACH_12.replace("12", "9" * 23), id="reach 10**23"),
    ],
)
def test_out_of_range_webhook_values_are_refused(client, settings, entry_time, value):
    from insights.models import InstagramAccount, Media, MediaSample

    from .factories import InstagramAccountFactory

    account = InstagramAccountFactory(ig_user_id="17841400000000001")
    raw = (
        '{"object": "instagram", "entry": [{"id": "17841400000000001", "time": '
        + entry_time
        + ', "changes": [{"field": "story_insights", "value": '
        + value
        + "}]}]}"
    ).encode()
    client.raise_request_exception = False
    answer = _signed_webhook(client, raw, settings.META_APP_SECRET)
    assert answer.status_code == 400, answer.content[:300]
    assert answer["Content-Type"].startswith("application/json")
    assert "error" in answer.json()
    assert not MediaSample.objects.exists() and not Media.objects.exists()
    assert InstagramAccount.objects.filter(pk=account.pk).exists()


# --- 8. A stored file that went missing is a 404 (and a placeholder on pages), never a 500 -------


@pytest.fixture
def missing_files(world):
    """A post thumbnail, a delivery's PDF and the agency's logo, named in the database with no
    file behind them (a restored backup without the media volume, a bucket cleaned up)."""
    from datetime import date, timedelta

    from django.utils import timezone

    from insights.models import AgencyBranding, Media, ReportDelivery

    from .factories import InstagramAccountFactory

    account = InstagramAccountFactory(agency=world.a, client=world.clients["a2"])
    media = Media.objects.create(
        account=account,
        media_id="1790000000009",
        product_type="FEED",
        timestamp=timezone.now() - timedelta(days=3),
        thumbnail="thumbnails/gone.jpg",
    )
    delivery = ReportDelivery.objects.create(
        agency=world.a,
        client=world.clients["a2"],
        period_start=date(2026, 11, 2),
        period_end=date(2026, 11, 8),
        recipients=["client@example.com"],
        status="sent",
        pdf_sha256="-",
        pdf="deliveries/gone.pdf",
    )
    branding = AgencyBranding.objects.create(agency=world.a, logo="branding/gone.png")
    return media, delivery, branding


def test_missing_files_answer_404(world, missing_files):
    from insights.reports import sharing

    media, delivery, branding = missing_files
    team = world.client_for("a_owner")
    portal = world.client_for("a_client")  # a client viewer of Apex Bikes
    made = sharing.create_share_link(client=world.clients["a2"], preset="last_28")
    anonymous = HttpClient()
    token = made.url.rstrip("/").rsplit("/", 1)[-1]
    from insights.reports import thumbnails

    portal_ref = thumbnails.reference(thumbnails.portal_scope(world.a.pk), media.pk)
    shared_ref = thumbnails.reference(thumbnails.share_scope(made.link.pk), media.pk)
    for http, url in [
        (team, reverse("report_media_thumbnail", args=["alpha", media.pk])),
        (team, reverse("delivery_pdf", args=["alpha", delivery.pk])),
        (portal, reverse("portal_media", args=["alpha", portal_ref])),
        (anonymous, reverse("shared_media", args=[token, shared_ref])),
        (anonymous, reverse("brand_logo", args=[branding.public_id, branding.version])),
    ]:
        http.raise_request_exception = False
        answer = http.get(url)
        assert answer.status_code == 404, (url, answer.status_code)


def test_pages_keep_a_placeholder_under_every_thumbnail(world, missing_files):
    """The picture sits over its placeholder: a file that went missing leaves the placeholder."""
    import re
    from datetime import date

    import time_machine

    from insights.models import Media

    from .report_world import fill_account

    media, _delivery, _branding = missing_files
    with time_machine.travel("2026-11-26 12:00:00+00:00", tick=False):
        fill_account(media.account, last_day=date(2026, 11, 25), days=40, media=12)
        Media.objects.filter(account=media.account).update(thumbnail="thumbnails/gone.jpg")
        page = world.client_for("a_owner").get(
            reverse("client_report", args=["alpha", world.clients["a2"].pk]), {"range": "last_28"}
        )
    text = page.content.decode()
    cells = re.findall(r'<div class="post-thumb">(.*?)</div>', text, re.S)
    assert cells and all("<img" in cell for cell in cells)
    assert all("post-thumb-none" in cell for cell in cells)
    stories = re.findall(r'<td class="story-thumb">(.*?)</td>', text, re.S)
    assert all("story-thumb-none" in cell for cell in stories)


# --- 9. The client logo is capped in pixels and re-encoded, like the branding logo ---------------


def _upload(name: str, data: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def _post_client_logo(world, upload):
    client = world.clients["a1"]
    return world.client_for("a_member").post(
        f"/a/alpha/clients/{client.pk}/edit/",
        {"name": client.name, "time_zone": "UTC", "logo": upload},
    )


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_client_logo_has_a_pixel_cap(world):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (14000, 12000), 1).save(buffer, "PNG", optimize=True)
    assert len(buffer.getvalue()) < 1024 * 1024  # small in bytes, huge in pixels
    answer = _post_client_logo(world, _upload("logo.png", buffer.getvalue(), "image/png"))
    assert answer.status_code == 200 and "pixels" in answer.content.decode()
    world.clients["a1"].refresh_from_db()
    assert not world.clients["a1"].logo


def test_a_client_logo_keeps_only_its_pixels(world):
    """A JPEG's GPS position and a PNG's HTML tail are not stored: the logo is re-encoded."""
    import io

    from PIL import Image

    client = world.clients["a1"]
    photo = io.BytesIO()
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS IFD
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (600, 300), (200, 30, 30)).save(photo, "JPEG", exif=exif.tobytes())
    assert b"PhoneMaker" in photo.getvalue()
    assert (
        _post_client_logo(world, _upload("me.jpg", photo.getvalue(), "image/jpeg")).status_code
        == 302
    )
    client.refresh_from_db()
    stored = client.logo.open("rb").read()
    assert b"PhoneMaker" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif() and image.size[0] <= 800
    polyglot = io.BytesIO()
    Image.new("RGB", (40, 40), (0, 90, 200)).save(polyglot, "PNG")
    tail = b"<html><script>alert(document.domain)</script></html>"
    answer = _post_client_logo(world, _upload("logo.png", polyglot.getvalue() + tail, "image/png"))
    assert answer.status_code == 302
    client.refresh_from_db()
    assert b"<script>" not in client.logo.open("rb").read()


# --- 12. Bidi controls (U+202E and friends) are removed wherever names and short texts are kept --

RLO = "\u202e"


def test_notes_labels_sender_and_footer_lose_bidi_controls(world):
    from insights.models import AgencyBranding, ReportNote, ShareLink

    client = world.clients["a1"]
    owner = world.client_for("a_owner")
    owner.post(
        reverse("report_note_add", args=["alpha", client.pk]),
        {"day": "2026-11-20", "text": f"Launch {RLO}fdp.exe"},
    )
    assert ReportNote.objects.get(client=client).text == "Launch fdp.exe"
    owner.post(
        reverse("client_delivery", args=["alpha", client.pk]),
        {"label": f"For the {RLO}draob", "range": "last_28", "compare": "previous",
         "lifetime_days": "30"},
    )  # fmt: skip
    assert ShareLink.objects.get(client=client).label == "For the draob"
    owner.post(
        reverse("branding_settings", args=["alpha"]),
        {"primary_colour": "#6d28d9", "accent_colour": "#0891b2",
         "sender_name": f"Alpha {RLO}ycnegA", "reply_to": "",
         "footer_text": f"Alpha Agency{RLO} – Paris\nLine two\u2066 here\u2069"},
    )  # fmt: skip
    row = AgencyBranding.objects.get(agency=world.a)
    assert row.sender_name == "Alpha ycnegA"
    assert row.footer_text == "Alpha Agency – Paris\nLine two here"


def test_report_emails_never_carry_bidi_controls_in_the_sender_name(world):
    """Rows saved before the forms cleaned them are cleaned where they are used."""
    from insights.models import AgencyBranding
    from insights.reports import branding

    AgencyBranding.objects.create(
        agency=world.a, sender_name=f"Alpha {RLO}ycnegA", footer_text=f"Foot{RLO}er\nTwo"
    )
    made = branding.branding_for(world.a)
    assert made.from_name == "Alpha ycnegA" and made.footer == "Footer\nTwo"


def test_instagram_display_names_lose_bidi_controls(world):
    from insights.connections.oauth import upsert_account

    account = upsert_account(
        client=world.clients["a1"],
        ig_user_id="17841400000000077",
        login_path="instagram",
        username=f"brand{RLO}_x",
        token="IGAA-test-token",
        token_expires_at=None,
        meta_user_id="9000000000077",
        granted_scopes=["instagram_business_basic", "instagram_business_manage_insights"],
        name=f"Acme {RLO}eeffoC\u200f",
    )
    account.refresh_from_db()
    assert account.name == "Acme eeffoC" and account.username == "brand_x"


# --- 15. CSV cells a spreadsheet would still read as a formula ----------------------------------

HIDDEN_FORMULAS = [
    " =1+1",  # a space first: spreadsheets skip it
    "  @SUM(A1)",
    "\ufeff=cmd|' /C calc'!A0",  # a byte-order mark
    "\u00a0+1",  # a no-break space
    "\u3000-1",  # an ideographic space
    "\u200b=1",  # a zero-width space
    '\uff1dHYPERLINK("http://x.test")',  # a full-width "="
    "\uff0b1",  # full-width "+"
    "\uff20SUM(A1)",  # full-width "@"
    "\ufe66SUM(A1)",  # small "="
    " \uff1d1",
]


@pytest.mark.parametrize("value", HIDDEN_FORMULAS)
def test_hidden_formula_starts_are_neutralized(value):
    from insights.reports.exports import safe_cell

    assert safe_cell(value) == "'" + value


def test_ordinary_text_is_left_alone():
    from insights.reports.exports import safe_cell

    for value in ("plain", " plain", "\uff21cme", "a=b", "Caf\u00e9 = good", "", "\u3000"):
        assert safe_cell(value) == value
    assert safe_cell(-5) == -5


def test_the_posts_csv_neutralizes_hidden_formulas_in_captions(world):
    import csv
    import io
    from datetime import date

    import time_machine

    from insights.models import Media

    from .factories import InstagramAccountFactory
    from .report_world import fill_account

    account = InstagramAccountFactory(agency=world.a, client=world.clients["a2"])
    with time_machine.travel("2026-11-26 12:00:00+00:00", tick=False):
        fill_account(account, last_day=date(2026, 11, 25), days=40, media=12)
        posts = list(Media.objects.filter(account=account).exclude(product_type="STORY"))
        for media, caption in zip(posts, HIDDEN_FORMULAS, strict=False):
            Media.objects.filter(pk=media.pk).update(caption=caption)
        response = world.client_for("a_owner").get(
            reverse("client_report_posts_csv", args=["alpha", world.clients["a2"].pk]),
            {"range": "last_90"},
        )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    captions = [row["caption"] for row in csv.DictReader(io.StringIO(text))]
    hidden = [c for c in captions if c.lstrip("'") in HIDDEN_FORMULAS]
    assert len(hidden) == min(len(posts), len(HIDDEN_FORMULAS))
    assert all(c.startswith("'") for c in hidden)


# --- 10. Share links and the portal serve only the media they show, by unguessable reference ----


@pytest.fixture
def two_posts(world):
    """Apex Bikes (a2) with a post inside the last 28 days and one from four months ago, both
    with a thumbnail, and metrics enough to be its top posts."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from insights.models import Media

    from .factories import InstagramAccountFactory

    account = InstagramAccountFactory(agency=world.a, client=world.clients["a2"])
    made = []
    for n, age in enumerate((timedelta(days=3), timedelta(days=120))):
        media = Media.objects.create(
            account=account,
            media_id=f"179000000002{n}",
            product_type="FEED",
            media_type="IMAGE",
            timestamp=timezone.now() - age,
            latest_metrics={"reach": 100, "total_interactions": 10, "likes": 9},
        )
        media.thumbnail.save(f"t{n}.jpg", ContentFile(b"\xff\xd8\xff\xe0 jpeg"), save=True)
        made.append(media)
    return made


def _thumbnails(html: str) -> list[str]:
    import re

    return re.findall(r'<div class="post-thumb">.*?<img src="([^"]+)"', html, re.S)


def test_a_share_link_serves_only_the_media_it_shows(world, two_posts):
    from insights.reports import sharing

    inside, outside = two_posts
    made = sharing.create_share_link(client=world.clients["a2"], preset="last_28")
    token = made.url.rstrip("/").rsplit("/", 1)[-1]
    anonymous = HttpClient()
    page = anonymous.get(f"/r/{token}/").content.decode()
    (src,) = _thumbnails(page)
    assert f"/media/{inside.pk}/" not in src  # not its sequential id
    assert anonymous.get(src).status_code == 200
    # By sequential id, the post on the page and the one outside the link's period: 404.
    assert anonymous.get(f"/r/{token}/media/{inside.pk}/").status_code == 404
    assert anonymous.get(f"/r/{token}/media/{outside.pk}/").status_code == 404
    # A reference made the same way for the old post: still outside what the link shows.
    guessed = src.replace(f"{inside.pk}.", f"{outside.pk}.")
    assert anonymous.get(guessed).status_code == 404
    # Another link's reference does not open this one's media.
    other = sharing.create_share_link(client=world.clients["a2"], preset="last_28")
    other_token = other.url.rstrip("/").rsplit("/", 1)[-1]
    assert anonymous.get(src.replace(token, other_token)).status_code == 404


def test_the_portal_serves_media_by_unguessable_reference(world, two_posts):
    inside, _outside = two_posts
    viewer = world.client_for("a_client")  # a client viewer of Apex Bikes
    page = viewer.get(
        reverse("portal_report", args=["alpha", world.clients["a2"].pk]), {"range": "last_28"}
    ).content.decode()
    (src,) = _thumbnails(page)
    assert viewer.get(src).status_code == 200
    assert viewer.get(f"/a/alpha/portal/media/{inside.pk}/").status_code == 404


# --- 11. Share & schedule: viewers see what they need; failed deliveries are explained ----------


@pytest.fixture
def delivery_world(world):
    from datetime import date

    from insights.models import ReportDelivery, ReportSchedule

    client = world.clients["a1"]
    schedule = ReportSchedule.objects.create(
        agency=world.a, client=client, recipients=["boss@acme.example", "cfo@acme.example"]
    )
    ReportDelivery.objects.create(
        agency=world.a,
        client=client,
        schedule=schedule,
        period_start=date(2026, 11, 2),
        period_end=date(2026, 11, 8),
        recipients=["boss@acme.example", "cfo@acme.example"],
        status="failed",
        error=(
            "SMTPRecipientsRefused: {'cfo@acme.example': (550, b'5.1.1 unknown')} at "
            "/srv/prism/.venv/lib/python3.11/smtplib.py line 887"
        ),
    )
    viewer = MembershipFactory(
        agency=world.a, user=UserFactory(email="reader@acme.example", name=""), role=Role.CLIENT
    )
    viewer.limited_to_clients = True
    viewer.save()
    viewer.clients.set([client])
    return client


def test_a_viewer_sees_no_email_addresses_on_share_and_schedule(world, delivery_world):
    url = reverse("client_delivery", args=["alpha", delivery_world.pk])
    page = world.client_for("a_viewer").get(url)
    text = page.content.decode()
    assert page.status_code == 200
    for address in ("boss@acme.example", "cfo@acme.example", "reader@acme.example"):
        assert address not in text
    assert "2 recipients" in text
    # A member, who schedules and resends, sees them.
    member = world.client_for("a_member").get(url).content.decode()
    assert "boss@acme.example" in member and "reader@acme.example" in member


def test_a_failed_delivery_is_explained_without_its_exception(world, delivery_world):
    url = reverse("client_delivery", args=["alpha", delivery_world.pk])
    for persona in ("a_viewer", "a_owner"):
        text = world.client_for(persona).get(url).content.decode()
        assert "The mail server refused" in text
        for raw in ("SMTPRecipientsRefused", "/srv/prism", "smtplib", "5.1.1"):
            assert raw not in text, (persona, raw)


def test_delivery_errors_are_summarized_for_people():
    from insights.reports.delivery import error_summary

    assert "refused" in error_summary("SMTPRecipientsRefused: {...}")
    assert "sign-in" in error_summary("SMTPAuthenticationError: (535, b'bad')")
    reach = "could not be reached"
    for raw in ("ConnectionRefusedError: [Errno 111]", "TimeoutError: timed out",
                "SMTPServerDisconnected: gone", "gaierror: [Errno -2] Name unknown"):  # fmt: skip
        assert reach in error_summary(raw)
    assert "PDF" in error_summary("PdfUnavailable: cannot load /usr/lib/libpango-1.0.so")
    other = error_summary("KeyError: '/srv/prism/insights/reports/delivery.py'")
    assert "/srv" not in other and other


# --- 13. "Send now" and "Resend" are throttled --------------------------------------------------


@pytest.fixture
def sends(monkeypatch):
    """The deliveries the views enqueue (not rendered or mailed here: each would be a PDF)."""
    from insights import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.send_delivery, "delay", lambda pk: sent.append(pk))
    return sent


def test_send_now_is_throttled(world, sends, clock):
    from datetime import timedelta

    from insights.models import ReportDelivery, ReportSchedule
    from insights.reports.delivery import HAND_SENDS_PER_HOUR

    schedule = ReportSchedule.objects.create(
        agency=world.a, client=world.clients["a1"], recipients=["target@example.com"]
    )
    member = world.client_for("a_member")
    url = reverse("schedule_send_now", args=["alpha", schedule.pk])
    for _ in range(20):
        member.post(url)
    assert len(sends) == HAND_SENDS_PER_HOUR < 20
    assert ReportDelivery.objects.count() == HAND_SENDS_PER_HOUR
    page = member.post(url, follow=True).content.decode()
    assert "try again" in page.lower()
    clock.shift(timedelta(hours=1, minutes=1))
    world.client_for("a_member").post(url)  # (signed in again: the session idled out)
    assert len(sends) == HAND_SENDS_PER_HOUR + 1


def test_resend_is_throttled_too(world, sends):
    from datetime import date

    from insights.models import ReportDelivery, ReportSchedule
    from insights.reports.delivery import HAND_SENDS_PER_HOUR

    original = ReportDelivery.objects.create(
        agency=world.a,
        client=world.clients["a1"],
        schedule=ReportSchedule.objects.create(agency=world.a, client=world.clients["a1"]),
        period_start=date(2026, 11, 2),
        period_end=date(2026, 11, 8),
        recipients=["target@example.com"],
        status="sent",
        pdf_sha256="-",
        pdf="deliveries/report.pdf",
    )
    member = world.client_for("a_member")
    for _ in range(20):
        member.post(reverse("delivery_resend", args=["alpha", original.pk]))
    assert len(sends) == HAND_SENDS_PER_HOUR
    # The limit is the client's: another client of the agency can still be sent by hand.
    other = ReportDelivery.objects.create(
        agency=world.a,
        client=world.clients["a2"],
        schedule=ReportSchedule.objects.create(agency=world.a, client=world.clients["a2"]),
        period_start=date(2026, 11, 2),
        period_end=date(2026, 11, 8),
        recipients=["apex@example.com"],
        status="sent",
        pdf_sha256="-",
        pdf="deliveries/report.pdf",
    )
    member.post(reverse("delivery_resend", args=["alpha", other.pk]))
    assert len(sends) == HAND_SENDS_PER_HOUR + 1
