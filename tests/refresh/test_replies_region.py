"""Meta's EU / Japan replies rule at account level (graph-api.md §4.2, §5.2): the account's
`replies` is its stories' replies, which Meta reports as 0 for creators there. Such a 0 is
stored marked (`zeroed_by_region`), never presented as a real 0; elsewhere replies are plain
values. Checked against what the sandbox's own HTTP API answers."""

from datetime import UTC, datetime, timedelta

import pytest

from insights.meta import parse
from insights.models import AccountDaily, WindowMetric
from insights.refresh import region

from .helpers import run_ok as run

pytestmark = pytest.mark.django_db(transaction=True)


def meta_replies(sandbox, remote, first, last) -> int | None:
    body = sandbox.get(
        "graph.facebook.com",
        f"v25.0/{remote['ig_user_id']}/insights",
        remote["access_token"],
        metric="replies",
        period="day",
        metric_type="total_value",
        since=int(parse.day_start(first).timestamp()),
        until=int(parse.day_end(last).timestamp()),
    )
    assert body.status_code == 200, body.text
    return parse.totals(body.json())["replies"].value


@pytest.mark.parametrize("country", ["DE", "JP"])
def test_replies_zeroed_by_the_eu_japan_rule_are_marked_not_stored_as_real_zeros(
    connect, sandbox, settings, country
):
    settings.BACKFILL_DAYS = 30
    account, remote = connect(followers=5000, media_count=120, region=country, seed=7)
    run(account)
    assert region.replies_rule(account) == ("JP" if country == "JP" else "EU")
    yesterday = parse.today_pacific(datetime.now(UTC)) - timedelta(days=1)
    first = yesterday - timedelta(days=20)
    assert meta_replies(sandbox, remote, first, yesterday) == 0  # Meta's rule, in the sandbox
    rows = AccountDaily.objects.filter(account=account, metric="replies", day__gte=first)
    assert rows.count() >= 15  # a day without any story may have no value at all
    assert set(rows.values_list("value", "zeroed_by_region")) == {(0, True)}
    month = WindowMetric.objects.get(
        account=account, metric="replies", kind="month", start=yesterday.replace(day=1)
    )
    assert (month.value, month.zeroed_by_region) == (0, True)
    # Other metrics of the same days are real values, unmarked.
    assert (
        not AccountDaily.objects.filter(account=account, zeroed_by_region=True)
        .exclude(metric="replies")
        .exists()
    )


def test_replies_elsewhere_are_plain_values(connect, sandbox, settings):
    settings.BACKFILL_DAYS = 30
    account, remote = connect(followers=5000, media_count=120, region="US", seed=7)
    run(account)
    assert region.replies_rule(account) is None
    yesterday = parse.today_pacific(datetime.now(UTC)) - timedelta(days=1)
    rows = dict(
        AccountDaily.objects.filter(account=account, metric="replies", dimension="").values_list(
            "day", "value"
        )
    )
    assert sum(rows.values()) > 0
    for day in (yesterday, yesterday - timedelta(days=5)):
        assert rows[day] == meta_replies(sandbox, remote, day, day)
    assert not AccountDaily.objects.filter(account=account, zeroed_by_region=True).exists()
    assert not WindowMetric.objects.filter(account=account, zeroed_by_region=True).exists()


def test_a_zero_before_the_rule_came_into_force_is_a_real_zero():
    day = region.REPLIES_RULE_SINCE["JP"]
    assert region.zeroed(0, "JP", day)
    assert not region.zeroed(0, "JP", day - timedelta(days=1))
    assert not region.zeroed(3, "EU", day)
    assert not region.zeroed(0, None, day)
