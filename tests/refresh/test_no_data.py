"""'No data' is never stored as 0 (graph-api.md §4.1: Meta answers an empty set). An account
under 100 followers gets no follower_count and no follower demographics from Meta: Prism
stores no follower_count rows at all, and demographics snapshots without buckets (Meta said it
has nothing: reports show "—"), while the metrics Meta does give are stored."""

from datetime import UTC, datetime, timedelta

import pytest

from insights.meta import parse
from insights.models import AccountDaily, DemographicSnapshot
from insights.refresh import account as refresh
from insights.refresh import schedule

pytestmark = pytest.mark.django_db(transaction=True)


def test_what_meta_does_not_give_a_small_account_is_absent_not_zero(connect, sandbox, settings):
    settings.BACKFILL_DAYS = 30
    account, remote = connect(followers=40, media_count=20, seed=9)
    token = schedule.claim_one(account.pk)
    assert "error" not in refresh.run(account.pk, token)
    today = parse.today_pacific(datetime.now(UTC))
    answer = sandbox.get(
        "graph.facebook.com",
        f"v25.0/{remote['ig_user_id']}/insights",
        remote["access_token"],
        metric="follower_count",
        period="day",
        since=int(parse.day_start(today - timedelta(days=20)).timestamp()),
        until=int(parse.day_start(today).timestamp()),
    )
    assert answer.status_code == 200 and parse.series(answer.json()) == []  # Meta: nothing
    assert not AccountDaily.objects.filter(account=account, metric="follower_count").exists()
    followers = DemographicSnapshot.objects.filter(account=account, metric="follower_demographics")
    assert followers.count() == 4 and not followers.filter(buckets__isnull=False).exists()
    # What Meta does give is stored as given.
    assert AccountDaily.objects.filter(account=account, metric="reach", dimension="").count() >= 25
