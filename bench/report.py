"""Report figures: page server time, queries per page, PDF time, export time and peak memory.

    .venv/bin/python bench/report.py [--n 40] [--keep] [--only page|pdf|exports]

Uses a throw-away SQLite database (migrated on the spot, deleted afterwards) unless DATABASE_URL
is set, fills snapshots directly in bulk (tests/report_world.py: an account with two years of
daily data and 3,000 media; a second client's account with the same history and 30,000 media for
the 10x export), 640 px thumbnails for the first account's last 120 days and an agency logo
(in a throw-away MEDIA_ROOT), then prints, each part with the load average (2 shared cores: wall
time is CPU time plus waiting for a core, so a busy machine shows in wall time only):
- the report page's server time (Django's test client, whole request: middleware, the one
  Report, charts, template) at p50 / p95, per range, and the SQL queries per page;
- the PDF download through its view (build, branding, WeasyPrint), its size and queries;
- the tidy CSV, posts CSV and XLSX downloads of the two-year range at 1x and 10x the media: wall
  and CPU time and queries in one run, peak Python memory (tracemalloc) in another.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(db_path: str | None, media_root: str) -> None:
    sys.path.insert(0, str(ROOT))
    if db_path:
        os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["MEDIA_ROOT"] = media_root
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def make_world(*, tenfold: bool = True, trio: bool = True):
    from django.utils import timezone

    from accounts.models import Agency, Membership, Role, User
    from insights.models import Client, InstagramAccount
    from insights.reports.periods import client_today
    from tests.insight_world import add_samples
    from tests.report_world import fill_account

    stamp = str(time.time_ns())[-8:]
    agency = Agency.objects.create(name="Bench Agency", slug=f"bench-{stamp}")
    user = User.objects.create_user(email=f"bench-{stamp}@example.com", password="x" * 20)
    Membership.objects.create(agency=agency, user=user, role=Role.OWNER)
    clients, made = [], 0
    plan = [("Bench Coffee", 1, 3000)]
    plan += [("Bench Coffee x10", 1, 30000)] if tenfold else []
    plan += [("Bench Trio", 3, 1000)] if trio else []  # one client, three accounts (the PDF)
    for name, accounts, media in plan:
        client = Client.objects.create(agency=agency, name=name, time_zone="Europe/Berlin")
        started = time.perf_counter()
        for _ in range(accounts):
            account = InstagramAccount.objects.create(
                agency=agency,
                client=client,
                ig_user_id=f"1784{stamp}{made}",
                username=f"bench.{made}",
                login_path="instagram",
            )
            last = client_today(client) - timedelta(days=1)
            fill_account(account, last_day=last, days=730, media=media, seed=made + 1)
            add_samples(account, timezone.now())  # the insight layer's readings at fixed ages
            made += 1
        print(
            f"filled {client.name}: {accounts} account(s), 730 days, {media} media each in "
            f"{time.perf_counter() - started:.1f}s"
        )
        clients.append(client)
    add_pictures(agency, clients[0])
    if trio:
        add_pictures(agency, clients[-1], logo=False)
    return agency, user, clients


def add_pictures(agency, client, days: int = 120, *, logo: bool = True) -> None:
    """What a real report carries besides numbers: a 640 px JPEG thumbnail (photo-like noise, so
    it weighs what a photo does) for each media of the last `days` days, and the agency's logo."""
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    from insights.models import AgencyBranding, Media
    from insights.reports.periods import client_today

    def jpeg(seed: int) -> bytes:
        colour = Image.new("RGB", (640, 640), ((seed * 47) % 256, (seed * 91) % 256, 160))
        noise = Image.effect_noise((640, 640), 60).convert("RGB")
        out = io.BytesIO()
        Image.blend(colour, noise, 0.35).save(out, "JPEG", quality=82)
        return out.getvalue()

    since = client_today(client) - timedelta(days=days)
    recent = Media.objects.filter(account__client=client, timestamp__date__gte=since)
    for n, media in enumerate(recent):
        media.thumbnail.save(f"{media.media_id}.jpg", ContentFile(jpeg(n)), save=False)
        media.save(update_fields=["thumbnail"])
    print(f"pictures: {recent.count()} thumbnails of 640 px for {client.name}")
    if not logo:
        return
    image = io.BytesIO()
    Image.new("RGBA", (600, 200), (40, 90, 200, 255)).save(image, "PNG")
    row = AgencyBranding(agency=agency, primary_colour="#1d4ed8", accent_colour="#f59e0b")
    row.logo.save("logo.png", ContentFile(image.getvalue()), save=False)
    row.save()


def bench_page(agency, user, client, n: int) -> None:
    from django.db import connection
    from django.test import Client as Http
    from django.test.utils import CaptureQueriesContext

    http = Http()
    http.force_login(user)
    base = f"/a/{agency.slug}/clients/{client.pk}/report/"
    http.get(base)  # session, caches, template loading
    ranges = {
        "last 7 days": "?range=last_7",
        "last 28 days, vs previous": "?range=last_28",
        "last 90 days, vs last year": "?range=last_90&compare=year",
        "last month": "?range=last_month",
    }
    everything, cpu_all, queries = [], [], set()
    for label, query in ranges.items():
        samples = []
        for _ in range(n):
            started, cpu = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as captured:
                response = http.get(base + query)
            samples.append((time.perf_counter() - started) * 1000)
            cpu_all.append((time.process_time() - cpu) * 1000)
            assert response.status_code == 200
            queries.add(len(captured.captured_queries))
        everything += samples
        print(
            f"report page, {label:<28} p50 {statistics.median(samples):7.1f} ms   "
            f"p95 {percentile(samples, 0.95):7.1f} ms   (n={n})"
        )
    print(
        f"report page, all ranges{'':<17} p50 {statistics.median(everything):7.1f} ms   "
        f"p95 {percentile(everything, 0.95):7.1f} ms   (target p95 <= 150 ms)"
    )
    print(
        f"report page, CPU time of this process{'':<2} p50 {statistics.median(cpu_all):7.1f} ms   "
        f"p95 {percentile(cpu_all, 0.95):7.1f} ms   (wall minus waiting for a shared CPU)"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"SQL queries per report page: {sorted(queries)} (target <= 13, one value)")


def bench_pdf(agency, user, client, runs: int = 5) -> None:
    """The PDF download as the agency gets it (the view: build, branding, WeasyPrint)."""
    import logging

    from django.db import connection
    from django.test import Client as Http
    from django.test.utils import CaptureQueriesContext

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    http = Http()
    http.force_login(user)
    url = f"/a/{agency.slug}/clients/{client.pk}/report.pdf?range=last_28&compare=previous"
    assert http.get(url).status_code == 200  # warm-up: fonts, templates
    samples, cpu, size, queries, pages = [], [], 0, set(), 0
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as captured:
            response = http.get(url)
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert response["Content-Type"] == "application/pdf"
        size, queries = len(response.content), queries | {len(captured.captured_queries)}
    from pypdf import PdfReader  # the dev extra, as the tests use it

    pages = len(PdfReader(io.BytesIO(response.content)).pages)
    accounts = client.ig_accounts.count()
    print(
        f"PDF download, {client.name} ({accounts} account{'s' if accounts > 1 else ''}, last 28 "
        f"days, thumbnails and logo): median {statistics.median(samples):.2f} s, max "
        f"{max(samples):.2f} s wall; CPU median {statistics.median(cpu):.2f} s; "
        f"{size / 1024:.0f} KB, {pages} pages; {sorted(queries)} queries "
        f"(n={runs}, target <= 3 s); load average {os.getloadavg()[0]:.1f}"
    )


def bench_exports(clients) -> None:
    """Time and peak memory of each download, measured in separate runs: under tracemalloc every
    Python allocation is traced, which made the XLSX look ten times slower than it is."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from insights.models import Media
    from insights.reports import exports
    from insights.reports.build import build_report
    from insights.reports.periods import client_today
    from insights.reports.request import for_days

    kinds = {
        "tidy CSV": exports.tidy_csv_response,
        "posts CSV": exports.posts_csv_response,
        "XLSX": exports.xlsx_response,
    }

    def download(client, kind) -> int:
        end = client_today(client) - timedelta(days=1)
        report = build_report(for_days(client, end - timedelta(days=729), end, "none"))
        return sum(len(chunk) for chunk in kinds[kind](report).streaming_content)

    for client, scale in zip(clients, ("1x", "10x"), strict=True):
        media = Media.objects.filter(account__client=client).count()
        for kind in kinds:
            started, cpu = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as captured:
                size = download(client, kind)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            tracemalloc.start()
            download(client, kind)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"{kind:<9} 2 years, {scale:<3} ({media:>6} media): {wall:5.2f} s wall, "
                f"{cpu:5.2f} s CPU, {len(captured.captured_queries)} queries, "
                f"{size / 2**20:5.1f} MiB; peak memory {peak / 2**20:5.1f} MiB"
            )
    print(f"load average after the exports: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="requests per range")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--only", choices=("page", "pdf", "exports"), help="one part only")
    args = parser.parse_args()
    db_path = None
    media_root = tempfile.mkdtemp(prefix="prism-report-bench-media-")
    if "DATABASE_URL" not in os.environ:
        db_path = tempfile.mktemp(prefix="prism-report-bench-", suffix=".sqlite3")
        if args.keep:
            print(f"database: {db_path}")
    setup_django(db_path, media_root)
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    try:
        agency, user, clients = make_world(
            tenfold=args.only in (None, "exports"), trio=args.only in (None, "pdf")
        )
        if args.only in (None, "page"):
            bench_page(agency, user, clients[0], args.n)
        if args.only in (None, "pdf"):
            bench_pdf(agency, user, clients[0])
            bench_pdf(agency, user, clients[-1])
        if args.only in (None, "exports"):
            bench_exports(clients[:2])
    finally:
        shutil.rmtree(media_root, ignore_errors=True)
        if db_path and not args.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(db_path + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
