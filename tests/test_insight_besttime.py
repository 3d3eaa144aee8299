"""Best time to post from the account's own posts (issue 19, point 5): a fixed world where the
best weekday and hour are known, in the client's time zone, with a minimum sample."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from insights.reports.build import build_report
from insights.reports.insight.highlights import highlights
from insights.reports.request import for_days

from .factories import InstagramAccountFactory
from .insight_world import DAY, WEEK, media

NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.at(NOW.isoformat())]
PERIOD = (date(2026, 10, 31), date(2026, 11, 27))
NEW_YORK = ZoneInfo("America/New_York")


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


def weekly(account, first: date, weeks: int, at: time, reach: int, kind="post") -> None:
    """A post every week from `first`, at `at` New York time (across the change of clocks on
    1 Nov), with its reach at 1 and 7 days."""
    for w in range(weeks):
        local = datetime.combine(first + timedelta(weeks=w), at, NEW_YORK)
        media(account, local.astimezone(UTC), {DAY: reach // 2, WEEK: reach}, kind)


def best(account):
    return build_report(for_days(account.client, *PERIOD, "none")).sections[0].insight.best_time


def test_the_best_weekday_and_hour_in_the_clients_zone(account):
    weekly(account, date(2026, 9, 1), 12, time(18, 30), 3000)  # Tuesdays 18:30, 12 weeks
    weekly(account, date(2026, 9, 3), 10, time(9, 5), 1000, kind="reel")  # Thursdays 09:05
    found = best(account)
    assert found.checkpoint.key == "7d"
    tuesday, thursday = found.grid[1], found.grid[3]
    assert tuesday[18] == 3000 and found.counts[1][18] == 12
    assert thursday[9] == 1000 and found.counts[3][9] == 10
    assert found.weekday.label == "Tuesdays" and found.weekday.posts == 12
    assert found.hour.label == "18:00–19:00" and found.hour.median == 3000


def test_nothing_is_claimed_below_the_minimum_sample(account):
    weekly(account, date(2026, 9, 1), 4, time(18, 30), 3000)  # 4 Tuesdays
    weekly(account, date(2026, 9, 3), 2, time(9, 5), 1000)
    weekly(account, date(2026, 9, 5), 2, time(12, 0), 1000)
    found = best(account)
    assert found.weekday is None and found.hour is None
    assert found.grid[1][18] == 3000  # 4 posts: enough for a cell (3), not for a claim (5)
    assert found.grid[3][9] is None and found.counts[3][9] == 2


def test_the_box_replaces_online_followers_and_says_what_is_behind_each_cell(world, account):
    weekly(account, date(2026, 9, 1), 12, time(18, 30), 3000)
    weekly(account, date(2026, 9, 3), 10, time(9, 5), 1000)
    url = (
        f"/a/alpha/clients/{account.client.pk}/report/?range=custom&start=2026-10-31&end=2026-11-27"
    )
    html = world.client_for("a_viewer").get(url).content.decode()
    assert "Best posting hours" in html
    assert "Median reach at 7 days by hour of posting" in html
    assert "Tue 18:00: 3,000 (12 posts)" in html  # each cell's tooltip, and its count drawn in it
    assert "Best so far: Tuesdays (median reach 3,000, 12 posts) and 18:00–19:00" in html
    said = highlights(build_report(for_days(account.client, *PERIOD, "none")))
    assert (
        "Posts published on Tuesdays did best: a median reach of 3,000 at 7 days (12 posts)."
        in said
    )
    assert world.client_for("b_owner").get(url).status_code == 404


def test_an_account_without_posts_gets_no_box(world, account):
    assert best(account) is None
