"""The media step of a refresh against the sandbox over real HTTP: metadata, samples on the
decaying schedule, rejected metrics, pre-conversion media, deletions, thumbnails and the request
budget, each checked against what the sandbox's own HTTP API answers (never constants).

Prism's clock and the sandbox's move together here (time_machine for Prism, the control API for
the sandbox), as Prism's and Meta's clocks do in life: a media's age is the same on both sides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from insights.meta import catalogue, parse
from insights.models import InsightsStatus, Media, MediaSample, MetricRejection
from insights.refresh import account as refresh
from insights.refresh import schedule, thumbnails

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = "graph.facebook.com"


def run(account) -> dict:
    token = schedule.claim_one(account.pk)
    assert token
    stats = refresh.run(account.pk, token)
    assert "error" not in stats, stats
    return stats


class Clocks:
    """Prism's clock (time_machine) and the sandbox's (frozen, moved by the control API)."""

    def __init__(self, sandbox, traveller, now: datetime):
        self.sandbox, self.traveller, self.now = sandbox, traveller, now

    def advance(self, **delta) -> datetime:
        step = timedelta(**delta)
        answer = self.sandbox.control(
            "POST", "clock", json={"advance_seconds": step.total_seconds()}
        )
        assert answer.status_code == 200, answer.text
        self.now = datetime.fromisoformat(answer.json()["now"].replace("Z", "+00:00"))
        self.traveller.move_to(self.now)
        return self.now


@pytest.fixture
def clocks(sandbox):
    now = datetime.fromisoformat(
        sandbox.control("GET", "clock").json()["now"].replace("Z", "+00:00")
    )
    with time_machine.travel(now, tick=False) as traveller:
        yield Clocks(sandbox, traveller, now)


@pytest.fixture
def small(connect, settings, clocks):
    settings.BACKFILL_DAYS = 30  # the account history is not what these tests are about
    return connect(followers=3000, media_count=60)


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


def expected_metrics(media: Media, account) -> list[str]:
    kind = catalogue.media_kind(media.media_type, media.product_type)
    rejected = set(
        MetricRejection.objects.filter(account=account, product_type=kind).values_list(
            "metric", flat=True
        )
    )
    return catalogue.without(catalogue.MEDIA_METRICS[catalogue.kind_product(kind)], rejected)


def calls(sandbox) -> dict:
    return sandbox.control("GET", "stats").json()


def test_a_first_refresh_lists_the_media_and_stores_what_meta_answers(small, sandbox):
    account, remote = small
    stats = run(account)
    listed = meta_media(sandbox, remote)
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
    kinds = {}
    for row in rows.values():
        kinds.setdefault(catalogue.media_kind(row.media_type, row.product_type), row)
    assert {"IMAGE", "CAROUSEL_ALBUM", "REELS"} <= set(kinds)
    for kind, row in kinds.items():
        row.refresh_from_db()
        assert row.insights_status == InsightsStatus.OK and row.sample_count == 1
        sample = row.samples.get()
        assert sample.metrics == row.latest_metrics
        expected = meta_insights(sandbox, remote, row, expected_metrics(row, account))
        if kind != "REELS":
            expected |= meta_insights(sandbox, remote, row, ["profile_activity"])
            expected |= {
                k: v
                for k, v in parse.media_metrics(
                    meta(
                        sandbox,
                        remote,
                        f"{row.media_id}/insights",
                        metric="profile_activity",
                        breakdown="action_type",
                    )
                ).items()
            }
        assert row.latest_metrics == expected, kind
        assert sample.age_seconds == int((sample.captured_at - row.timestamp).total_seconds())
        assert row.next_sample_at > sample.captured_at


def graph_requests(stats: dict, host: str = GRAPH) -> int:
    """HTTP requests to a Graph host (a batch is one, whatever it carries)."""
    return stats["by_host"].get(host, {}).get("http_requests", 0)


def test_a_thousand_media_account_stays_within_the_request_budget(connect, sandbox, clocks):
    """Issue #9: a two-year first backfill in at most 40 HTTP requests, then a daily refresh
    of a 1,000-media account that posts daily in at most 4, Facebook Login, account reads
    included."""
    account, remote = connect(followers=5000, media_count=1000)
    sandbox.control("POST", "stats/reset")
    first = run(account)
    stats = calls(sandbox)
    assert graph_requests(stats) <= 12  # the target is 40
    assert first["media"]["listed"] == len(meta_media(sandbox, remote)) >= 1000
    assert (
        first["media"]["sampled"]
        == MediaSample.objects.filter(media__account=account, media__is_story=False).count()
    )
    for _ in range(2):
        clocks.advance(days=1)
        sandbox.control("POST", "stats/reset")
        daily = run(account)
        stats = calls(sandbox)
        assert daily["media"]["new"] >= 1 and daily["media"]["full_listing"] is False
        assert 20 <= daily["media"]["sampled"] <= 80  # the decaying schedule's daily share
        assert graph_requests(stats) <= 2  # the target is 4
        # Thumbnails come from Meta's CDN (not the Graph API), at most one request each
        # (the day's new stories' pictures too).
        cdn = stats["by_host"].get(thumbnails.CDN_HOST, {}).get("requests", 0)
        assert cdn == daily["media"]["thumbnails"] + daily["stories"]["thumbnails"]
        assert daily["media"]["thumbnails"] <= thumbnails.THUMBNAILS_PER_RUN
