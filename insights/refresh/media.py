"""The media step of a refresh: metadata of the account's posts, reels and carousels, and their
lifetime metrics sampled on a decaying schedule (graph-api.md §3.2, §3.4, §3.5, §5; the
contract the reports read is `insights.models.media`). Stories are `refresh.stories`' job.

Requests. Everything rides on the run's `RequestPlan`, queued before the account's flush
(`queue_media`), so on graph.facebook.com the media reads share the account's batch requests:
- Listing. A daily run reads only what is new: `/media` since the newest known media (less a
  day's margin, so late arrivals are seen), usually one operation and one page. About weekly
  (`FULL_LIST_EVERY`) a complete listing finds the media deleted since; it is cut into time
  slices of about `SLICE_MEDIA` known media each (`since`/`until`), one operation per slice, so
  a thousand media are listed in one round instead of ten pages one after the other.
  Children come by field expansion (`children{id,media_type}`, one page: an album holds ≤ 10).
- Samples. No multi-ID request (new apps cannot use `?ids=` since 2026-11-04,
  docs/graph-api.md §1). On graph.facebook.com each media is one operation of the run's
  synchronous batch requests (≤ 50 per HTTP request), with the metrics of its product type;
  on graph.instagram.com (no documented batch) the metrics every feed product type has come by
  field expansion of `insights` over `/media` time slices (a page of up to 100 media per
  request), and a young media's own metrics by one GET. A failed slice is asked media by media
  (one failing item fails a page, §12.9). A media's error decides its fate: 2108006 (posted
  before the business conversion) marks it, and every older media, unavailable — Meta's rule
  is one moment, the latest conversion; 100/33 marks it gone; a metric Meta refuses for the
  media is held on the media (`Media.refused_metrics`) and asked again after a while
  (docs/graph-api.md §3), the media's other metrics at once.
  Breakdowns (and, on Instagram Login, a product type's own metrics) are asked while a media is
  younger than EXTRAS_MAX_AGE; an older media's samples carry what one request per page can.
  Media first seen in a run and already due are sampled in the next round of the same flush.

Schedule. Samples follow the media's age (`SAMPLE_AGES`: 1 h, 6 h, 1, 3, 7, 14, 30, 60, 90 days,
then every 30 days; on Instagram Login every 90 days by cohort after two weeks,
`INSTAGRAM_SAMPLE_AGES`) up to Meta's two-year retention; then `next_sample_at` is NULL. A run takes
the samples falling due within the next `min(1 h, a quarter of the step)`, so samples ride along
the hourly refreshes instead of each asking for a run of its own. A thousand-media account that
posts daily has about 40 samples due a day.

A run samples at most MAX_DUE media (newest first); the rest stay due and are taken by runs a
few minutes apart, so a first listing of 10,000 media never holds them all in one run. A sample
Meta fails to answer (5xx, timeouts) is asked again TRANSIENT_RETRY later.

Deletions: a media missing from a complete listing, or answered 100/33 when sampled alone, is
marked gone (`gone_at`, insights_status gone); its rows and samples stay. Seen again, it is
live again.

Writes go through `ctx.fenced()`: listing pages are written as they arrive (memory holds one
batch answer's text and the page being written, decoded when its turn comes: never the account's
whole media list), samples once the flush is done, a chunk of rows at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q

from ..meta import catalogue, parse
from ..meta.client import ErrorKind, MetaError
from ..models import InsightsStatus, InstagramAccount, Media, MediaSample
from . import daily, store, thumbnails

log = logging.getLogger(__name__)

LIST_FIELDS = (
    "id,media_type,media_product_type,caption,permalink,shortcode,timestamp,media_url,"
    "thumbnail_url,children{id,media_type}"
)
PAGE_LIMIT = 100
FULL_LIST_EVERY = timedelta(days=7)
RECENT_MARGIN = timedelta(days=1)
SLICE_MEDIA = 80  # known media per slice of a complete listing (a page holds 100)
FIRST_LIST_SLICES = 24  # nothing known yet: monthly slices over the retention, and the rest
MEDIA_CAP = 10_000  # /media lists only the 10,000 most recent (§3.2)
MAX_DUE = 2_500  # samples per run; the rest wait for the next run
SAMPLES_PER_ROUND = 500  # media sampled per round of requests (about 20 operations)
ERROR_RETRY = timedelta(days=1)
# A sample that failed transiently: a media due keeps its account due (account.next_due), so
# without this a failing media would bring a refresh every couple of minutes.
TRANSIENT_RETRY = timedelta(minutes=20)
RETENTION = timedelta(days=catalogue.MEDIA_RETENTION_DAYS)
LOOKAHEAD = timedelta(hours=1)

SAMPLE_AGES: tuple[timedelta, ...] = (
    *(timedelta(hours=h) for h in (1, 6, 24, 72, 168, 336)),
    *(timedelta(days=d) for d in range(30, catalogue.MEDIA_RETENTION_DAYS + 1, 30)),
)


# --- The schedule -------------------------------------------------------------------------------


# On Instagram Login (no batch: each time slice of due media is a request of its own) a media is
# sampled on the usual points for its first two weeks; after that, every COHORT_CYCLE days on
# its cohort's day: media published within the same COHORT_WIDTH days share a day, so the old
# media due on a day are one time slice (one request) and most days have none. Their numbers
# hardly move by then; it keeps a day's refresh of a 1,000-media account within its budget.
INSTAGRAM_SAMPLE_AGES: tuple[timedelta, ...] = tuple(
    age for age in SAMPLE_AGES if age <= timedelta(days=14)
)
COHORT_CYCLE = 90  # days
COHORT_WIDTH = 60  # days of publication per cohort (about 80 media of a daily poster)


def cohort_sample_at(published: datetime, now: datetime) -> datetime | None:
    """The next day (after today, UTC) of this media's cohort; None past Meta's retention."""
    cohort = (published.date().toordinal() // COHORT_WIDTH) % COHORT_CYCLE
    today = now.date().toordinal()
    day = today + 1 + (cohort - (today + 1)) % COHORT_CYCLE
    at = datetime.fromordinal(day).replace(tzinfo=now.tzinfo)
    return at if at - published < RETENTION else None


def _lookahead(index: int, ages: tuple[timedelta, ...] = SAMPLE_AGES) -> timedelta:
    previous = ages[index - 1] if index else timedelta(0)
    return min(LOOKAHEAD, (ages[index] - previous) / 4)


def next_sample_at(
    published: datetime, now: datetime, ages: tuple[timedelta, ...] = SAMPLE_AGES
) -> datetime | None:
    """The next point of the schedule not already due at `now` (a sample taken now stands in
    for a point due within its lookahead); None past Meta's retention."""
    for index, age in enumerate(ages):
        point = published + age
        if point - _lookahead(index, ages) > now:
            return point
    if ages is INSTAGRAM_SAMPLE_AGES:
        return cohort_sample_at(published, now)
    return None


def is_due(
    published: datetime,
    scheduled: datetime | None,
    now: datetime,
    ages: tuple[timedelta, ...] = SAMPLE_AGES,
) -> bool:
    if scheduled is None:
        return False
    age = scheduled - published
    for index, point in enumerate(ages):
        if point == age:
            return scheduled - _lookahead(index, ages) <= now
    return scheduled <= now


def schedule_of(ctx) -> tuple[timedelta, ...]:
    return SAMPLE_AGES if ctx.plan.use_batch else INSTAGRAM_SAMPLE_AGES


def first_sample_at(published: datetime, now: datetime) -> datetime | None:
    """For a media seen for the first time: due now once it is past the first point's lookahead
    (its first reading, however late), else at the first point; None past the retention."""
    if now - published >= RETENTION:
        return None
    first = published + SAMPLE_AGES[0]
    return now if first - _lookahead(0) <= now else first


# --- A run's state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A media to sample in this run (what the requests and the writes need of it)."""

    pk: int
    media_id: str
    kind: str
    published: datetime
    scheduled: datetime | None
    new: bool = False
    refused: frozenset = frozenset()  # metrics Meta refused for this media, not due again yet


@dataclass
class MediaRun:
    full: bool  # a complete listing (deletions are judged by it)
    complete: bool = True  # every listing operation answered to its end
    listed: int = 0
    inserted: int = 0
    oldest_listed: datetime | None = None
    values: dict[int, dict] = field(default_factory=dict)  # pk -> metrics from the answers
    answered: set[int] = field(default_factory=set)  # pk whose main operation succeeded
    due: dict[int, Due] = field(default_factory=dict)
    outcomes: dict[int, tuple[str, str]] = field(default_factory=dict)  # pk -> (status, reason)
    cutoff: datetime | None = None  # newest media known to predate the business conversion
    backlog: list[Due] = field(default_factory=list)  # due, not yet queued (see _queue_backlog)
    thumbnails: list = field(default_factory=list)  # (timestamp, pk, url): newest kept
    thumbnails_tried: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retry: set[int] = field(default_factory=set)  # pk whose sample failed transiently
    queued_samples: int = 0
    refused: dict[int, dict[str, MetaError]] = field(default_factory=dict)  # pk -> this run's

    def stats(self) -> dict:
        return {
            "listed": self.listed,
            "new": self.inserted,
            "full_listing": self.full,
            "sampled": len(self.answered),
            "failures": self.failures[:10],
        }


# --- Queuing ------------------------------------------------------------------------------------


def queue_media(ctx) -> MediaRun:
    """Queue this run's media reads on ctx.plan (before the account's flush)."""
    account = ctx.account
    listed_at = InstagramAccount.objects.filter(pk=account.pk).values_list(
        "media_listed_at", "media_insights_cutoff"
    )[0]
    full = listed_at[0] is None or listed_at[0] <= ctx.now - FULL_LIST_EVERY
    run = MediaRun(full=full, cutoff=listed_at[1])
    feed = Media.objects.filter(account=account, is_story=False)
    if full:
        for since, until in _slices(ctx, feed):
            _queue_listing(ctx, run, since, until)
    else:
        newest = feed.order_by("-timestamp").values_list("timestamp", flat=True).first()
        _queue_listing(ctx, run, newest - RECENT_MARGIN if newest else None, None)
    _queue_due(ctx, run, feed)
    thumbnails.queue_backlog(ctx, run)
    ctx.plan.after_round(lambda: _queue_backlog(ctx, run))
    return run


def _slices(ctx, feed) -> list[tuple[datetime | None, datetime | None]]:
    """(since, until) per operation of a complete listing, newest first, covering all time:
    boundaries every SLICE_MEDIA known media, or monthly when none is known yet."""
    stamps = list(feed.order_by("-timestamp").values_list("timestamp", flat=True))
    if stamps:
        bounds = stamps[SLICE_MEDIA::SLICE_MEDIA]
    else:
        step = RETENTION / FIRST_LIST_SLICES
        bounds = [ctx.now - step * (i + 1) for i in range(FIRST_LIST_SLICES)]
    slices, until = [], None
    for bound in bounds:
        slices.append((bound, until))
        until = bound + timedelta(seconds=1)  # overlapping by a second: nothing falls between
    slices.append((None, until))
    return slices


def _queue_listing(ctx, run: MediaRun, since, until, after: str | None = None) -> None:
    params = {"fields": LIST_FIELDS, "limit": PAGE_LIMIT}
    if since is not None:
        params["since"] = int(since.timestamp())
    if until is not None:
        params["until"] = int(until.timestamp())
    if after:
        params["after"] = after

    def on_result(body):
        if isinstance(body, MetaError) or not isinstance(body, dict):
            run.complete = False
            run.failures.append(f"listing: {body}")
            return
        items = [i for i in body.get("data") or [] if isinstance(i, dict)]
        if items:
            _save_page(ctx, run, items)
        paging = body.get("paging") or {}
        cursor = (paging.get("cursors") or {}).get("after")
        if paging.get("next") and cursor:
            _queue_listing(ctx, run, since, until, after=cursor)

    ctx.plan.add(f"{ctx.account.ig_user_id}/media", params, on_result)


def _queue_due(ctx, run: MediaRun, feed) -> None:
    """The known media whose next sample falls due in this run."""
    rows = (
        feed.filter(gone_at=None, next_sample_at__lte=ctx.now + LOOKAHEAD)
        .order_by("next_sample_at")
        .values_list(
            "pk",
            "media_id",
            "media_type",
            "product_type",
            "timestamp",
            "next_sample_at",
            "refused_metrics",
        )
    )
    due = []
    for pk, media_id, media_type, product, published, scheduled, refused in rows[: MAX_DUE * 2]:
        if len(due) >= MAX_DUE:
            break
        if not is_due(published, scheduled, ctx.now, schedule_of(ctx)):
            continue
        kind = catalogue.media_kind(media_type, product)
        held = frozenset(m for m, r in (refused or {}).items() if _held(r, ctx.now))
        due.append(Due(pk, media_id, kind, published, scheduled, refused=held))
    run.backlog.extend(due)


def _queue_backlog(ctx, run: MediaRun) -> None:
    """Before each round: queue the media due (known ones before the first round, those the
    listing pages found after theirs), newest first, at most SAMPLES_PER_ROUND per round (one
    batch request stays a bounded amount of work for Meta, whose batches time out) and at most
    MAX_DUE per run (a first listing of 10,000 media is sampled over a few runs minutes apart:
    they stay due; a run's memory stays bounded)."""
    if run.backlog:
        room = min(SAMPLES_PER_ROUND, max(0, MAX_DUE - run.queued_samples))
        run.backlog.sort(key=lambda d: d.published, reverse=True)
        found, rest = run.backlog[:room], run.backlog[room:]
        run.backlog = rest if room else []
        queue_samples(ctx, run, found)
    ctx.plan.after_round(lambda: _queue_backlog(ctx, run))


def queue_samples(ctx, run: MediaRun, due: list[Due]) -> None:
    """One operation per media (no multi-ID request: new apps cannot use them, docs/graph-api.md
    §1), newest first. On graph.facebook.com they ride in synchronous batch requests (≤ 50 per
    HTTP request). On graph.instagram.com, where Meta documents no batch, the metrics every feed
    product type has come by field expansion over the /media edge (`expansion_slices`: a page
    of up to 100 media per request), and each young media's own metrics by one GET."""
    due = [d for d in due if d.pk not in run.due and not _before_cutoff(run, d)]
    for d in due:
        run.due[d.pk] = d
    run.queued_samples += len(due)
    due.sort(key=lambda d: d.published, reverse=True)
    facebook = ctx.plan.use_batch
    if not facebook:
        young = [d for d in due if ctx.now - d.published < EXTRAS_MAX_AGE]
        queue_expansion(ctx, run, due)
        for d in young:
            extras = [m for m in _metrics_of(ctx, d) if m not in catalogue.COMMON_FEED]
            if extras:
                _queue_group(ctx, run, d.kind, extras, [d], main=False)
        return
    for d in due:
        metrics = _metrics_of(ctx, d)
        if metrics:
            _queue_group(ctx, run, d.kind, metrics, [d])
        _queue_breakdown(ctx, run, d)


# Breakdowns (profile_activity by action_type) and, on Instagram Login, the metrics only one
# feed product type has, are asked while a media is young: its values still move, and they
# cost an operation per media (the reports show neither breakdown). Older media's samples carry
# what one request per page can (docs/graph-api.md §1, the request targets of issue 17).
EXTRAS_MAX_AGE = timedelta(days=8)  # the 7-day sample is the last with them


def _queue_breakdown(ctx, run: MediaRun, d: Due) -> None:
    product = catalogue.kind_product(d.kind)
    breakdown = catalogue.MEDIA_BREAKDOWNS.get(product)
    if breakdown is None or ctx.now - d.published >= EXTRAS_MAX_AGE:
        return
    scope = f"{d.kind}:{breakdown.dimension}"
    extra = catalogue.without(
        breakdown.metrics, ctx.rejected(d.kind) | ctx.rejected(scope) | d.refused
    )
    if extra:
        _queue_group(ctx, run, d.kind, extra, [d], breakdown=breakdown.dimension)


def _metrics_of(ctx, d: Due) -> list[str]:
    product = catalogue.kind_product(d.kind)
    metrics = catalogue.media_metrics_for(product, facebook_login=ctx.plan.use_batch)
    return catalogue.without(metrics, ctx.rejected(d.kind) | d.refused)


def _held(refusal: dict, now: datetime) -> bool:
    """A media's refusal still holds (not yet due to be asked again)."""
    retry_at = parse.parse_time(str((refusal or {}).get("retry_at") or ""))
    return retry_at is not None and retry_at > now


def expansion_slices(ctx, due: list[Due]) -> list[list[Due]]:
    """Due media (newest first) cut into time slices whose `/media` page holds at most
    EXPANSION_PAGE known media: one request each, whatever the number of due media in it."""
    stamps = list(
        Media.objects.filter(account=ctx.account, is_story=False, gone_at=None)
        .order_by("-timestamp")
        .values_list("timestamp", flat=True)
    )
    index = {}
    for i, stamp in enumerate(stamps):
        index.setdefault(stamp, i)
    slices: list[list[Due]] = []
    first = None
    for d in due:
        position = index.get(d.published, 0)
        if slices and first is not None and position - first < EXPANSION_PAGE:
            slices[-1].append(d)
        else:
            slices.append([d])
            first = position
    return slices


EXPANSION_PAGE = 90  # known media per slice: a page holds 100, and new media may have come


def queue_expansion(ctx, run: MediaRun, due: list[Due]) -> None:
    for group in expansion_slices(ctx, due):
        _queue_slice(ctx, run, group)


def _queue_slice(ctx, run: MediaRun, group: list[Due], after: str | None = None) -> None:
    held = set().union(*(d.refused for d in group))
    rejected = set().union(*(ctx.rejected(d.kind) for d in group))
    metrics = catalogue.without(catalogue.COMMON_FEED, rejected | held)
    if not metrics:
        return
    newest, oldest = group[0].published, group[-1].published
    params = {
        "fields": f"id,insights.metric({','.join(metrics)})",
        "since": int((oldest - timedelta(seconds=1)).timestamp()),
        "until": int((newest + timedelta(seconds=1)).timestamp()),
        "limit": PAGE_LIMIT,
    }
    if after:
        params["after"] = after
    wanted = {d.media_id: d for d in group}

    def on_result(body):
        if isinstance(body, MetaError) or not isinstance(body, dict):
            # One item refused (a pre-conversion post, a metric one media lacks) or the
            # expansion itself: the slice's media are asked one by one (§12.9).
            if isinstance(body, MetaError) and body.kind == ErrorKind.TRANSIENT:
                run.failures.append(f"insights of {len(group)} media: {body}")
                run.retry.update(d.pk for d in group)
                return
            for d in group:
                if d.pk not in run.answered:
                    _queue_group(ctx, run, d.kind, metrics, [d])
            return
        for item in body.get("data") or []:
            d = wanted.get(str(item.get("id"))) if isinstance(item, dict) else None
            if d is None:
                continue
            run.values.setdefault(d.pk, {}).update(parse.media_metrics(item.get("insights")))
            run.answered.add(d.pk)
        paging = body.get("paging") or {}
        cursor = (paging.get("cursors") or {}).get("after")
        left = [d for d in group if d.pk not in run.answered]
        if left and paging.get("next") and cursor:
            _queue_slice(ctx, run, left, after=cursor)

    ctx.plan.add(f"{ctx.account.ig_user_id}/media", params, on_result)


def _before_cutoff(run: MediaRun, d: Due) -> bool:
    if run.cutoff is not None and d.published <= run.cutoff:
        run.outcomes[d.pk] = (InsightsStatus.UNAVAILABLE, _PRE_CONVERSION)
        return True
    return False


_PRE_CONVERSION = "Media posted before business account conversion (Meta 2108006)"


def _queue_group(
    ctx, run, kind, metrics, group, *, breakdown: str | None = None, main: bool = True
) -> None:
    """One media's insights (`group` holds one Due): its main metrics (`main`: an answer makes
    the media sampled), an extra part of them, or a breakdown."""
    params = {"metric": ",".join(metrics)}
    if breakdown:
        params["breakdown"] = breakdown
    d = group[0]

    def on_result(body):
        if isinstance(body, MetaError):
            _media_failed(ctx, run, kind, metrics, d, breakdown, body, main=main)
            return
        if not isinstance(body, dict):
            run.failures.append(f"insights of {d.media_id}: malformed answer")
            return
        run.values.setdefault(d.pk, {}).update(parse.media_metrics(body))
        if main and not breakdown:
            run.answered.add(d.pk)

    ctx.plan.add(f"{d.media_id}/insights", params, on_result)


def _media_failed(ctx, run, kind, metrics, d: Due, breakdown, error: MetaError, *, main) -> None:
    scope = f"{kind}:{breakdown}" if breakdown else kind
    if error.kind == ErrorKind.METRIC_UNSUPPORTED:
        named = daily.named_metrics(error, list(metrics))
        if not named and len(metrics) == 1:
            named = list(metrics)
        if named:
            # "…does not support the views metric for this media product type": evidence about
            # this media, not a rule (docs/graph-api.md §3). A breakdown a metric lacks is the
            # account's (every media of the kind lacks it).
            for metric in named:
                if breakdown:
                    ctx.reject(metric, scope, error)
                else:
                    run.refused.setdefault(d.pk, {})[metric] = error
            rest = [m for m in metrics if m not in named]
            if rest:
                _queue_group(ctx, run, kind, rest, [d], breakdown=breakdown, main=main)
            return
        half = len(metrics) // 2
        for part in (metrics[:half], metrics[half:]):
            _queue_group(ctx, run, kind, part, [d], breakdown=breakdown, main=main)
        return
    if error.kind == ErrorKind.TRANSIENT:
        run.failures.append(f"insights of {d.media_id}: {error}")
        run.retry.add(d.pk)  # asked again in a while, not in two minutes
        return
    if error.subcode == 2108006:
        # Meta's rule is one moment, the latest conversion: this media and every older one.
        run.cutoff = max(run.cutoff or d.published, d.published)
        run.outcomes[d.pk] = (InsightsStatus.UNAVAILABLE, _PRE_CONVERSION)
        return
    if breakdown or not main:
        run.failures.append(f"{scope} of {d.media_id}: {error}")
        return
    _single_failed(run, d, error)


def _single_failed(run: MediaRun, d: Due, error: MetaError) -> None:
    if error.kind == ErrorKind.MEDIA_UNAVAILABLE and error.subcode == 33:
        run.outcomes[d.pk] = (InsightsStatus.GONE, error.message)
    elif error.kind == ErrorKind.MEDIA_UNAVAILABLE and error.code == 10:
        run.outcomes[d.pk] = (InsightsStatus.TOO_FEW_VIEWERS, error.message)
    else:
        run.outcomes[d.pk] = (InsightsStatus.ERROR, str(error))


# --- Listing pages ------------------------------------------------------------------------------


def _media_row(ctx, item: dict) -> Media | None:
    media_id = str(item.get("id") or "")
    published = parse.parse_time(item.get("timestamp"))
    if not media_id.isdigit() or len(media_id) > 32 or published is None:
        return None
    children = (item.get("children") or {}).get("data") or []
    return Media(
        account=ctx.account,
        media_id=media_id,
        media_type=str(item.get("media_type") or "")[:20],
        product_type=str(item.get("media_product_type") or "")[:20],
        caption=str(item.get("caption") or ""),
        permalink=str(item.get("permalink") or "")[:500],
        shortcode=str(item.get("shortcode") or "")[:64],
        timestamp=published,
        children=[
            {"id": str(c.get("id")), "media_type": str(c.get("media_type") or "")}
            for c in children
            if isinstance(c, dict) and c.get("id")
        ],
        first_seen_at=ctx.now,
        last_seen_at=ctx.now,
        gone_at=None,
        next_sample_at=first_sample_at(published, ctx.now),
        insights_reason="" if ctx.now - published < RETENTION else _PAST_RETENTION,
    )


_PAST_RETENTION = "Older than Meta's two-year retention of media metrics"


def _save_page(ctx, run: MediaRun, items: list[dict]) -> None:
    rows = {}
    urls = {}
    for item in items:
        row = _media_row(ctx, item)
        if row is not None:
            rows[row.media_id] = row
            urls[row.media_id] = thumbnails.image_url(item)
    if not rows:
        return
    run.listed += len(rows)
    oldest = min(r.timestamp for r in rows.values())
    run.oldest_listed = min(run.oldest_listed or oldest, oldest)
    with ctx.fenced():
        known = dict(
            Media.objects.filter(account=ctx.account, media_id__in=list(rows)).values_list(
                "media_id", "gone_at"
            )
        )
        store.upsert(
            Media,
            list(rows.values()),
            ["account", "media_id"],
            [
                "media_type",
                "product_type",
                "caption",
                "permalink",
                "shortcode",
                "timestamp",
                "children",
                "last_seen_at",
                "gone_at",
            ],
        )
        back = [m for m, gone in known.items() if gone is not None]
        if back:  # listed again: live again
            Media.objects.filter(account=ctx.account, media_id__in=back).update(
                insights_status=InsightsStatus.PENDING, insights_reason="", next_sample_at=ctx.now
            )
        saved = dict(
            Media.objects.filter(account=ctx.account, media_id__in=list(rows)).values_list(
                "media_id", "pk"
            )
        )
        missing_thumbs = set(
            Media.objects.filter(
                account=ctx.account, media_id__in=list(rows), thumbnail=""
            ).values_list("media_id", flat=True)
        )
    for media_id, row in rows.items():
        pk = saved.get(media_id)
        if pk is None:
            continue
        if media_id in missing_thumbs and urls.get(media_id):
            thumbnails.offer(run, row.timestamp, pk, urls[media_id])
        if media_id in known:
            continue
        run.inserted += 1
        if row.next_sample_at is not None and row.next_sample_at <= ctx.now:
            kind = catalogue.media_kind(row.media_type, row.product_type)
            run.backlog.append(Due(pk, media_id, kind, row.timestamp, None, new=True))


# --- Writing ------------------------------------------------------------------------------------


def refresh_media(ctx) -> dict:
    """Write what the run's media reads brought back (queued by `queue_media` before the
    account's flush; queued and sent here when called on its own)."""
    run = ctx.queued.get("media")
    if run is None:
        run = queue_media(ctx)
        ctx.plan.flush()
    with ctx.fenced():
        _save_samples(ctx, run)
        _save_outcomes(ctx, run)
        if run.full and run.complete:
            gone = _mark_gone(ctx, run)
            InstagramAccount.objects.filter(pk=ctx.account.pk).update(media_listed_at=ctx.now)
        else:
            gone = 0
        ctx.save_rejections()
    stats = run.stats()
    stats["gone"] = gone
    stats["thumbnails"] = thumbnails.fetch(ctx, run)
    return stats


def _save_samples(ctx, run: MediaRun) -> None:
    """The samples of the media answered, a chunk of rows at a time: a run samples up to
    MAX_DUE media, and all their rows at once were the largest allocation of a 10,000-media
    account's runs (bench/refresh.py --only memory --tracemalloc)."""
    answered = sorted(run.answered)
    for start in range(0, len(answered), store.BATCH_SIZE):
        _save_sample_rows(ctx, run, answered[start : start + store.BATCH_SIZE])
    unanswered = [pk for pk in run.refused if pk not in run.answered]
    for media in Media.objects.filter(pk__in=unanswered):
        refused = run.refused.get(media.pk)
        media.refused_metrics = _refusals(media.refused_metrics, refused, {}, ctx.now)
        media.save(update_fields=["refused_metrics"])


def _refusals(known: dict, refused: dict | None, values: dict, now: datetime) -> dict:
    """A media's refusals after a sample: this run's added (the hold doubling with each repeat,
    `store.retry_after`), and those Meta answered again dropped."""
    out = {m: r for m, r in (known or {}).items() if m not in values}
    for metric, error in (refused or {}).items():
        times = int((out.get(metric) or {}).get("times", 0)) + 1
        out[metric] = {
            "since": (out.get(metric) or {}).get("since") or now.isoformat(),
            "retry_at": (now + store.retry_after(times)).isoformat(),
            "times": times,
            "error": error.message[:300],
        }
    return out


def _save_sample_rows(ctx, run: MediaRun, pks: list[int]) -> None:
    rows = Media.objects.filter(pk__in=pks)  # whole rows: upserted back below
    samples, changed = [], []
    for media in rows:
        values = run.values.pop(media.pk, None) or {}
        media.next_sample_at = next_sample_at(media.timestamp, ctx.now, schedule_of(ctx))
        media.refused_metrics = _refusals(
            media.refused_metrics, run.refused.get(media.pk), values, ctx.now
        )
        if values:
            first_late = (
                media.sample_count == 0
                and media.first_seen_at >= ctx.now - timedelta(minutes=1)
                and ctx.now - media.timestamp > timedelta(days=1)
            )
            samples.append(
                MediaSample(
                    media=media,
                    captured_at=ctx.now,
                    age_seconds=int((ctx.now - media.timestamp).total_seconds()),
                    metrics=values,
                    source=MediaSample.Source.BACKFILL if first_late else MediaSample.Source.POLL,
                )
            )
            # The newest value of each metric: a sample that did not carry one (an older
            # media's on Instagram Login, a metric refused for a while) keeps the last known.
            media.latest_metrics = {**(media.latest_metrics or {}), **values}
            media.last_sampled_at = ctx.now
            media.sample_count += 1
            media.insights_status = InsightsStatus.OK
            media.insights_reason = ""
        elif media.sample_count == 0 and ctx.now - media.timestamp < timedelta(days=1):
            media.next_sample_at = ctx.now + timedelta(hours=1)  # no data yet: soon again
        changed.append(media)
    MediaSample.objects.bulk_create(samples, batch_size=store.BATCH_SIZE, ignore_conflicts=True)
    # One INSERT … ON CONFLICT (account, media_id) setting only these columns: bulk_update's
    # CASE per row and column was most of a steady run's CPU (bench/refresh.py). The rows go in
    # without their pk, so the conflict is always the media's own key.
    for media in changed:
        media.pk = None
    store.upsert(
        Media,
        changed,
        ["account", "media_id"],
        [
            "next_sample_at",
            "latest_metrics",
            "last_sampled_at",
            "sample_count",
            "insights_status",
            "insights_reason",
            "refused_metrics",
        ],
    )


def _save_outcomes(ctx, run: MediaRun) -> None:
    account = ctx.account
    for status in (InsightsStatus.GONE, InsightsStatus.TOO_FEW_VIEWERS, InsightsStatus.ERROR):
        for pk, (outcome, reason) in run.outcomes.items():
            if outcome != status or pk in run.answered:
                continue
            fields = {"insights_status": status, "insights_reason": reason[:2000]}
            if status == InsightsStatus.GONE:
                fields |= {"gone_at": ctx.now, "next_sample_at": None}
            elif status == InsightsStatus.ERROR:
                fields["next_sample_at"] = ctx.now + ERROR_RETRY
            else:
                fields["next_sample_at"] = None
            Media.objects.filter(pk=pk).update(**fields)
    retry = run.retry - run.answered - set(run.outcomes)
    if retry:
        Media.objects.filter(
            pk__in=list(retry), next_sample_at__lt=ctx.now + TRANSIENT_RETRY
        ).update(next_sample_at=ctx.now + TRANSIENT_RETRY)
    if run.cutoff is not None:
        # Meta's rule is the latest conversion: everything posted up to a refused media is too.
        Media.objects.filter(account=account, is_story=False, timestamp__lte=run.cutoff).exclude(
            insights_status=InsightsStatus.UNAVAILABLE
        ).update(
            insights_status=InsightsStatus.UNAVAILABLE,
            insights_reason=_PRE_CONVERSION,
            next_sample_at=None,
        )
        InstagramAccount.objects.filter(pk=account.pk).filter(
            Q(media_insights_cutoff=None) | Q(media_insights_cutoff__lt=run.cutoff)
        ).update(media_insights_cutoff=run.cutoff)


def _mark_gone(ctx, run: MediaRun) -> int:
    """After a complete listing: the live media it did not show are gone. Past the 10,000 most
    recent Meta lists nothing, so when the listing reached that cap only newer media count."""
    missing = Media.objects.filter(
        account=ctx.account, is_story=False, gone_at=None, last_seen_at__lt=ctx.now
    )
    if run.listed >= MEDIA_CAP and run.oldest_listed is not None:
        missing = missing.filter(timestamp__gte=run.oldest_listed)
    return missing.update(
        gone_at=ctx.now,
        insights_status=InsightsStatus.GONE,
        insights_reason="No longer listed by Meta",
        next_sample_at=None,
    )
