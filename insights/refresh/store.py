"""Idempotent writes of snapshots: every table has one plain unique key, and rows are upserted on
it with `bulk_create(update_conflicts=True)`, so a retried or duplicated refresh leaves exactly one
run's rows. Callers run these inside the refresh's fenced transaction (`schedule.fenced`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import (
    AccountDaily,
    DemographicBucket,
    DemographicSnapshot,
    InstagramAccount,
    MetricRejection,
    ProfileSnapshot,
    WindowMetric,
)

BATCH_SIZE = 500


def upsert(model, rows: Sequence, unique_fields: list[str], update_fields: list[str]) -> int:
    """Insert rows, or update `update_fields` of the rows that already have their unique key.
    Duplicate keys inside `rows` are collapsed first (the last wins): PostgreSQL refuses an
    ON CONFLICT statement that touches one row twice."""
    attnames = [model._meta.get_field(f).attname for f in unique_fields]
    by_key = {tuple(getattr(row, a) for a in attnames): row for row in rows}
    rows = list(by_key.values())
    if rows:
        model.objects.bulk_create(
            rows,
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=update_fields,
        )
    return len(rows)


def upsert_daily(rows: Sequence[AccountDaily]) -> int:
    return upsert(
        AccountDaily,
        rows,
        ["account", "metric", "dimension", "day"],
        ["value", "end_time", "captured_at", "settled", "zeroed_by_region"],
    )


def upsert_windows(rows: Sequence[WindowMetric]) -> int:
    return upsert(
        WindowMetric,
        rows,
        ["account", "metric", "dimension", "kind", "start"],
        ["end", "value", "complete", "captured_at", "settled", "zeroed_by_region"],
    )


def upsert_profile(rows: Sequence[ProfileSnapshot]) -> int:
    return upsert(
        ProfileSnapshot,
        rows,
        ["account", "day"],
        ["followers_count", "follows_count", "media_count", "captured_at"],
    )


def replace_demographics(
    account: InstagramAccount,
    *,
    metric: str,
    breakdown: str,
    timeframe: str,
    captured_on: date,
    buckets: Iterable[tuple[str, int]],
    captured_at: datetime | None = None,
) -> DemographicSnapshot:
    """Replace the snapshot with this key, buckets and all (celus' ImportBatch shape): buckets
    can disappear between reads (Meta returns only the top 45), so they are never merged."""
    with transaction.atomic():
        DemographicSnapshot.objects.filter(
            account=account,
            metric=metric,
            breakdown=breakdown,
            timeframe=timeframe,
            captured_on=captured_on,
        ).delete()
        snapshot = DemographicSnapshot.objects.create(
            account=account,
            metric=metric,
            breakdown=breakdown,
            timeframe=timeframe,
            captured_on=captured_on,
            captured_at=captured_at or timezone.now(),
        )
        merged: dict[str, int] = {}
        for key, value in buckets:
            merged[str(key)[:200]] = value
        DemographicBucket.objects.bulk_create(
            [DemographicBucket(snapshot=snapshot, key=k, value=v) for k, v in merged.items()],
            batch_size=BATCH_SIZE,
        )
    return snapshot


def record_rejection(
    account: InstagramAccount,
    *,
    metric: str,
    product_type: str,
    api_version: str,
    error: str,
    code: int | None = None,
    subcode: int | None = None,
    now=None,
) -> None:
    """Remember that Meta refused `metric` (first/last seen, count) and when to ask again
    (`retry_after`). Safe under races: the unique key decides, and a concurrent insert becomes
    an update."""
    now = now or timezone.now()
    row = MetricRejection.objects.filter(
        account=account, metric=metric, product_type=product_type, api_version=api_version
    )
    times = (row.values_list("times_seen", flat=True).first() or 0) + 1
    updated = row.update(
        error=error[:2000],
        code=code,
        subcode=subcode,
        last_seen_at=now,
        times_seen=F("times_seen") + 1,
        retry_at=now + retry_after(times),
    )
    if not updated:
        upsert(
            MetricRejection,
            [
                MetricRejection(
                    account=account,
                    metric=metric,
                    product_type=product_type,
                    api_version=api_version,
                    error=error[:2000],
                    code=code,
                    subcode=subcode,
                    first_seen_at=now,
                    last_seen_at=now,
                    retry_at=now + retry_after(1),
                )
            ],
            ["account", "metric", "product_type", "api_version"],
            ["error", "code", "subcode", "last_seen_at", "retry_at"],
        )


REPROBE_AFTER = timedelta(days=7)
REPROBE_MAX = timedelta(days=60)


def retry_after(times: int) -> timedelta:
    """How long a refusal holds before the metric is asked again (docs/graph-api.md §3): 7 days
    after the first, doubling with each repeat, at most 60 days."""
    return min(REPROBE_MAX, REPROBE_AFTER * 2 ** max(0, times - 1))
