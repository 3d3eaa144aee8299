"""`make run`: honcho gives every process its own PORT (web PORT, worker +100, beat +200), so the
worker must not derive the sandbox's address from its own PORT. Before this was fixed the demo's
worker called http://127.0.0.1:8100 and every refresh failed with "connection failed"."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_run_gives_worker_and_beat_the_web_servers_address():
    env = {**os.environ, "PORT": "9123"}
    env.pop("SITE_URL", None)
    out = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.replace("\\\n", " ")
    honcho = [line for line in out.splitlines() if "honcho start" in line]
    assert honcho, out
    # What the shell will run: SITE_URL from the environment, else the web server's port.
    assert 'SITE_URL="${SITE_URL:-http://127.0.0.1:9123}"' in honcho[0], honcho[0]


def test_site_url_decides_where_the_worker_finds_the_sandbox():
    """A process started by honcho with another PORT still reaches the web server's sandbox."""
    code = "from django.conf import settings; print(settings.META_HOSTS['graph.facebook.com'])"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PORT": "9223",
        "SITE_URL": "http://127.0.0.1:9123",
    }
    for name in [k for k in env if k.startswith("META_GRAPH")]:
        env.pop(name)
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "http://127.0.0.1:9123/_sandbox/graph.facebook.com"
