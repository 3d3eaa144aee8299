"""Issue 17, point 4: real third-party clients of Meta's Graph API sync the sandbox's default
world without errors. Each runs unmodified (only its base URL points at the sandbox) in its own
virtualenv (created here under var/clients/ from requirements-*.txt), against a sandbox served
alone by gunicorn on its own database.

    .venv/bin/python bench/clients/run.py

Prints one line per client and login path: what it read, and Meta's errors it met (none is the
pass). Exits 1 if any client met an error. Environment: CLIENTS_SANDBOX_DATABASE_URL (default
PostgreSQL prism_clients_sandbox), BENCH_SANDBOX_PORT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from bench import processes  # noqa: E402

VENVS = processes.ROOT / "var" / "clients"
CLIENTS = {
    "sdk": ("requirements-sdk.txt", ("sync_sdk.py", "sync_pyfacebook.py")),
    "airbyte": ("requirements-airbyte.txt", ("sync_airbyte.py",)),
}


def venv(name: str, requirements: str) -> Path:
    """The client's virtualenv, created once (pip through its ordinary client)."""
    folder = VENVS / name
    python = folder / "bin" / "python"
    stamp = folder / "requirements.txt"
    wanted = (HERE / requirements).read_text()
    if not python.exists() or not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(HERE / requirements)],
            check=True,
        )
        stamp.write_text(wanted)
    return python


def main() -> int:
    db = os.environ.get(
        "CLIENTS_SANDBOX_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/prism_clients_sandbox"
    )
    log_dir = processes.ROOT / "var" / "bench-clients"
    log_dir.mkdir(parents=True, exist_ok=True)
    sandbox = processes.SandboxServer(db, log_dir, workers=2, threads=8).start()
    failed = False
    try:
        accounts = []
        for login in ("facebook", "instagram"):
            made = sandbox.control(
                "POST", "accounts", json={"login": login, "followers": 5000, "media_count": 60}
            )
            accounts.append({**made, "login": login})
        run = json.dumps({"sandbox": sandbox.url, "accounts": accounts})
        versions = {}
        only = os.environ.get("CLIENTS_ONLY", "")
        for name, (requirements, scripts) in CLIENTS.items():
            if only and name not in only.split(","):
                continue
            python = venv(name, requirements)
            frozen = subprocess.run(
                [str(python), "-m", "pip", "freeze"], capture_output=True, text=True
            ).stdout
            versions[name] = [
                line
                for line in frozen.splitlines()
                if line.split("==")[0].lower()
                in (
                    "facebook-business",
                    "facebook_business",
                    "python-facebook-api",
                    "airbyte-source-instagram",
                    "airbyte-cdk",
                )
            ]
            for script in scripts:
                done = subprocess.run(
                    [str(python), str(HERE / script), run],
                    capture_output=True,
                    text=True,
                    cwd=HERE,
                    timeout=900,
                )
                lines = [ln for ln in done.stdout.splitlines() if ln.startswith('{"client"')]
                if done.returncode or not lines:
                    failed = True
                    tail = done.stderr[-2000:] + done.stdout[-2000:]
                    print(f"{script}: exit {done.returncode}\n{tail}")
                for line in lines:
                    result = json.loads(line)
                    failed |= bool(result["errors"])
                    print(
                        f"{result['client']:<26} {result['login']:<10} "
                        f"{'OK' if not result['errors'] else 'ERRORS'}  {result['counts']}"
                        + (f"\n    {result['errors']}" if result["errors"] else "")
                    )
        print("versions:", json.dumps(versions))
    finally:
        sandbox.stop()
        processes.drop_database(db)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
