"""Snapshots written straight into the tables, for report tests and the report benchmark.

Deterministic (seeded) and shaped like what the pipeline stores: Pacific days, absent rows for
"no data", per-day totals, window reach, follower counts, media with latest metrics, stories with
their capture state, demographics snapshots.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from insights.models import (
    AccountDaily,
    DemographicBucket,
    DemographicSnapshot,
    Media,
    ProfileSnapshot,
    WindowMetric,
)

PACIFIC = ZoneInfo("America/Los_Angeles")
TYPES = ("POST", "REEL", "CAROUSEL_CONTAINER", "STORY")


def end_time(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, PACIFIC).astimezone(UTC)


def fill_account(
    account,
    *,
    last_day: date,
    days: int = 120,
    media: int = 60,
    skip: tuple[date, ...] = (),
    seed: int = 7,
    batch_size: int = 2000,
) -> None:
    rng = random.Random(seed)
    daily, profile, windows = [], [], []
    followers = 5000
    first_day = last_day - timedelta(days=days - 1)
    reach_by_day = {}
    for i in range(days):
        day = first_day + timedelta(days=i)
        followers += rng.randint(-3, 12)
        profile.append(ProfileSnapshot(account=account, day=day, followers_count=followers))
        if day in skip:
            continue
        reach = rng.randint(800, 2400)
        reach_by_day[day] = reach
        views = reach * 3 + rng.randint(0, 500)
        interactions = rng.randint(40, 260)
        values = {
            "reach": reach,
            "views": views,
            "total_interactions": interactions,
            "likes": interactions // 2,
            "comments": interactions // 8,
            "profile_links_taps": rng.randint(0, 30),
            "follower_count": rng.randint(0, 20),
        }
        split = (views * 5 // 10, views * 3 // 10)
        values["views|media_product_type=POST"] = split[0]
        values["views|media_product_type=REEL"] = split[1]
        values["views|media_product_type=STORY"] = views - sum(split)
        for key, value in values.items():
            metric, _, dimension = key.partition("|")
            daily.append(
                AccountDaily(
                    account=account,
                    metric=metric,
                    dimension=dimension,
                    day=day,
                    value=value,
                    end_time=end_time(day),
                    settled=True,
                )
            )
    # De-duplicated windows: less than the sum of daily reach, as people come back.
    for i in range(days):
        end = first_day + timedelta(days=i)
        for kind, length in (("7d", 7), ("28d", 28)):
            start = end - timedelta(days=length - 1)
            if start < first_day:
                continue
            total = sum(reach_by_day.get(start + timedelta(days=k), 0) for k in range(length))
            windows.append(
                WindowMetric(
                    account=account,
                    metric="reach",
                    kind=kind,
                    start=start,
                    end=end,
                    value=int(total * 0.55),
                    settled=True,
                )
            )
        if (end + timedelta(days=1)).day == 1 and end.day >= 28:
            start = end.replace(day=1)
            if start >= first_day:
                total = sum(
                    reach_by_day.get(start + timedelta(days=k), 0)
                    for k in range((end - start).days + 1)
                )
                windows.append(
                    WindowMetric(
                        account=account,
                        metric="reach",
                        kind="month",
                        start=start,
                        end=end,
                        value=int(total * 0.5),
                        settled=True,
                    )
                )
    AccountDaily.objects.bulk_create(daily, batch_size=batch_size)
    ProfileSnapshot.objects.bulk_create(profile, batch_size=batch_size)
    WindowMetric.objects.bulk_create(windows, batch_size=batch_size)

    items = []
    for n in range(media):
        kind = TYPES[n % len(TYPES)]
        posted = datetime.combine(
            first_day + timedelta(days=rng.randrange(days)), time(rng.randrange(24)), UTC
        )
        is_story = kind == "STORY"
        reach = rng.randint(200, 4000)
        metrics = {"reach": reach, "views": reach * 2}
        if is_story:
            metrics |= {
                "replies": rng.randint(0, 9),
                "shares": rng.randint(0, 5),
                "navigation": reach,
            }
        else:
            metrics |= {
                "likes": rng.randint(5, 400),
                "comments": rng.randint(0, 40),
                "saved": rng.randint(0, 50),
                "shares": rng.randint(0, 30),
            }
            metrics["total_interactions"] = sum(
                metrics[k] for k in ("likes", "comments", "saved", "shares")
            )
        items.append(
            Media(
                account=account,
                media_id=f"{account.pk}{n:08d}",
                media_type="CAROUSEL_ALBUM" if kind == "CAROUSEL_CONTAINER" else "IMAGE",
                product_type={"REEL": "REELS", "STORY": "STORY"}.get(kind, "FEED"),
                caption=f"Post number {n} =SUM(A1) about coffee",
                permalink=f"https://www.instagram.com/p/X{n}/",
                timestamp=posted,
                is_story=is_story,
                expires_at=posted + timedelta(days=1) if is_story else None,
                story_state=("captured", "late", "missed")[n % 3] if is_story else "",
                latest_metrics={} if (is_story and n % 3 == 2) else metrics,
                last_sampled_at=posted + timedelta(days=2),
                insights_status="ok",
            )
        )
    Media.objects.bulk_create(items, batch_size=batch_size)

    for breakdown, keys in (
        ("age", ["18-24", "25-34", "35-44", "45-54"]),
        ("gender", ["F", "M", "U"]),
        ("country", ["DE", "FR", "US", "GB"]),
        ("city", ["Berlin, Berlin", "Paris, Île-de-France", "London, England"]),
    ):
        for weeks_back in (0, 4):
            snapshot = DemographicSnapshot.objects.create(
                account=account,
                metric="follower_demographics",
                breakdown=breakdown,
                timeframe="this_month",
                captured_on=last_day - timedelta(days=7 * weeks_back),
            )
            DemographicBucket.objects.bulk_create(
                DemographicBucket(
                    snapshot=snapshot, key=k, value=rng.randint(100, 2000) + weeks_back
                )
                for k in keys
            )
    # As the pipeline leaves an account whose history is in: backfilled, its media listed.
    account.data_as_of = end_time(last_day)
    account.backfilled_at = account.media_listed_at = end_time(last_day)
    account.save(update_fields=["data_as_of", "backfilled_at", "media_listed_at"])
