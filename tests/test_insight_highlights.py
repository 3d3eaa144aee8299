"""Highlights (issue 19, point 1): sentences written by rules from the report's own facts, in
fixed worlds where the expected sentences are known; every figure in them is on the report."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail

from insights.models import AccountDaily, ReportDelivery, ReportSchedule, WindowMetric
from insights.reports import delivery
from insights.reports.build import build_report
from insights.reports.insight.highlights import highlights
from insights.reports.request import for_days

from .factories import InstagramAccountFactory
from .insight_world import DAY, WEEK, media
from .report_world import end_time, fill_account

NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.at(NOW.isoformat())]
LAST = date(2026, 11, 27)
PERIOD = (LAST - timedelta(days=27), LAST)  # 31 Oct .. 27 Nov
PREVIOUS_END = PERIOD[0] - timedelta(days=1)


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
        data_as_of=end_time(LAST),
    )


def daily(account, metric: str, end: date, count: int, value: int, skip=()) -> None:
    AccountDaily.objects.bulk_create(
        AccountDaily(account=account, metric=metric, day=d, value=value, end_time=end_time(d))
        for i in range(count)
        if (d := end - timedelta(days=i)) not in skip
    )


def sentences(account, compare="previous") -> list[str]:
    return highlights(build_report(for_days(account.client, *PERIOD, compare)))


def test_what_happened_the_biggest_valid_movement_and_the_best_post(account):
    daily(account, "views", LAST, 28, 1200)
    daily(account, "views", PREVIOUS_END, 28, 1000)  # +20 %
    daily(account, "total_interactions", LAST, 28, 51)
    daily(account, "total_interactions", PREVIOUS_END, 28, 50)  # +2 %: not a movement
    WindowMetric.objects.create(
        account=account, metric="reach", kind="28d", start=PERIOD[0], end=LAST, value=12_345
    )
    judged_at = datetime(2026, 11, 10, 15, tzinfo=UTC)
    for i, value in enumerate([900, 1000, 1100, 1000, 950, 1050]):
        media(
            account, judged_at - timedelta(days=5 * (i + 1)), {DAY: value // 2, WEEK: value}, "reel"
        )
    media(account, judged_at, {DAY: 1500, WEEK: 2300}, "reel", interactions=500)

    assert sentences(account) == [
        "@acme.coffee reached 12,345 accounts in the period, with 33,600 views and 1,428 "
        "interactions.",
        "Views rose 20.0% to 33,600 against the previous period (28,000).",
        "The best performer was the reel of 10 Nov: 2.3× its usual reach (at 7 days, against "
        "6 reels), with 500 interactions.",
        "No change is given for reach (previous period: no de-duplicated reach).",
    ]


def test_a_change_the_report_does_not_show_is_never_called_a_movement(account):
    daily(account, "views", LAST, 28, 1000)
    daily(account, "views", PREVIOUS_END, 3, 600)  # "+3,320 %" would be against 3 days
    said = " ".join(sentences(account))
    assert "rose" not in said and "fell" not in said
    assert "No change is given for views (previous period: 3 of 28 days with data)." in said


def test_data_gaps_are_disclosed(account):
    daily(account, "views", LAST, 28, 1000, skip=(date(2026, 11, 17), date(2026, 11, 18)))
    said = sentences(account, "none")
    assert said[-1] == "Data is missing for @acme.coffee 17 Nov – 18 Nov (no data from Instagram)."
    assert not any("against" in s for s in said)  # no comparison asked: none described


def test_a_report_without_data_has_no_highlights(world):
    InstagramAccountFactory(agency=world.a, client=world.clients["a1"], username="empty.one")
    assert highlights(build_report(for_days(world.clients["a1"], *PERIOD))) == []


FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?(?:%|×)?")


@pytest.mark.parametrize("compare", ["previous", "year", "none"])
def test_every_figure_in_the_highlights_is_a_figure_on_the_report(world, account, compare):
    fill_account(account, last_day=LAST, days=400, media=300, skip=(LAST - timedelta(days=3),))
    from .insight_world import add_samples

    add_samples(account, NOW)
    second = InstagramAccountFactory(agency=world.a, client=account.client, username="acme.two")
    fill_account(second, last_day=LAST, days=60, media=40, seed=5)
    url = (
        f"/a/alpha/clients/{account.client.pk}/report/"
        f"?range=custom&start={PERIOD[0]}&end={PERIOD[1]}&compare={compare}"
    )
    html = world.client_for("a_viewer").get(url).content.decode()
    head, _, rest = html.partition('<section class="highlights"')
    block, _, body = rest.partition("</section>")
    said = re.findall(r"<li>(.*?)</li>", block)
    assert 3 <= len(said) <= 6, said
    for sentence in said:
        for figure in FIGURE.findall(sentence.replace("&#x27;", "'")):
            if re.fullmatch(r"\d{1,2}", figure) and re.search(
                rf"\b{figure} [A-Z][a-z]{{2}}", sentence
            ):
                continue  # a day of a date ("10 Nov"), on the report as the post's date
            assert figure in body, (figure, sentence)


def test_the_email_carries_the_highlights_as_sent_and_a_resend_repeats_them(world, account):
    daily(account, "views", date(2026, 11, 29), 14, 1000)
    schedule = ReportSchedule(
        agency=world.a, client=account.client, recipients=["boss@acme.example"]
    )
    delivery.plan(schedule, now=datetime(2026, 11, 30, tzinfo=UTC))
    schedule.save()
    ReportSchedule.objects.filter(pk=schedule.pk).update(
        next_send_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    [(pk, token)] = delivery.claim_due_schedules()
    assert delivery.send_scheduled(pk, token) == "sent"
    sent = ReportDelivery.objects.get()
    assert sent.highlights and sent.highlights[0].startswith("@acme.coffee had 7,000 views")
    assert f"- {sent.highlights[0]}" in mail.outbox[0].body
    assert sent.highlights[0] in mail.outbox[0].alternatives[0][0]
    assert "Prism" not in mail.outbox[0].body.split("Powered by")[0]

    # Later data does not change what was sent: a resend says what the first email said.
    AccountDaily.objects.filter(account=account).update(value=5)
    mail.outbox.clear()
    again = delivery.resend(sent)
    delivery.deliver(again)
    assert f"- {sent.highlights[0]}" in mail.outbox[0].body
