"""Local copies of media thumbnails: Meta's CDN URLs expire (DESIGN.md), so a report a year from
now needs Prism's own copy.

- Fetched once per media: only media without a thumbnail are candidates. URLs come fresh from
  this run's listing (new media), or, for older media still missing one, from one listing
  operation of the time slice they span, queued with the run's other reads (`queue_backlog`);
  at most THUMBNAILS_PER_RUN per run, newest first, so a first backfill spreads its thousand
  pictures over a day of runs.
- Pictures are fetched by `insights.cdn.download` (Meta's image CDNs only, size-capped,
  re-encoded as a small JPEG), like the profile pictures of connected accounts.
- A failed fetch never fails the refresh: the media is tried again a week later.
"""

from __future__ import annotations

import heapq
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db.models import Q

from ..cdn import download
from ..meta import parse
from ..meta.client import MetaError
from ..models import Media

THUMBNAILS_PER_RUN = 50  # one `?ids=` operation's worth
PARALLEL = 8  # downloads at once (the shared HTTP session keeps 32 connections per host)
RETRY_AFTER = timedelta(days=7)


def image_url(item: dict) -> str:
    """An image to keep: a video's thumbnail, else the media itself (never a video file)."""
    if item.get("media_type") == "VIDEO":
        return str(item.get("thumbnail_url") or "")
    return str(item.get("media_url") or "")


def offer(run, published, pk: int, url: str) -> None:
    """A candidate from this run's answers; the newest THUMBNAILS_PER_RUN are kept."""
    item = (published.timestamp(), pk, url)
    heap = run.thumbnails
    if len(heap) < THUMBNAILS_PER_RUN:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)


def queue_backlog(ctx, run) -> None:
    """Known media still without a thumbnail (their URLs expired long ago): fresh URLs in one
    listing operation beside the run's other reads. A `/media` page of the time slice the
    backlog spans (`since`/`until`) costs one rate-limit-counted call for up to 100 media, where
    `?ids=` costs one per media (graph-api.md §3.5, §7.3): fifty thumbnails an hour for a day
    after a big account connects were fifty counted calls an hour."""
    rows = list(
        Media.objects.filter(account=ctx.account, is_story=False, gone_at=None, thumbnail="")
        .filter(Q(thumbnail_fetched_at=None) | Q(thumbnail_fetched_at__lt=ctx.now - RETRY_AFTER))
        .order_by("-timestamp")
        .values_list("pk", "media_id", "timestamp")[:THUMBNAILS_PER_RUN]
    )
    if not rows:
        return
    wanted = {media_id: (pk, published) for pk, media_id, published in rows}

    def on_result(body):
        if isinstance(body, MetaError) or not isinstance(body, dict):
            run.failures.append(f"thumbnail urls: {body}")
            return  # asked again by the next run (one operation)
        items = [i for i in body.get("data") or [] if isinstance(i, dict) and i.get("id")]
        for item in items:
            pk, published = wanted.get(str(item["id"]), (None, None))
            url = image_url(item) if pk else ""
            if url:
                offer(run, published, pk, url)
        # Media the page covered but did not list (deleted; the next complete listing marks
        # them gone) or listed without a picture: tried, not asked again for a week.
        stamps = [parse.parse_time(i.get("timestamp")) for i in items]
        reached = min((t for t in stamps if t is not None), default=None)
        if not (body.get("paging") or {}).get("next"):
            reached = rows[-1][2]
        listed = {str(i["id"]) for i in items if image_url(i)}
        run.thumbnails_tried.extend(
            pk
            for media_id, (pk, published) in wanted.items()
            if media_id not in listed and reached is not None and published >= reached
        )

    since, until = rows[-1][2] - timedelta(seconds=1), rows[0][2] + timedelta(seconds=1)
    ctx.plan.add(
        f"{ctx.account.ig_user_id}/media",
        {
            "fields": "id,media_type,media_url,thumbnail_url,timestamp",
            "limit": 100,
            "since": int(since.timestamp()),
            "until": int(until.timestamp()),
        },
        on_result,
    )


def fetch(ctx, run) -> int:
    """Download the run's candidates (newest first) and store them. Returns how many were
    stored. Stops when the run is out of time; what is left waits for a later run."""
    seen, todo, tried = set(), [], list(run.thumbnails_tried)
    for _, pk, url in sorted(run.thumbnails, reverse=True):
        if pk not in seen and not ctx.out_of_time:
            seen.add(pk)
            todo.append((pk, url))
    if not todo and not tried:
        return 0
    tried += [pk for pk, _ in todo]
    # A few at a time: at 100 ms a picture, a first run's fifty would otherwise cost 5 s.
    with ThreadPoolExecutor(max_workers=min(PARALLEL, max(1, len(todo)))) as pool:
        pictures = list(pool.map(lambda job: download(job[1]), todo))
    stored = [(pk, p) for (pk, _), p in zip(todo, pictures, strict=True) if p is not None]
    media = {m.pk: m for m in Media.objects.filter(pk__in=tried, thumbnail="")}
    saved = []
    for pk, picture in stored:
        row = media.get(pk)
        if row is not None:
            row.thumbnail.save(f"{row.media_id}.jpg", ContentFile(picture), save=False)
            saved.append(row)
    for row in media.values():
        row.thumbnail_fetched_at = ctx.now
    with ctx.fenced():
        Media.objects.bulk_update(list(media.values()), ["thumbnail", "thumbnail_fetched_at"])
    return len(saved)
