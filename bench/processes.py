"""Real processes for `bench/refresh.py` and `tests/reliability/`: a database of their own, the
sandbox served by gunicorn in standalone mode (its own process and its own database, standing
in for Meta as it would beside a production deployment), and Celery workers started with the
`celery -A config worker` command line, as the Procfile and docker-compose start them.

Nothing here imports Django: the caller decides which settings its own process runs with, and
every child gets its configuration from the environment, like production.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN_KEY = "ZGV2LW9ubHktdG9rZW4ta2V5LW5vdC1mb3ItcHJvZCE="  # the local default (settings.py)
SANDBOX_APPS = {  # the sandbox's two apps (settings.SANDBOX_*_APP_*)
    "META_APP_ID": "100000000000001",
    "META_APP_SECRET": "sandbox-facebook-app-secret",
    "INSTAGRAM_APP_ID": "200000000000002",
    "INSTAGRAM_APP_SECRET": "sandbox-instagram-app-secret",
}
META_HOST_ENV = {
    "graph.facebook.com": "META_GRAPH_FACEBOOK_URL",
    "graph.instagram.com": "META_GRAPH_INSTAGRAM_URL",
    "www.facebook.com": "META_WWW_FACEBOOK_URL",
    "www.instagram.com": "META_WWW_INSTAGRAM_URL",
    "api.instagram.com": "META_API_INSTAGRAM_URL",
}


_next_port = itertools.count()


def free_port() -> int:
    """A port for a server this process is about to start.

    By default the kernel's choice (port 0). Under the test suite (`PRISM_PORT_BASE`, set per
    xdist worker by tests/plugin.py) a port from this worker's own block below the kernel's
    ephemeral range: a port the kernel handed out and we released can be handed to another
    worker's server, or a client socket, before ours binds it ("Address already in use").
    Nothing binds port 0 into the block, and each worker only hands out its own."""
    base = int(os.environ.get("PRISM_PORT_BASE") or 0)
    if not base:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    block = int(os.environ.get("PRISM_PORT_BLOCK") or 200)
    start = os.getpid() % block  # a child of the same worker starts elsewhere in the block
    for _ in range(block):
        port = base + (start + next(_next_port)) % block
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {base}..{base + block - 1}")


def base_env(**extra: str) -> dict[str, str]:
    """Production-like settings for a child process (DEBUG off: no query log eating memory
    and CPU), with harmless local secrets and plain HTTP on loopback."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_", "SANDBOX_", "META_", "CELERY_", "REFRESH_"))
        and k not in ("DATABASE_URL", "DEBUG")
    }
    env.update(
        # The project first; then what the caller's own path holds (the test suite's clock hook,
        # tests/clockhook, which makes every child follow the test's pinned clock).
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        DEBUG="0",
        SECRET_KEY="processes-" + "x" * 40,
        TOKEN_ENCRYPTION_KEYS=os.environ.get("TOKEN_ENCRYPTION_KEYS", TOKEN_KEY),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        LOG_LEVEL="WARNING",
        REQUEST_LOG="0",
    )
    env.update(extra)
    return env


# --- Databases --------------------------------------------------------------------------------


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def fresh_database(url: str) -> None:
    """Drop and create a PostgreSQL database (a SQLite file is just deleted)."""
    if not is_postgres(url):
        path = Path(urlsplit(url).path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    drop_database(url)
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    if not is_postgres(url):
        return fresh_database(url)
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(scheme="postgresql", path="/postgres").geturl()


def migrate(env: dict[str, str]) -> None:
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)


def run(command: list[str], env: dict[str, str], timeout: float = 600) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


# --- Process plumbing --------------------------------------------------------------------------


class Process:
    """A child process with its output in a log file; stopped by its own pid only."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path):
        self.name, self.command, self.env = name, command, env
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.kill(self.pid, sig)
            self.popen.wait(timeout=30)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def wait_for_log(self, text: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if not self.alive():
                break
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not log {text!r}:\n{self.log()[-3000:]}")

    # /proc figures (Linux): the process and, for a prefork pool, its children.
    def cpu_seconds(self) -> float:
        import psutil

        proc = psutil.Process(self.pid)
        total = sum(proc.cpu_times()[:2])
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += sum(child.cpu_times()[:2])
        return total

    def peak_rss_mb(self) -> float:
        """The high-water mark of resident memory (VmHWM) of the process."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0


# --- The sandbox on its own ---------------------------------------------------------------------


class SandboxServer(Process):
    """The sandbox alone (SANDBOX_STANDALONE=1) under gunicorn, on its own database."""

    def __init__(self, db_url: str, log_dir: Path, *, workers: int = 3, threads: int = 8):
        # BENCH_SANDBOX_PORT: a fixed port (a shared machine hands each engineer its own).
        self.port = int(os.environ.get("BENCH_SANDBOX_PORT") or 0) or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = base_env(
            DATABASE_URL=db_url,
            SANDBOX_ENABLED="1",
            SANDBOX_STANDALONE="1",
            PORT=str(self.port),
            SITE_URL=self.url,
            WEB_CONCURRENCY=str(workers),
            GUNICORN_THREADS=str(threads),
            GUNICORN_TIMEOUT="120",
        )
        command = [
            str(BIN / "gunicorn"), "config.wsgi", "--config", "python:config.gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
        ]  # fmt: skip
        super().__init__("sandbox", command, env, log_dir)
        self.db_url = db_url
        self.http = requests.Session()
        # A connection per call: gunicorn closes idle keep-alive connections after 2 s, and a
        # call sent on one just as it closes fails with "connection reset" (a test's setup
        # met it). The control API's callers are tests and benchmarks, never Prism.
        self.http.headers["Connection"] = "close"

    def start(self) -> SandboxServer:
        fresh_database(self.db_url)
        migrate(self.env)
        super().start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.http.get(f"{self.url}/_sandbox/control/", timeout=5).ok:
                    return self
            except requests.RequestException:
                pass
            if not self.alive():
                break
            time.sleep(0.3)
        raise RuntimeError(f"the sandbox did not start:\n{self.log()[-3000:]}")

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)
        self.http.close()

    def control(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(
            method, f"{self.url}/_sandbox/control/{path}", timeout=600, **kwargs
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def meta_env(self) -> dict[str, str]:
        """Prism's configuration for this sandbox (pointing at Meta is configuration only)."""
        return {
            **SANDBOX_APPS,
            **{name: f"{self.url}/_sandbox/{host}" for host, name in META_HOST_ENV.items()},
        }

    def latency(self, ms: int) -> None:
        """Every API request answers `ms` milliseconds late (the latency_ms world setting)."""
        self.control("POST", "settings", json={"latency_ms": ms})


# --- Celery workers -----------------------------------------------------------------------------


class Worker(Process):
    """`celery -A config worker` on the refresh queue, with the given pool."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        *,
        name: str = "worker",
        pool: str = "threads",
        concurrency: int = 16,
        queues: str = "refresh",
        include: str = "",
    ):
        command = [
            str(BIN / "celery"), "-A", "config", "worker", "-Q", queues, "--pool", pool,
            "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-mingle",
            "--without-gossip", "--without-heartbeat", "-n", f"{name}@%h",
        ]  # fmt: skip
        if include:
            command += ["--include", include]
        super().__init__(name, command, env, log_dir)

    def start(self, seconds: float = 60) -> Worker:
        super().start()
        self.wait_for_log(" ready.", seconds)
        return self
