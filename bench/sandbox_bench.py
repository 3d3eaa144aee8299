"""Time the sandbox in-process (Django's test client, no server started).

    .venv/bin/python bench/sandbox_bench.py [--n 200]

Uses a throw-away SQLite database (migrated on the spot, deleted afterwards). First the world at
scale, through the control API: creating 1,000 accounts, creating one with 10,000 media, and
reading that account's whole history (every media page, and a year of daily account metrics in
30-day windows, as a backfill does). Then milliseconds per request (p50 / p95 / max) for each
kind of typical request. Figures include the whole sandbox path: routing, token and budget
checks, the world computation, JSON, usage headers and the call-log insert.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(db_path: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["SANDBOX_ENABLED"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(name: str, n: int, call: Callable[[int], object]) -> None:
    for i in range(3):  # warm-up
        call(i)
    samples = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    print(
        f"{name:<52} p50 {statistics.median(samples):7.2f} ms   "
        f"p95 {percentile(samples, 0.95):7.2f} ms   max {max(samples):7.2f} ms   (n={n})"
    )


def scale() -> None:
    """The world at scale, through the control API and the Graph hosts."""
    from datetime import timedelta

    from django.test import Client

    from sandbox import core, world

    http = Client()

    def control(**body) -> dict:
        response = http.post(
            "/_sandbox/control/accounts", json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 201, response.content[:300]
        return json.loads(response.content)

    started = time.perf_counter()
    made = control(count=1000, followers=5000, media_count=200)
    elapsed = time.perf_counter() - started
    print(f"{'create 1,000 accounts (POST accounts, count=1000)':<52} {elapsed:7.2f} s")
    assert made["count"] == 1000
    started = time.perf_counter()
    big = control(followers=250000, media_count=10_000, history_days=1000, call_budget=10**9)
    print(f"{'create one account with 10,000 media':<52} {time.perf_counter() - started:7.2f} s")

    def get(path: str, **params) -> dict:
        response = http.get(
            f"/_sandbox/graph.facebook.com/v25.0/{path}",
            params,
            HTTP_AUTHORIZATION=f"Bearer {big['access_token']}",
        )
        assert response.status_code == 200, response.content[:300]
        return json.loads(response.content)

    started = time.perf_counter()
    items, after = 0, None
    while True:
        fields = "id,caption,media_type,media_product_type,timestamp,like_count,comments_count"
        page = get(
            f"{big['ig_user_id']}/media",
            limit=100,
            fields=fields,
            **({"after": after} if after else {}),
        )
        items += len(page["data"])
        if "next" not in page.get("paging", {}):
            break
        after = page["paging"]["cursors"]["after"]
    elapsed = time.perf_counter() - started
    print(f"{f'walk its /media: {items:,} items, pages of 100':<52} {elapsed:7.2f} s")
    today = world.pacific_day(core.now())
    started = time.perf_counter()
    windows = 0
    for back in range(0, 365, 30):
        until = int(world.day_start(today - timedelta(days=back)).timestamp())
        since = until - 30 * 86400
        get(f"{big['ig_user_id']}/insights", metric="reach", period="day", since=since, until=until)
        get(
            f"{big['ig_user_id']}/insights",
            metric="reach,views,likes,comments,shares,saves,total_interactions",
            period="day",
            metric_type="total_value",
            breakdown="media_product_type",
            since=since,
            until=until,
        )
        windows += 1
    elapsed = time.perf_counter() - started
    print(f"{f'a year of account metrics: {windows} windows of 30 days':<52} {elapsed:7.2f} s")
    print()


def run(n: int) -> None:
    from django.test import Client

    from sandbox import core, world
    from sandbox.accounts import create_account
    from sandbox.models import CallLog

    mid = create_account(followers=20000, media_count=500, call_budget=10**9)
    big = create_account(followers=250000, media_count=5000, history_days=1000, call_budget=10**9)
    http = Client()

    def get(acct: dict, path: str, **params) -> dict:
        response = http.get(
            f"/_sandbox/graph.facebook.com/v25.0/{path}",
            params,
            HTTP_AUTHORIZATION=f"Bearer {acct['access_token']}",
        )
        assert response.status_code == 200, response.content[:300]
        return json.loads(response.content)

    today = world.pacific_day(core.now())
    until = int(world.day_start(today).timestamp())
    since = until - 30 * 86400
    media = [m["id"] for m in get(mid, f"{mid['ig_user_id']}/media", limit=100)["data"]]
    # Feed posts that answer `views` (feed videos refuse it by default: views_refused_for).
    feed = [i for i in media if world.get_media(i).kind in ("IMAGE", "CAROUSEL_ALBUM")]
    cursors = []
    page = get(big, f"{big['ig_user_id']}/media", limit=25)
    while len(cursors) < 150 and "next" in page["paging"]:
        cursors.append(page["paging"]["cursors"]["after"])
        page = get(big, f"{big['ig_user_id']}/media", limit=25, after=cursors[-1])

    user = mid["ig_user_id"]
    timed(
        "IG user node (fields=username,followers_count,…)",
        n,
        lambda i: get(mid, user, fields="username,followers_count,follows_count,media_count"),
    )
    timed(
        "user insights: reach time series, 30 days",
        n,
        lambda i: get(
            mid, f"{user}/insights", metric="reach", period="day", since=since, until=until
        ),
    )
    timed(
        "user insights: 4 totals by media_product_type, 30 d",
        n,
        lambda i: get(
            mid,
            f"{user}/insights",
            metric="reach,views,likes,total_interactions",
            period="day",
            metric_type="total_value",
            breakdown="media_product_type",
            since=since,
            until=until,
        ),
    )
    timed(
        "user insights: follower_demographics by city",
        n,
        lambda i: get(
            mid,
            f"{user}/insights",
            metric="follower_demographics",
            period="lifetime",
            metric_type="total_value",
            timeframe="this_month",
            breakdown="city",
        ),
    )
    fields = (
        "id,caption,media_type,media_product_type,timestamp,permalink,like_count,comments_count"
    )
    timed(
        "media page of 25 (5,000-media account, deep cursors)",
        n,
        lambda i: get(
            big,
            f"{big['ig_user_id']}/media",
            limit=25,
            fields=fields,
            after=cursors[i % len(cursors)],
        ),
    )
    timed(
        "media page of 100 with insights.metric(reach,saved)",
        max(20, n // 5),
        lambda i: get(mid, f"{user}/media", limit=100, fields="id,insights.metric(reach,saved)"),
    )
    metrics = "reach,views,likes,comments,saved,shares,total_interactions"
    timed(
        "media insights (7 metrics)",
        n,
        lambda i: get(mid, f"{feed[i % len(feed)]}/insights", metric=metrics),
    )

    # 50 insights operations on the account's feed posts (repeated if it has fewer than 50).
    relative = [f"v25.0/{m}/insights?metric={metrics}" for m in (feed * 50)[:50]]
    ops = json.dumps([{"method": "GET", "relative_url": url} for url in relative])

    def batch(i: int) -> None:
        response = http.post(
            "/_sandbox/graph.facebook.com/v25.0/",
            {"batch": ops, "access_token": mid["access_token"]},
        )
        assert response.status_code == 200 and all(
            r["code"] == 200 for r in json.loads(response.content)
        )

    timed("batch of 50 media insights (one HTTP request)", max(10, n // 10), batch)
    print(f"\n(call log rows written: {CallLog.objects.count()}; usage headers scan the last hour)")
    print(f"(sandbox time {core.meta_time(core.now())})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="requests per kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(str(Path(tmp) / "bench.sqlite3"))
        scale()
        run(args.n)


if __name__ == "__main__":
    main()
