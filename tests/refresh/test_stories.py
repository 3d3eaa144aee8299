"""Stories through real refreshes against the sandbox over real HTTP: polled, captured at the
final-capture point, marked captured / late / missed as the clocks move, the numbers equal to
what the sandbox's own API answers at each moment.

The sandbox's clock is frozen (conftest) and Prism's is travelled with it (time-machine), so
"23 hours later" is the same moment for both."""

from datetime import timedelta

import pytest

from insights.models import InsightsStatus, InstagramAccount, Media, MediaSample, StoryState
from insights.refresh import account as refresh
from insights.refresh import media as media_step
from insights.refresh import schedule, stories

from .helpers import run_ok as run

pytestmark = pytest.mark.django_db(transaction=True)

STORY_METRICS = "views,reach,replies,shares,total_interactions,reposts,follows,profile_visits"


@pytest.fixture
def account_with(connect, settings):
    settings.BACKFILL_DAYS = 3  # the history is not what these tests are about

    def make(**properties):
        defaults = {"followers": 5000, "media_count": 10, "history_days": 30, "active_stories": 0}
        defaults["seed"] = 4242  # the sandbox account's traits: fixed, not random
        return connect(**(defaults | properties))

    return make


SEEDS = iter(range(1000, 10**6))


def post_story(sandbox, remote, **options) -> str:
    options.setdefault("seed", next(SEEDS))  # the sandbox's rates for it: fixed, not random
    answer = sandbox.control("POST", f"accounts/{remote['ig_user_id']}/stories", json=options)
    assert answer.status_code == 201, answer.text
    return answer.json()["media_id"]


def meta_story(sandbox, remote, media_id, host="graph.facebook.com") -> dict:
    """The story's insights as the sandbox's API answers them now, read raw (not through Prism's
    parser): plain values and the navigation breakdown as flat keys."""
    token = remote["access_token"]
    # Story link_clicks (2026-06-22) is Facebook Login only (docs/graph-api.md §5).
    metrics = STORY_METRICS + (",link_clicks" if host == "graph.facebook.com" else "")
    plain = sandbox.get(host, f"v25.0/{media_id}/insights", token, metric=metrics)
    assert plain.status_code == 200, plain.text
    expected = {m["name"]: m["values"][0]["value"] for m in plain.json()["data"]}
    nav = sandbox.get(
        host,
        f"v25.0/{media_id}/insights",
        token,
        metric="navigation",
        breakdown="story_navigation_action_type",
    )
    assert nav.status_code == 200, nav.text
    (navigation,) = nav.json()["data"]
    expected["navigation"] = navigation["total_value"]["value"]
    for result in navigation["total_value"]["breakdowns"][0]["results"]:
        expected[f"navigation.{result['dimension_values'][0]}"] = result["value"]
    return expected


def story(media_id) -> Media:
    return Media.objects.get(media_id=media_id)


def test_stories_are_polled_captured_before_expiry_and_marked(account_with, sandbox, clocks):
    account, remote = account_with()
    t0 = clocks.now
    fresh = post_story(sandbox, remote, viewers=400, hours_ago=1)  # final point at t0 + 22 h
    older = post_story(sandbox, remote, viewers=400, hours_ago=10)  # expires at t0 + 14 h
    last_hour = post_story(sandbox, remote, viewers=400, hours_ago=23.5)  # past its final point
    quiet = post_story(sandbox, remote, viewers=2, hours_ago=2)  # under 5 viewers: (#10)

    stats = run(account)["stories"]
    assert (stats["listed"], stats["new"], stats["sampled"], stats["final"]) == (4, 4, 3, 1)
    for media_id in (fresh, older, last_hour):
        (sample,) = MediaSample.objects.filter(media__media_id=media_id)
        assert sample.metrics == meta_story(sandbox, remote, media_id)
        assert sample.captured_at == t0
    assert story(fresh).story_state == StoryState.PENDING
    assert MediaSample.objects.get(media__media_id=fresh).source == "poll"
    # Seen in its last hour: the first sample is the final one.
    assert story(last_hour).story_state == StoryState.CAPTURED
    assert story(last_hour).story_final_at == t0
    assert MediaSample.objects.get(media__media_id=last_hour).source == "final"
    assert story(quiet).insights_status == InsightsStatus.TOO_FEW_VIEWERS
    assert story(quiet).sample_count == 0

    # Polled again later; its next sample is its final-capture point, and the account's next
    # refresh comes no later than that.
    clocks.move_to(t0 + timedelta(hours=20))
    run(account)
    final_point = story(fresh).timestamp + stories.FINAL_AT
    assert story(fresh).next_sample_at == final_point
    assert InstagramAccount.objects.get(pk=account.pk).next_refresh_at <= final_point
    assert story(older).story_state == StoryState.LATE  # expired, sampled only at t0
    assert story(older).story_final_at == t0

    clocks.move_to(final_point + timedelta(minutes=1))
    stats = run(account)["stories"]
    assert stats["final"] == 1
    captured = story(fresh)
    assert captured.story_state == StoryState.CAPTURED
    assert captured.story_final_at == clocks.now and captured.next_sample_at is None
    samples = list(MediaSample.objects.filter(media=captured).order_by("captured_at"))
    assert [s.source for s in samples] == ["poll", "poll", "final"]
    assert samples[-1].metrics == meta_story(sandbox, remote, fresh)
    assert captured.latest_metrics == samples[-1].metrics
    assert samples[-1].age_seconds == int((clocks.now - captured.timestamp).total_seconds())
    # Never more than 5 viewers, expired unsampled: missed, and why.
    assert story(quiet).story_state == StoryState.MISSED
    assert story(quiet).insights_status == InsightsStatus.TOO_FEW_VIEWERS

    # After expiry nothing is asked about them again.
    clocks.move_to(t0 + timedelta(hours=30))
    stats = run(account)["stories"]
    assert (stats["listed"], stats["sampled"]) == (0, 0)
    assert (
        Media.objects.filter(account=account, is_story=True, next_sample_at__isnull=False).count()
        == 0
    )
    assert MediaSample.objects.filter(media__account=account, media__is_story=True).count() == 5


def test_a_second_refresh_in_the_same_hour_adds_no_sample(account_with, sandbox, clocks):
    account, remote = account_with()
    media_id = post_story(sandbox, remote, viewers=300, hours_ago=3)
    run(account)
    clocks.move_to(clocks.now + timedelta(minutes=30))
    run(account)
    assert story(media_id).sample_count == 1
    assert MediaSample.objects.filter(media__media_id=media_id).count() == 1


def test_story_reads_ride_in_the_account_batch(account_with, sandbox, clocks):
    account, remote = account_with()
    post_story(sandbox, remote, viewers=300, hours_ago=3)
    run(account)
    # The known story's next poll: its insights and the listing go in the account's batch.
    clocks.move_to(clocks.now + stories.POLL_EVERY + timedelta(minutes=1))
    sandbox.control("POST", "stats/reset")
    stats = run(account)
    calls = sandbox.control("GET", "stats").json()
    batches = calls["by_path"]["POST graph.facebook.com/ (batch)"]["requests"]
    assert batches == stats["requests"]
    assert calls["requests"] == batches + calls["counted_calls"]
    assert stats["stories"]["sampled"] == 1
    # One HTTP request for the account reads and the story's three operations together.
    assert batches == 1, calls["by_path"]


def test_replies_zeroed_by_metas_eu_rule_are_marked(account_with, sandbox, clocks):
    eu, eu_remote = account_with(region="DE")
    us, us_remote = account_with(region="US")
    eu_story = post_story(sandbox, eu_remote, viewers=3000, hours_ago=12)
    us_story = post_story(sandbox, us_remote, viewers=3000, hours_ago=12)
    run(eu)
    run(us)
    assert meta_story(sandbox, eu_remote, eu_story)["replies"] == 0
    zeroed = story(eu_story)
    assert zeroed.latest_metrics["replies"] == 0 and zeroed.replies_zeroed_by_region
    real = story(us_story)
    assert meta_story(sandbox, us_remote, us_story)["replies"] == real.latest_metrics["replies"]
    assert not real.replies_zeroed_by_region


def test_instagram_login_polls_stories_with_plain_requests(account_with, sandbox, clocks):
    account, remote = account_with(login="instagram")
    media_id = post_story(sandbox, remote, viewers=300, hours_ago=5)
    run(account)
    sample = MediaSample.objects.get(media__media_id=media_id)
    answer = sandbox.get(
        "graph.instagram.com", f"v25.0/{media_id}/insights", remote["access_token"], metric="reach"
    ).json()
    assert sample.metrics["reach"] == answer["data"][0]["values"][0]["value"]
    assert story(media_id).story_state == StoryState.PENDING


def test_a_story_metric_meta_rejects_is_recorded_and_the_rest_stored(
    account_with, sandbox, clocks, monkeypatch
):
    from insights.meta import catalogue
    from insights.models import MetricRejection

    account, remote = account_with()
    media_id = post_story(sandbox, remote, viewers=300, hours_ago=4)
    story_metrics = (*catalogue.MEDIA_METRICS["STORY"], "story_exits")  # gone since v18
    monkeypatch.setitem(catalogue.MEDIA_METRICS, "STORY", story_metrics)
    run(account)
    rejection = MetricRejection.objects.get(account=account, product_type="STORY")
    assert (rejection.metric, rejection.product_type, rejection.code) == (
        "story_exits",
        "STORY",
        100,
    )
    sample = MediaSample.objects.get(media__media_id=media_id)
    assert sample.metrics == meta_story(sandbox, remote, media_id)
    # Not asked again on the next sample.
    clocks.move_to(clocks.now + stories.POLL_EVERY)
    run(account)
    assert MetricRejection.objects.get(account=account, product_type="STORY").times_seen == 1
    assert story(media_id).sample_count == 2


def fault(sandbox, media_id, **spec):
    answer = sandbox.control("POST", "faults", json={"path_regex": f"/{media_id}/insights", **spec})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_a_failed_poll_waits_for_the_next_run_and_a_deleted_story_is_left(
    account_with, sandbox, clocks
):
    account, remote = account_with()
    flaky = post_story(sandbox, remote, viewers=300, hours_ago=4)
    deleted = post_story(sandbox, remote, viewers=300, hours_ago=4)
    outage = fault(sandbox, flaky, kind="5xx")
    gone = {
        "code": 100,
        "error_subcode": 33,
        "message": "Unsupported get request.",
        "type": "GraphMethodException",
    }
    fault(sandbox, deleted, kind="graph_error", params={"error": gone})
    t0 = clocks.now
    stats = run(account)["stories"]
    assert (stats["failed"], stats["gone"], stats["sampled"]) == (1, 1, 0)
    assert [f for f in stats["failures"] if flaky in f and "transient" in f]
    # Not a run of its own: the next regular refresh takes it.
    assert story(flaky).next_sample_at == t0 + stories.poll_horizon()
    due = InstagramAccount.objects.get(pk=account.pk).next_refresh_at
    assert due < story(flaky).next_sample_at
    assert story(deleted).next_sample_at is None
    assert story(deleted).insights_status == InsightsStatus.GONE and story(deleted).gone_at

    sandbox.control("DELETE", f"faults/{outage}")
    clocks.move_to(due)
    run(account)
    assert MediaSample.objects.get(media__media_id=flaky).metrics == meta_story(
        sandbox, remote, flaky
    )
    assert not MediaSample.objects.filter(media__media_id=deleted).exists()
    clocks.move_to(t0 + timedelta(hours=21))
    run(account)
    assert (story(flaky).story_state, story(deleted).story_state) == (
        StoryState.LATE,
        StoryState.MISSED,
    )


def test_a_failed_final_capture_is_retried_within_minutes(account_with, sandbox, clocks):
    account, remote = account_with()
    media_id = post_story(sandbox, remote, viewers=300, hours_ago=23.1)
    outage = fault(sandbox, media_id, kind="5xx")
    t0 = clocks.now
    run(account)
    assert story(media_id).next_sample_at == t0 + stories.RETRY_AFTER
    assert InstagramAccount.objects.get(pk=account.pk).next_refresh_at <= t0 + stories.RETRY_AFTER
    sandbox.control("DELETE", f"faults/{outage}")
    clocks.move_to(t0 + stories.RETRY_AFTER)
    run(account)
    assert story(media_id).story_state == StoryState.CAPTURED
    assert MediaSample.objects.get(media__media_id=media_id).metrics == meta_story(
        sandbox, remote, media_id
    )


@pytest.mark.parametrize("login", ["facebook", "instagram"])
def test_a_rate_limit_met_in_the_same_flush_keeps_the_final_capture(
    account_with, sandbox, clocks, login
):
    """Meta's rate limit on the account's own reads, in the flush that also brought the story's
    final capture: the run stops and waits as Meta says, with the story captured."""
    account, remote = account_with(login=login)
    media_id = post_story(sandbox, remote, viewers=300, hours_ago=22.5)
    run(account)  # its first sample; the next is the final capture, at 23 hours
    assert story(media_id).sample_count == 1
    limit = {"kind": "rate_limit", "count": 1, "params": {"code": 80002, "minutes": 2}}
    answer = sandbox.control(
        "POST", "faults", json={"path_regex": f"/{remote['ig_user_id']}/insights", **limit}
    )
    assert answer.status_code == 201, answer.text
    clocks.move_to(clocks.now + timedelta(minutes=35))
    stats = refresh.run(account.pk, schedule.claim_one(account.pk))
    assert stats["error"].startswith("rate_limited"), stats
    assert story(media_id).story_state == StoryState.CAPTURED
    final = MediaSample.objects.get(media__media_id=media_id, source="final")
    host = "graph.instagram.com" if login == "instagram" else "graph.facebook.com"
    assert final.metrics == meta_story(sandbox, remote, media_id, host)
    row = InstagramAccount.objects.get(pk=account.pk)
    assert row.next_refresh_at - row.last_refresh_error_at == timedelta(minutes=2)


def test_a_crash_in_the_media_step_keeps_the_stories_written(
    account_with, sandbox, clocks, monkeypatch
):
    account, remote = account_with()
    media_id = post_story(sandbox, remote, viewers=300, hours_ago=23.2)  # its final capture

    def refresh_media(ctx):
        raise RuntimeError("the media step fell over")

    monkeypatch.setattr(media_step, "refresh_media", refresh_media)
    with pytest.raises(RuntimeError):
        refresh.run(account.pk, schedule.claim_one(account.pk))
    assert story(media_id).story_state == StoryState.CAPTURED
    assert MediaSample.objects.get(media__media_id=media_id).source == "final"


def test_refreshes_on_the_accounts_own_schedule_capture_every_story(account_with, clocks):
    """Two days of the account refreshed only when its `next_refresh_at` says (a few
    minutes late, as a busy dispatcher would): every story that expired meanwhile and had
    viewers enough for insights is captured, none late or missed."""
    account, _ = account_with(active_stories=8)
    start = clocks.now
    runs = 0
    while clocks.now < start + timedelta(hours=48):
        run(account)
        runs += 1
        due = InstagramAccount.objects.get(pk=account.pk).next_refresh_at
        clocks.move_to(max(due, clocks.now) + timedelta(minutes=4))
    expired = Media.objects.filter(account=account, is_story=True, expires_at__lte=clocks.now)
    expired = expired.exclude(insights_status=InsightsStatus.TOO_FEW_VIEWERS)
    # Stories already live when the test began were seen late in their day; the rest, all.
    born_here = expired.filter(timestamp__gte=start)
    # About 8 (a fifth of the generated stories stay under 5 viewers, and are left out).
    assert born_here.count() >= 3, runs
    states = sorted(set(born_here.values_list("story_state", flat=True)))
    assert states == [StoryState.CAPTURED], (states, runs)
    assert not expired.filter(story_state=StoryState.MISSED).exists()
    # An hourly schedule plus the final captures (16 stories in two days), not a run per poll.
    assert runs <= 48 * 1.1 + 16, runs


def test_the_listing_is_followed_page_by_page(account_with, sandbox, clocks, monkeypatch):
    account, remote = account_with()
    posted = {post_story(sandbox, remote, viewers=300, hours_ago=h) for h in (1, 2, 3, 4, 5)}
    monkeypatch.setattr(stories, "LIST_LIMIT", 2)
    stats = run(account)["stories"]
    assert (stats["listed"], stats["new"], stats["sampled"]) == (5, 5, 5)
    assert set(Media.objects.filter(is_story=True).values_list("media_id", flat=True)) == posted
    # The next run's listing, page by page again, still names every known story.
    run(account)
    assert not Media.objects.filter(is_story=True, gone_at__isnull=False).exists()


def test_a_storys_picture_is_kept_while_its_url_still_works(account_with, sandbox, clocks):
    account, remote = account_with()
    image = post_story(sandbox, remote, viewers=300, hours_ago=2)
    video = post_story(sandbox, remote, viewers=300, hours_ago=2, media_type="VIDEO")
    stats = run(account)["stories"]
    assert stats["thumbnails"] == 2
    for media_id in (image, video):
        row = story(media_id)
        assert row.thumbnail and row.thumbnail_fetched_at == clocks.now
        with row.thumbnail.open("rb") as picture:
            assert picture.read(3) == b"\xff\xd8\xff"  # a JPEG Prism made itself
    assert run(account)["stories"]["thumbnails"] == 0  # once
