"""Shared by the client scripts (run inside the clients' own virtualenvs, never Prism's)."""

from __future__ import annotations

import json
import sys
import time


def args() -> dict:
    """The run's parameters, one JSON argument: sandbox URL, accounts (token, ids, login)."""
    return json.loads(sys.argv[1])


def report(client: str, account: dict, counts: dict, errors: list[str]) -> None:
    print(
        json.dumps(
            {
                "client": client,
                "login": account["login"],
                "counts": counts,
                "errors": errors[:20],
            }
        ),
        flush=True,
    )


def window(days: int = 14) -> tuple[int, int]:
    """since/until of the last complete days (Pacific midnights are not needed: any ≤ 30 days)."""
    until = int(time.time()) // 86400 * 86400
    return until - days * 86400, until
