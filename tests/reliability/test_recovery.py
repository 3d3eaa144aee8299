"""Recovery under real processes: the sandbox's fault mix, and its clock moved by days
(issue 9, "Reliability tests")."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from insights.meta import parse
from insights.models import AccountDaily, ApiThrottle, BackfillWindow, InstagramAccount

from .conftest import differences, refresh_fully, stored

FAULT_MIX = [
    {"kind": "5xx", "probability": 0.06, "params": {"status": 503}},
    {"kind": "timeout", "probability": 0.02, "params": {"seconds": 1}},
    {"kind": "malformed", "probability": 0.04},
    {"kind": "truncated", "probability": 0.03},
    {"kind": "html", "probability": 0.03},
    {"kind": "rate_limit", "probability": 0.01, "params": {"code": 80002, "minutes": 1}},
]


def _next_scheduled_refresh(ids) -> None:
    """What an hour of the schedule would bring, at once: the accounts are due again, and the
    waits Meta asked for (a rate limit: a minute on the account, ten on the app) have passed."""
    InstagramAccount.objects.filter(pk__in=ids, lease_token="").update(
        next_refresh_at=timezone.now(), throttled_until=None
    )
    ApiThrottle.objects.update(throttled_until=None, percent=0)


def _history(left: dict) -> str:
    """For an incomplete account: its backfill windows and its last run's stats, to say which
    read should have brought what is missing."""
    lines = []
    for pk in left:
        account = InstagramAccount.objects.get(pk=pk)
        windows = BackfillWindow.objects.filter(account=account).order_by("-start")
        lines.append(
            f"account {pk}: backfilled_at={account.backfilled_at} "
            f"last_refresh_at={account.last_refresh_at} stats={account.last_refresh_stats}"
        )
        lines += [
            f"  window {w.start}..{w.end} {w.state} attempts={w.attempts} done_at={w.done_at} "
            f"error={w.error[:200]!r}"
            for w in windows[:4]
        ]
        reach = AccountDaily.objects.filter(account=account, metric="reach", dimension="")
        lines += [
            f"  reach {r.day} captured_at={r.captured_at} settled={r.settled}"
            for r in reach.order_by("-day")[:6]
        ]
    return "\n".join(lines)


# At the default instant, whatever PRISM_TEST_INSTANT says: the accounts are compared with
# references read minutes earlier, which is the same world only if no Pacific midnight falls in
# between (Prism's calendar would then hold a day the references do not). Midnights under real
# processes are the clock-jump test's and test_stories' subject.
@pytest.mark.at("default")
def test_under_the_fault_mix_every_account_is_eventually_complete_and_uncorrupted(procs):
    """5xx, timeouts, malformed, truncated and HTML bodies, rate limits, on every Graph call
    (batch operations included). Each account ends with exactly the rows of a clean refresh of
    the same sandbox account: nothing missing, nothing corrupt, nothing doubled."""
    pairs = [procs.connect() for _ in range(4)]
    clean = {}
    for account, remote in pairs:  # the references first, before any fault
        reference, _ = procs.connect(remote=remote)
        refresh_fully(reference)
        clean[account.pk] = stored(reference)
    for fault in FAULT_MIX:
        procs.sandbox.control("POST", "faults", json={"host": "graph.facebook.com", **fault})
    procs.start_workers(2, concurrency=4)
    ids = [a.pk for a, _ in pairs]

    left = {}

    def all_complete() -> bool:
        left.clear()
        for account in InstagramAccount.objects.filter(pk__in=ids):
            fresh = account.backfilled_at and account.last_refresh_at and not account.lease_token
            diff = differences(stored(account), clean[account.pk])
            if diff or not fresh:
                windows = BackfillWindow.objects.filter(account=account).exclude(error="")
                left[account.pk] = (
                    diff,
                    account.last_refresh_error,
                    account.waiting_reason,
                    list(windows.values_list("start", "state", "attempts", "error")),
                )
        if not left:
            return True
        _next_scheduled_refresh(ids)
        procs.dispatch()
        return False

    try:
        procs.wait(all_complete, 100, "every account complete under the fault mix")
    except AssertionError as error:
        raise AssertionError(f"still incomplete: {left}\n{_history(left)}") from error
    faults = procs.sandbox.control("GET", "stats")["by_status"]
    assert {"503", "504"} <= set(faults), faults  # the faults really fired
    # Every failed read was recorded and asked again: the daily read's hole repair (the safety
    # net for reads lost without a trace) found nothing to repair.
    repairs = [
        line
        for worker in procs.workers
        for line in worker.log().splitlines()
        if "re-reading days missing" in line or "re-reading the reach windows" in line
    ]
    assert not repairs, repairs


def test_moving_the_sandbox_clock_by_days_fills_the_gap_once(procs):
    """Refreshed, then Meta's clock jumps three days: the next refresh reads the missing days,
    each once, with Meta's numbers (a reference account connected after the jump has the
    same rows)."""
    # Final numbers at once (no 48-hour revisions): the jump, not settling, is under test.
    procs.sandbox.control("POST", "settings", json={"settle_hours": 0})
    account, remote = procs.connect()
    procs.start_workers(1, concurrency=2)

    def refreshed_since(mark) -> bool:
        account.refresh_from_db()
        if account.lease_token == "" and account.last_refresh_at and account.last_refresh_at > mark:
            return True
        procs.dispatch()
        return False

    start = timezone.now()
    procs.wait(lambda: refreshed_since(start), 60, "the first refresh")
    before = stored(account)
    assert account.backfilled_at is not None

    jumped = procs.sandbox.control("POST", "clock", json={"advance_days": 3, "freeze": True})
    mark = timezone.now()
    InstagramAccount.objects.filter(pk=account.pk).update(next_refresh_at=timezone.now())
    procs.wait(lambda: refreshed_since(mark), 60, "the refresh after the jump")
    after = stored(account)

    new_days = {day for (_, _, day) in after["daily"]} - {day for (_, _, day) in before["daily"]}
    # Every day Meta completed since the last one stored: three, or four when the 72 hours ran
    # over a 23-hour day (8 March) and past one more Pacific midnight.
    last_before = max(day for (_, _, day) in before["daily"])
    last_after = parse.today_pacific(datetime.fromisoformat(jumped["now"])) - timedelta(days=1)
    expected = {last_after - timedelta(days=n) for n in range((last_after - last_before).days)}
    assert new_days == expected and len(new_days) >= 3, sorted(new_days)
    reference, _ = procs.connect(remote=remote)
    refresh_fully(reference)
    clean = stored(reference)
    # Stories captured before the jump have expired since: kept, never read by the reference.
    assert clean["media"] <= after["media"]
    # The profile is one reading per day of Prism's calendar (which did not move), not doubled.
    assert set(after["profile"]) == set(clean["profile"])
    clean |= {"media": after["media"], "profile": after["profile"]}
    diff = differences(after, clean, limit=None)
    # Nothing missing, nothing different. Rows the reference lacks may only be older history
    # this account read before the jump (e.g. Meta's 30 days of follower_count at connection).
    for kind, found in diff.items():
        assert not found["missing"] and not found["changed"], (kind, found)
        assert all(key[-1] < min(new_days) for key in found["extra"]), (kind, found)
