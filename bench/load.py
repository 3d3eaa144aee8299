"""Load test: 20 concurrent users on gunicorn and PostgreSQL, on loopback.

    .venv/bin/python bench/load.py [--users 20] [--spawn-rate 5] [--time 30s]

1. Creates (if missing) and migrates a PostgreSQL database of its own (BENCH_DATABASE_URL,
   default postgres://postgres@127.0.0.1:5432/prism_bench), seeds the demo agency through the
   sandbox (`seed_demo`: four connected accounts) plus extra clients, and fills the accounts'
   history with the refresh pipeline when it is there.
2. Starts gunicorn exactly as docker-compose's web does (config/gunicorn.py, DEBUG=0,
   production settings; plain HTTP on loopback, so TLS redirects and Secure cookies are off).
3. Runs locust headless (bench/locustfile.py): each user logs in, then browses the dashboard,
   client pages and report pages. Bounded: it stops by itself after --time.
4. Prints requests, p50, p95, max and errors per page and in total, and whether the target
   (p95 <= 300 ms, no errors) was met. A benchmark: it prints figures, it is not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/prism_bench"
EXTRA_CLIENTS = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


SEED = """
import json
from django.conf import settings
from insights.demo import seed_demo, demo_agency, sandbox_reachable, DEMO_EMAIL, DEMO_PASSWORD
from insights.models import Client
from django.urls import reverse, NoReverseMatch

result = seed_demo()
agency = demo_agency()
if result is None or agency is None:
    raise SystemExit("the bench database holds another agency; drop it first")
for n in range(1, {extra} + 1):
    Client.objects.get_or_create(agency=agency, name=f"Bench client {{n:02d}}")
try:  # the refresh pipeline fills the accounts' history (when it exists on this branch)
    from insights.refresh import account as refresh, schedule
except ImportError:
    refresh = None
accounts = list(agency.ig_accounts.all())
with sandbox_reachable():  # nothing serves the sandbox yet: the seed serves it itself
    for account in accounts if refresh else []:
        for _ in range(40):  # backfill slices, as the worker would run them
            token = schedule.claim_one(account.pk)
            if token is None:
                break
            result = refresh.run(account.pk, token)
            if "error" in result:
                raise SystemExit(f"refreshing @{{account.username}} failed: {{result['error']}}")
            account.refresh_from_db()
            if account.backfilled_at:
                break
clients = list(agency.clients.order_by("pk"))
paths = {{
    "dashboard": f"/a/{{agency.slug}}/",
    "clients": [reverse("client_detail", args=[agency.slug, c.pk]) for c in clients],
    "reports": [],
}}
try:
    paths["reports"] = [
        reverse("client_report", args=[agency.slug, a.client_id]) for a in accounts
    ]
except NoReverseMatch:
    pass
print("PATHS " + json.dumps(paths))
"""


def seed(env: dict, port: int) -> dict:
    seed_env = {**env, "DEBUG": "1", "SANDBOX_ENABLED": "1", "PORT": str(port)}
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], seed_env)
    out = run(
        [sys.executable, "manage.py", "shell"], seed_env, stdin=SEED.format(extra=EXTRA_CLIENTS)
    )
    line = next(x for x in out.splitlines() if x.startswith("PATHS "))
    return json.loads(line[len("PATHS ") :])


def run(command: list[str], env: dict, stdin: str | None = None) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def wait_for(url: str, headers: dict, seconds: float = 60) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, headers=headers, timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still booting its workers
            pass
        time.sleep(0.3)
    sys.exit(f"gunicorn did not answer {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--time", default="30s")
    parser.add_argument("--workers", default="3", help="gunicorn workers (compose: 3)")
    parser.add_argument("--threads", default="4", help="gunicorn threads (compose: 4)")
    args = parser.parse_args()

    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    ensure_database(db_url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_ALLOW")}
    env.update(
        DATABASE_URL=db_url,
        CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", "memory://"),
        PYTHONPATH=str(ROOT),
    )
    print(f"seeding {db_url} ...", flush=True)
    paths = seed(env, port)

    from cryptography.fernet import Fernet

    web_env = {
        **env,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + Fernet.generate_key().decode(),
        # The seed's tokens were encrypted under the local default key: keep it readable.
        "TOKEN_ENCRYPTION_KEYS": os.environ.get(
            "TOKEN_ENCRYPTION_KEYS", "ZGV2LW9ubHktdG9rZW4ta2V5LW5vdC1mb3ItcHJvZCE="
        ),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "REQUEST_LOG": "0",
        "PORT": str(port),
        "WEB_CONCURRENCY": args.workers,
        "GUNICORN_THREADS": args.threads,
    }
    log_path = ROOT / "var" / "bench-gunicorn.log"
    log_path.parent.mkdir(exist_ok=True)
    log = log_path.open("w")
    # Production settings serve hashed static names from whitenoise's manifest.
    run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], web_env)
    gunicorn = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi", "--config", "python:config.gunicorn",
         "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=web_env, stdout=subprocess.DEVNULL, stderr=log, text=True,
    )  # fmt: skip
    try:
        host = f"http://127.0.0.1:{port}"
        wait_for(f"{host}/healthz", {})
        sessions = [login(host) for _ in range(args.users)]
        with tempfile.TemporaryDirectory() as tmp:
            prefix = Path(tmp) / "load"
            locust_env = {
                **env,
                "LOAD_PATHS": json.dumps(paths),
                "LOAD_SESSIONS": json.dumps(sessions),
            }
            print(
                f"locust: {args.users} users (+{args.spawn_rate}/s) for {args.time} on gunicorn "
                f"({args.workers} workers x {args.threads} threads), PostgreSQL; "
                f"{len(paths['clients'])} clients, {len(paths['reports'])} report pages",
                flush=True,
            )
            subprocess.run(
                [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                 "-u", str(args.users), "-r", str(args.spawn_rate), "-t", args.time,
                 "--host", host, "--csv", str(prefix), "--only-summary", "--stop-timeout", "5",
                 "--loglevel", "WARNING"],
                cwd=ROOT, env=locust_env, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            report(prefix)
    finally:
        gunicorn.terminate()
        try:
            gunicorn.wait(timeout=40)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
        log.close()
        print(f"(gunicorn's log: {log_path.relative_to(ROOT)})")


def login(host: str) -> str:
    """A session of the demo user, through the real login form."""
    import requests

    http = requests.Session()
    http.get(f"{host}/accounts/login/", timeout=10)
    answer = http.post(
        f"{host}/accounts/login/",
        {
            "login": "demo@prism.local",
            "password": "prism-demo-2026",
            "csrfmiddlewaretoken": http.cookies.get("csrftoken", ""),
        },
        headers={"Referer": f"{host}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302 or "sessionid" not in http.cookies:
        sys.exit(f"login failed: {answer.status_code} {answer.text[-1500:]}")
    return http.cookies["sessionid"]


def report(prefix: Path) -> None:
    stats_file = Path(f"{prefix}_stats.csv")
    if not stats_file.exists():
        sys.exit("locust wrote no statistics")
    with stats_file.open() as f:
        rows = list(csv.DictReader(f))
    print(f"\n{'page':<14}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    total = None
    for row in rows:
        line = (
            f"{row['Name']:<14}{row['Request Count']:>10}{row['Failure Count']:>8}"
            f"{row['50%']:>9}{row['95%']:>9}{float(row['Max Response Time']):>9.0f}"
        )
        print(line)
        if row["Name"] == "Aggregated":
            total = row
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        for row in csv.DictReader(failures.open()):
            print(f"  error: {row['Name']}: {row['Error'][:120]} x{row['Occurrences']}")
    if total:
        p95, errors = float(total["95%"]), int(total["Failure Count"])
        met = p95 <= 300 and errors == 0
        print(
            f"\nall pages: p50 {total['50%']} ms, p95 {p95:.0f} ms, errors {errors} "
            f"of {total['Request Count']} requests ({float(total['Requests/s']):.1f} req/s) -> "
            f"target p95 <= 300 ms with 0 errors: {'met' if met else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
