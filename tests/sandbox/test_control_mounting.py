"""Where the sandbox is served: never with production settings, alone in standalone mode.
DESIGN.md "The sandbox"; graph-api.md §11.1 (hosts under one prefix each)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PATHS = [
    "/_sandbox/control/",
    "/_sandbox/control/clock",
    "/_sandbox/graph.facebook.com/v25.0/me",
    "/_sandbox/www.instagram.com/oauth/authorize",
    "/",
    "/healthz",
    "/accounts/login/",
    "/admin/",
]
SCRIPT = f"""
import json, django
django.setup()
from django.conf import settings
from django.urls import Resolver404, resolve

def view(path):
    try:
        return resolve(path).func.__module__
    except Resolver404:
        return None

print(json.dumps({{
    "enabled": settings.SANDBOX_ENABLED,
    "urlconf": settings.ROOT_URLCONF,
    "graph": settings.META_HOSTS["graph.facebook.com"],
    "views": {{p: view(p) for p in {PATHS!r}}},
}}))
"""


def urlconf_with(**env) -> dict:
    """Resolve PATHS in a fresh process with exactly these settings (no inherited SANDBOX_*)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SANDBOX_", "META_", "DEBUG", "DATABASE_URL", "DJANGO_ALLOW"))
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env={**keep, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "production-like-secret-key-for-the-mounting-test-0123456789abcdef",
    "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "prism.example.com",
}


def test_production_settings_do_not_route_the_sandbox():
    production = urlconf_with(**PRODUCTION)
    assert production["enabled"] is False
    assert production["graph"] == "https://graph.facebook.com"  # Prism talks to Meta itself
    sandbox_paths = [p for p in PATHS if p.startswith("/_sandbox/")]
    assert all(production["views"][p] is None for p in sandbox_paths), production["views"]
    assert production["views"]["/healthz"] is not None
    # The same check with the sandbox on proves the paths above are real sandbox routes.
    local = urlconf_with(DEBUG="1")
    assert local["enabled"] is True
    assert {local["views"][p] for p in sandbox_paths} == {"sandbox.control", "sandbox.views"}


def test_standalone_mode_serves_only_the_sandbox():
    standalone = urlconf_with(SANDBOX_STANDALONE="1")
    assert standalone["urlconf"] == "sandbox.standalone_urls"
    views = standalone["views"]
    assert views["/_sandbox/control/clock"] == "sandbox.control"
    assert views["/_sandbox/graph.facebook.com/v25.0/me"] == "sandbox.views"
    assert views["/"] == "sandbox.standalone_urls"
    assert (
        views["/healthz"] is None and views["/accounts/login/"] is None and views["/admin/"] is None
    )


def test_standalone_index_and_control_answer(client, settings, transactional_db):
    settings.ROOT_URLCONF = "sandbox.standalone_urls"
    index = client.get("/")
    assert index.status_code == 200 and index.json()["control"] == "/_sandbox/control/"
    assert client.get("/_sandbox/control/clock").status_code == 200
    assert client.get("/accounts/login/").status_code == 404
