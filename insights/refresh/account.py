"""One account's refresh: `refresh_account(account_id, lease_token)`.

The task is a thin shell over this. A run:
1. swaps the dispatched lease token for its own (`schedule.begin`; a duplicated message loses);
2. continues the history backfill while one is pending (a bounded slice per run);
3. queues the account reads (profile, daily metrics, totals, windows, weekly demographics) on one
   `RequestPlan`, with whatever the media and stories steps queue up front (`queue_<step>(ctx)`,
   kept in `ctx.queued`), and sends them (one batch request on graph.facebook.com);
4. runs the stories and media steps (`refresh.stories.refresh_stories(ctx)`,
   `refresh.media.refresh_media(ctx)`), which write through `ctx.fenced()` too;
5. records success and the next due time, or the failure and when to try again.

`RefreshContext` is the small object every step receives: the account, its Meta client, the
run's `now`, the request plan, the lease-fenced transaction and the rejected-metric registry.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from ..meta import parse
from ..meta.client import MetaClient, MetaError, OutOfTime
from ..models import InstagramAccount, LoginPath, Media, WaitingReason
from . import backfill, daily, demographics, media, region, schedule, store, stories
from .plan import ACCOUNT_WIDE, RequestPlan

log = logging.getLogger(__name__)

MIN_GAP = timedelta(minutes=2)


@dataclass
class RefreshContext:
    account: InstagramAccount
    lease_token: str
    meta: MetaClient
    now: datetime
    plan: RequestPlan
    stats: dict = field(default_factory=dict)
    deadline: float = 0.0  # time.monotonic() after which long steps (backfill) yield
    # What a step queued on the run's first flush (`queue_<step>(ctx)`), for its own refresh_<step>.
    queued: dict = field(default_factory=dict)
    _rejected: dict[str, set[str]] | None = None
    _probing: set[tuple[str, str]] = field(default_factory=set)
    _new_rejections: list[tuple[str, str, MetaError]] = field(default_factory=list)
    _accepted: list[tuple[str, str]] = field(default_factory=list)

    def fenced(self):
        """The transaction every write of this run goes through (see schedule.fenced)."""
        return schedule.fenced(self.account.pk, self.lease_token)

    @property
    def version(self) -> str:
        return self.meta.version or ""

    def rejected(self, product_type: str = "") -> set[str]:
        """Metrics Meta refused for this account, scope ('' = account insights) and Graph
        version, and not due to be asked again yet (`MetricRejection.retry_at`)."""
        if self._rejected is None:
            self._rejected = {}
            self._probing = set()
            for metric, product, retry_at in self.account.metric_rejections.filter(
                api_version=self.version
            ).values_list("metric", "product_type", "retry_at"):
                if retry_at is not None and retry_at > self.now:
                    self._rejected.setdefault(product, set()).add(metric)
                else:
                    self._probing.add((metric, product))  # asked again in this run
        return self._rejected.get(product_type, set())

    def reject(self, metric: str, product_type: str, error: MetaError) -> None:
        """Note a metric Meta refused (recorded once per run, however many operations of the
        run carried it; they were queued before Meta's first answer came back)."""
        known = self.rejected(product_type)
        if metric not in known:
            self._rejected.setdefault(product_type, set()).add(metric)
            self._new_rejections.append((metric, product_type, error))

    def accepted(self, metrics, product_type: str = "") -> None:
        """Meta answered these metrics: a refusal being probed again is over."""
        self.rejected(product_type)
        for metric in metrics:
            if (metric, product_type) in self._probing:
                self._probing.discard((metric, product_type))
                self._accepted.append((metric, product_type))

    def save_rejections(self) -> None:
        """Record this run's rejections and lift the refusals Meta answered again (inside a
        fenced transaction)."""
        for metric, product_type, error in self._new_rejections:
            store.record_rejection(
                self.account,
                metric=metric,
                product_type=product_type,
                api_version=self.version,
                error=error.message,
                code=error.code,
                subcode=error.subcode,
                now=self.now,
            )
        for metric, product_type in self._accepted:
            self.account.metric_rejections.filter(
                metric=metric, product_type=product_type, api_version=self.version
            ).delete()
        self._new_rejections = []
        self._accepted = []

    @property
    def has_rejections(self) -> bool:
        return bool(self._new_rejections or self._accepted)

    @property
    def out_of_time(self) -> bool:
        return bool(self.deadline) and time.monotonic() > self.deadline


def make_context(account: InstagramAccount, token: str, meta: MetaClient) -> RefreshContext:
    return RefreshContext(
        account=account,
        lease_token=token,
        meta=meta,
        now=timezone.now(),
        plan=RequestPlan(meta, use_batch=account.login_path != LoginPath.INSTAGRAM),
        deadline=time.monotonic() + settings.REFRESH_TIME_BUDGET_SECONDS,
    )


def refresh_account(account_id: int, lease_token: str) -> dict:
    """Run one refresh of the account whose lease the dispatcher handed out. Returns what was
    fetched; {"skipped": ...} when this delivery does not own the lease."""
    token = schedule.begin(account_id, lease_token)
    if token is None:
        return {"skipped": "not this delivery's lease"}
    return run(account_id, token)


def run(account_id: int, token: str) -> dict:
    """The refresh itself, under a lease this run already owns."""
    account = InstagramAccount.objects.select_related("client").get(pk=account_id)
    try:
        meta = account.meta_client()
    except Exception as error:
        schedule.fail(account_id, token, error)
        return {"error": "the stored token cannot be used"}
    ctx = make_context(account, token, meta)
    started = time.monotonic()
    # The soft time limit, enforced here in any pool: no request starts after it, so the run
    # ends within one request's timeouts of it, under the hard limit and the lease.
    meta.deadline = started + settings.CELERY_TASK_SOFT_TIME_LIMIT
    try:
        steps(ctx)
    except schedule.LeaseLost:
        log.warning("account %s: lease lost mid-refresh; stopped without writing", account_id)
        return {"skipped": "lease lost", **ctx.stats}
    except OutOfTime as error:
        # What earlier steps wrote stays (complete upserts); the rest comes with the next run.
        log.warning("account %s: %s; stopped", account_id, error)
        schedule.fail(account_id, token, error)
        return {"error": "the refresh ran out of time", **ctx.stats}
    except MetaError as error:
        # Meta's answer (rate limit, revoked token, an outage): recorded and rescheduled, not a
        # crash. Values already written by earlier steps stay (they are complete upserts).
        schedule.note_usage(account, meta)
        schedule.fail(account_id, token, error)
        return {"error": str(error), **ctx.stats}
    except BaseException as error:
        schedule.fail(account_id, token, error)  # push next_refresh_at before re-raising
        raise
    throttled = schedule.note_usage(account, meta)
    ctx.stats["requests"] = meta.requests_made
    ctx.stats["seconds"] = round(time.monotonic() - started, 3)
    backfilling = ctx.stats.get("backfill", {}).get("pending", 0) > 0
    next_at = next_due(ctx, backfilling=backfilling)
    waiting = WaitingReason.BACKFILL if backfilling else WaitingReason.NONE
    if throttled is not None:  # near the account's own limit: it waits for Meta
        next_at, waiting = max(next_at, throttled), WaitingReason.RATE_LIMITED
    schedule.finish(
        account_id,
        token,
        next_at=next_at,
        stats=ctx.stats,
        data_as_of=ctx.stats.pop("_data_as_of", None),
        waiting=waiting,
    )
    return ctx.stats


def steps(ctx: RefreshContext) -> None:
    if ctx.account.backfilled_at is None:
        ctx.stats["backfill"] = backfill.run(ctx)
    # The steps' reads first: on graph.instagram.com (one GET each, in this order) the
    # stories' final captures go out before the account reads, and an account-wide error
    # (a rate limit) met later in the flush leaves them answered.
    for name, queue, _refresh in step_functions():
        # Rides along in the account reads' batch: no request of its own.
        ctx.queued[name] = queue(ctx)
    read = daily.AccountRead()
    daily.plan(ctx, read)
    demo = demographics.plan(ctx)
    try:
        ctx.plan.flush()
    except MetaError as error:
        if error.kind in ACCOUNT_WIDE:
            _keep_stories(ctx)
        raise
    if read.daily or read.windows or read.profile or demo.answers or ctx.has_rejections:
        with ctx.fenced():
            demographics.save(ctx, demo)  # first: the replies rule reads the latest countries
            if demo.saved:
                region.mark_stored_replies(ctx.account)
            as_of = daily.save(ctx, read)
            ctx.save_rejections()
        if as_of and (ctx.account.data_as_of is None or as_of > ctx.account.data_as_of):
            ctx.stats["_data_as_of"] = as_of
        ctx.stats["account"] = {**read.stats(), "demographics": demo.saved}
        if read.failures or demo.failures:
            ctx.stats["account"]["failures"] = (read.failures + demo.failures)[:10]
    for name, _queue, refresh in step_functions():
        ctx.stats[name] = refresh(ctx)


def _keep_stories(ctx: RefreshContext) -> None:
    """The first flush met an account-wide error (a rate limit, a revoked token): the stories'
    answers it did get are written before the run stops (a final capture cannot wait for the
    next run), the unanswered ones are retried as failed. The account reads are not written
    half: the next run reads them whole."""
    if "stories" in ctx.queued:
        try:
            ctx.stats["stories"] = stories.refresh_stories(ctx)
        except schedule.LeaseLost:
            raise
        except Exception:  # the run's own error is the one to record
            log.exception("account %s: keeping the stories read failed", ctx.account.pk)


def step_functions() -> tuple:
    """The steps after the account reads, each `(name, queue_<name>, refresh_<name>)`: the queue
    function runs before the first flush, the refresh function writes what came back (looked up
    at each run, so a test can replace one).
    Stories first: their reads came back with the first flush, they are due within the hour, and
    the media step is the long one (a failure there must not lose a story's final capture)."""
    return (
        ("stories", stories.queue_stories, stories.refresh_stories),
        ("media", media.queue_media, media.refresh_media),
    )


def next_due(ctx: RefreshContext, *, backfilling: bool = False) -> datetime:
    """The earliest of: the regular interval, the next media/story sample due, and shortly
    after the next Pacific midnight (when Meta completes a day). Never sooner than MIN_GAP,
    except while a backfill is still going."""
    now = timezone.now()
    if backfilling:
        return now + backfill.RETRY_AFTER if ctx.stats["backfill"].get("failed_windows") else now
    candidates = [now + schedule.jittered(schedule.refresh_interval())]
    midnight = parse.day_start(parse.today_pacific(now) + timedelta(days=1))
    candidates.append(midnight + schedule.jittered(timedelta(minutes=45), 0.5))
    sample = Media.objects.filter(account=ctx.account, next_sample_at__isnull=False).aggregate(
        m=Min("next_sample_at")
    )["m"]
    if sample:
        candidates.append(sample)
    return max(now + MIN_GAP, min(candidates))
