"""Each post against the account's own normal (issue 19, point 4): fixed worlds in which the
expected judgement is known. Every test runs at a named instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from insights.reports.build import build_report
from insights.reports.glossary import glossary
from insights.reports.insight.normals import Normals, quantile
from insights.reports.insight.readings import read_items
from insights.reports.request import for_days

from .factories import InstagramAccountFactory
from .insight_world import DAY, WEEK, media

NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # Saturday, 12:00 in New York
pytestmark = [pytest.mark.django_db, pytest.mark.at(NOW.isoformat())]
PERIOD = (date(2026, 10, 31), date(2026, 11, 27))


@pytest.fixture
def account(world):
    client = world.clients["a1"]
    client.time_zone = "America/New_York"
    client.save()
    return InstagramAccountFactory(
        agency=world.a,
        client=client,
        username="acme.coffee",
        connected_at=datetime(2025, 1, 5, tzinfo=UTC),
        backfilled_at=NOW,
        media_listed_at=NOW,
    )


def reels_before(account, start: datetime, reaches: list[int], kind: str = "reel"):
    """Items of `kind` every 5 days before `start`, with reach at 1 day (half) and 7 days."""
    for i, value in enumerate(reaches):
        media(
            account,
            start - timedelta(days=5 * (i + 1)),
            {DAY: value // 2, WEEK: value},
            kind,
        )


def section(account):
    return build_report(for_days(account.client, *PERIOD, "none")).sections[0]


def test_a_reel_is_judged_against_the_reels_before_it_at_the_same_age(account):
    judged_at = datetime(2026, 11, 10, 15, tzinfo=UTC)
    reels_before(account, judged_at, [900, 1000, 1100, 1000, 950, 1050])
    # A reel from 100 days before is not "recent", and a post is not a reel.
    media(account, judged_at - timedelta(days=100), {WEEK: 50_000}, "reel")
    media(account, judged_at - timedelta(days=2), {DAY: 9, WEEK: 10}, "post")
    star = media(account, judged_at, {DAY: 1500, WEEK: 2300}, "reel", interactions=500)

    normal = section(account).insight.normals[star.pk]
    assert normal.checkpoint.key == "7d" and normal.peers == 6
    assert normal.usual == 1000  # the median of the six reels at 7 days
    assert normal.verdict == "above"
    assert normal.text == "2.3× its usual reach"
    assert normal.detail == "at 7 days, against 6 reels"


def test_within_and_below_the_normal_range(account):
    judged_at = datetime(2026, 11, 10, 15, tzinfo=UTC)
    reels_before(account, judged_at, [800, 900, 1000, 1100, 1200], kind="post")
    usual = media(account, judged_at, {WEEK: 1050}, "post", interactions=400)
    weak = media(account, judged_at + DAY, {WEEK: 300}, "post", interactions=300)
    normals = section(account).insight.normals
    assert normals[usual.pk].text == "Within its normal range"
    assert normals[weak.pk].verdict == "below"
    # The 6 posts before it now include `usual` (1,050): the median is 1,025.
    assert normals[weak.pk].text == "0.3× its usual reach"


def test_a_young_post_is_compared_at_its_own_age_never_with_older_figures(account):
    judged_at = NOW - timedelta(days=2)  # it has a 1-day reading only
    reels_before(account, judged_at, [1000] * 6, kind="post")  # 1 day: 500, 7 days: 1000
    young = media(account, judged_at, {DAY: 1000}, "post", interactions=400)
    normal = section(account).insight.normals[young.pk]
    assert normal.checkpoint.key == "1d" and normal.usual == 500
    assert normal.text == "2.0× its usual reach"


def test_no_judgement_below_the_minimum_sample(account):
    judged_at = datetime(2026, 11, 10, 15, tzinfo=UTC)
    reels_before(account, judged_at, [1000] * 4)
    lone = media(account, judged_at, {WEEK: 5000}, "reel", interactions=400)
    assert lone.pk not in section(account).insight.normals


def test_posts_read_first_when_old_are_compared_from_30_days(account):
    # As an account connected today leaves its history: one reading per post, at its age then.
    judged_at = datetime(2026, 9, 1, 15, tzinfo=UTC)
    for i in range(5):
        media(
            account,
            judged_at - timedelta(days=10 * (i + 1)),
            {timedelta(days=120 + i): 1000},
            "carousel",
            with_samples=False,
        )
    late = media(account, judged_at, {timedelta(days=88): 3000}, "carousel", with_samples=False)
    # A reading at 10 days fits no checkpoint: not compared at all.
    odd = media(account, judged_at + DAY, {timedelta(days=10): 3000}, "carousel")
    items = read_items([account.pk], judged_at - timedelta(days=100), NOW)[account.pk]
    normals = Normals(items)
    assert normals.judge(late.pk).text == "3.0× its usual reach"
    assert normals.judge(late.pk).checkpoint.label == "at 30+ days"
    assert normals.judge(odd.pk) is None


def test_stories_are_compared_on_their_final_capture_only(account):
    judged_at = datetime(2026, 11, 20, 15, tzinfo=UTC)
    for i in range(5):
        media(account, judged_at - timedelta(days=i + 1), {timedelta(hours=23): 200}, "story")
    media(
        account,
        judged_at - timedelta(days=7),
        {timedelta(hours=3): 10},
        "story",
        story_state="late",
    )
    story = media(account, judged_at, {timedelta(hours=23): 600}, "story")
    normal = section(account).insight.normals[story.pk]
    assert normal.peers == 5 and normal.text == "3.0× its usual reach"
    assert normal.detail == "at expiry, against 5 stories"


def test_the_formats_table_gives_median_and_middle_half_per_format_and_age(world, account):
    judged_at = datetime(2026, 11, 10, 15, tzinfo=UTC)
    reels_before(account, judged_at, [1000, 2000, 3000, 4000, 5000])  # 5 to 25 days before
    media(account, judged_at, {DAY: 100}, "post")
    rows = {(r.format, r.checkpoint.key): r for r in section(account).insight.formats}
    reels = rows[("Reels", "7d")]
    assert (reels.items, reels.median, reels.low, reels.high) == (5, 3000, 2000, 4000)
    assert rows[("Reels", "1d")].median == 1500
    assert rows[("Posts", "1d")].items == 1 and rows[("Posts", "1d")].median is None

    http = world.client_for("a_viewer")
    url = (
        f"/a/alpha/clients/{account.client.pk}/report/?range=custom&start=2026-10-31&end=2026-11-27"
    )
    html = http.get(url).content.decode()
    assert "Reach by format" in html and "2,000–4,000" in html and "3,000" in html
    assert "at 7 days" in html
    assert "Against its normal" in dict(glossary(build_report(for_days(account.client, *PERIOD))))
    # The other agency cannot see it.
    assert world.client_for("b_owner").get(url).status_code == 404


def test_the_post_card_says_how_the_post_did_against_its_normal(world, account):
    judged_at = datetime(2026, 11, 10, 15, tzinfo=UTC)
    reels_before(account, judged_at, [900, 1000, 1100, 1000, 950, 1050])
    media(account, judged_at, {DAY: 1500, WEEK: 2300}, "reel", interactions=500)
    url = (
        f"/a/alpha/clients/{account.client.pk}/report/?range=custom&start=2026-10-31&end=2026-11-27"
    )
    html = world.client_for("a_viewer").get(url).content.decode()
    assert 'class="post-normal normal-above">2.3× its usual reach' in html
    assert "at 7 days, against 6 reels" in html
    assert "Prism" not in html.split('<article class="report"')[1].split("</article>")[0]


def test_quantiles_interpolate_between_ranks():
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([10.0], 0.9) == 10.0
