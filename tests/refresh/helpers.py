"""What the refresh tests share: one refresh run as the worker would run it, and Prism's clock
moved together with the sandbox's."""

from __future__ import annotations

from datetime import datetime, timedelta

from insights.refresh import account as refresh
from insights.refresh import schedule


def claim_and_run(account) -> dict:
    """Claim the account as the dispatcher does and run one refresh; its stats, errors included."""
    token = schedule.claim_one(account.pk)
    assert token
    return refresh.run(account.pk, token)


def run_ok(account) -> dict:
    """One refresh that must succeed."""
    stats = claim_and_run(account)
    assert "error" not in stats, stats
    return stats


def parse_now(answer: dict) -> datetime:
    return datetime.fromisoformat(answer["now"].replace("Z", "+00:00"))


class Clocks:
    """Prism's clock (time_machine) and the sandbox's (frozen, moved by the control API)."""

    def __init__(self, sandbox, traveller, now: datetime):
        self.sandbox, self.traveller, self.now = sandbox, traveller, now

    def advance(self, **delta) -> datetime:
        step = timedelta(**delta)
        answer = self.sandbox.control(
            "POST", "clock", json={"advance_seconds": step.total_seconds()}
        )
        assert answer.status_code == 200, answer.text
        self.now = parse_now(answer.json())
        self.traveller.move_to(self.now)
        return self.now

    def move_to(self, moment: datetime) -> None:
        answer = self.sandbox.control("POST", "clock", json={"to": moment.isoformat()})
        assert answer.status_code == 200, answer.text
        self.traveller.move_to(moment)
        self.now = moment
