"""Local copies of media thumbnails: Meta's CDN URLs expire (DESIGN.md), so a report a year from
now needs Prism's own copy.

- Fetched once per media: only media without a thumbnail are candidates. URLs come fresh from
  this run's listing (new media), or, for older media still missing one, from one listing
  operation of the time slice they span, queued with the run's other reads (`queue_backlog`);
  at most THUMBNAILS_PER_RUN per run, newest first, so a first backfill spreads its thousand
  pictures over a day of runs.
- Only Meta's image CDNs (`*.cdninstagram.com`, `*.fbcdn.net` over https) or the sandbox's CDN
  under the configured Meta hosts are fetched: a URL in an answer can never make Prism fetch
  an arbitrary host. No redirects, a size cap, a short timeout.
- The bytes must be an image (by their magic numbers, `insights.images.sniff`); they are decoded
  with a pixel cap and re-encoded as a small JPEG, so what Prism stores and later serves is a
  picture it made itself, never the bytes it was sent.
- A failed fetch never fails the refresh: the media is tried again a week later.
"""

from __future__ import annotations

import heapq
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import Q

from ..images import sniff
from ..meta import parse
from ..meta.client import MetaError, _shared_session
from ..models import Media

log = logging.getLogger(__name__)

THUMBNAILS_PER_RUN = 50  # one `?ids=` operation's worth
MAX_BYTES = 4 * 1024 * 1024  # Meta's full-size images are well under this
MAX_PIXELS = 30_000_000  # a decompression bomb is refused before it is decoded
SIZE = 640  # longest side kept
TIMEOUT = (3.05, 10)
PARALLEL = 8  # downloads at once (the shared HTTP session keeps 32 connections per host)
RETRY_AFTER = timedelta(days=7)
CDN_HOST = "scontent.cdninstagram.com"
CDN_SUFFIXES = (".cdninstagram.com", ".fbcdn.net")


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
    from .media import _image_url

    wanted = {media_id: (pk, published) for pk, media_id, published in rows}

    def on_result(body):
        if isinstance(body, MetaError) or not isinstance(body, dict):
            run.failures.append(f"thumbnail urls: {body}")
            return  # asked again by the next run (one operation)
        items = [i for i in body.get("data") or [] if isinstance(i, dict) and i.get("id")]
        for item in items:
            pk, published = wanted.get(str(item["id"]), (None, None))
            url = _image_url(item) if pk else ""
            if url:
                offer(run, published, pk, url)
        # Media the page covered but did not list (deleted; the next complete listing marks
        # them gone) or listed without a picture: tried, not asked again for a week.
        stamps = [parse.parse_time(i.get("timestamp")) for i in items]
        reached = min((t for t in stamps if t is not None), default=None)
        if not (body.get("paging") or {}).get("next"):
            reached = rows[-1][2]
        listed = {str(i["id"]) for i in items if _image_url(i)}
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


def allowed(url: str) -> bool:
    """Meta's image CDNs over https, or the sandbox's CDN beside a configured Meta host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.username or parts.password or ".." in parts.path or "\\" in url:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host.endswith(CDN_SUFFIXES):
        return True
    for base in settings.META_HOSTS.values():
        ours = urlsplit(base)
        if ours.path.rstrip("/").endswith(("/graph.facebook.com", "/graph.instagram.com")):
            prefix = f"{base.rstrip('/').rsplit('/', 1)[0]}/{CDN_HOST}/"
            if url.startswith(prefix) and (parts.scheme, parts.netloc) == (
                ours.scheme,
                ours.netloc,
            ):
                return True
    return False


def download(url: str) -> bytes | None:
    """The picture at `url` as a small JPEG, or None (not allowed, too big, not an image,
    unreachable). Never raises."""
    if not allowed(url):
        log.info("thumbnail not fetched: host not allowed")
        return None
    try:
        response = _shared_session().get(url, timeout=TIMEOUT, allow_redirects=False, stream=True)
    except requests.RequestException as error:
        log.info("thumbnail not fetched: %s", type(error).__name__)
        return None
    try:
        length = response.headers.get("Content-Length", "")
        if response.status_code != 200 or (length.isdigit() and int(length) > MAX_BYTES):
            return None
        body = response.raw.read(MAX_BYTES + 1, decode_content=True)
    except Exception as error:  # a broken stream is a missing picture, nothing more
        log.info("thumbnail not fetched: %s", type(error).__name__)
        return None
    finally:
        response.close()
    if len(body) > MAX_BYTES or sniff(body[:16]) is None:
        return None
    return shrink(body)


def shrink(body: bytes) -> bytes | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(body)) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.draft("RGB", (SIZE, SIZE))  # JPEG: decode at a reduced scale
            image = image.convert("RGB")
            image.thumbnail((SIZE, SIZE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue()
    except Exception:  # Pillow raises many kinds for a damaged or hostile file
        return None
