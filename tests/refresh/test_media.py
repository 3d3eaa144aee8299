"""The media step of a refresh against the sandbox over real HTTP: metadata, samples on the
decaying schedule, rejected metrics, pre-conversion media, deletions, thumbnails and the request
budget, each checked against what the sandbox's own HTTP API answers (never constants).

Prism's clock and the sandbox's move together here (time_machine for Prism, the control API for
the sandbox), as Prism's and Meta's clocks do in life: a media's age is the same on both sides.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from insights import cdn as meta_cdn
from insights.meta import catalogue, parse
from insights.models import InsightsStatus, Media, MediaSample, MetricRejection
from insights.refresh import media as media_step
from insights.refresh import store, thumbnails

from .helpers import run_ok as run

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = "graph.facebook.com"


@pytest.fixture
def small(connect, settings, clocks, tmp_path):
    settings.BACKFILL_DAYS = 30  # the account history is not what these tests are about
    settings.MEDIA_ROOT = tmp_path
    # A fixed seed: 60 media of every kind, feed videos among them.
    return connect(followers=3000, media_count=60, seed=20260101)


def add_media(sandbox, remote, **body) -> str:
    answer = sandbox.control("POST", f"accounts/{remote['ig_user_id']}/media", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["media_id"]


def meta(sandbox, remote, path, host=GRAPH, **params):
    response = sandbox.get(host, f"v25.0/{path}", remote["access_token"], **params)
    assert response.status_code == 200, response.text
    return response.json()


def meta_media(sandbox, remote, host=GRAPH) -> list[dict]:
    """Every item /media lists, walked page by page through the sandbox's own paging links."""
    fields = "id,media_type,media_product_type,timestamp,children{id,media_type}"
    page = meta(sandbox, remote, f"{remote['ig_user_id']}/media", host, fields=fields, limit=100)
    items = list(page["data"])
    while page.get("paging", {}).get("next"):
        answer = sandbox.http.get(
            page["paging"]["next"],
            headers={"Authorization": f"Bearer {remote['access_token']}"},
            timeout=30,
        )
        page = answer.json()
        items += page["data"]
    return items


def meta_insights(sandbox, remote, media: Media, metrics, host=GRAPH) -> dict:
    body = meta(sandbox, remote, f"{media.media_id}/insights", host, metric=",".join(metrics))
    return parse.media_metrics(body)


def expected_metrics(media: Media, account, *, young: bool = True) -> list[str]:
    """What a sample asks: the product type's metrics; on Instagram Login, once a media is
    older than EXTRAS_MAX_AGE, only those every feed product type has (one request per page)."""
    kind = catalogue.media_kind(media.media_type, media.product_type)
    rejected = set(
        MetricRejection.objects.filter(account=account, product_type=kind).values_list(
            "metric", flat=True
        )
    )
    facebook = account.login_path == "facebook"
    metrics = catalogue.media_metrics_for(catalogue.kind_product(kind), facebook_login=facebook)
    if not facebook and not young:
        metrics = [m for m in metrics if m in catalogue.COMMON_FEED]
    return catalogue.without(metrics, rejected)


def calls(sandbox) -> dict:
    return sandbox.control("GET", "stats").json()


@pytest.mark.parametrize("login", ["facebook", "instagram"])
def test_a_first_refresh_lists_the_media_and_stores_what_meta_answers(
    login, connect, settings, sandbox, clocks, tmp_path
):
    settings.BACKFILL_DAYS = 30
    settings.MEDIA_ROOT = tmp_path
    account, remote = connect(login=login, followers=3000, media_count=60, seed=20260101)
    host = account.host
    stats = run(account)
    listed = meta_media(sandbox, remote, host)
    rows = {m.media_id: m for m in Media.objects.filter(account=account, is_story=False)}
    assert set(rows) == {item["id"] for item in listed} and len(rows) >= 60
    assert stats["media"]["listed"] == len(listed) and stats["media"]["new"] == len(listed)
    for item in listed:
        row = rows[item["id"]]
        assert (row.media_type, row.product_type) == (
            item["media_type"],
            item["media_product_type"],
        )
        assert row.timestamp == parse.parse_time(item["timestamp"])
        children = [
            {"id": c["id"], "media_type": c["media_type"]}
            for c in item.get("children", {}).get("data", [])
        ]
        assert row.children == children
    assert any(m.children for m in rows.values())  # carousels with their children

    # Every media got its first sample; its values are what Meta answers for it now (the
    # sandbox clock is frozen), one media of each kind checked in full.
    # Breakdowns (and on Instagram Login a product type's own metrics) are asked while a media
    # is young (media.EXTRAS_MAX_AGE): the newest and the oldest media of each kind are checked.
    kinds = {}
    for row in sorted(rows.values(), key=lambda m: m.timestamp, reverse=True):
        kinds.setdefault((catalogue.media_kind(row.media_type, row.product_type), "new"), row)
        kinds[(catalogue.media_kind(row.media_type, row.product_type), "old")] = row
    assert {"IMAGE", "CAROUSEL_ALBUM", "REELS"} <= {kind for kind, _ in kinds}
    now = rows[next(iter(rows))].first_seen_at
    for (kind, _), row in kinds.items():
        row.refresh_from_db()
        assert row.insights_status == InsightsStatus.OK and row.sample_count == 1
        sample = row.samples.get()
        assert sample.metrics == row.latest_metrics
        young = now - row.timestamp < media_step.EXTRAS_MAX_AGE
        metrics = expected_metrics(row, account, young=young)
        expected = meta_insights(sandbox, remote, row, metrics, host)
        if kind != "REELS" and young:
            by_action = meta(
                sandbox,
                remote,
                f"{row.media_id}/insights",
                host,
                metric="profile_activity",
                breakdown="action_type",
            )
            expected |= parse.media_metrics(by_action)
            assert "profile_activity.bio_link_clicked" in expected
        assert row.latest_metrics == expected, kind
        assert sample.age_seconds == int((sample.captured_at - row.timestamp).total_seconds())
        assert row.next_sample_at is None or row.next_sample_at > sample.captured_at


def graph_requests(stats: dict, host: str = GRAPH) -> int:
    """HTTP requests to a Graph host (a batch is one, whatever it carries)."""
    return stats["by_host"].get(host, {}).get("http_requests", 0)


def cdn_requests(stats: dict) -> int:
    return stats["by_host"].get(meta_cdn.CDN_HOST, {}).get("http_requests", 0)


def test_a_thousand_media_account_stays_within_the_request_budget(connect, sandbox, clocks):
    """Issue #9: a two-year first backfill in at most 40 HTTP requests, then a daily refresh
    of a 1,000-media account that posts daily in at most 4, Facebook Login, account reads
    included."""
    account, remote = connect(followers=5000, media_count=1000, seed=5)
    sandbox.control("POST", "stats/reset")
    first = run(account)
    stats = calls(sandbox)
    print(
        f"\nfirst backfill: {graph_requests(stats)} Graph HTTP requests, {cdn_requests(stats)} CDN"
    )
    # One operation per media (no ?ids=: docs/graph-api.md §1), in batches of 50.
    assert graph_requests(stats) <= 40
    assert first["media"]["listed"] == len(meta_media(sandbox, remote)) >= 1000
    assert (
        first["media"]["sampled"]
        == MediaSample.objects.filter(media__account=account, media__is_story=False).count()
    )
    for _ in range(2):
        add_media(sandbox, remote, kind="carousel")  # today's post (besides the world's own)
        clocks.advance(days=1)
        sandbox.control("POST", "stats/reset")
        daily = run(account)
        stats = calls(sandbox)
        assert daily["media"]["new"] >= 1 and daily["media"]["full_listing"] is False
        assert 20 <= daily["media"]["sampled"] <= 80  # the decaying schedule's daily share
        assert graph_requests(stats) <= 4
        # Thumbnails come from Meta's CDN (not the Graph API), at most one request each
        # (the day's new stories' pictures too).
        cdn = cdn_requests(stats)
        print(f"steady day: {graph_requests(stats)} Graph HTTP requests, {cdn} CDN")
        assert cdn == daily["media"]["thumbnails"] + daily["stories"]["thumbnails"]
        assert daily["media"]["thumbnails"] <= thumbnails.THUMBNAILS_PER_RUN
    # The weekly complete listing (deletions): time slices of ~80 media, one round.
    clocks.advance(days=6)
    sandbox.control("POST", "stats/reset")
    weekly = run(account)["media"]
    stats = calls(sandbox)
    print(f"weekly listing day: {graph_requests(stats)} Graph HTTP requests")
    assert weekly["full_listing"] and weekly["gone"] == 0
    # Six days of samples come along (one operation per media since ?ids= is gone).
    assert weekly["listed"] >= 1000 and graph_requests(stats) <= 8


def media_rows(account) -> list[tuple]:
    return sorted(
        Media.objects.filter(account=account, is_story=False).values_list(
            "media_id",
            "media_type",
            "product_type",
            "caption",
            "timestamp",
            "children",
            "sample_count",
            "latest_metrics",
            "next_sample_at",
            "insights_status",
            "gone_at",
        )
    )


def sample_rows(account) -> list[tuple]:
    return sorted(
        MediaSample.objects.filter(media__account=account, media__is_story=False).values_list(
            "media__media_id", "captured_at", "metrics"
        )
    )


def test_a_refresh_run_twice_leaves_one_runs_media_rows(small, sandbox, clocks):
    account, _ = small
    run(account)
    media, samples = media_rows(account), sample_rows(account)
    run(account)  # the same moment: nothing is due, every listed media hits its key
    assert media_rows(account) == media and sample_rows(account) == samples
    # A week on: a complete listing again, every media once, one more sample each at most.
    clocks.advance(days=8)
    stats = run(account)["media"]
    assert stats["full_listing"] and stats["gone"] == 0
    after = media_rows(account)
    assert [m[0] for m in after] == sorted({m[0] for m in after})
    assert {m[0] for m in media} <= {m[0] for m in after}
    per_media = {}
    for media_id, _, _ in sample_rows(account):
        per_media[media_id] = per_media.get(media_id, 0) + 1
    assert max(per_media.values()) <= 2


def test_samples_follow_the_decaying_schedule_into_a_growth_curve(small, sandbox, clocks):
    account, remote = small
    run(account)
    reel_id = add_media(sandbox, remote, kind="reel")
    clocks.advance(minutes=10)
    stats = run(account)["media"]
    assert stats["new"] == 1 and not stats["full_listing"]
    reel = Media.objects.get(account=account, media_id=reel_id)
    assert reel.sample_count == 0 and reel.insights_status == InsightsStatus.PENDING
    assert reel.next_sample_at == reel.timestamp + timedelta(hours=1)

    metrics = expected_metrics(reel, account)
    for hours in (1, 6, 24, 72, 168):
        point = reel.timestamp + timedelta(hours=hours)
        # Half-way to the point (past the previous one's lookahead) nothing is taken.
        clocks.advance(seconds=((point - clocks.now) / 2).total_seconds())
        run(account)
        reel.refresh_from_db()
        assert reel.sample_count == media_step.SAMPLE_AGES.index(timedelta(hours=hours))
        clocks.advance(seconds=(point - clocks.now).total_seconds())
        run(account)
        reel.refresh_from_db()
        assert reel.latest_metrics == meta_insights(sandbox, remote, reel, metrics)
        assert reel.last_sampled_at == point and reel.next_sample_at > point
    curve = list(reel.samples.order_by("captured_at"))
    assert [s.age_seconds for s in curve] == [h * 3600 for h in (1, 6, 24, 72, 168)]
    for metric in ("views", "reach", "likes"):
        values = [s.metrics[metric] for s in curve]
        assert values == sorted(values) and values[-1] > values[0], metric
    assert {s.source for s in curve} == {MediaSample.Source.POLL}


def test_the_schedule_decays_and_stops_at_metas_retention():
    published = datetime(2026, 1, 1, tzinfo=UTC)
    points, now = [], published
    while (at := media_step.next_sample_at(published, now)) is not None:
        points.append(at - published)
        now = at
    assert points[:6] == [timedelta(hours=h) for h in (1, 6, 24, 72, 168, 336)]
    gaps = [b - a for a, b in zip(points, points[1:], strict=False)]
    assert gaps == sorted(gaps, key=lambda g: g.total_seconds())[: len(gaps)] or all(
        g <= timedelta(days=30) for g in gaps[6:]
    )
    assert max(points) <= timedelta(days=catalogue.MEDIA_RETENTION_DAYS)
    assert len(points) <= 30  # about 30 samples in two years, most in the first days
    # A sample taken early stands in for a point due within its lookahead.
    assert media_step.next_sample_at(published, published + timedelta(hours=5, minutes=10)) == (
        published + timedelta(hours=24)
    )
    late = published + timedelta(days=catalogue.MEDIA_RETENTION_DAYS + 1)
    assert media_step.first_sample_at(published, late) is None


def test_media_past_the_two_year_retention_are_listed_but_never_sampled(connect, sandbox, clocks):
    account, remote = connect(followers=3000, media_count=80, history_days=1000, seed=7)
    run(account)
    horizon = clocks.now - timedelta(days=catalogue.MEDIA_RETENTION_DAYS)
    old = Media.objects.filter(account=account, is_story=False, timestamp__lt=horizon)
    young = Media.objects.filter(account=account, is_story=False, timestamp__gte=horizon)
    assert old.exists() and young.exists()
    assert not MediaSample.objects.filter(media__in=old).exists()
    assert set(old.values_list("next_sample_at", flat=True)) == {None}
    assert all(m.sample_count == 1 for m in young)


def test_a_metric_meta_refuses_for_a_media_is_held_on_it_and_asked_again_later(
    connect, settings, sandbox, clocks
):
    """docs/graph-api.md §3: a refusal ("…does not support the views metric for this media
    product type", airbyte#62902) is evidence about that media: its other metrics are stored at
    once, the refused one is held on the media (not the account, not the kind) and asked again
    after a week; when Meta answers it again the hold is lifted."""
    settings.BACKFILL_DAYS = 30
    # No stories: a story seen by fewer than 5 people is refused its insights too (a 400 that
    # is the stories step's concern), and whether one is live depends on the moment.
    account, remote = connect(followers=3000, media_count=60, seed=20260101, active_stories=0)
    assert sandbox.control("POST", "settings", json={"views_refused_for": ["FEED_VIDEO"]}).ok
    run(account)
    assert not MetricRejection.objects.filter(account=account).exists()
    videos = Media.objects.filter(account=account, media_type="VIDEO", product_type="FEED")
    images = Media.objects.filter(account=account, media_type="IMAGE", is_story=False)
    assert videos.exists() and images.exists()
    for video in videos:
        assert "views" not in video.latest_metrics and "reach" in video.latest_metrics
        held = video.refused_metrics["views"]
        assert held["times"] == 1 and "views metric" in held["error"]
        assert parse.parse_time(held["retry_at"]) > clocks.now + timedelta(days=6)
    assert all("views" in image.latest_metrics for image in images)
    account.refresh_from_db()
    assert account.health == "connected" and not account.last_refresh_error
    clocks.advance(days=3)
    Media.objects.filter(pk__in=videos.values("pk")).update(next_sample_at=clocks.now)
    run(account)
    for video in videos.all():  # sampled again, views held: not asked, not refused again
        assert video.sample_count == 2 and video.refused_metrics["views"]["times"] == 1
    # What the agency's pages and the reports can say: Meta refuses views for N media, since.
    (refusal,) = account.meta_refusals()
    assert (refusal["metric"], refusal["scope"], refusal["media"]) == (
        "views",
        "media",
        videos.count(),
    )
    assert refusal["since"] <= clocks.now
    # A week on, Meta answers views for feed videos again: the next sample asks and keeps it.
    assert sandbox.control("POST", "settings", json={"views_refused_for": []}).ok
    clocks.advance(days=5)
    Media.objects.filter(pk__in=videos.values("pk")).update(next_sample_at=clocks.now)
    run(account)
    for video in videos.all():
        assert "views" in video.latest_metrics and video.refused_metrics == {}
    assert account.meta_refusals() == []


def test_media_from_before_the_business_conversion_are_unavailable(connect, sandbox, clocks):
    account, remote = connect(
        followers=3000, media_count=120, converted_days_ago=200, seed=11, active_stories=0
    )
    stats = run(account)
    converted = clocks.now - timedelta(days=200)
    before = Media.objects.filter(account=account, is_story=False, timestamp__lt=converted)
    after = Media.objects.filter(account=account, is_story=False, timestamp__gte=converted)
    assert before.exists() and after.exists()
    assert set(before.values_list("insights_status", flat=True)) == {InsightsStatus.UNAVAILABLE}
    assert set(before.values_list("next_sample_at", flat=True)) == {None}
    assert not MediaSample.objects.filter(media__in=before).exists()
    assert all(m.sample_count == 1 for m in after)
    # What Meta answers for one of them: 2108006, permanent.
    oldest = before.order_by("timestamp").first()
    answer = sandbox.get(
        GRAPH, f"v25.0/{oldest.media_id}/insights", remote["access_token"], metric="reach"
    )
    assert answer.json()["error"]["error_subcode"] == 2108006
    account.refresh_from_db()
    assert account.media_insights_cutoff is not None
    assert account.media_insights_cutoff < converted and not account.last_refresh_error
    assert "error" not in stats
    # Not asked about again.
    clocks.advance(days=2)
    sandbox.control("POST", "stats/reset")
    run(account)
    stats = calls(sandbox)
    assert stats["by_status"].get("400") is None


def test_a_deleted_media_is_marked_gone_and_keeps_its_history(small, sandbox, clocks):
    account, remote = small
    # Posted 100 days ago: sampled when first seen, next at 120 days (not during this test).
    listed_early = add_media(sandbox, remote, kind="post", hours_ago=24 * 100)
    due_soon = add_media(sandbox, remote, kind="post", hours_ago=0)
    run(account)
    early = Media.objects.get(account=account, media_id=listed_early)
    assert early.sample_count == 1
    for media_id in (listed_early, due_soon):
        answer = sandbox.control("DELETE", f"accounts/{remote['ig_user_id']}/media/{media_id}")
        assert answer.status_code == 200, answer.text

    # Due for its first sample, alone in its group or not: Meta's 100/33 marks it gone.
    clocks.advance(hours=1)
    stats = run(account)["media"]
    soon = Media.objects.get(account=account, media_id=due_soon)
    assert soon.insights_status == InsightsStatus.GONE and soon.gone_at is not None
    assert soon.next_sample_at is None
    assert not stats["full_listing"]

    # The next complete listing finds the other one.
    early.refresh_from_db()
    assert early.gone_at is None
    clocks.advance(days=8)
    stats = run(account)["media"]
    assert stats["full_listing"] and stats["gone"] == 1
    early.refresh_from_db()
    assert early.gone_at is not None and early.insights_status == InsightsStatus.GONE
    assert early.samples.count() == 1 and early.latest_metrics  # history kept
    live = Media.objects.filter(account=account, is_story=False, gone_at=None)
    assert set(live.values_list("media_id", flat=True)) == {
        item["id"] for item in meta_media(sandbox, remote)
    }


def test_thumbnails_are_fetched_once_from_metas_cdn(small, sandbox, clocks):
    account, remote = small
    sandbox.control("POST", "stats/reset")
    stats = run(account)
    first = stats["media"]
    cdn = calls(sandbox)["by_host"][meta_cdn.CDN_HOST]["http_requests"]
    # One CDN request per picture (the live stories' pictures too, kept by the stories step).
    assert cdn == first["thumbnails"] + stats["stories"]["thumbnails"]
    assert first["thumbnails"] == thumbnails.THUMBNAILS_PER_RUN  # the newest 50
    total = Media.objects.filter(account=account, is_story=False).count()
    stored = Media.objects.filter(account=account, is_story=False).exclude(thumbnail="")
    assert stored.count() == thumbnails.THUMBNAILS_PER_RUN
    newest = Media.objects.filter(account=account, is_story=False).order_by("-timestamp")
    assert set(stored) == set(newest[: thumbnails.THUMBNAILS_PER_RUN])
    with stored.first().thumbnail.open("rb") as handle:
        picture = Image.open(io.BytesIO(handle.read()))
        assert picture.format == "JPEG" and max(picture.size) <= meta_cdn.SIZE

    # The rest next run (fresh URLs by one ?ids= operation in the same batch), then none.
    clocks.advance(hours=1)
    sandbox.control("POST", "stats/reset")
    both = run(account)
    second = both["media"]
    stats = calls(sandbox)
    assert (
        second["thumbnails"] + both["stories"]["thumbnails"]
        == stats["by_host"][meta_cdn.CDN_HOST]["http_requests"]
    )
    assert second["thumbnails"] == total - thumbnails.THUMBNAILS_PER_RUN
    assert not Media.objects.filter(account=account, is_story=False, thumbnail="").exists()
    clocks.advance(hours=1)
    sandbox.control("POST", "stats/reset")
    third = run(account)
    assert third["media"]["thumbnails"] == 0
    cdn = calls(sandbox)["by_host"].get(meta_cdn.CDN_HOST, {}).get("http_requests", 0)
    assert cdn == third["stories"]["thumbnails"]


def test_thumbnails_come_only_from_metas_cdn_hosts(settings, sandbox):
    base = settings.META_HOSTS["graph.facebook.com"].rsplit("/", 1)[0]
    allowed = [
        "https://scontent-cdg4-1.cdninstagram.com/v/t51.29350-15/1_2_n.jpg?oe=1",
        "https://scontent.xx.fbcdn.net/v/t51.29350-15/1_2_n.jpg",
        f"{base}/scontent.cdninstagram.com/v/t51.29350-15/1_2_n.jpg",
    ]
    refused = [
        "http://scontent.cdninstagram.com/v/1.jpg",  # not https
        "https://scontent.cdninstagram.com.evil.example/v/1.jpg",
        "https://evil.example/scontent.cdninstagram.com/v/1.jpg",
        "https://user@scontent.cdninstagram.com/v/1.jpg",
        f"{base}/graph.facebook.com/me",  # the sandbox, but not its CDN
        f"{base}/scontent.cdninstagram.com/../../admin/",
        "file:///etc/passwd",
        "",
    ]
    assert all(meta_cdn.allowed(url) for url in allowed)
    assert not any(meta_cdn.allowed(url) for url in refused)
    sandbox.control("POST", "stats/reset")
    assert meta_cdn.download(refused[1]) is None
    assert meta_cdn.download(f"{base}/scontent.cdninstagram.com/v/t51.29350-15/1_2_n.jpg") is None


def test_a_long_backlog_of_samples_is_spread_over_runs(small, sandbox, clocks, monkeypatch):
    account, _ = small
    monkeypatch.setattr(media_step, "MAX_DUE", 25)
    first = run(account)["media"]
    assert (first["new"], first["sampled"]) == (60, 25)
    sampled = Media.objects.filter(account=account, is_story=False, sample_count=1)
    newest = Media.objects.filter(account=account, is_story=False).order_by("-timestamp")
    assert set(sampled) == set(newest[:25])  # the newest first
    account.refresh_from_db()
    assert account.next_refresh_at <= clocks.now + timedelta(minutes=5)  # the rest soon
    clocks.advance(minutes=3)
    assert run(account)["media"]["sampled"] == 25
    clocks.advance(minutes=3)
    assert run(account)["media"]["sampled"] == 10
    assert not Media.objects.filter(account=account, is_story=False, sample_count=0).exists()


def test_samples_are_written_a_chunk_of_rows_at_a_time(small, monkeypatch):
    account, _ = small
    monkeypatch.setattr(store, "BATCH_SIZE", 7)  # 60 media: nine chunks, the last one short
    first = run(account)["media"]
    assert (first["new"], first["sampled"]) == (60, 60)
    feed = Media.objects.filter(account=account, is_story=False)
    assert not feed.exclude(sample_count=1).exists()
    assert not feed.filter(latest_metrics={}).exists()
    assert MediaSample.objects.filter(media__in=feed).count() == 60


def test_a_sample_meta_fails_to_answer_is_asked_again_later_not_in_minutes(small, sandbox, clocks):
    account, remote = small
    run(account)
    media_id = add_media(sandbox, remote, kind="post", hours_ago=2)
    fault = sandbox.control(
        "POST", "faults", json={"kind": "5xx", "path_regex": f"/{media_id}/insights"}
    )
    assert fault.status_code == 201, fault.text
    stats = run(account)["media"]
    assert stats["new"] == 1 and stats["failures"]
    post = Media.objects.get(account=account, media_id=media_id)
    assert post.sample_count == 0 and post.insights_status == InsightsStatus.PENDING
    assert post.next_sample_at == clocks.now + media_step.TRANSIENT_RETRY
    account.refresh_from_db()
    assert account.health == "connected" and not account.last_refresh_error
    # The failed sample does not bring the next run within minutes; another post's own
    # scheduled sample may (the decaying schedule: by age, some are due soon at any hour).
    others = Media.objects.filter(account=account, next_sample_at__isnull=False).exclude(pk=post.pk)
    soonest = min(m.next_sample_at for m in others)
    assert account.next_refresh_at >= min(clocks.now + timedelta(minutes=10), soonest)
    sandbox.control("DELETE", "faults")
    clocks.advance(seconds=media_step.TRANSIENT_RETRY.total_seconds())
    run(account)
    post.refresh_from_db()
    assert post.sample_count == 1 and post.insights_status == InsightsStatus.OK


def test_instagram_login_samples_older_media_by_cohort():
    """Instagram Login has no batch: after two weeks a media is sampled every 90 days on its
    cohort's day, and media published close together share that day (one time slice, one
    request), so most days ask nothing for older media."""
    now = datetime(2026, 12, 5, 18, tzinfo=UTC)
    ages = media_step.INSTAGRAM_SAMPLE_AGES
    cohort = [now - timedelta(days=d) for d in range(300, 320)]
    firsts = {
        media_step.next_sample_at(p, now, ages)
        for p in cohort
        if (p.toordinal() // 60) == (cohort[0].toordinal() // 60)
    }
    assert len(firsts) == 1
    (first,) = firsts
    assert now < first <= now + timedelta(days=90)
    again = media_step.next_sample_at(cohort[0], first + timedelta(hours=1), ages)
    assert again - first == timedelta(days=90)
    young = now - timedelta(days=2)
    assert media_step.next_sample_at(young, now, ages) == young + timedelta(days=3)
    assert media_step.next_sample_at(now - timedelta(days=729), now, ages) is None
