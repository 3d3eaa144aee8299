"""The synthetic world behind the Graph hosts: deterministic, lazy and self-consistent
(DESIGN.md "The sandbox"; graph-api.md §3–§5 for the shapes it feeds)."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox import world
from sandbox.models import InstagramAccount

ACCOUNT = {
    "pk": 42,
    "ig_user_id": "17841400000000042",
    "username": "determinism",
    "seed": 123456,
    "followers": 8000,
    "media_count": 400,
    "history_days": 730,
    "region": "FR",
    "active_stories": 5,
}
CREATED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AT = datetime(2026, 6, 20, 9, 30, tzinfo=UTC)

# Computes a digest of one account's world without touching the database, so it can run in a
# fresh interpreter (another PYTHONHASHSEED) and be compared with this process.
DIGEST = """
import hashlib, json
from datetime import UTC, date, datetime, timedelta
from sandbox import world
from sandbox.models import InstagramAccount

def digest(fields, created, at):
    account = InstagramAccount(**fields, created_at=created)
    p = world.profile(account)
    out = []
    for i in range(0, p.media_count, 7):
        item = world._feed_item(account, p, i)
        out.append([item.id, item.media_type, item.product_type, item.posted_at.isoformat(),
                    item.caption, item.children_count, world.media_metrics(item, at)])
    for k in range(3):
        story = world._story_item(account, p, 70000 + k)
        out.append([story.id, story.posted_at.isoformat(), world.media_metrics(story, at)])
    today = world.pacific_day(at)
    for n in range(60):
        dm = world.day_metrics(account, today - timedelta(days=n), today=today)
        out.append([dm.followers, dm.follows, dm.unfollows, dm.values])
    demo = world.demographics(account, "follower", ("age", "gender", "city"), at=at)
    out.append(sorted((list(k), v) for k, v in demo.items()))
    return hashlib.sha256(json.dumps(out, sort_keys=True, default=str).encode()).hexdigest()
"""


def local_digest() -> str:
    namespace: dict = {}
    exec(DIGEST, namespace)  # noqa: S102 (our own code, shared with the subprocess)
    return namespace["digest"](ACCOUNT, CREATED, AT)


def test_same_world_in_a_fresh_process():
    """DESIGN: same answers after a restart — nothing depends on per-process state (salted
    str hashes, unseeded random)."""
    script = DIGEST + (
        "\nimport sys\nfrom datetime import datetime\n"
        f"print(digest({ACCOUNT!r}, datetime.fromisoformat({CREATED.isoformat()!r}), "
        f"datetime.fromisoformat({AT.isoformat()!r})))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "DJANGO_SETTINGS_MODULE": "config.settings"}
    setup = "import django; django.setup()\n"
    out = subprocess.run(
        [sys.executable, "-c", setup + script],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == local_digest()


def test_world_seed_changes_the_world(settings):
    """DESIGN: the world is a function of SANDBOX_SEED (caches never mix two seeds)."""
    first = local_digest()
    settings.SANDBOX_SEED = settings.SANDBOX_SEED + 1
    assert local_digest() != first
    settings.SANDBOX_SEED = settings.SANDBOX_SEED - 1
    assert local_digest() == first


def make(db, **overrides):
    from sandbox.accounts import create_account

    acct = create_account(**overrides)
    return InstagramAccount.objects.get(ig_user_id=acct["ig_user_id"])


def test_media_ids_decode_to_their_items(db):
    """§0: ids are 17–18 digit strings; the account and index decode from them; guessed ids
    do not."""
    account = make(db, media_count=100)
    items = list(world.iter_media(account))
    assert len(items) == 100
    for item in items[:20]:
        assert len(item.id) == 18 and item.id.isdigit()
        found = world.get_media(item.id)
        assert (found.account.pk, found.index, found.posted_at) == (
            account.pk,
            item.index,
            item.posted_at,
        )
        for child in item.children():
            assert world.get_media(child.id).parent_id == item.id
    bogus = items[0].id[:-1] + str((int(items[0].id[-1]) + 1) % 10)
    assert world.get_media(bogus) is None
    assert world.get_media("180000000000000000") is None


def test_followers_history_grows_to_the_anchor_and_lives_on(db):
    """DESIGN: followers grow towards the count given at creation, which is followers_count at
    that moment; each day's follows minus unfollows is that day's change, before and after."""
    account = make(db, followers=12000, history_days=900)
    p = world.profile(account)
    days = [p.first_day + timedelta(days=k) for k in range(0, 900, 1)]
    counts = [world.followers_on(p, d) for d in days]
    assert counts == sorted(counts) and counts[0] < counts[-1] <= 12000
    assert world.followers_now(p, p.anchor) == 12000
    for day in days[-400:] + [p.anchor_day + timedelta(days=k) for k in range(1, 60)]:
        dm = world.day_metrics(account, day, today=day + timedelta(days=1))
        previous = world.followers_on(p, day - timedelta(days=1))
        assert dm.follows - dm.unfollows == dm.followers - previous
        assert dm.follows >= 0 and dm.unfollows >= 0
    later = [world.followers_on(p, p.anchor_day + timedelta(days=k)) for k in (30, 200, 400)]
    assert len(set(later)) > 1  # still moving long after creation
    today = p.anchor_day
    assert world.day_metrics(account, today - timedelta(days=729), today=today) is not None


def test_exactly_the_configured_stories_are_live(db):
    """§3.3: at any sandbox time the account has its active_stories generated stories, all from
    the last 24 hours."""
    account = make(db, active_stories=6)
    start = datetime.now(UTC)
    for hours in (0, 1.5, 7, 30, 200):
        at = start + timedelta(hours=hours)
        stories = world.active_stories(account, at)
        assert len(stories) == 6
        assert all(timedelta(0) <= at - s.posted_at < timedelta(hours=24) for s in stories)
    assert [s.id for s in world.active_stories(account, start)] == [
        s.id for s in world.active_stories(account, start)
    ]


def test_media_metrics_monotonic_and_stories_freeze(db):
    """DESIGN: lifetime values only grow; stories stop at 24 h."""
    account = make(db, media_count=30, active_stories=2)
    items = list(world.iter_media(account))[:10] + world.active_stories(account)
    for item in items:
        previous = None
        for hours in (0.5, 3, 12, 48, 24 * 14, 24 * 90):
            v = world.media_metrics(item, item.posted_at + timedelta(hours=hours))
            scalars = {
                k: x
                for k, x in v.items()
                if k != "breakdowns" and not k.startswith(("ig_reels_avg", "reels_skip"))
            }
            if previous:
                assert all(scalars[k] >= previous[k] for k in scalars)
            assert v["views"] >= v["reach"]
            previous = scalars
        if item.is_story:
            day = world.media_metrics(item, item.posted_at + timedelta(hours=24))
            assert world.media_metrics(item, item.posted_at + timedelta(days=9)) == day


@pytest.mark.parametrize("followers", [150, 5000, 250000])
def test_demographics_sum_below_audience(db, followers):
    """§4.1: only known demographics, top 45 buckets, so they sum below the followers."""
    account = make(db, followers=followers)
    for dims in (("age",), ("gender",), ("country",), ("city",), ("age", "gender")):
        buckets = world.demographics(account, "follower", dims)
        assert 0 < len(buckets) <= 45
        assert sum(buckets.values()) < followers


def test_window_reach_is_deduplicated(db):
    """§12.12: a window's reach is less than the sum of its days and at least the best day."""
    account = make(db, followers=9000)
    today = world.pacific_day(datetime.now(UTC))
    since = world.day_start(today - timedelta(days=28))
    until = world.day_start(today)
    total, _ = world.account_total(account, "reach", since, until)
    daily = [
        world.day_metrics(account, today - timedelta(days=k)).values["reach"] for k in range(1, 29)
    ]
    assert max(daily) <= total < sum(daily)


def test_large_account_page_is_computed_lazily(db):
    """DESIGN: a page of 25 out of 10,000 media costs the same as from a small account."""
    import time

    account = make(db, media_count=10_000, history_days=1000)
    started = time.perf_counter()
    for _ in range(20):
        page = world.page_media(account, limit=25)
    assert len(page.items) == 25
    assert (time.perf_counter() - started) / 20 < 0.05


def test_json_safe_metric_values(db):
    """§5.4: metric values serialise as JSON numbers."""
    account = make(db, media_count=20)
    for item in world.iter_media(account):
        values = world.media_metrics(item, datetime.now(UTC))
        assert json.loads(json.dumps(values)) == values
