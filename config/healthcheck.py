"""Container healthchecks: `python -m config.healthcheck web|worker|beat|sandbox`.

Exit status 0 when healthy. Each check asks the process the way its clients would: web and the
sandbox answer HTTP, the worker answers a Celery ping, beat keeps its schedule file fresh.
"""

import glob
import os
import socket
import sys
import time
import urllib.error
import urllib.request


def _host() -> str:
    """A host name Prism accepts (ALLOWED_HOSTS), since 127.0.0.1 usually is not one."""
    first = (os.environ.get("ALLOWED_HOSTS") or "localhost").split(",")[0].strip()
    return "localhost" if first in ("", "*") else first.lstrip(".")


def http_ok(port: str, path: str) -> bool:
    request = urllib.request.Request(  # noqa: S310 - a fixed loopback URL
        f"http://127.0.0.1:{port}{path}",
        # The proxy in front terminates TLS and says so; without this, SECURE_SSL_REDIRECT answers
        # the check with a redirect to https.
        headers={"Host": _host(), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def worker_ok() -> bool:
    from config.celery import app

    replies = app.control.ping([f"celery@{socket.gethostname()}"], timeout=5)
    return bool(replies)


def beat_ok(max_age: float = 420) -> bool:
    """Beat rewrites its schedule file every few minutes (Celery's sync interval is 180 s)."""
    pattern = os.environ.get("BEAT_SCHEDULE", "/tmp/celerybeat-schedule") + "*"  # noqa: S108
    files = glob.glob(pattern)
    return bool(files) and time.time() - max(os.path.getmtime(f) for f in files) < max_age


def main(argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else "web"
    checks = {
        "web": lambda: http_ok(os.environ.get("PORT", "8000"), "/healthz"),
        "sandbox": lambda: http_ok(os.environ.get("SANDBOX_PORT", "8100"), "/"),
        "worker": worker_ok,
        "beat": beat_ok,
    }
    if target not in checks:
        print(f"usage: python -m config.healthcheck {'|'.join(checks)}", file=sys.stderr)
        return 2
    healthy = checks[target]()
    print(f"{target}: {'healthy' if healthy else 'unhealthy'}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
