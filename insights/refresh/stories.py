"""Stories: polled while live, captured once more shortly before Meta's 24-hour expiry, and each
one marked captured, late or missed (graph-api.md §3.3, §5.2, §5.5; the contract is
`insights.models.media`). The `story_insights` webhook's values land here too
(`record_story_insights`, §8.2).

A run:
- queues, before the account reads go out (`queue_stories`, so on graph.facebook.com it rides in
  the same batch request), the `/stories` listing and the insights of the live stories whose
  sample is due; stories the listing shows for the first time get their first sample in the
  next round of the same flush;
- writes (`refresh_stories`, fenced by the run's lease) the stories' metadata, one
  `MediaSample` per sampled story, each story's next sample time, and the states of the stories
  that expired since: `captured` when a final sample (taken at or after FINAL_AT, before expiry)
  or the webhook's values came, `late` when the last sample came before FINAL_AT, `missed` when
  none came at all;
- keeps each new story's picture (`thumbnails`, the media step's cache): its CDN URL dies with
  the story.

Scheduling: a story is sampled when first seen, about every POLL_EVERY while live, and at its
final-capture point (`timestamp + FINAL_AT`). `next_sample_at` never passes that point, and the
account's next refresh is the earliest `next_sample_at` of its media (`account.next_due`), so
the final capture is what brings the account's next run forward. Polls must not: a run takes
every poll due before the next regular run (`poll_horizon`), so the next one is POLL_EVERY away
and only final captures (never taken early) and their retries pull the account's schedule.

Insights per story are two operations: the plain metrics, and `navigation` with its
`story_navigation_action_type` breakdown (a breakdown a metric lacks fails the whole request).
Field expansion of insights over `/stories` is not used: one story under 5 viewers (#10) fails
the whole listing (§3.5), and that is common.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..meta import catalogue, parse
from ..meta.client import ErrorKind, MetaError
from ..models import InsightsStatus, InstagramAccount, Media, MediaSample
from ..models import StoryState as State
from . import daily, region, schedule, store, thumbnails

log = logging.getLogger(__name__)

LIFETIME = timedelta(hours=24)
FINAL_AT = timedelta(hours=23)  # the final-capture point: an hour of margin before expiry
POLL_EVERY = timedelta(hours=3)
RETRY_AFTER = timedelta(minutes=10)  # a failed final capture is tried again this soon
LIST_FIELDS = "id,media_type,media_product_type,timestamp,permalink,caption,media_url,thumbnail_url"
LIST_LIMIT = 100
MAX_PAGES = 4  # each page is a round of the run's flush (RequestPlan.MAX_ROUNDS is 6)
PRODUCT = "STORY"  # the catalogue's and the rejection registry's key for stories


@dataclass
class StoriesRead:
    """What a run's queued story operations brought back (the callbacks fill it)."""

    known: dict[str, Media] = field(default_factory=dict)  # live pending stories in the database
    seen: set[str] = field(default_factory=set)  # every live story the database has, any state
    listed: dict[str, dict] = field(default_factory=dict)  # media id -> listing item
    listing_complete: bool = False
    queued: set[str] = field(default_factory=set)  # media ids whose insights were asked
    metrics: dict[str, dict] = field(default_factory=dict)  # media id -> metrics answered
    errors: dict[str, MetaError] = field(default_factory=dict)  # media id -> the worst error
    # Picture candidates for `thumbnails.fetch` (a story's CDN URL dies with it, within a day).
    thumbnails: list = field(default_factory=list)
    thumbnails_tried: list = field(default_factory=list)
    # daily._rejected_or_failed's bookkeeping (shared with the account reads).
    rejections: list = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


# --- Queuing -----------------------------------------------------------------------------------


def queue_stories(ctx) -> StoriesRead:
    """Queue this run's story reads on the run's plan (sent by the account's first flush)."""
    read = StoriesRead()
    live = Media.objects.filter(account=ctx.account, is_story=True, expires_at__gt=ctx.now)
    for media in live:
        read.seen.add(media.media_id)
        if media.story_state == State.PENDING:
            read.known[media.media_id] = media
    horizon = ctx.now + poll_horizon()
    for media in read.known.values():
        if media.gone_at is None and is_due(media, ctx.now, horizon):
            queue_sample(ctx, read, media.media_id)
    queue_listing(ctx, read)
    return read


def poll_horizon() -> timedelta:
    """How far ahead a run takes polls: past the latest the next regular run can come."""
    return schedule.refresh_interval() * 1.1 + timedelta(minutes=1)


def is_due(media: Media, now: datetime, horizon: datetime) -> bool:
    """The final capture when its time has come (never early); a poll when it is due before
    the next regular run."""
    due = media.next_sample_at
    if due is None:
        return False
    if due >= media.timestamp + FINAL_AT:
        return due <= now
    return due <= horizon


def queue_listing(ctx, read: StoriesRead, after: str | None = None, page: int = 1) -> None:
    params = {"fields": LIST_FIELDS, "limit": LIST_LIMIT}
    if after:
        params["after"] = after

    def on_result(body):
        if isinstance(body, MetaError) or not isinstance(body, dict):
            read.failures.append(f"stories listing: {body}")
            return
        items = [i for i in body.get("data") or [] if isinstance(i, dict) and i.get("id")]
        for item in items:
            media_id = str(item["id"])
            read.listed[media_id] = item
            live = _expiry(item)
            if (
                media_id not in read.seen
                and media_id not in read.queued
                and live is not None
                and live > ctx.now
            ):
                queue_sample(ctx, read, media_id)  # first seen: sampled in the next round
        paging = body.get("paging") or {}
        cursor = (paging.get("cursors") or {}).get("after")
        if paging.get("next") and cursor and items and page < MAX_PAGES:
            queue_listing(ctx, read, cursor, page + 1)
        else:
            read.listing_complete = not paging.get("next")

    ctx.plan.add(f"{ctx.account.ig_user_id}/stories", params, on_result)


def queue_sample(ctx, read: StoriesRead, media_id: str) -> None:
    """The story's insights: its plain metrics and its navigation breakdown, two operations."""
    read.queued.add(media_id)
    rejected = ctx.rejected(PRODUCT)
    breakdown = catalogue.MEDIA_BREAKDOWNS[PRODUCT]
    # link_clicks (2026-06-22) on Facebook Login only (docs/graph-api.md §5).
    story_metrics = catalogue.media_metrics_for(PRODUCT, facebook_login=ctx.plan.use_batch)
    plain = [m for m in story_metrics if m not in breakdown.metrics]
    for metrics, dimension in (
        (catalogue.without(plain, rejected), None),
        (catalogue.without(breakdown.metrics, rejected), breakdown.dimension),
    ):
        if metrics:
            _queue_insights(ctx, read, media_id, metrics, dimension)


def _queue_insights(ctx, read: StoriesRead, media_id: str, metrics, dimension) -> None:
    params = {"metric": ",".join(metrics)}
    if dimension:
        params["breakdown"] = dimension

    def on_result(body):
        if not isinstance(body, MetaError):
            read.metrics.setdefault(media_id, {}).update(parse.media_metrics(body))
            return
        if body.kind == ErrorKind.METRIC_UNSUPPORTED:
            # Recorded for the account and product type; the other metrics are asked again.
            what = f"story {media_id}"
            for part in daily._rejected_or_failed(ctx, read, body, metrics, what, scope=PRODUCT):
                _queue_insights(ctx, read, media_id, part, dimension)
            return
        previous = read.errors.get(media_id)
        if previous is None or _severity(body) > _severity(previous):
            read.errors[media_id] = body

    ctx.plan.add(f"{media_id}/insights", params, on_result)


def _severity(error: MetaError) -> int:
    return 2 if _gone(error) else 1 if _too_few_viewers(error) else 0


def _too_few_viewers(error: MetaError) -> bool:
    """(#10) "Not enough viewers": a story under 5 viewers; code 10 is otherwise a permission
    error, so the message decides (graph-api.md §5.5)."""
    return error.code == 10 and "viewers" in error.message.lower()


def _gone(error: MetaError) -> bool:
    return error.kind == ErrorKind.MEDIA_UNAVAILABLE and error.code == 100 and error.subcode == 33


def _expiry(item: dict) -> datetime | None:
    published = parse.parse_time(item.get("timestamp"))
    return published + LIFETIME if published else None


# --- Writing -----------------------------------------------------------------------------------


def refresh_stories(ctx) -> dict:
    """The stories step of a refresh. Uses what `queue_stories` queued on the first flush, or
    queues and sends its reads itself when run on its own."""
    read = ctx.queued.get("stories")
    if read is None:
        read = queue_stories(ctx)
        ctx.plan.flush()
    # Only a 0 for replies needs to know where the creator is.
    zeros = any(m.get("replies") == 0 for m in read.metrics.values())
    rule = region.replies_rule(ctx.account) if zeros else None
    with ctx.fenced():
        stats = save(ctx, read, rule)
        ctx.save_rejections()
    stats["thumbnails"] = thumbnails.fetch(ctx, read)
    if read.failures:
        stats["failures"] = read.failures[:10]
    return stats


def save(ctx, read: StoriesRead, rule: str | None) -> dict:
    """Inside the fenced transaction."""
    now = ctx.now
    stats = {"listed": len(read.listed), "new": 0, "sampled": 0, "final": 0}
    if read.listed:
        stats["new"] = _upsert_listed(ctx, read)
        _offer_thumbnails(ctx, read)
    rows = {}
    if read.queued:
        # Locked: the webhook may be writing the same rows (it waits, or we do).
        found = Media.objects.select_for_update().filter(
            account=ctx.account, is_story=True, media_id__in=read.queued
        )
        rows = {m.media_id: m for m in found}
    samples = []
    for media_id in sorted(read.queued):
        media = rows.get(media_id)
        if media is None:
            continue
        metrics = read.metrics.get(media_id)
        if metrics:
            final = now >= media.timestamp + FINAL_AT
            samples.append(_sample(media, metrics, now, final, rule))
            stats["sampled"] += 1
            stats["final"] += final
        else:
            error = read.errors.get(media_id)
            _no_sample(media, error, now, stats)
            if error is not None and not (_gone(error) or _too_few_viewers(error)):
                read.failures.append(f"story {media_id}: {error}")
    MediaSample.objects.bulk_create(samples, ignore_conflicts=True)
    if read.listing_complete:
        # Live by Prism's clock but no longer listed: deleted (or expired on Meta's clock).
        unlisted = [m for m in read.known if m not in read.listed and m not in read.metrics]
        if unlisted:
            stats["unlisted"] = Media.objects.filter(
                account=ctx.account, media_id__in=unlisted, gone_at=None
            ).update(gone_at=now, next_sample_at=None)
    stats.update(resolve_expired(ctx.account, now))
    return stats


def _upsert_listed(ctx, read: StoriesRead) -> int:
    """Story rows from the listing: new ones inserted pending, known ones' metadata updated
    (never their state or samples, which the webhook may be writing)."""
    now = ctx.now
    existing = set(
        Media.objects.filter(account=ctx.account, media_id__in=list(read.listed)).values_list(
            "media_id", flat=True
        )
    )
    rows = []
    for media_id, item in read.listed.items():
        published = parse.parse_time(item.get("timestamp"))
        if published is None:
            read.failures.append(f"story {media_id}: no timestamp")
            continue
        rows.append(
            Media(
                account=ctx.account,
                media_id=media_id,
                media_type=str(item.get("media_type") or "")[:20],
                product_type=str(item.get("media_product_type") or PRODUCT)[:20],
                caption=str(item.get("caption") or ""),
                permalink=str(item.get("permalink") or "")[:500],
                timestamp=published,
                is_story=True,
                expires_at=published + LIFETIME,
                story_state=State.PENDING,
                first_seen_at=now,
                last_seen_at=now,
                next_sample_at=now if published + LIFETIME > now else None,
            )
        )
    store.upsert(
        Media,
        rows,
        ["account", "media_id"],
        ["media_type", "product_type", "caption", "permalink", "last_seen_at"],
    )
    return len({r.media_id for r in rows} - existing)


def _offer_thumbnails(ctx, read: StoriesRead) -> None:
    """Listed stories without a picture yet, tried once each (the URL is fresh from this
    listing; a story is gone before a retry a week later would come)."""
    missing = Media.objects.filter(
        account=ctx.account,
        media_id__in=list(read.listed),
        thumbnail="",
        thumbnail_fetched_at=None,
    ).values_list("pk", "media_id", "timestamp")
    for pk, media_id, published in missing:
        url = thumbnails.image_url(read.listed[media_id])
        if url:
            thumbnails.offer(read, published, pk, url)


def _sample(media: Media, metrics: dict, now: datetime, final: bool, rule: str | None):
    source = MediaSample.Source.FINAL if final else MediaSample.Source.POLL
    fields = {
        "last_sampled_at": now,
        "sample_count": F("sample_count") + 1,
        "insights_status": InsightsStatus.OK,
        "insights_reason": "",
    }
    if media.story_state == State.PENDING:  # the webhook's final values are never overwritten
        fields |= {
            "latest_metrics": metrics,
            "replies_zeroed_by_region": replies_zeroed(media, metrics, rule),
            "next_sample_at": None if final else next_attempt(media, now, POLL_EVERY),
        }
        if final:
            fields |= {"story_state": State.CAPTURED, "story_final_at": now}
    Media.objects.filter(pk=media.pk).update(**fields)
    return MediaSample(
        media=media,
        captured_at=now,
        age_seconds=int((now - media.timestamp).total_seconds()),
        metrics=metrics,
        source=source,
    )


def _no_sample(media: Media, error: MetaError | None, now: datetime, stats: dict) -> None:
    """A story whose insights did not come: under 5 viewers, gone, or a failure to retry."""
    fields: dict = {}
    unsampled = media.sample_count == 0
    if error is not None and _gone(error):
        fields = {"gone_at": now, "next_sample_at": None}
        if unsampled:
            fields |= {"insights_status": InsightsStatus.GONE, "insights_reason": error.message}
        stats["gone"] = stats.get("gone", 0) + 1
    elif error is not None and _too_few_viewers(error):
        # Reach grows through the day: asked again at the next poll and at the final point,
        # not after it (a story under 5 viewers an hour before expiry stays there).
        past_final = now >= media.timestamp + FINAL_AT
        fields = {"next_sample_at": None if past_final else next_attempt(media, now, POLL_EVERY)}
        if unsampled:
            fields |= {
                "insights_status": InsightsStatus.TOO_FEW_VIEWERS,
                "insights_reason": error.message,
            }
        stats["too_few_viewers"] = stats.get("too_few_viewers", 0) + 1
    else:
        # Before the final point, the next regular run tries again; after it, a run of its own
        # does, in RETRY_AFTER.
        fields = {"next_sample_at": next_attempt(media, now, poll_horizon(), retry=True)}
        if unsampled and error is not None:
            fields |= {"insights_status": InsightsStatus.ERROR, "insights_reason": error.message}
        stats["failed"] = stats.get("failed", 0) + 1
    if media.story_state == State.PENDING:
        Media.objects.filter(pk=media.pk).update(**fields)


def next_attempt(
    media: Media, now: datetime, after: timedelta, *, retry: bool = False
) -> datetime | None:
    """The next sample: `after` from now, but never past the final-capture point (which is what
    makes the account's next refresh come in time). Past that point only retries are left,
    RETRY_AFTER apart, until expiry."""
    final = media.timestamp + FINAL_AT
    if now < final:
        return min(now + after, final)
    if retry and now + RETRY_AFTER < media.timestamp + LIFETIME:
        return now + RETRY_AFTER
    return None


def resolve_expired(account: InstagramAccount, now: datetime) -> dict:
    """Stories past their 24 hours still pending: `late` when sampled (the last sample came
    before the final-capture point), `missed` when never."""
    expired = Media.objects.filter(
        account=account, is_story=True, story_state=State.PENDING, expires_at__lte=now
    )
    late = expired.filter(sample_count__gt=0).update(
        story_state=State.LATE, story_final_at=F("last_sampled_at"), next_sample_at=None
    )
    missed = expired.filter(sample_count=0).update(story_state=State.MISSED, next_sample_at=None)
    return {"late": late, "missed": missed}


# --- Meta's EU / Japan replies rule ----------------------------------------------------------


def replies_zeroed(media: Media, metrics: dict, rule: str | None) -> bool:
    """A 0 for replies that is Meta's rule, not a real 0 (reports show "—"). Without replies
    in `metrics` the story's flag stays as it was."""
    if "replies" not in metrics:
        return media.replies_zeroed_by_region
    return region.zeroed(metrics["replies"], rule, media.timestamp.astimezone(UTC).date())


# --- The story_insights webhook --------------------------------------------------------------

# The legacy payload's keys (graph-api.md §8.2) → MediaSample.metrics keys. `impressions` was
# the story's views count before Meta renamed it (v22); newer payloads may send the new names,
# which are kept as they come.
WEBHOOK_KEYS = {
    "taps_forward": "navigation.tap_forward",
    "taps_back": "navigation.tap_back",
    "exits": "navigation.tap_exit",
    "swipe_forward": "navigation.swipe_forward",
}
WEBHOOK_METRICS = frozenset(catalogue.MEDIA_METRICS[PRODUCT]) | {"reposts", "impressions"}


def webhook_metrics(value: dict) -> dict:
    """The webhook's values as sample metrics. Values under 0 (one source says Meta sends -1
    for counts under 5 [UNC]) and non-numbers are no data, so absent."""
    out = {}
    for key, amount in value.items():
        name = WEBHOOK_KEYS.get(key, key)
        known = name in WEBHOOK_METRICS or name.startswith("navigation.")
        if known and parse.is_number(amount) and amount >= 0:
            out[name] = round(amount)
    if "impressions" in out:
        out.setdefault("views", out.pop("impressions"))
    return out


def record_story_insights(changes: list[tuple[str, dict, datetime | None]]) -> int:
    """Store a notification's story_insights changes, `(ig_user_id, value, sent_at)`, for
    every connected Prism account of those IG accounts. Returns how many samples were stored
    (0 for a redelivery or unknown accounts). A handful of queries per account, however many
    changes (Meta batches up to 1000 in one POST and wants its 200 quickly)."""
    by_user: dict[str, dict[str, tuple[dict, datetime | None]]] = {}
    for ig_user_id, value, sent_at in changes:
        media_id = str(value.get("media_id") or "")
        metrics = webhook_metrics(value)
        if media_id.isdigit() and len(media_id) <= 32 and metrics:
            by_user.setdefault(str(ig_user_id), {})[media_id] = (metrics, sent_at)
    if not by_user:
        return 0
    accounts = InstagramAccount.objects.filter(
        ig_user_id__in=list(by_user), disconnected_at=None
    ).select_related("client")
    return sum(_record(account, by_user[account.ig_user_id]) for account in accounts)


def _record(account: InstagramAccount, changes: dict[str, tuple[dict, datetime | None]]) -> int:
    now = timezone.now()
    with transaction.atomic():
        rows = _story_rows(account, changes, now)
        # The values cover a story's first 24 hours: their moment is its expiry, whatever the
        # delivery, so a redelivered payload meets the same (media, captured_at) key.
        moment = {m.pk: m.expires_at or m.timestamp + LIFETIME for m in rows}
        stored = set(
            MediaSample.objects.filter(
                media_id__in=list(moment), captured_at__in=set(moment.values())
            ).values_list("media_id", "captured_at")
        )
        fresh = [m for m in rows if (m.pk, moment[m.pk]) not in stored]
        if not fresh:
            return 0
        zeros = any(changes[m.media_id][0].get("replies") == 0 for m in fresh)
        rule = region.replies_rule(account) if zeros else None
        samples = []
        for media in fresh:
            metrics, at = changes[media.media_id][0], moment[media.pk]
            samples.append(
                MediaSample(
                    media=media,
                    captured_at=at,
                    age_seconds=int((at - media.timestamp).total_seconds()),
                    metrics=metrics,
                    source=MediaSample.Source.WEBHOOK,
                )
            )
            media.replies_zeroed_by_region = replies_zeroed(media, metrics, rule)
            media.story_state = State.CAPTURED
            media.story_final_at = at
            media.webhook_received_at = now
            # The newest word on the keys it carries; the poll's other metrics (shares...) stay.
            media.latest_metrics = {**(media.latest_metrics or {}), **metrics}
            media.last_sampled_at = max(at, media.last_sampled_at or at)
            media.sample_count += 1
            media.insights_status = InsightsStatus.OK
            media.insights_reason = ""
            media.next_sample_at = None
        # The rows are locked: no concurrent delivery can insert these keys meanwhile.
        MediaSample.objects.bulk_create(samples, batch_size=store.BATCH_SIZE)
        Media.objects.bulk_update(fresh, WEBHOOK_FIELDS, batch_size=store.BATCH_SIZE)
    return len(samples)


WEBHOOK_FIELDS = [
    "replies_zeroed_by_region",
    "story_state",
    "story_final_at",
    "webhook_received_at",
    "latest_metrics",
    "last_sampled_at",
    "sample_count",
    "insights_status",
    "insights_reason",
    "next_sample_at",
]


def _story_rows(account: InstagramAccount, changes: dict, now: datetime) -> list[Media]:
    """The stories' rows, locked (a concurrent redelivery or refresh waits here). A story the
    poll never saw gets a row: Meta sends story_insights when the story expires, so it was
    published 24 hours before the delivery."""
    locked = Media.objects.select_for_update().filter(account=account, media_id__in=list(changes))
    rows = list(locked)
    missing = set(changes) - {m.media_id for m in rows}
    if missing:
        made = []
        for media_id in sorted(missing):
            expired = changes[media_id][1] or now
            made.append(
                Media(
                    account=account,
                    media_id=media_id,
                    product_type=PRODUCT,
                    timestamp=expired - LIFETIME,
                    is_story=True,
                    expires_at=expired,
                    story_state=State.PENDING,
                    next_sample_at=None,
                )
            )
        # A concurrent delivery or refresh may have made some: theirs stand.
        Media.objects.bulk_create(made, ignore_conflicts=True, batch_size=store.BATCH_SIZE)
        rows = list(locked.all())
    return [m for m in rows if m.is_story]
