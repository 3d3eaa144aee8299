"""Audience demographics, weekly (graph-api.md §4.2): follower and engaged-audience
demographics by age, gender, country and city, one operation each (one breakdown per request),
each stored as a snapshot replaced whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ..meta import catalogue, parse
from ..meta.client import MetaError
from ..models import DemographicSnapshot
from . import store

INTERVAL = timedelta(days=7)


@dataclass
class DemographicsRead:
    queued: int = 0
    answers: dict = field(default_factory=dict)  # (metric, breakdown) -> [(key, value)]
    failures: list[str] = field(default_factory=list)
    saved: int = 0


def due(ctx) -> bool:
    latest = (
        DemographicSnapshot.objects.filter(account=ctx.account)
        .order_by("-captured_at")
        .values_list("captured_at", flat=True)
        .first()
    )
    return latest is None or latest <= ctx.now - INTERVAL + timedelta(hours=1)


def plan(ctx, *, force: bool = False) -> DemographicsRead:
    read = DemographicsRead()
    if not force and not due(ctx):
        return read
    rejected = ctx.rejected("")
    for metric in catalogue.DEMOGRAPHICS:
        if metric in rejected:
            continue
        for breakdown in catalogue.DEMOGRAPHIC_BREAKDOWNS:
            read.queued += 1

            def on_result(body, metric=metric, breakdown=breakdown):
                if isinstance(body, MetaError):
                    read.failures.append(f"{metric}/{breakdown}: {body}")
                    return
                total = parse.totals(body).get(metric)
                buckets = []
                if total is not None:
                    buckets = [(labels[0], v) for labels, v in total.buckets.items() if labels]
                read.answers[(metric, breakdown)] = buckets

            ctx.plan.add(
                f"{ctx.account.ig_user_id}/insights",
                {
                    "metric": metric,
                    "period": "lifetime",
                    "metric_type": "total_value",
                    "breakdown": breakdown,
                    "timeframe": catalogue.DEMOGRAPHIC_TIMEFRAME,
                },
                on_result,
            )
    return read


def save(ctx, read: DemographicsRead) -> None:
    """Inside the fenced transaction. An answer with no buckets is kept as an empty snapshot:
    Meta said it has nothing (under 100 followers, say), which reports show as "—"."""
    day = parse.today_pacific(ctx.now)
    for (metric, breakdown), buckets in read.answers.items():
        store.replace_demographics(
            ctx.account,
            metric=metric,
            breakdown=breakdown,
            timeframe=catalogue.DEMOGRAPHIC_TIMEFRAME,
            captured_on=day,
            buckets=buckets,
            captured_at=ctx.now,
        )
        read.saved += 1
