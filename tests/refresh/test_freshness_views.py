"""Freshness on the account row, the progress fragment that stops polling, and "Refresh now"."""

from datetime import UTC, date, datetime, timedelta

import pytest

from insights.models import BackfillWindow, InstagramAccount
from tests.factories import InstagramAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(world):
    return InstagramAccountFactory(agency=world.a, client=world.clients["a1"])


def status_url(account):
    return f"/a/alpha/accounts/{account.pk}/refresh/status/"


def test_the_fragment_polls_while_the_backfill_runs_and_stops_after(world, account):
    windows = [
        BackfillWindow.objects.create(
            account=account,
            start=date(2026, 1, 1) + timedelta(days=30 * i),
            end=date(2026, 1, 29) + timedelta(days=30 * i),
            steps=10,
            state="done" if i == 0 else "pending",
            started_at=datetime.now(UTC) - timedelta(seconds=20),
            done_at=datetime.now(UTC) - timedelta(seconds=10) if i == 0 else None,
        )
        for i in range(4)
    ]
    viewer = world.client_for("a_viewer")
    page = viewer.get(status_url(account)).content.decode()
    assert "10 of 40 steps" in page and 'hx-trigger="every 2s' in page
    assert "s left" in page
    BackfillWindow.objects.filter(pk__in=[w.pk for w in windows]).update(state="done")
    InstagramAccount.objects.filter(pk=account.pk).update(
        backfilled_at=datetime.now(UTC),
        last_refresh_at=datetime.now(UTC),
        data_as_of=datetime(2026, 8, 2, 7, tzinfo=UTC),
    )
    page = viewer.get(status_url(account)).content.decode()
    assert "hx-trigger" not in page and "Filling in history" not in page
    assert "1 Aug 2026 (Pacific day)" in page


def test_the_client_page_shows_freshness_and_errors(world, account, as_owner):
    InstagramAccount.objects.filter(pk=account.pk).update(
        backfilled_at=datetime.now(UTC),
        last_refresh_error="rate_limited: too many calls (code 80002)",
        last_refresh_error_at=datetime.now(UTC),
        waiting_reason="rate_limited",
    )
    page = as_owner.get(f"/a/alpha/clients/{account.client_id}/").content.decode()
    assert "last refreshed never" in page and "Last refresh problem" in page
    assert "Waiting for Meta&#x27;s rate limit" in page or "Waiting for Meta's rate limit" in page
    assert "Refresh now" in page


def test_refresh_now_makes_the_account_due_at_most_every_few_minutes(world, account):
    later = datetime.now(UTC) + timedelta(hours=3)
    InstagramAccount.objects.filter(pk=account.pk).update(next_refresh_at=later)
    member = world.client_for("a_member")
    url = f"/a/alpha/accounts/{account.pk}/refresh/"
    assert member.post(url).status_code == 302
    assert InstagramAccount.objects.get(pk=account.pk).next_refresh_at <= datetime.now(UTC)
    InstagramAccount.objects.filter(pk=account.pk).update(next_refresh_at=later)
    member.post(url)
    assert InstagramAccount.objects.get(pk=account.pk).next_refresh_at == later
    # And the other agency cannot.
    assert world.client_for("b_owner").post(url).status_code == 404


def test_the_account_row_says_last_success_next_due_and_data_as_of(world, account, as_owner):
    from insights.meta import parse

    now = datetime.now(UTC)
    InstagramAccount.objects.filter(pk=account.pk).update(
        backfilled_at=now,
        last_refresh_at=now - timedelta(minutes=10),
        next_refresh_at=now + timedelta(minutes=50, seconds=30),
        data_as_of=parse.day_end(date(2026, 11, 1)),  # Meta's end_time of that Pacific day
    )
    page = as_owner.get(f"/a/alpha/clients/{account.client_id}/").content.decode()
    assert "Data as of 1 Nov 2026 (Pacific day)" in page
    assert "last refreshed 10\xa0minutes ago" in page
    assert "next in 50\xa0minutes" in page
    # And the other agency cannot see it.
    assert world.client_for("b_owner").get(status_url(account)).status_code == 404


@pytest.mark.parametrize("health", ["needs_reconnect", "missing_permission", "not_professional"])
def test_an_account_without_access_promises_no_next_refresh(world, account, as_owner, health):
    """The dispatcher claims no account Meta gives nothing for (a dead token, a permission
    taken away): its row says so instead of "next in 0 minutes"."""
    InstagramAccount.objects.filter(pk=account.pk).update(
        health=health, backfilled_at=datetime.now(UTC), next_refresh_at=datetime.now(UTC)
    )
    page = as_owner.get(f"/a/alpha/clients/{account.client_id}/").content.decode()
    assert "no refreshes until it is reconnected" in page and "next in" not in page
