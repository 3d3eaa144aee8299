"""Client reports: the model built from snapshots, the page, its downloads and its notes."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from insights.models import Media, ReportNote, ReportSettings
from insights.reports.build import build_report
from insights.reports.glossary import glossary
from insights.reports.periods import client_today, last_complete_day
from insights.reports.request import for_days

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


def period_bounds(report):
    from insights.reports.periods import period_bounds as bounds

    return bounds(report.period, ZoneInfo(report.time_zone))


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


def test_reach_is_the_de_duplicated_window_never_a_sum_of_daily_reach(world, account):
    from insights.models import AccountDaily, WindowMetric

    client = world.clients["a1"]
    end = client_today(client) - timedelta(days=1)
    start = end - timedelta(days=27)
    report = build_report(for_days(client, start, end, "previous"))
    kpis = {k.key: k for k in report.sections[0].kpis}
    window = WindowMetric.objects.get(account=account, kind="28d", start=start, end=end)
    assert kpis["reach"].value == window.value
    daily = AccountDaily.objects.filter(
        account=account, metric="reach", dimension="", day__range=(start, end)
    ).values_list("value", flat=True)
    assert kpis["reach"].value != sum(daily)

    # 90 days: Meta gives no de-duplicated figure, so the tile is the daily average, labelled.
    long = build_report(for_days(client, end - timedelta(days=89), end, "none"))
    tiles = {k.key: k for k in long.sections[0].kpis}
    assert "reach" not in tiles
    daily = list(
        AccountDaily.objects.filter(
            account=account, metric="reach", dimension="", day__range=(end - timedelta(89), end)
        ).values_list("value", flat=True)
    )
    assert tiles["reach_daily"].label == "Average daily reach"
    assert tiles["reach_daily"].value == pytest.approx(sum(daily) / len(daily))
    assert tiles["reach_daily"].coverage == f"{len(daily)} of 90 days"


def test_sums_cover_only_days_with_data_and_say_so(world, account):
    from insights.models import AccountDaily

    client = world.clients["a1"]
    end = client_today(client) - timedelta(days=1)
    report = build_report(for_days(client, end - timedelta(days=27), end, "none"))
    kpis = {k.key: k for k in report.sections[0].kpis}
    views = AccountDaily.objects.filter(
        account=account, metric="views", dimension="", day__range=(end - timedelta(27), end)
    )
    assert kpis["views"].value == sum(views.values_list("value", flat=True))
    assert kpis["views"].coverage == "27 of 28 days"  # one skipped day in the fixture
    assert [g.label for g in report.sections[0].gaps] == ["No data from Instagram"]


def test_no_data_is_a_dash_never_a_zero(world):
    InstagramAccountFactory(agency=world.a, client=world.clients["a1"], username="empty.one")
    html = world.client_for("a_owner").get(report_url(world)).content.decode()
    values = re.findall(r'<p class="kpi-value">([^<]*)</p>', html)
    assert values and all(v == "—" for v in values if v != "0") and "0" not in values[:7]
    assert "No data for this period" in html


def test_page_query_count_is_fixed_whatever_the_range_and_data(
    world, account, django_assert_max_num_queries
):
    http = world.client_for("a_viewer")
    http.get(report_url(world))  # the first visit also remembers the agency in the session
    counts = []
    # 13: the 12 of the report and one more for the insight layer (each media's reach at fixed
    # ages, insights.reports.insight.readings), whatever the number of accounts and media.
    for params in ({"range": "last_7"}, {"range": "last_90", "compare": "year"}):
        with django_assert_max_num_queries(13) as captured:
            assert http.get(report_url(world, **params)).status_code == 200
        counts.append(len(captured.captured_queries))
    second = InstagramAccountFactory(agency=world.a, client=world.clients["a1"])
    fill_account(second, last_day=client_today(world.clients["a1"]), days=30, media=20, seed=2)
    ReportNote.objects.create(
        agency=world.a, client=world.clients["a1"], day=client_today(world.clients["a1"]), text="x"
    )
    with django_assert_max_num_queries(13) as captured:
        assert http.get(report_url(world, range="last_28")).status_code == 200
    counts.append(len(captured.captured_queries))
    assert len(set(counts)) == 1, counts


def test_bad_range_input_falls_back_to_the_default(world, account):
    http = world.client_for("a_owner")
    for params in (
        {"range": "custom", "start": "2026-13-45", "end": "x"},
        {"range": "custom", "start": "2026-05-01", "end": "2020-01-01"},
        {"range": "nonsense", "compare": "never"},
        {"range": "custom", "start": "2000-01-01", "end": "2026-01-01"},
    ):
        response = http.get(report_url(world, **params))
        assert response.status_code == 200
        assert b"form-errors" in response.content
        assert response.context["report"].period.length == 28  # the default range


def test_tidy_csv_is_streamed_escaped_and_named_per_rfc_6266(world, account):
    response = world.client_for("a_viewer").get(report_url(world, "csv", range="last_28"))
    assert response.status_code == 200 and response.streaming
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="acme-coffee-daily-')
    assert "filename*=UTF-8''Acme%20Coffee%20daily%20" in disposition
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["date", "start", "end", "account", "metric", "value"]
    metrics = {r[4] for r in rows[1:]}
    assert {"reach_daily", "views", "interactions", "followers", "reach"} <= metrics
    # The date column holds dates only: a figure over a window has its own start and end.
    day = re.compile(r"\d{4}-\d\d-\d\d")
    daily = [r for r in rows[1:] if r[0]]
    windows = [r for r in rows[1:] if not r[0]]
    assert daily and all(day.fullmatch(r[0]) and r[1] == r[2] == "" for r in daily)
    assert windows and all(day.fullmatch(r[1]) and day.fullmatch(r[2]) for r in windows)
    assert "reach" not in {r[4] for r in daily}
    # A day without data is an empty value, not 0.
    assert any(r[5] == "" for r in daily if r[4] == "views")
    # The account by its username: nothing to escape, so no stray quote before an "@".
    assert {r[3] for r in rows[1:]} == {"acme.coffee"}


def test_posts_csv_escapes_formulas(world, account):
    response = world.client_for("a_viewer").get(report_url(world, "posts", range="last_90"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    assert {r["account"] for r in rows} == {"acme.coffee"}
    captions = [r["caption"] for r in rows if r["type"] != "Story"]
    assert all(c.startswith("Post number") for c in captions)  # "=SUM(A1)" stays inside
    from insights.reports.exports import safe_cell

    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell(-5) == -5 and safe_cell("plain") == "plain"


def test_xlsx_has_a_sheet_per_table_with_typed_cells(world, account):
    from openpyxl import load_workbook

    response = world.client_for("a_viewer").get(report_url(world, "xlsx", range="last_28"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == ["Summary", "Daily", "Posts", "Audience", "About"]
    # Every sheet's header row stays in view; decimals and rates are formatted.
    assert all(book[name].freeze_panes == "A2" for name in book.sheetnames)
    summary = {row[1].value: row for row in book["Summary"].iter_rows(min_row=2)}
    rate = summary["engagement_rate"]
    assert rate[3].number_format == "0.00%" and 0 < rate[3].value < 1
    average = summary["reach_daily"] if "reach_daily" in summary else summary["reach"]
    assert average[3].number_format in ("#,##0", "#,##0.00")
    posts_sheet = book["Posts"]
    header = [c.value for c in posts_sheet[1]]
    column = header.index("engagement_rate_percent")
    rated = [
        r[column] for r in posts_sheet.iter_rows(min_row=2) if isinstance(r[column].value, float)
    ]
    assert rated and all(c.number_format == "#,##0.00" for c in rated if c.value % 1)
    daily = list(book["Daily"].iter_rows(min_row=2, values_only=True))
    assert daily and all(hasattr(row[0], "year") for row in daily)
    assert any(isinstance(row[3], int) for row in daily)
    posts = list(book["Posts"].iter_rows(min_row=2, values_only=True))
    assert posts and hasattr(posts[0][1], "hour")


def test_xlsx_cells_are_typed_dated_escaped_and_empty_where_meta_gave_nothing(world, account):
    from datetime import datetime

    from openpyxl import load_workbook
    from openpyxl.styles.numbers import is_date_format

    response = world.client_for("a_viewer").get(report_url(world, "xlsx", range="last_90"))
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    daily = book["Daily"]
    first = daily["A2"]
    assert type(first.value) is datetime and first.number_format == "yyyy-mm-dd"
    assert isinstance(daily["D2"].value, int) and daily["D2"].data_type == "n"
    header = [c.value for c in book["Posts"][1]]
    assert all(c.font.bold for c in book["Posts"][1])
    rows = [dict(zip(header, (c for c in r), strict=True)) for r in book["Posts"].iter_rows(2)]
    posts = [r for r in rows if r["type"].value != "Story"]
    stories = [r for r in rows if r["type"].value == "Story"]
    assert posts and stories
    for row in posts:
        assert is_date_format(row["published"].number_format)
        assert row["published"].value.tzinfo is None  # the client's wall-clock time
        assert row["reach"].data_type == "n" and isinstance(row["reach"].value, int)
        assert row["caption"].value.startswith("Post number")
        assert row["story_capture"].value is None  # no empty strings posing as text
    # Text that a spreadsheet would run is quoted, as in the CSV.
    account.media.filter(is_story=False).update(caption='=HYPERLINK("http://x")')
    response = world.client_for("a_viewer").get(report_url(world, "xlsx", range="last_90"))
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    captions = {
        r[4] for r in book["Posts"].iter_rows(min_row=2, values_only=True) if r[2] != "Story"
    }
    assert captions == {'\'=HYPERLINK("http://x")'}


def test_pdf_renders_the_report_with_the_vendored_font(world, account):
    from pypdf import PdfReader

    response = world.client_for("a_viewer").get(report_url(world, "pdf", range="last_7"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Acme Coffee" in text and "@acme.coffee" in text
    fonts = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    # Only the vendored font, by its @font-face name: nothing fell back to a system font.
    assert fonts and all("Report-Sans" in f for f in fonts), fonts


def _jpeg(size: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise((size, size), 50).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def test_pdf_embeds_pictures_at_print_resolution(world, account):
    from django.core.files.base import ContentFile
    from pypdf import PdfReader

    from insights.models import Media
    from insights.reports.pdf import IMAGE_DPI

    client = world.clients["a1"]
    report = build_report(for_days(client, *_last_days(client, 28), "previous"))
    shown = [*report.sections[0].top_posts, *report.sections[0].top_reels]
    for post in shown:
        media = Media.objects.get(pk=post.media_pk)
        media.thumbnail.save(f"{media.media_id}.jpg", ContentFile(_jpeg(640)), save=True)
    response = world.client_for("a_viewer").get(report_url(world, "pdf", range="last_28"))
    reader = PdfReader(io.BytesIO(response.content))
    # WeasyPrint shares one resource dictionary between pages: each picture once, by its bytes.
    images = {image.data: image.image.size for page in reader.pages for image in page.images}
    sizes = list(images.values())
    assert len(sizes) == len(shown)
    # Printed 36 pt wide: at most 36 / 72 * 300 dpi = 150 px of the 640 stored, still sharp.
    limit = round(36 / 72 * IMAGE_DPI) + 1
    assert all(90 < width <= limit and height <= limit for width, height in sizes), sizes
    assert len(response.content) < 400_000  # 12 thumbnails of 640 px were 1.3 MB


def test_the_pdf_draws_exactly_the_charts_of_the_page(world, account):
    import base64

    from insights.reports.branding import branding_for
    from insights.reports.pdf import render_html

    page = world.client_for("a_viewer").get(report_url(world, range="last_28", compare="year"))
    on_page = re.findall(r"<svg\b.*?</svg>", page.content.decode(), flags=re.S)
    charts = [svg for svg in on_page if 'role="img"' in svg]
    report = page.context["report"]
    html = render_html(report, branding=branding_for(world.a).for_pdf())
    in_pdf = [
        base64.b64decode(data).decode()
        for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    ]
    assert len(charts) >= 6
    assert in_pdf == charts


def test_pdf_fetcher_reads_only_prisms_own_files(settings, tmp_path):
    from insights.reports import pdf

    (tmp_path / "media").mkdir(exist_ok=True)
    (tmp_path / "media" / "thumb.jpg").write_bytes(b"x")
    settings.MEDIA_ROOT = tmp_path / "media"
    assert pdf.resolve(pdf.BASE_URL + "static/prism/report.css")
    assert pdf.resolve(pdf.MEDIA_SCHEME + "thumb.jpg")
    for url in (
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data",
        pdf.BASE_URL + "static/../../config/settings.py",
        pdf.BASE_URL + "static/%2e%2e/%2e%2e/config/settings.py",
        pdf.BASE_URL + "media-not-served/x",
        pdf.MEDIA_SCHEME + "../../etc/passwd",
        pdf.MEDIA_SCHEME + "/etc/passwd",
    ):
        assert pdf.resolve(url) is None, url


def test_missing_pango_is_said_plainly(world, account, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    response = world.client_for("a_viewer").get(report_url(world, "pdf"))
    assert response.status_code == 503
    assert b"libpango-1.0-0 libpangoft2-1.0-0" in response.content


def test_notes_show_on_the_charts_and_only_members_of_the_agency_manage_them(world, account):
    client = world.clients["a1"]
    day = client_today(client) - timedelta(days=3)
    http = world.client_for("a_member")
    response = http.post(
        f"/a/alpha/clients/{client.pk}/report/notes/",
        {"day": day.isoformat(), "text": "Spring <campaign> starts"},
    )
    assert response.status_code == 302
    note = ReportNote.objects.get()
    html = http.get(report_url(world)).content.decode()
    assert "Spring &lt;campaign&gt; starts" in html
    assert 'class="chart-marker"' in html
    # The other agency cannot remove it, and it is told nothing.
    other = world.client_for("b_owner").post(f"/a/bravo/report-notes/{note.pk}/delete/")
    assert other.status_code == 404 and ReportNote.objects.filter(pk=note.pk).exists()
    assert http.post(f"/a/alpha/report-notes/{note.pk}/delete/").status_code == 302
    assert not ReportNote.objects.exists()


def test_engagement_formula_is_chosen_per_client(world, account):
    client = world.clients["a1"]
    http = world.client_for("a_admin")
    response = http.post(
        f"/a/alpha/clients/{client.pk}/report/settings/",
        {
            "engagement_formula": "post_followers",
            "default_range": "last_7",
            "default_compare": "year",
        },
    )
    assert response.status_code == 302
    settings = ReportSettings.objects.get(client=client)
    assert settings.engagement_formula == "post_followers"
    report = build_report(for_days(client, *_last_days(client, 7), "none"))
    kpis = {k.key: k for k in report.sections[0].kpis}
    posts = [
        p["latest_metrics"]["total_interactions"]
        for p in Media.objects.filter(
            account=account, is_story=False, timestamp__gte=period_bounds(report)[0]
        )
        .filter(timestamp__lt=period_bounds(report)[1])
        .values("latest_metrics")
    ]
    assert posts
    assert kpis["engagement_rate"].value == pytest.approx(
        sum(posts) / len(posts) / kpis["followers"].value * 100
    )
    assert kpis["engagement_rate"].note == "per post, by followers"
    html = http.get(report_url(world)).content.decode()
    assert "averaged over those posts" in html  # the formula, in the glossary
    assert "same period last year" in html
    # The rates over a whole period (51 %, 134 %, 405 % on real accounts) are no longer offered.
    refused = http.post(
        f"/a/alpha/clients/{client.pk}/report/settings/",
        {"engagement_formula": "followers", "default_range": "last_7", "default_compare": "year"},
    )
    assert refused.status_code == 200
    assert ReportSettings.objects.get(client=client).engagement_formula == "post_followers"


def _last_days(client, n):
    """The "Last n days" preset's days: they end on the last day Meta has completed."""
    end = last_complete_day(client)
    return end - timedelta(days=n - 1), end


def test_ids_are_unique_across_the_whole_page(world, account):
    InstagramAccountFactory(agency=world.a, client=world.clients["a1"], username="second")
    html = world.client_for("a_owner").get(report_url(world)).content.decode()
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_stories_show_capture_state_and_the_eu_replies_note(world, account):
    from insights.models import Media

    Media.objects.filter(account=account, is_story=True).update(replies_zeroed_by_region=True)
    html = world.client_for("a_owner").get(report_url(world, range="last_90")).content.decode()
    assert "Captured late" in html and "Missed" in html
    assert "EU and Japan" in html


def test_far_east_clients_get_their_own_yesterday(world, account):
    client = world.clients["a1"]
    client.time_zone = "Pacific/Kiritimati"  # UTC+14: its today is often Meta's tomorrow
    client.save()
    response = world.client_for("a_owner").get(report_url(world))
    assert response.status_code == 200
    report = response.context["report"]
    # Its yesterday is not over at Meta yet (Pacific time): the range ends on Meta's last
    # complete day, so the report has that day whole and its de-duplicated reach.
    assert report.period.end == last_complete_day(client) <= client_today(client) - timedelta(1)
    assert report.time_zone == "Pacific/Kiritimati"
    assert "Pacific/Kiritimati" in response.content.decode()


def test_posts_published_and_top_posts_come_from_the_media_of_the_period(world, account):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from insights.models import Media

    client = world.clients["a1"]
    start, end = _last_days(client, 28)
    zone = ZoneInfo(client.time_zone)
    in_period = Media.objects.filter(
        account=account,
        timestamp__gte=datetime.combine(start, time.min, zone),
        timestamp__lt=datetime.combine(end + timedelta(days=1), time.min, zone),
    )
    report = build_report(for_days(client, start, end, "none"))
    section = report.sections[0]
    kpis = {k.key: k for k in section.kpis}
    posts = [m for m in in_period if not m.is_story]
    assert kpis["posts"].value == len(posts) > 0
    assert section.story_count == in_period.filter(is_story=True).count()
    feed = sorted(
        (m for m in posts if m.product_type != "REELS"),
        key=lambda m: m.latest_metrics.get("total_interactions", -1),
        reverse=True,
    )
    shown = [p.media_id for p in section.top_posts]
    assert shown == [m.media_id for m in feed[: len(shown)]]
    assert all(p.kind == "Reels" for p in section.top_reels)
    # Engagement by post reach: the average of each post's interactions ÷ reach.
    ReportSettings.objects.create(agency=world.a, client=client, engagement_formula="post_reach")
    report = build_report(for_days(client, start, end, "none"))
    rates = [
        m.latest_metrics["total_interactions"] / m.latest_metrics["reach"] * 100 for m in posts
    ]
    rate = {k.key: k for k in report.sections[0].kpis}["engagement_rate"].value
    assert rate == pytest.approx(sum(rates) / len(rates))


def test_the_posts_export_shows_each_post_exactly_as_the_page_does(world, account):
    """The page's ranked query and the posts export read the same Media columns
    (build.MEDIA_FIELDS) into the same rows, so a post cannot differ between them."""
    from insights.reports.exports import iter_media

    client = world.clients["a1"]
    start, end = _last_days(client, 90)
    report = build_report(for_days(client, start, end, "none"))
    section = report.sections[0]
    exported = {item.media_pk: item for item in iter_media(report)}
    shown = [*section.top_posts, *section.top_reels, *section.stories]
    assert len(shown) > 6
    for item in shown:
        assert exported[item.media_pk] == item


def test_audience_shows_country_names_and_cities_as_meta_spells_them(world, account):
    from openpyxl import load_workbook

    from insights.models import DemographicBucket

    # A code ISO has not assigned stays as Meta gave it rather than vanishing.
    DemographicBucket.objects.filter(snapshot__breakdown="country", key="GB").update(key="XX")
    html = world.client_for("a_viewer").get(report_url(world)).content.decode()
    labels = set(re.findall(r"<text[^>]*>([^<]*)</text>", html))
    assert {"Germany", "France", "United States", "XX"} <= labels
    assert not {"DE", "FR", "US"} & labels
    assert {"Berlin, Berlin", "Paris, Île-de-France", "Women", "Men"} <= labels

    response = world.client_for("a_viewer").get(report_url(world, "xlsx"))
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(book["Audience"].iter_rows(values_only=True))
    assert rows[0][:4] == ("account", "breakdown", "group", "name")
    countries = {r[2]: r[3] for r in rows[1:] if r[1] == "country"}
    assert countries == {"DE": "Germany", "FR": "France", "US": "United States", "XX": "XX"}


def test_pdf_post_cards_are_three_to_a_row_with_their_metrics_on_a_few_lines(world, account):
    """The print layout of post cards (the PDF's most expensive part): laid out by WeasyPrint
    itself, three cards share each row, and a card stays a few lines high."""
    import weasyprint

    from insights.reports.pdf import BASE_URL, _fetcher_class, render_html

    client = world.clients["a1"]
    report = build_report(for_days(client, *_last_days(client, 90), "previous"))
    assert len(report.sections[0].top_posts) == 6
    html = render_html(report)
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher_class()())
    cards = []

    def walk(box, page):
        element = getattr(box, "element", None)
        if element is not None and element.get("class") == "post" and box.element_tag == "div":
            cards.append((page, round(box.position_y), box.position_x, box.height))
            return
        for child in getattr(box, "children", ()):
            walk(child, page)

    for number, page in enumerate(document.render().pages):
        walk(page._page_box, number)
    rows: dict[tuple, int] = {}
    for page, y, _, _ in cards:
        rows[(page, y)] = rows.get((page, y), 0) + 1
    assert len(cards) == 12  # six top posts, six top reels
    assert sorted(rows.values()) == [3, 3, 3, 3], rows
    assert max(height for *_, height in cards) < 100  # CSS px (75 pt): a few short lines


def test_interactions_say_when_meta_zeroed_story_replies_by_region(world, account):
    """Meta reports replies as 0 for accounts in the EU and Japan (graph-api.md §5.2); the
    pipeline marks those days (AccountDaily.zeroed_by_region) and the tile says so, while a real
    0 elsewhere changes nothing."""
    from insights.models import AccountDaily

    from .report_world import end_time

    client = world.clients["a1"]
    end = client_today(client) - timedelta(days=1)
    day = end - timedelta(days=3)
    AccountDaily.objects.update_or_create(
        account=account, metric="replies", dimension="", day=day,
        defaults={"value": 0, "end_time": end_time(day), "zeroed_by_region": False},
    )  # fmt: skip

    def note() -> str:
        report = build_report(for_days(client, end - timedelta(days=27), end, "previous"))
        return dict(glossary(report))["Interactions"]

    assert note().startswith("Likes, comments, saves, shares, replies and reposts")
    assert "EU and Japan" not in note()
    AccountDaily.objects.filter(account=account, metric="replies", day=day).update(
        zeroed_by_region=True
    )
    assert "EU and Japan" in note()
    # Outside the period it says nothing.
    AccountDaily.objects.filter(account=account, metric="replies", day=day).update(
        day=end - timedelta(days=400)
    )
    assert "EU and Japan" not in note()
