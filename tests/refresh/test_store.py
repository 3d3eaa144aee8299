"""Idempotent snapshot writes: one plain unique key per table, upserts on it."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from insights.models import (
    AccountDaily,
    DemographicSnapshot,
    MetricRejection,
    ProfileSnapshot,
    WindowMetric,
)
from insights.refresh import store
from tests.factories import InstagramAccountFactory

pytestmark = pytest.mark.django_db

END = datetime(2026, 8, 2, 7, tzinfo=UTC)


def daily(account, metric, value, dimension="", day=date(2026, 8, 1)):
    return AccountDaily(
        account=account, metric=metric, dimension=dimension, day=day, value=value, end_time=END
    )


def test_a_daily_value_written_twice_is_one_row_with_the_newer_value():
    account = InstagramAccountFactory()
    store.upsert_daily([daily(account, "reach", 10), daily(account, "views", 3)])
    store.upsert_daily([daily(account, "reach", 12), daily(account, "views", 3)])
    rows = dict(AccountDaily.objects.values_list("metric", "value"))
    assert rows == {"reach": 12, "views": 3}


def test_duplicate_keys_inside_one_write_collapse_to_the_last():
    account = InstagramAccountFactory()
    store.upsert_daily([daily(account, "reach", 1), daily(account, "reach", 2)])
    assert list(AccountDaily.objects.values_list("value", flat=True)) == [2]


def test_no_breakdown_is_an_empty_dimension_so_the_key_holds():
    account = InstagramAccountFactory()
    AccountDaily.objects.create(
        account=account, metric="reach", day=date(2026, 8, 1), value=1, end_time=END
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountDaily.objects.create(
            account=account, metric="reach", day=date(2026, 8, 1), value=2, end_time=END
        )
    store.upsert_daily([daily(account, "reach", 5, dimension="follow_type=FOLLOWER")])
    assert AccountDaily.objects.count() == 2


def test_windows_and_profiles_upsert_on_their_keys():
    account = InstagramAccountFactory()
    for value in (100, 120):
        store.upsert_windows(
            [
                WindowMetric(
                    account=account,
                    metric="reach",
                    kind="month",
                    start=date(2026, 8, 1),
                    end=date(2026, 8, 1) + timedelta(days=value // 60),
                    value=value,
                    complete=False,
                )
            ]
        )
        store.upsert_profile(
            [ProfileSnapshot(account=account, day=date(2026, 8, 1), followers_count=value)]
        )
    window = WindowMetric.objects.get()
    assert (window.value, window.end) == (120, date(2026, 8, 3))
    assert ProfileSnapshot.objects.get().followers_count == 120


def test_demographics_are_replaced_whole():
    account = InstagramAccountFactory()
    key = dict(metric="follower_demographics", breakdown="city", timeframe="this_month")
    day = date(2026, 8, 1)
    store.replace_demographics(account, captured_on=day, buckets=[("A", 5), ("B", 3)], **key)
    store.replace_demographics(account, captured_on=day, buckets=[("B", 4), ("C", 1)], **key)
    snapshot = DemographicSnapshot.objects.get()
    assert dict(snapshot.buckets.values_list("key", "value")) == {"B": 4, "C": 1}


def test_a_rejection_is_recorded_once_and_counted():
    account = InstagramAccountFactory()
    for _ in range(3):
        store.record_rejection(
            account,
            metric="impressions",
            product_type="",
            api_version="v25.0",
            error="(#100) no longer supported",
            code=100,
        )
    rejection = MetricRejection.objects.get()
    assert (rejection.times_seen, rejection.code) == (3, 100)


def test_a_rejection_is_asked_again_after_a_week_doubling_with_each_repeat():
    """docs/graph-api.md §3: a refused metric is not refused forever: 7 days after the first
    refusal it is asked again; each repeat doubles the hold, up to 60 days."""
    account = InstagramAccountFactory()
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    holds = []
    for i in range(5):
        now = start + timedelta(days=100 * i)
        store.record_rejection(
            account,
            metric="accounts_engaged",
            product_type="breakdown:media_product_type",
            api_version="v27.0",
            error="An unknown error has occurred.",
            code=1,
            now=now,
        )
        holds.append((MetricRejection.objects.get().retry_at - now).days)
    assert holds == [7, 14, 28, 56, 60]
    assert MetricRejection.objects.get().first_seen_at <= start
