"""Airbyte's source-instagram connector (4.x), unmodified, syncs the Facebook Login account.
Its base URL is fixed (https://graph.facebook.com/v21.0), so the one change is the network's:
a requests transport adapter sends what is addressed to graph.facebook.com to the sandbox's
graph.facebook.com, as a proxy would. Every stream is read in full refresh; an ERROR trace or
log line is an error."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from common import args, report

STREAMS = (
    "users",
    "user_lifetime_insights",
    "user_insights",
    "media",
    "media_insights",
    "stories",
    "story_insights",
)


def reroute(sandbox: str) -> None:
    original = requests.adapters.HTTPAdapter.send

    def send(self, request, *a, **kw):
        prefix = "https://graph.facebook.com/"
        if request.url.startswith(prefix):
            request.url = f"{sandbox}/_sandbox/graph.facebook.com/" + request.url[len(prefix) :]
        return original(self, request, *a, **kw)

    requests.adapters.HTTPAdapter.send = send


def child() -> None:
    """`sync_airbyte.py --child <sandbox> <source-instagram args…>`: the connector itself, its
    stdout (Airbyte's messages) read by the parent."""
    reroute(sys.argv[2])
    from source_instagram.run import run as airbyte

    sys.argv = ["source-instagram", *sys.argv[3:]]
    airbyte()


def main() -> None:
    run = args()
    for account in [a for a in run["accounts"] if a["login"] == "facebook"]:
        folder = Path(tempfile.mkdtemp())
        (folder / "config.json").write_text(
            json.dumps({"access_token": account["access_token"], "num_workers": 2})
        )
        catalog = {
            "streams": [
                {
                    "stream": {
                        "name": name,
                        "json_schema": {},
                        "supported_sync_modes": ["full_refresh", "incremental"],
                    },
                    "sync_mode": "full_refresh",
                    "destination_sync_mode": "overwrite",
                }
                for name in STREAMS
            ]
        }
        (folder / "catalog.json").write_text(json.dumps(catalog))
        command = [
            sys.executable,
            __file__,
            "--child",
            run["sandbox"],
            "read",
            "--config",
            str(folder / "config.json"),
            "--catalog",
            str(folder / "catalog.json"),
        ]
        out = subprocess.run(command, capture_output=True, text=True, timeout=900).stdout
        counts = {name: 0 for name in STREAMS}
        errors = []
        for line in out.splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("type") == "RECORD":
                stream = message["record"]["stream"]
                counts[stream] = counts.get(stream, 0) + 1
            elif message.get("type") == "TRACE" and message["trace"].get("type") == "ERROR":
                errors.append(message["trace"]["error"].get("message", "")[:300])
            elif message.get("type") == "LOG" and message["log"].get("level") in ("ERROR", "FATAL"):
                errors.append(message["log"].get("message", "")[:300])
        if not any(counts.values()):  # a sync that read nothing is no pass
            errors.append("no records: " + " | ".join(out.splitlines()[:8])[:1500])
        report("airbyte-source-instagram", account, counts, errors)


if __name__ == "__main__":
    child() if sys.argv[1:2] == ["--child"] else main()
