"""Scheduled reports: when they are due (the client's zone, DST, Meta's settle delay), and the
database-owned claim and lease that make two dispatchers send a period once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.urls import reverse

from insights.models import ReportSchedule
from insights.reports import delivery
from insights.reports.delivery import next_due, period_for

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make(world, client="a1", **fields) -> ReportSchedule:
    schedule = ReportSchedule(
        agency=world.a, client=world.clients[client], recipients=["boss@acme.example"], **fields
    )
    delivery.plan(schedule)
    schedule.save()
    return schedule


def test_weekly_covers_last_monday_to_sunday_at_the_local_time(world):
    world.clients["a1"].time_zone = "Europe/Paris"
    schedule = ReportSchedule(client=world.clients["a1"], weekday=2, send_time=time(9, 0))
    due = next_due(schedule, utc(2026, 11, 30, 10, 0))  # a Monday
    # Wednesday 2 Dec, 09:00 in Paris (UTC+1), for the week of 23–29 November.
    assert due.send_at == utc(2026, 12, 2, 8, 0)
    assert (due.period_start, due.period_end) == (date(2026, 11, 23), date(2026, 11, 29))


def test_the_email_waits_for_metas_data_to_settle(world):
    world.clients["a1"].time_zone = "Europe/Paris"
    # Monday 09:00 is 9 hours after the week ended: 48 h have not passed, so Wednesday 09:00.
    monday = ReportSchedule(client=world.clients["a1"], weekday=0, send_time=time(9, 0))
    due = next_due(monday, utc(2026, 11, 29, 12, 0))
    assert (due.period_start, due.period_end) == (date(2026, 11, 23), date(2026, 11, 29))
    assert due.send_at == utc(2026, 12, 2, 8, 0)
    # Configurable: with 6 hours to settle, the Monday slot stands.
    monday.settle_hours = 6
    assert next_due(monday, utc(2026, 11, 29, 12, 0)).send_at == utc(2026, 11, 30, 8, 0)
    # Monthly on the 1st with 72 h: the 4th at the chosen time.
    monthly = ReportSchedule(
        client=world.clients["a1"],
        frequency="monthly",
        day_of_month=1,
        send_time=time(9, 0),
        settle_hours=72,
    )
    due = next_due(monthly, utc(2026, 11, 15))
    assert (due.period_start, due.period_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert due.send_at == utc(2026, 12, 4, 8, 0)
    settled = datetime(2026, 12, 1, tzinfo=due.send_at.tzinfo) + timedelta(hours=72 - 1)
    assert due.send_at > settled


def test_local_time_holds_across_the_dst_change(world):
    world.clients["a1"].time_zone = "Europe/Paris"  # clocks go back on Sunday 25 October 2026
    schedule = ReportSchedule(client=world.clients["a1"], weekday=2, send_time=time(9, 0))
    before = next_due(schedule, utc(2026, 10, 19))
    schedule.next_period_end = before.period_end
    after = next_due(schedule, before.send_at)
    assert before.send_at == utc(2026, 10, 21, 7, 0)  # 09:00 CEST (UTC+2)
    assert after.send_at == utc(2026, 10, 28, 8, 0)  # 09:00 CET (UTC+1)
    assert after.period_start == before.period_end + timedelta(days=1)
    # The settle delay counts from local midnight: the week ending on the DST Sunday ended at
    # Monday 00:00 CET, 23:00 UTC.
    new_york = ReportSchedule(
        client=world.clients["a2"], weekday=0, send_time=time(8, 30), settle_hours=0
    )
    world.clients["a2"].time_zone = "America/New_York"  # back on Sunday 1 November 2026
    assert next_due(new_york, utc(2026, 10, 30)).send_at == utc(2026, 11, 2, 13, 30)


def test_a_wall_time_skipped_by_dst_still_sends_once(world):
    world.clients["a1"].time_zone = "Europe/Paris"  # 02:00 -> 03:00 on Sunday 29 March 2026
    schedule = ReportSchedule(
        client=world.clients["a1"], weekday=6, send_time=time(2, 30), settle_hours=0
    )
    due = next_due(schedule, utc(2026, 3, 27))
    assert due.send_at == utc(2026, 3, 29, 1, 30)  # 03:30 CEST, just after the gap
    assert (due.period_start, due.period_end) == (date(2026, 3, 16), date(2026, 3, 22))


def test_periods_follow_one_another_without_gaps_or_repeats(world):
    schedule = ReportSchedule(
        client=world.clients["a1"], frequency="monthly", day_of_month=3, send_time=time(7, 0)
    )
    after, seen = utc(2026, 1, 1), []
    for _ in range(14):
        due = next_due(schedule, after)
        seen.append((due.period_start, due.period_end))
        schedule.next_period_end = due.period_end
        after = due.send_at
    for (_, end), (start, _) in zip(seen, seen[1:], strict=False):
        assert start == end + timedelta(days=1)
    assert period_for("monthly", date(2026, 3, 3)) == (date(2026, 2, 1), date(2026, 2, 28))


def test_two_dispatchers_claim_a_due_schedule_once(world):
    schedule = make(world)
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_send_at=utc(2020, 1, 1))
    first = delivery.claim_due_schedules()
    second = delivery.claim_due_schedules()
    assert [pk for pk, _ in first] == [schedule.pk] and second == []
    # The lease ends: a worker that died loses it, and a new claim gets a new token.
    later = datetime.now(UTC) + delivery.LEASE + timedelta(seconds=1)
    third = delivery.claim_due_schedules(now=later)
    assert [pk for pk, _ in third] == [schedule.pk] and third[0][1] != first[0][1]
    # The stale holder's final write is fenced out.
    assert delivery.send_scheduled(schedule.pk, first[0][1]) == "lease lost"


def test_the_claim_is_a_conditional_update(world):
    """Both dispatchers listed the row as due; only one UPDATE can change it."""
    schedule = make(world)
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_send_at=utc(2020, 1, 1))
    real_update = type(ReportSchedule.objects.all()).update
    raced = []

    def rival_first(qs, **kwargs):
        if "lease_token" in kwargs and not raced:
            raced.append(True)
            # The rival dispatcher's UPDATE lands between our SELECT and our UPDATE.
            ReportSchedule.objects.filter(pk=schedule.pk).update(
                lease_until=datetime.now(UTC) + delivery.LEASE, lease_token="rival"
            )
        return real_update(qs, **kwargs)

    from unittest import mock

    with mock.patch.object(type(ReportSchedule.objects.all()), "update", rival_first):
        assert delivery.claim_due_schedules() == []
    assert raced and ReportSchedule.objects.get(pk=schedule.pk).lease_token == "rival"


def test_paused_and_future_schedules_and_archived_clients_are_not_claimed(world):
    paused = make(world, active=False)
    future = make(world)
    archived = make(world, client="a2")
    ReportSchedule.objects.filter(pk__in=[paused.pk, archived.pk]).update(
        next_send_at=utc(2020, 1, 1)
    )
    world.clients["a2"].archive()
    assert future.next_send_at > datetime.now(UTC)
    assert delivery.claim_due_schedules() == []


def test_dispatcher_enqueues_send_report_on_the_user_queue(world, monkeypatch):
    from config.celery import app
    from insights import tasks

    schedule = make(world)
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_send_at=utc(2020, 1, 1))
    sent = []
    monkeypatch.setattr(tasks.send_report, "delay", lambda *args: sent.append(args))
    assert tasks.dispatch_due_work()["reports_due"] == 1
    assert tasks.dispatch_due_work()["reports_due"] == 0
    assert len(sent) == 1 and sent[0][0] == schedule.pk
    assert app.amqp.router.route({}, "insights.tasks.send_report")["queue"].name == "user"


def test_schedule_form_plans_the_next_send_in_the_clients_zone(world, as_owner):
    world.clients["a1"].time_zone = "America/New_York"
    world.clients["a1"].save()
    url = reverse("schedule_create", args=["alpha", world.clients["a1"].pk])
    response = as_owner.post(
        url,
        {
            "frequency": "weekly",
            "weekday": "4",
            "day_of_month": "3",
            "send_time": "08:00",
            "settle_hours": "48",
            "recipients": "Boss@acme.example, team@acme.example\nboss@acme.example",
            "compare": "previous",
            "active": "on",
        },
    )
    assert response.status_code == 302
    schedule = ReportSchedule.objects.get()
    assert schedule.recipients == ["boss@acme.example", "team@acme.example"]
    local = schedule.next_send_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert (local.weekday(), local.hour, local.minute) == (4, 8, 0)
    bad = as_owner.post(
        url,
        {
            "frequency": "weekly",
            "weekday": "1",
            "send_time": "08:00",
            "settle_hours": "500",
            "recipients": "not-an-email",
            "compare": "previous",
        },
    )
    assert bad.status_code == 200
    assert b"not-an-email is not an email address." in bad.content
    assert b"At most 144 hours" in bad.content
    # The other agency cannot see or edit it.
    b = world.client_for("b_owner")
    assert b.get(reverse("schedule_edit", args=["bravo", schedule.pk])).status_code == 404
    assert b.post(reverse("schedule_delete", args=["bravo", schedule.pk])).status_code == 404
    assert ReportSchedule.objects.filter(pk=schedule.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_on_postgresql_share_out_due_schedules_once(world):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers)")
    import threading

    from django.db import connections

    schedules = [make(world) for _ in range(40)]
    ReportSchedule.objects.filter(pk__in=[s.pk for s in schedules]).update(
        next_send_at=utc(2020, 1, 1)
    )
    results, barrier = [], threading.Barrier(4)

    def dispatcher():
        try:
            barrier.wait()
            results.append(delivery.claim_due_schedules(limit=100))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [pk for batch in results for pk, _ in batch]
    assert sorted(claimed) == sorted(s.pk for s in schedules)  # each exactly once
