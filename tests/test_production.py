"""The production shape: JSON logs with request and task ids, Sentry scrubbing, SMTP through
EMAIL_URL, media through the storage API (filesystem or S3), and gunicorn answering /healthz.

Settings are read once per process, so most of these run Prism in a subprocess with the
environment an operator would set."""

import gzip
import json
import logging
import os
import socketserver
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from config.observability import FILTERED, ContextFilter, sane_request_id, scrub_event

from .test_clients import _png
from .test_security import PRODUCTION, _manage

ROOT = Path(__file__).resolve().parent.parent
SECRETS = ["SECRETTOKEN123", "SECRETSESSION456", "SECRETCODE789", "SECRETVAR000"]


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> str:
    """A migrated SQLite database for Prism processes started by these tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'prism.sqlite3'}"
    result = _manage("migrate", "--noinput", "-v0", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    return url


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


# --- Request ids and JSON logs -----------------------------------------------------------------


def test_request_ids_are_kept_when_sane_and_replaced_otherwise():
    assert sane_request_id("0af7651916cd43dd8448eb211c80319c") == "0af7651916cd43dd8448eb211c80319c"
    assert sane_request_id("req-2026.12.01:abc") == "req-2026.12.01:abc"
    for bad in [None, "", "short", "has space in it", "new\nline-injected", "x" * 129, '"quote"x']:
        made = sane_request_id(bad)
        assert made != bad and len(made) == 32 and made.isalnum()


JSON_LOG_SCRIPT = """
import logging
from unittest import mock
from django.test import Client

def database_check_that_logs():
    logging.getLogger("prism.test").warning("inside the view access_token=SECRETTOKEN123")
    return {"ok": True}

with mock.patch("config.health._check_database", database_check_that_logs):
    first = Client().get("/healthz?code=SECRETCODE789", HTTP_X_REQUEST_ID="proxy-id-0001")
    second = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\\r\\nX-Injected: 1")
logging.getLogger("prism.test").warning("outside any request")
print("HEADERS", first["X-Request-ID"], second["X-Request-ID"])
"""


def test_json_logs_carry_the_request_id_and_no_secrets():
    result = _manage(
        "shell", "-c", JSON_LOG_SCRIPT, LOG_FORMAT="json", REQUEST_LOG="1", LOG_LEVEL="INFO"
    )
    assert result.returncode == 0, result.stderr
    first_id, second_id = result.stdout.split("HEADERS ")[1].split()
    assert first_id == "proxy-id-0001"
    assert second_id != "proxy-id-0001" and len(second_id) == 32

    records = _json_lines(result.stderr)
    inside = [r for r in records if r["message"].startswith("inside the view")]
    assert [r["request_id"] for r in inside] == [first_id, second_id]
    assert all(r["level"] == "WARNING" and r["logger"] == "prism.test" for r in inside)
    access = [r for r in records if r["logger"] == "prism.request"]
    assert [(r["request_id"], r["path"], r["status"]) for r in access] == [
        (first_id, "/healthz", 200),
        (second_id, "/healthz", 200),
    ]
    assert all(isinstance(r["duration_ms"], float) for r in access)
    outside = [r for r in records if r["message"] == "outside any request"]
    assert outside and outside[0]["request_id"] is None  # the id does not leak past its request
    for secret in SECRETS:
        assert secret not in result.stderr


def test_plain_logs_are_the_local_default():
    result = _manage("shell", "-c", JSON_LOG_SCRIPT, LOG_FORMAT="xml")
    assert result.returncode != 0 and "LOG_FORMAT must be one of plain, json" in result.stderr
    result = _manage("shell", "-c", JSON_LOG_SCRIPT, REQUEST_LOG="1")
    assert result.returncode == 0, result.stderr
    assert not _json_lines(result.stderr)
    assert "prism.test [proxy-id-0001] inside the view access_token=[redacted]" in result.stderr
    assert "SECRETTOKEN123" not in result.stderr


def test_json_formatter_redacts_extra_fields_and_tracebacks():
    from config.observability import RedactingJsonFormatter

    formatter = RedactingJsonFormatter("%(message)s %(request_id)s")
    try:
        raise ValueError("GET https://graph.instagram.com/me?access_token=SECRETTOKEN123")
    except ValueError:
        record = logging.getLogger("t").makeRecord(
            "t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info(),
            extra={"url": "https://x.test/?client_secret=SECRETVAR000"},
        )  # fmt: skip
    ContextFilter().filter(record)
    line = formatter.format(record)
    data = json.loads(line)
    assert data["message"] == "failed" and data["request_id"] is None
    assert "ValueError" in data["exc_info"] and "[redacted]" in data["exc_info"]
    assert "ids" not in data
    assert "SECRETTOKEN123" not in line and "SECRETVAR000" not in line


@pytest.mark.django_db
def test_celery_tasks_log_their_task_id():
    from config.celery import app

    captured: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record):
            captured.append(record)

    handler = Capture()
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("prism.test.task")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    @app.task(name="tests.log_something", shared=False)
    def log_something():
        logger.info("working")

    try:
        first = log_something.apply()
        second = log_something.apply()
        logger.info("after")
    finally:
        logger.removeHandler(handler)
    assert [r.task_id for r in captured] == [first.id, second.id, None]
    assert first.id != second.id


# --- Sentry -----------------------------------------------------------------------------------


def test_scrub_event_masks_secrets_everywhere():
    event = {
        "message": "refresh failed for access_token=SECRETTOKEN123",
        "request": {
            "url": "https://prism.example.com/oauth/instagram/callback/",
            "query_string": "code=SECRETCODE789&state=abc",
            "headers": {"Authorization": "Bearer SECRETTOKEN123", "User-Agent": "curl"},
            "cookies": {"sessionid": "SECRETSESSION456"},
            "data": {"password": "SECRETVAR000"},
        },
        "exception": {
            "values": [
                {
                    "type": "MetaError",
                    "value": "OAuth SECRETTOKEN123 rejected",
                    "stacktrace": {
                        "frames": [
                            {"vars": {"token": "SECRETTOKEN123", "page_token": "x", "n": 3}},
                            {"vars": {"headers": [["Authorization", "Bearer SECRETTOKEN123"]]}},
                            {"in_app": False, "vars": {"sql": "SELECT", "p": ["SECRETSESSION456"]}},
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {
            "values": [{"message": "GET /me?access_token=SECRETTOKEN123", "data": {"code": "x"}}]
        },
        "extra": {"client_secret": "SECRETVAR000", "account_id": 42},
    }
    cleaned = scrub_event(event, {})
    text = json.dumps(cleaned)
    for secret in SECRETS:
        assert secret not in text
    assert "cookies" not in cleaned["request"] and "data" not in cleaned["request"]
    assert cleaned["request"]["headers"] == {"Authorization": FILTERED, "User-Agent": "curl"}
    assert cleaned["extra"] == {"client_secret": FILTERED, "account_id": 42}
    frames = cleaned["exception"]["values"][0]["stacktrace"]["frames"]
    assert frames[0]["vars"]["n"] == 3 and frames[0]["vars"]["token"] == FILTERED
    assert "vars" not in frames[2]  # a library frame keeps no variables
    assert cleaned["exception"]["values"][0]["type"] == "MetaError"


class _SentryIngest(BaseHTTPRequestHandler):
    """Stands in for Sentry's ingestion endpoint: keeps every envelope it receives."""

    received: list[bytes] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # only when sentry-sdk picked it

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


SENTRY_SCRIPT = """
import logging
from unittest import mock
import sentry_sdk
from django.test import Client

def broken():
    token = "SECRETVAR000"  # a frame variable holding a secret
    logging.getLogger("insights").warning("calling /me?access_token=SECRETTOKEN123")
    raise RuntimeError("Meta said no to access_token=SECRETTOKEN123 " + token[:0])

with mock.patch("config.health._check_database", broken):
    response = Client(raise_request_exception=False).get(
        "/healthz?code=SECRETCODE789",
        HTTP_AUTHORIZATION="Bearer SECRETTOKEN123",
        HTTP_COOKIE="sessionid=SECRETSESSION456",
    )
print("STATUS", response.status_code)
sentry_sdk.flush(timeout=5)
"""


def test_sentry_receives_errors_without_secrets(migrated_sqlite):
    _SentryIngest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SentryIngest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dsn = f"http://publickey@127.0.0.1:{server.server_address[1]}/1"
        # The script goes in on stdin: in argv it would land in the event's sys.argv.
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env.update(SENTRY_DSN=dsn, DATABASE_URL=migrated_sqlite)
        result = subprocess.run(
            [sys.executable, "manage.py", "shell"],
            input=SENTRY_SCRIPT, cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert "STATUS 500" in result.stdout
    payload = b"\n".join(_SentryIngest.received).decode("utf-8", "replace")
    assert "RuntimeError" in payload and "Meta said no" in payload  # the error did arrive
    assert "/healthz" in payload
    for secret in SECRETS:
        assert secret not in payload, secret


# --- Email and media --------------------------------------------------------------------------


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message (EHLO, MAIL, RCPT, DATA, QUIT)."""

    messages: list[dict] = []

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        mail: dict = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == "MAIL":
                mail["from"] = command
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                mail["rcpt"].append(command)
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go ahead\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data)
                mail["data"] = b"".join(body).decode()
                self.messages.append(mail)
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def test_email_goes_through_smtp_from_email_url():
    _SMTPHandler.messages = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    script = (
        "from django.conf import settings as s; from django.core.mail import send_mail;"
        "print('SETTINGS', s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_TIMEOUT);"
        "send_mail('Hello', 'Body text', None, ['owner@example.com'])"
    )
    try:
        result = _manage(
            "shell", "-c", script, EMAIL_URL=f"smtp://127.0.0.1:{port}",
            DEFAULT_FROM_EMAIL="Prism <reports@prism.example.com>",
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert (
        f"SETTINGS django.core.mail.backends.smtp.EmailBackend 127.0.0.1 {port} 10" in result.stdout
    )
    [mail] = _SMTPHandler.messages
    assert "reports@prism.example.com" in mail["from"]
    assert [r.upper() for r in mail["rcpt"]] == ["RCPT TO:<OWNER@EXAMPLE.COM>"]
    assert "Subject: Hello" in mail["data"] and "Body text" in mail["data"]


def test_smtp_with_starttls_and_credentials_from_email_url():
    script = (
        "from django.conf import settings as s; import json; print(json.dumps([s.EMAIL_HOST,"
        " s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS]))"
    )
    result = _manage(
        "shell", "-c", script, EMAIL_URL="smtp+tls://apikey:p%40ss@smtp.example.com:587"
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == ["smtp.example.com", 587, "apikey", "p@ss", True]


def test_media_goes_to_a_private_s3_bucket_when_configured():
    script = (
        "from django.core.files.storage import default_storage as d; d._setup(); import json;"
        "print(json.dumps([type(d._wrapped).__name__, d.bucket_name, d.endpoint_url,"
        " d.default_acl, d.querystring_auth, d.location, d.file_overwrite]))"
    )
    result = _manage(
        "shell", "-c", script, **PRODUCTION, AWS_STORAGE_BUCKET_NAME="prism-media",
        AWS_S3_ENDPOINT_URL="https://s3.eu-central-1.example.com",
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret-example",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == [
        "S3Storage", "prism-media", "https://s3.eu-central-1.example.com", None, True, "media",
        False,
    ]  # fmt: skip
    # ...and without a bucket, the filesystem under MEDIA_ROOT.
    script = (
        "from django.core.files.storage import default_storage as d; d._setup();"
        "print('STORAGE', type(d._wrapped).__name__, d.location)"
    )
    result = _manage("shell", "-c", script, **PRODUCTION, MEDIA_ROOT="/srv/prism-media")
    assert result.returncode == 0, result.stderr
    assert "STORAGE FileSystemStorage /srv/prism-media" in result.stdout


@pytest.mark.django_db
def test_logos_are_served_through_the_storage_api(world, settings):
    """With a storage that has no filesystem at all, upload and serving still work: views use
    the storage API, never paths (so S3 works the same way)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    http = world.client_for("a_member")
    image = _png()
    http.post(
        "/a/alpha/clients/new/",
        {
            "name": "Stored Elsewhere",
            "time_zone": "UTC",
            "logo": SimpleUploadedFile("logo.png", image, content_type="image/png"),
        },
    )
    from insights.models import Client

    client = Client.objects.get(name="Stored Elsewhere")
    assert not (Path(settings.MEDIA_ROOT) / client.logo.name).exists()
    response = http.get(f"/a/alpha/clients/{client.pk}/logo/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == client.logo.storage.open(client.logo.name).read()
    assert response["Cache-Control"] == "private, max-age=600"
    assert world.client_for("b_owner").get(f"/a/alpha/clients/{client.pk}/logo/").status_code == 404


# --- gunicorn, as docker-compose runs it ------------------------------------------------------


def _free_port() -> int:
    from bench.processes import free_port

    return free_port()


def test_gunicorn_serves_healthz_with_json_logs(migrated_sqlite):
    """The compose web service's command, without Docker: gunicorn config.wsgi, production
    settings, JSON logs, a request id on the answer. (A real process: about two seconds.)"""
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(PRODUCTION, LOG_FORMAT="json", PORT=str(port))
    env["DATABASE_URL"] = migrated_sqlite
    env["CELERY_BROKER_URL"] = "memory://"
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--threads", "2", "--config", "python:config.gunicorn",
    ]  # fmt: skip
    # As the Dockerfile does: production serves hashed names from the manifest, and a template
    # that names a static file (the 400 page's favicon) fails without it.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60  # a busy CI machine boots gunicorn slowly
        response = None
        while time.monotonic() < deadline:
            try:
                response = requests.get(
                    f"http://127.0.0.1:{port}/healthz",
                    # As the TLS-terminating proxy would send it (SECURE_SSL_REDIRECT is on).
                    headers={
                        "X-Request-ID": "compose-check-1",
                        "Host": "prism.example.com",
                        "X-Forwarded-Proto": "https",
                    },
                    timeout=5,
                    allow_redirects=False,
                )
                break
            except requests.RequestException:  # not listening yet, or still booting
                time.sleep(0.3)
        assert response is not None, "gunicorn did not answer"
        assert response.status_code == 200, response.text
        assert response.json()["database"]["ok"] is True
        assert response.headers["X-Request-ID"] == "compose-check-1"
        # The container's healthcheck, as docker-compose runs it.
        check = subprocess.run(
            [sys.executable, "-m", "config.healthcheck", "web"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert check.returncode == 0 and "web: healthy" in check.stdout, check.stdout
        # Without the proxy's header, the production settings redirect to https: not healthy.
        plain = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10, allow_redirects=False)
        assert plain.status_code in (301, 400)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    records = _json_lines(stderr)
    assert any(r["logger"].startswith("gunicorn") for r in records), stderr[-2000:]
    access = [r for r in records if r["logger"] == "prism.request"]
    assert access and access[0]["request_id"] == "compose-check-1"


# --- docker-compose.yml and .env.example ------------------------------------------------------


def _settings_variables() -> set[str]:
    import re

    names: set[str] = set()
    for name in ("settings.py", "gunicorn.py", "healthcheck.py"):
        source = (ROOT / "config" / name).read_text()
        names |= set(re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', source))
        names |= set(re.findall(r'_secret\(\s*"([A-Z0-9_]+)"', source))
        names |= set(re.findall(r'"(META_[A-Z_]+_URL)"', source))
        names |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z0-9_]+)"', source))
    return names


def test_env_example_lists_every_variable():
    import re

    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    read = _settings_variables()
    assert len(read) > 50  # the parsing above still finds the settings
    missing = sorted(read - listed)
    assert not missing, f"add these to .env.example (and README's table): {missing}"


def _compose_commands() -> dict[str, list[str]]:
    """Each service's command; they are written as JSON-style flow lists."""
    import re

    commands, service = {}, None
    for line in (ROOT / "docker-compose.yml").read_text().splitlines():
        if match := re.match(r"^  ([a-z][a-z0-9-]*):\s*$", line):
            service = match.group(1)
        elif service and (match := re.match(r"^    command: (\[.*\])\s*$", line)):
            commands[service] = json.loads(match.group(1))
    return commands


def test_compose_commands_are_the_ones_that_run_without_docker():
    commands = _compose_commands()
    assert set(commands) == {"redis", "migrate", "web", "worker", "beat", "sandbox"}
    bin_dir = Path(sys.executable).parent
    for service in ("migrate", "web", "worker", "beat", "sandbox"):
        executable = commands[service][0]
        assert executable == "python" or (bin_dir / executable).exists(), service
    assert commands["web"] == ["gunicorn", "config.wsgi", "--config", "python:config.gunicorn"]
    assert commands["worker"][:6] == [
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        "default,refresh,user",
    ]
    # The queues the worker consumes are every queue tasks are routed to.
    from config.celery import app

    routed = {route["queue"] for route in app.conf.task_routes.values()}
    assert routed | {"default"} == set(commands["worker"][5].split(","))
    # The Procfile (make run) runs the same worker and beat.
    procfile = (ROOT / "Procfile").read_text()
    assert "celery -A config worker -Q default,refresh,user" in procfile
    assert "celery -A config beat" in procfile


def test_compose_file_is_valid():
    import shutil

    if not shutil.which("docker-compose"):
        if os.environ.get("PRISM_REQUIRE_BROWSER") == "1":  # CI installs it with chromium
            pytest.fail("docker-compose is not installed")
        pytest.skip("docker-compose is not installed")
    result = subprocess.run(
        ["docker-compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    services = subprocess.run(
        ["docker-compose", "--profile", "sandbox", "config", "--services"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat", "sandbox"}


def test_beat_healthcheck_follows_the_schedule_file(tmp_path, monkeypatch):
    from config import healthcheck

    schedule = tmp_path / "celerybeat-schedule"
    monkeypatch.setenv("BEAT_SCHEDULE", str(schedule))
    assert healthcheck.beat_ok() is False  # beat never wrote it
    schedule.write_bytes(b"x")
    assert healthcheck.beat_ok() is True
    old = time.time() - 3600
    os.utime(schedule, (old, old))
    assert healthcheck.beat_ok() is False  # beat stopped writing an hour ago
