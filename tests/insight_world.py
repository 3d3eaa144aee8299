"""Media with samples at given ages, for the insight layer's tests (and the report benchmark):
fixed worlds in which the expected judgement, sentence or best hour is known."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from insights.models import Media, MediaSample

KINDS = {
    # format: (product_type, media_type, is_story)
    "post": ("FEED", "IMAGE", False),
    "carousel": ("FEED", "CAROUSEL_ALBUM", False),
    "reel": ("REELS", "VIDEO", False),
    "story": ("STORY", "IMAGE", True),
}
_counter = iter(range(10**9))


def media(
    account,
    published: datetime,
    reach: dict[timedelta, int],
    kind: str = "post",
    *,
    interactions: int = 10,
    story_state: str = "captured",
    with_samples: bool = True,
) -> Media:
    """A media whose reach at each age is `reach[age]`; its latest figures are the oldest age's.
    Without samples, only the latest reading is stored (a post first read when already old)."""
    product_type, media_type, story = KINDS[kind]
    n = next(_counter)
    ages = sorted(reach)
    last = ages[-1] if ages else None
    item = Media.objects.create(
        account=account,
        media_id=f"i{account.pk}x{n}",
        media_type=media_type,
        product_type=product_type,
        caption=f"{kind} {n}",
        timestamp=published,
        is_story=story,
        expires_at=published + timedelta(days=1) if story else None,
        story_state=story_state if story else "",
        latest_metrics={"reach": reach[last], "total_interactions": interactions} if ages else {},
        last_sampled_at=published + last if ages else None,
        sample_count=len(ages),
        insights_status="ok",
    )
    if with_samples:
        MediaSample.objects.bulk_create(
            MediaSample(
                media=item,
                captured_at=published + age,
                age_seconds=int(age.total_seconds()),
                metrics={"reach": value},
            )
            for age, value in reach.items()
        )
    return item


DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)


def add_history(account, until: datetime, days: int = 730, every_hours: int = 14, seed: int = 3):
    """A posting history with samples at 1 and 7 days (and 30 days when old enough), reach
    depending on the hour of posting, for the benchmark: as the refresh leaves a long-connected
    account."""
    rng = random.Random(seed)
    items, samples = [], []
    at = until - timedelta(days=days)
    n = 0
    while at < until - timedelta(hours=2):
        kind = ("post", "reel", "carousel")[n % 3]
        product_type, media_type, _ = KINDS[kind]
        base = rng.randint(400, 2400) * (1.6 if 17 <= at.hour <= 20 else 1.0)
        reach = {DAY: int(base * 0.7), WEEK: int(base), MONTH: int(base * 1.1)}
        reach = {age: v for age, v in reach.items() if at + age <= until}
        last = max(reach) if reach else None
        items.append(
            Media(
                account=account,
                media_id=f"h{account.pk}x{n}",
                media_type=media_type,
                product_type=product_type,
                caption=f"history {n}",
                timestamp=at,
                latest_metrics={"reach": reach[last]} if last else {},
                last_sampled_at=at + last if last else None,
                insights_status="ok",
            )
        )
        samples.append(reach)
        at += timedelta(hours=every_hours + rng.randint(0, 20))
        n += 1
    created = Media.objects.bulk_create(items, batch_size=2000)
    MediaSample.objects.bulk_create(
        (
            MediaSample(
                media=m,
                captured_at=m.timestamp + age,
                age_seconds=int(age.total_seconds()),
                metrics={"reach": value},
            )
            for m, reach in zip(created, samples, strict=True)
            for age, value in reach.items()
        ),
        batch_size=2000,
    )
    return len(created)


def add_samples(account, now: datetime, batch_size: int = 2000) -> int:
    """Samples at 1, 7 and 30 days for every post of the account that had reached that age by
    `now` (tests/report_world.py stores only the latest figures), growing towards the latest
    reach, as the refresh leaves a long-connected account. Returns the number of samples."""
    rows = []
    for pk, published, metrics in (
        Media.objects.filter(account=account, is_story=False)
        .order_by()
        .values_list("pk", "timestamp", "latest_metrics")
    ):
        reach = (metrics or {}).get("reach")
        if reach is None:
            continue
        for age, share in ((DAY, 0.6), (WEEK, 0.9), (MONTH, 1.0)):
            if published + age <= now:
                rows.append(
                    MediaSample(
                        media_id=pk,
                        captured_at=published + age,
                        age_seconds=int(age.total_seconds()),
                        metrics={"reach": int(reach * share)},
                    )
                )
    MediaSample.objects.bulk_create(rows, batch_size=batch_size)
    return len(rows)
