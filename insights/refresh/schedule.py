"""The refresh schedule: claims, leases and fencing (DESIGN.md "The refresh pipeline";
pipeline-anchors.md "What this means for Prism" 1, 2, 10).

- The database owns the schedule. `claim_due` takes due accounts with one conditional UPDATE:
  it sets a fresh `lease_token` and `lease_until` only where the account is still due and has no
  live lease, then reads back the rows carrying its tokens. Two dispatchers never claim one
  account.
- Two clocks, each for what it is good at. Leases (`lease_until`) are written and judged by the
  database clock (`Now()`) only: no worker clock is trusted for them. The schedule's columns
  (`next_refresh_at`, `throttled_until`, `last_refresh_at`, ...) are moments in the product's
  time, written by workers and views from their clock, so they are judged by the same clock
  (the dispatcher's): comparing them with the database's would mix two clocks.
- A message may be delivered twice (Redis redelivers after its visibility timeout, and a copy
  carries the same token), so the task first swaps the dispatched token for its own (`begin`):
  only one delivery wins the swap and runs.
- Every write of a refresh runs in `fenced()`: a transaction that first extends the lease
  `WHERE lease_token = mine`. Zero rows means another worker owns the account now (the lease
  lapsed and it was claimed again), so the stale worker raises `LeaseLost` and writes nothing.
  On PostgreSQL that UPDATE also row-locks the account; on SQLite the IMMEDIATE transaction takes
  the write lock up front.
- Waits are written to `next_refresh_at` (rate limits, reconnects, errors with backoff), never
  expressed as Celery countdowns. A crash pushes `next_refresh_at` forward before re-raising, so
  a poisoned account cannot spin; if the worker dies outright, the lease lapses and the account
  is claimed again.
- Usage headers: near the per-account (BUC) limit the account is throttled; near the app-wide
  limit (X-App-Usage) the dispatcher claims fewer accounts, or none until it recovers.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat, Now
from django.utils import timezone

from ..meta.client import APP_USAGE_FIELDS, ErrorKind, MetaClient, MetaError, OutOfTime
from ..models import ApiThrottle, Health, InstagramAccount, WaitingReason, health_from_error

log = logging.getLogger(__name__)

REFRESHABLE = (Health.CONNECTED, Health.EXPIRING_SOON, Health.ERROR)
# The app-wide usage (percent) above which dispatch slows, and where it stops.
SLOW_AT, STOP_AT = 75, 95
# Per-account usage (BUC) above which the account waits for Meta to restore access.
ACCOUNT_THROTTLE_AT = 90
MAX_BACKOFF = timedelta(hours=6)
BUC_WAIT_FLOOR = timedelta(minutes=15)  # also note_usage's wait near the account's limit


class LeaseLost(Exception):
    """Another worker owns this account's refresh now; this one must stop writing."""


def lease_length() -> timedelta:
    """Longer than the task's hard time limit (settings orders soft < hard < lease < broker
    visibility timeout)."""
    return timedelta(seconds=settings.REFRESH_LEASE_SECONDS)


def refresh_interval() -> timedelta:
    return timedelta(seconds=settings.REFRESH_INTERVAL_SECONDS)


def jittered(delay: timedelta, spread: float = 0.1) -> timedelta:
    """±10 %: accounts connected together drift apart instead of refreshing in lockstep."""
    return delay * (1 + random.uniform(-spread, spread))  # noqa: S311 (not security)


def due_accounts(now: datetime | None = None):
    """Connected accounts whose refresh is due by `now` (default: this process's clock), with
    no live lease, not throttled and not waiting for a reconnect (health outside REFRESHABLE).
    Leases are always judged by the database clock."""
    at = now or timezone.now()
    return (
        InstagramAccount.objects.filter(
            disconnected_at=None,
            health__in=REFRESHABLE,
            next_refresh_at__lte=at,
        )
        .filter(
            (Q(lease_until=None) | Q(lease_until__lt=Now()))
            & (Q(throttled_until=None) | Q(throttled_until__lte=at))
        )
        .exclude(token_ciphertext="")
    )


def dispatch_limit(limit: int, now: datetime | None = None) -> int:
    """Fewer claims while the app-wide usage is high; none at the limit."""
    busiest = (
        ApiThrottle.objects.filter(
            Q(throttled_until=None) | Q(throttled_until__gt=now or timezone.now())
        )
        .order_by("-percent")
        .values_list("percent", "throttled_until")
        .first()
    )
    if not busiest:
        return limit
    percent, until = busiest
    if until is not None or percent >= STOP_AT:
        return 0
    if percent >= SLOW_AT:
        return max(1, limit * (STOP_AT - percent) // (STOP_AT - SLOW_AT + 1))
    return limit


def claim_due(limit: int = 100, *, now: datetime | None = None) -> list[tuple[int, str]]:
    """Claim up to `limit` due accounts: [(account_id, lease_token)]. Due means due by `now`
    (this process's clock unless given); the leases are the database clock's either way.

    One UPDATE claims the whole batch: the candidate ids come from a subquery, and the outer
    WHERE repeats the due/lease conditions, so a row another dispatcher claimed in between (after
    PostgreSQL's lock wait re-reads it) is skipped, not claimed twice. Each token is the batch's
    random prefix plus the account id: unique per claim, read back with one query."""
    limit = dispatch_limit(limit, now)
    if limit <= 0:
        return []
    prefix = uuid.uuid4().hex[:24] + "-"
    candidates = due_accounts(now).order_by("next_refresh_at").values("pk")[:limit]
    with transaction.atomic():
        due_accounts(now).filter(pk__in=candidates).update(
            lease_token=Concat(Value(prefix), Cast("pk", output_field=CharField())),
            lease_until=Now() + lease_length(),
        )
        return list(
            InstagramAccount.objects.filter(lease_token__startswith=prefix).values_list(
                "pk", "lease_token"
            )
        )


def claim_one(account_id: int) -> str | None:
    """Claim one account now, whatever its schedule ("Refresh now", the management command):
    the same lease rules, so it never runs beside a dispatched refresh."""
    token = uuid.uuid4().hex
    claimed = (
        InstagramAccount.objects.filter(pk=account_id, disconnected_at=None)
        .filter(Q(lease_until=None) | Q(lease_until__lt=Now()))
        .update(lease_token=token, lease_until=Now() + lease_length())
    )
    return token if claimed else None


def begin(account_id: int, dispatched_token: str) -> str | None:
    """Swap the dispatched token for this run's own. None: the lease is gone or another
    delivery of the same message already started (it swapped first)."""
    if not dispatched_token:
        return None
    token = uuid.uuid4().hex
    started = InstagramAccount.objects.filter(
        pk=account_id, lease_token=dispatched_token, lease_until__gt=Now()
    ).update(
        lease_token=token,
        lease_until=Now() + lease_length(),
        refresh_started_at=timezone.now(),
    )
    return token if started else None


@contextmanager
def fenced(account_id: int, token: str) -> Iterator[None]:
    """A transaction whose first statement proves (and extends) the lease; raises LeaseLost
    and rolls back if the lease is no longer this run's."""
    with transaction.atomic():
        held = InstagramAccount.objects.filter(pk=account_id, lease_token=token).update(
            lease_until=Now() + lease_length()
        )
        if not held:
            raise LeaseLost(f"account {account_id}: lease lost")
        yield


def _release(account_id: int, token: str, **fields) -> bool:
    return bool(
        InstagramAccount.objects.filter(pk=account_id, lease_token=token).update(
            lease_token="", lease_until=None, **fields
        )
    )


def finish(
    account_id: int,
    token: str,
    *,
    next_at: datetime | None = None,
    stats: dict | None = None,
    data_as_of: datetime | None = None,
    waiting: str = WaitingReason.NONE,
) -> bool:
    """A successful run: record it, schedule the next one, release the lease (fenced)."""
    fields = {
        "last_refresh_at": timezone.now(),
        "last_refresh_error": "",
        "last_refresh_error_at": None,
        "refresh_failures": 0,
        "waiting_reason": waiting,
        "next_refresh_at": next_at or (timezone.now() + jittered(refresh_interval())),
        "last_refresh_stats": stats or {},
    }
    if data_as_of is not None:
        fields["data_as_of"] = data_as_of
    return _release(account_id, token, **fields)


def backoff(failures: int) -> timedelta:
    """5 min, 10, 20, … capped at 6 h, jittered."""
    return jittered(min(MAX_BACKOFF, timedelta(minutes=5) * 2 ** max(0, failures - 1)), 0.2)


def fail(account_id: int, token: str, error: BaseException) -> None:
    """Any failure: note it and push `next_refresh_at` out before the caller re-raises, so a
    poisoned account cannot spin the dispatcher. Rate limits and reconnects wait as Meta says."""
    account = InstagramAccount.objects.filter(pk=account_id).first()
    if account is None:
        return
    if isinstance(error, MetaError):
        message = str(error)[:1000]
    elif isinstance(error, OutOfTime):
        message = "The refresh ran out of time; the next one continues where it stopped."
    else:
        message = type(error).__name__
    now = timezone.now()
    fields = {
        "last_refresh_error": message,
        "last_refresh_error_at": now,
        "refresh_failures": account.refresh_failures + 1,
    }
    kind = error.kind if isinstance(error, MetaError) else None
    if kind == ErrorKind.RATE_LIMITED:
        # Meta's wait (the BUC header's estimated_time_to_regain_access) when it named one,
        # at least a minute; without one, an account's budget (80001/80002) is not asked
        # again for BUC_WAIT_FLOOR, the app's for a minute.
        if error.retry_after:
            wait = max(timedelta(seconds=error.retry_after), timedelta(minutes=1))
        elif error.code in (80001, 80002):
            wait = BUC_WAIT_FLOOR
        else:
            wait = timedelta(minutes=1)
        fields |= {
            "waiting_reason": WaitingReason.RATE_LIMITED,
            "throttled_until": now + wait,
            "next_refresh_at": now + wait,
            "refresh_failures": account.refresh_failures,  # Meta's limit is not our failure
        }
    elif kind in (ErrorKind.TOKEN_INVALID, ErrorKind.PERMISSION):
        # Stops here until a reconnect: the dispatcher only claims REFRESHABLE healths, and
        # a reconnect makes the account due again. No retry storm against a dead token.
        fields |= {"waiting_reason": WaitingReason.RECONNECT, "next_refresh_at": now}
    else:
        fields |= {
            "waiting_reason": WaitingReason.ERROR,
            "next_refresh_at": now + backoff(account.refresh_failures + 1),
        }
    if not _release(account_id, token, **fields):
        log.info("account %s: failure after the lease was lost; nothing recorded", account_id)
        return
    if kind in (ErrorKind.TOKEN_INVALID, ErrorKind.PERMISSION):
        state = health_from_error(error)
        if state:
            account.refresh_from_db()
            account.set_health(state, message)


def note_usage(account: InstagramAccount, meta: MetaClient) -> datetime | None:
    """After a run: near Meta's per-account limit the account waits (`throttled_until`, which
    is returned), and the app-wide usage is kept per host for the dispatcher."""
    usage = meta.usage
    now = timezone.now()
    business = [
        max(
            (entry.get(k, 0) for k in ("call_count", "total_time", "total_cputime")),
            default=0,
        )
        for entries in usage.business.values()
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
    ]
    throttled = None
    if business and max(business) >= ACCOUNT_THROTTLE_AT:
        throttled = now + max(timedelta(seconds=usage.regain_seconds), BUC_WAIT_FLOOR)
        InstagramAccount.objects.filter(pk=account.pk).update(
            throttled_until=throttled, waiting_reason=WaitingReason.RATE_LIMITED
        )
    # Both hosts' names: graph.instagram.com says call_volume / cpu_time (restfb#1571).
    app = [v for k, v in usage.app.items() if k in APP_USAGE_FIELDS]
    if app:
        percent = int(max(v for v in app if isinstance(v, int | float)) or 0)
        ApiThrottle.objects.update_or_create(
            host=meta.host,
            defaults={
                "percent": percent,
                "throttled_until": now + timedelta(minutes=10) if percent >= STOP_AT else None,
                "updated_at": now,
            },
        )
    return throttled


def request_refresh(account: InstagramAccount) -> bool:
    """ "Refresh now": make the account due at once, at most every REFRESH_NOW_SECONDS.
    False when it was asked too recently (or is waiting for Meta or a reconnect)."""
    floor = timezone.now() - timedelta(seconds=settings.REFRESH_NOW_SECONDS)
    return bool(
        InstagramAccount.objects.filter(pk=account.pk, health__in=REFRESHABLE)
        .filter(Q(refresh_requested_at=None) | Q(refresh_requested_at__lt=floor))
        .update(refresh_requested_at=timezone.now(), next_refresh_at=timezone.now())
    )
