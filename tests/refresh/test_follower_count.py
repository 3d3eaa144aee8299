"""Meta's new followers per day (`follower_count`) exist only for its last 30 days (graph-api.md
§4): the first backfill must take all of them, or they are lost for good (the daily read asks
only for the days since the last refresh)."""

from datetime import UTC, datetime, timedelta

import pytest

from insights.meta import parse
from insights.models import AccountDaily
from insights.refresh import account as refresh
from insights.refresh import schedule

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_first_backfill_keeps_metas_last_30_days_of_new_followers(connect, sandbox, settings):
    sandbox.control("POST", "clock", json={"freeze": True})
    settings.BACKFILL_DAYS = 90
    account, remote = connect(followers=5200, media_count=60, seed=11)
    token = schedule.claim_one(account.pk)
    assert "error" not in refresh.run(account.pk, token)
    today = parse.today_pacific(datetime.now(UTC))
    first = today - timedelta(days=28)
    answer = sandbox.get(
        "graph.facebook.com",
        f"v25.0/{remote['ig_user_id']}/insights",
        remote["access_token"],
        metric="follower_count",
        period="day",
        since=int(parse.day_start(first).timestamp()),
        until=int(parse.day_start(today).timestamp()),
    )
    meta = {parse.pacific_day(p.end_time): p.value for p in parse.series(answer.json())}
    assert len(meta) >= 27, meta
    stored = dict(
        AccountDaily.objects.filter(
            account=account, metric="follower_count", day__gte=first, day__lt=today
        ).values_list("day", "value")
    )
    assert stored == meta
