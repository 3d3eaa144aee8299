"""Sessions, throttling, CSRF, safe GETs, production settings and /healthz."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from accounts.models import Role

from .factories import PASSWORD
from .test_access_matrix import TENANT_URLS, build_url, fingerprint, objects  # noqa: F401

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def _login(http, email, password=PASSWORD, ip="10.0.0.1"):
    return http.post(
        reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip
    )


def test_session_key_rotates_at_login_and_dies_at_logout(world):
    http = HttpClient()
    http.get(reverse("account_login"))
    http.session.save()
    before = http.session.session_key
    assert _login(http, "a_owner@example.com").status_code == 302
    after = http.cookies["sessionid"].value
    assert after != before
    assert http.get("/a/alpha/").status_code == 200
    http.post(reverse("account_logout"))
    replay = HttpClient()
    replay.cookies["sessionid"] = after
    assert replay.get("/a/alpha/").status_code == 302


def test_idle_and_absolute_session_timeouts(world, settings):
    settings.SESSION_IDLE_TIMEOUT = 30 * 60
    settings.SESSION_ABSOLUTE_TIMEOUT = 12 * 3600
    with time_machine.travel("2026-11-26 09:00:00+00:00", tick=False) as clock:
        http = HttpClient()
        _login(http, "a_owner@example.com")
        assert http.get("/a/alpha/").status_code == 200
        clock.shift(29 * 60)
        assert http.get("/a/alpha/").status_code == 200
        clock.shift(31 * 60)  # idle for 31 minutes
        assert http.get("/a/alpha/").status_code == 302

        http = HttpClient()
        _login(http, "a_owner@example.com")
        for _ in range(12 * 3 + 1):  # active every 20 minutes for just over 12 hours
            clock.shift(20 * 60)
            status = http.get("/a/alpha/").status_code
        assert status == 302, "the session outlived the 12-hour absolute timeout"


def test_failed_logins_are_throttled_per_account(world):
    from django.core.cache import cache

    cache.clear()
    # Rotating IPs do not help: the account itself is throttled after 5 failures.
    for attempt in range(5):
        response = _login(
            HttpClient(), "a_owner@example.com", "wrong-password", ip=f"10.1.0.{attempt}"
        )
        assert response.status_code == 200
    http = HttpClient()
    blocked = _login(http, "a_owner@example.com", PASSWORD, ip="10.1.0.99")
    assert b"Too many failed login attempts" in blocked.content
    assert http.get("/a/alpha/").status_code == 302  # the right password did not get in
    # Another account from another address is unaffected.
    assert _login(HttpClient(), "a_admin@example.com", ip="10.2.0.1").status_code == 302
    cache.clear()


def test_failed_logins_are_throttled_per_ip(world):
    from django.core.cache import cache

    cache.clear()
    for n in range(10):
        _login(HttpClient(), f"nobody{n}@example.com", "wrong", ip="10.9.9.9")
    http = HttpClient()
    blocked = _login(http, "a_owner@example.com", ip="10.9.9.9")
    assert b"Too many failed login attempts" in blocked.content
    assert http.get("/a/alpha/").status_code == 302
    assert _login(HttpClient(), "a_owner@example.com", ip="10.9.9.10").status_code == 302
    cache.clear()


def test_failed_login_does_not_reveal_whether_the_account_exists(world):
    from django.core.cache import cache

    cache.clear()
    unknown = _login(HttpClient(), "nobody@example.com", "wrong", ip="10.3.0.1")
    wrong = _login(HttpClient(), "a_owner@example.com", "wrong", ip="10.3.0.2")
    assert unknown.status_code == wrong.status_code == 200
    import re

    def normalise(body: bytes, email: str) -> str:
        return re.sub(r"[A-Za-z0-9]{64}", "CSRF", body.decode()).replace(email, "EMAIL")

    assert normalise(unknown.content, "nobody@example.com") == normalise(
        wrong.content, "a_owner@example.com"
    )
    cache.clear()


def test_every_state_changing_url_needs_a_csrf_token(world, objects):  # noqa: F811
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(world.users["a_owner"])
    refused = 0
    for name, spec in TENANT_URLS.items():
        if "POST" not in spec["methods"]:
            continue
        before = fingerprint()
        response = http.post(build_url(name, spec, world, objects))
        assert response.status_code == 403, name
        assert fingerprint() == before
        refused += 1
    assert refused >= 7


def test_get_never_changes_anything(world, objects):  # noqa: F811
    for persona in ("a_owner", "a_viewer"):
        http = world.client_for(persona)
        for name, spec in TENANT_URLS.items():
            before = fingerprint()
            http.get(build_url(name, spec, world, objects))
            assert fingerprint() == before, name


def test_limited_member_cannot_be_made_admin_with_a_client_limit(world):
    owner = world.client_for("a_owner")
    membership = world.memberships["a_limited"]
    owner.post(f"/a/alpha/members/{membership.pk}/", {"role": Role.ADMIN})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN and not membership.is_limited
    assert membership.clients.count() == 0


def _manage(*args, **env):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their own process; not for this one.
    dropped = ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    full_env = {k: v for k, v in os.environ.items() if k not in dropped}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "production-like-secret-key-for-tests-only-0123456789",
    "TOKEN_ENCRYPTION_KEYS": "ZGV2LW9ubHktdG9rZW4ta2V5LW5vdC1mb3ItcHJvZCE=",
    "ALLOWED_HOSTS": "prism.example.com",
}


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_secrets(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    env[missing] = ""
    result = _manage("check", **env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "ok" and data["database"]["ok"] and data["broker"]["ok"]


def test_healthz_answers_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def test_healthz_answers_503_when_the_database_is_down(client, monkeypatch):
    from django.db import OperationalError, connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "OperationalError"}


def test_security_headers(world):
    response = world.client_for("a_owner").get("/a/alpha/")
    csp = response["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_production_cookies_and_headers():
    """Under production settings: __Host- cookies, Secure, HttpOnly, SameSite=Lax, HSTS for a
    year with subdomains, and PBKDF2 (or better) for passwords."""
    script = (
        "from django.conf import settings as s; import json; print(json.dumps({"
        "'session': [s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE], 'csrf': [s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SAMESITE], 'hsts': [s.SECURE_HSTS_SECONDS,"
        " s.SECURE_HSTS_INCLUDE_SUBDOMAINS], 'ssl': s.SECURE_SSL_REDIRECT,"
        " 'hasher': s.PASSWORD_HASHERS[0], 'sandbox': s.SANDBOX_ENABLED,"
        " 'idle': s.SESSION_IDLE_TIMEOUT, 'absolute': s.SESSION_ABSOLUTE_TIMEOUT}))"
    )
    result = _manage("shell", "-c", script, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    import json

    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["session"] == ["__Host-sessionid", True, True, "Lax"]
    assert values["csrf"] == ["__Host-csrftoken", True, "Lax"]
    assert values["hsts"] == [31536000, True] and values["ssl"] is True
    assert "PBKDF2" in values["hasher"] or "Argon2" in values["hasher"]
    assert values["sandbox"] is False
    assert (values["idle"], values["absolute"]) == (1800, 43200)


def test_deactivating_a_user_ends_their_sessions(world):
    http = world.client_for("a_member")
    assert http.get("/a/alpha/").status_code == 200
    user = world.users["a_member"]
    user.is_active = False
    user.save()
    assert http.get("/a/alpha/").status_code == 302
