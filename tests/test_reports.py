"""Client reports: the model built from snapshots, the page, its downloads and its notes."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from insights.models import ReportNote, ReportSettings
from insights.reports.build import build_report, client_today

from .factories import InstagramAccountFactory
from .report_world import fill_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(world):
    account = InstagramAccountFactory(
        agency=world.a, client=world.clients["a1"], username="acme.coffee"
    )
    last = client_today(world.clients["a1"]) - timedelta(days=1)
    fill_account(account, last_day=last, days=120, media=80, skip=(last - timedelta(days=10),))
    return account


def report_url(world, name="client_report", **params):
    from urllib.parse import urlencode

    url = f"/a/alpha/clients/{world.clients['a1'].pk}/"
    url += {
        "client_report": "report/",
        "pdf": "report.pdf",
        "csv": "report.csv",
        "posts": "report-posts.csv",
        "xlsx": "report.xlsx",
    }[name]
    return url + ("?" + urlencode(params) if params else "")


def test_the_report_page_shows_kpis_charts_and_posts(world, account):
    response = world.client_for("a_viewer").get(report_url(world))
    assert response.status_code == 200
    html = response.content.decode()
    assert "@acme.coffee" in html
    assert 'role="img"' in html and "<svg" in html
    assert "Reach" in html and "de-duplicated, 28 days" in html
    assert "Engagement rate" in html
    assert "style=" not in html
