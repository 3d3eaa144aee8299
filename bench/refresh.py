"""The refresh pipeline's figures (issue 9, "Benchmarks"), printed as one table.

    .venv/bin/python bench/refresh.py [--quick] [--only memory] [--tracemalloc]

What runs, all real: the sandbox served by gunicorn in standalone mode, in its own processes and
on its own database (so it stands in for Meta and is not what is measured); Prism's database
(BENCH_DATABASE_URL, default PostgreSQL prism_proofs_bench, dropped and created afresh); Prism's
refresh code over real HTTP; a real `celery -A config worker --pool threads` process on the real
broker (BENCH_BROKER_URL, default Redis db 3) for the throughput, CPU and memory figures.
Requests are counted by the sandbox (its control API's call statistics), never by Prism.

1. Requests. For 100, 1,000 and 10,000 media on each login path: a sandbox account is created
   and connected, and its first backfill runs to the end on "yesterday" (the sandbox clock and
   this process's clock both moved back a day): every run it takes, back to back while the
   history comes in, then the runs it schedules minutes apart (a long media backlog), each at
   its due time (both clocks moved there). Then, at today's time and after the account posted
   once more, the steady-state daily refresh: the first refresh after Meta completed a day.
   From the sandbox's statistics: HTTP requests to the Graph hosts (a batch is one),
   rate-limit-counted calls (each operation of a batch is one), and picture downloads from the
   CDN (thumbnails; the backlog of older media's pictures is settled between the two, see
   `settle_thumbnails`).
2. Throughput. Accounts of 1,000 media (Facebook Login) prepared the same way yesterday (their
   backfill reaches 35 days back, which leaves them in the state the steady refresh sees after a
   full one: it plans from the recent days' rows), then all made due at once and dispatched as
   the dispatcher does (`claim_due`, `refresh_account.delay`) to ONE worker process with a
   threads pool. Accounts per minute from the first claim to the last finished refresh, at 0 ms
   and at 100 ms injected latency (the sandbox's latency_ms world setting: every HTTP request
   answers 100 ms late, a batch once, as at Meta); the
   worker's CPU (user + system, from /proc) per refresh, at 0 ms.
3. Memory. A fresh worker process refreshes one account (its whole first backfill and a steady
   refresh); its peak resident memory (VmHWM), for 100 and for 10,000 media.
4. The claim. 100,000 connected accounts on PostgreSQL, 1,000 of them due: the time of one
   `claim_due(limit=1000)` (best of three, each on a fresh set of due rows).

Prism's steps are whatever exist on this branch (`insights.refresh.media` / `.stories` when they
have landed): the figures measure the code, not a list of steps.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import processes  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/prism_proofs_bench"
DEFAULT_SANDBOX_DB = "postgres://postgres@127.0.0.1:5432/prism_proofs_sandbox"
DEFAULT_BROKER = "redis://127.0.0.1:6379/3"
LOG_DIR = processes.ROOT / "var" / "bench-refresh"
PREP_BACKFILL_DAYS = 35


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--accounts", type=int, help="accounts per throughput run")
    parser.add_argument("--concurrency", type=int, default=24, help="worker threads")
    parser.add_argument("--sandbox-workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--skip", default="", help="any of requests,throughput,memory,claim")
    parser.add_argument("--only", default="", help="run only these parts (same names as --skip)")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="memory part: profile the workers (bench/memprofile.py; its figures are not the "
        "table's)",
    )
    parser.add_argument("--detail", action="store_true", help="requests per host and path")
    return parser.parse_args()


# --- Setting up this process ----------------------------------------------------------------


def settle_thumbnails(account_id: int) -> int:
    """The thumbnail backlog (a picture per media, THUMBNAILS_PER_RUN a run, so a day of runs
    for a 1,000-media account: Meta's CDN, not the Graph API) is marked tried instead of
    downloaded, as if those runs had passed. A steady refresh does not touch it either way; a
    new post's picture is still downloaded."""
    try:
        from insights.models import Media
    except ImportError:
        return 0
    from django.db.models.functions import Now

    if not hasattr(Media, "thumbnail_fetched_at"):
        return 0
    return Media.objects.filter(
        account_id=account_id, thumbnail="", thumbnail_fetched_at=None
    ).update(thumbnail_fetched_at=Now())


COLUMNS = "Graph HTTP requests / counted calls / CDN pictures"


def figures(stats: dict) -> str:
    """From the sandbox's statistics: HTTP requests to the Graph hosts (a batch is one),
    rate-limit-counted calls, and picture downloads from the CDN host (thumbnails)."""
    hosts = stats["by_host"]
    graph = sum(v["http_requests"] for h, v in hosts.items() if h.startswith("graph."))
    cdn = sum(v["http_requests"] for h, v in hosts.items() if not h.startswith("graph."))
    return f"{graph} / {stats['counted_calls']} / {cdn}"


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.quick = args.quick
        self.db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
        self.sandbox_db = os.environ.get("BENCH_SANDBOX_DATABASE_URL", DEFAULT_SANDBOX_DB)
        self.broker = os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER)
        self.rows: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.sandbox: processes.SandboxServer | None = None

    def row(self, label: str, value: str) -> None:
        self.rows.append((label, value))
        print(f"  {label:<70} {value}", flush=True)

    # -- environment ------------------------------------------------------------------------

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for old in LOG_DIR.glob("*.log"):
            old.unlink()
        self.sandbox = processes.SandboxServer(
            self.sandbox_db, LOG_DIR, workers=self.args.sandbox_workers, threads=8
        ).start()
        processes.fresh_database(self.db_url)
        self.env = processes.base_env(
            DATABASE_URL=self.db_url,
            CELERY_BROKER_URL=self.broker,
            META_READ_TIMEOUT="60",
            **self.sandbox.meta_env(),
        )
        processes.migrate(self.env)
        setup_django(self.env)
        from accounts.models import Agency
        from insights.models import Client

        self.agency = Agency.objects.create(name="Bench agency", slug="bench")
        self.client = Client.objects.create(agency=self.agency, name="Bench client")

    def stop(self) -> None:
        if self.sandbox:
            self.sandbox.stop()

    # -- helpers ----------------------------------------------------------------------------

    def connect(self, remote: dict, login: str):
        from insights.models import InstagramAccount

        account = InstagramAccount(
            agency=self.agency,
            client=self.client,
            ig_user_id=remote["ig_user_id"],
            username=remote["username"],
            login_path=login,
            page_id=remote.get("page_id") or "",
        )
        account.store_token(remote["access_token"])
        account.save()
        return account

    def create(self, login: str, media: int, count: int | None = None) -> list[dict]:
        body = {"login": login, "media_count": media, "followers": 20_000}
        if count:
            made = self.sandbox.control("POST", "accounts", json={**body, "count": count})
            return made["data"]
        return [self.sandbox.control("POST", "accounts", json=body)]

    def post_once(self, remote: dict) -> None:
        self.sandbox.control("POST", f"accounts/{remote['ig_user_id']}/media", json={})

    def refresh(self, account_id: int) -> dict:
        """One run of Prism's refresh, as the worker runs it (claimed, then run)."""
        from insights.refresh import account as refresh
        from insights.refresh import schedule

        token = schedule.claim_one(account_id)
        assert token, f"account {account_id} could not be claimed"
        return refresh.run(account_id, token)

    def backfill(self, account_id: int, limit: int = 200) -> int:
        """Every run the first backfill takes (as the worker would run them, back to back),
        then the thumbnail backlog settled (see settle_thumbnails)."""
        from django.db import close_old_connections

        from insights.models import InstagramAccount

        runs = 0
        try:
            while runs < limit:
                stats = self.refresh(account_id)
                runs += 1
                if "error" in stats:
                    raise RuntimeError(f"account {account_id}: {stats['error']}")
                if InstagramAccount.objects.filter(
                    pk=account_id, backfilled_at__isnull=False
                ).exists():
                    settle_thumbnails(account_id)
                    return runs
            raise RuntimeError(f"account {account_id}: backfill unfinished after {runs} runs")
        finally:
            close_old_connections()

    def catch_up(self, account_id: int, clock, limit: int = 40) -> int:
        """The runs a first connection still schedules minutes apart after its history is in
        (the media step spreads a long backlog of first samples over them): each taken when
        due, both clocks moved to that moment. Returns how many."""
        from django.utils import timezone

        from insights.models import InstagramAccount

        for runs in range(limit):
            due = InstagramAccount.objects.get(pk=account_id).next_refresh_at
            wait = (due - timezone.now()).total_seconds()
            if wait > 30 * 60:  # the regular schedule: the first backfill is over
                return runs
            if wait > 0:
                clock.shift(wait + 1)
                self.sandbox.control("POST", "clock", json={"advance_seconds": wait + 1})
            result = self.refresh(account_id)
            if "error" in result:
                raise RuntimeError(f"account {account_id}: {result['error']}")
        raise RuntimeError(f"account {account_id}: still catching up after {limit} runs")

    def stats(self) -> dict:
        return self.sandbox.control("GET", "stats")

    def reset_stats(self) -> None:
        self.sandbox.control("POST", "stats/reset", json={})

    def yesterday(self):
        """Both clocks a day back: the sandbox's (control API) and this process's."""
        import time_machine
        from django.utils import timezone

        self.sandbox.control("POST", "clock", json={"advance_days": -1})
        return time_machine.travel(timezone.now() - timedelta(days=1), tick=True)

    def today(self) -> None:
        self.sandbox.control("POST", "clock/reset", json={})

    # -- 1. requests ------------------------------------------------------------------------

    def requests_table(self) -> None:
        sizes = (100, 1_000) if self.quick else (100, 1_000, 10_000)
        logins = ("facebook", "instagram")
        print("requests (sandbox call statistics) ...", flush=True)
        cases, backfills = [], {}
        with self.yesterday() as clock:
            for login in logins:
                for media in sizes:
                    remote = self.create(login, media)[0]
                    account = self.connect(remote, login)
                    self.reset_stats()
                    runs = self.backfill(account.pk)
                    runs += self.catch_up(account.pk, clock)
                    backfills[(login, media)] = (self.stats(), runs)
                    cases.append((login, media, remote, account))
        self.today()
        for login, media, remote, account in cases:
            self.post_once(remote)
            self.reset_stats()
            result = self.refresh(account.pk)
            if "error" in result:
                self.notes.append(f"steady {login} {media}: {result['error']}")
            steady = self.stats()
            first, runs = backfills[(login, media)]
            name = f"{media:,} media, {login}"
            if self.args.detail:
                for what, stats in (("backfill", first), ("steady", steady)):
                    paths = {k: v["http_requests"] for k, v in stats["by_path"].items()}
                    print(f"    {what} {name}: {paths}", flush=True)
            self.row(
                f"first backfill, {name}: {COLUMNS}",
                f"{figures(first)}  ({runs} runs)",
            )
            self.row(f"steady daily refresh, {name}: {COLUMNS}", figures(steady))

    # -- 2. throughput ----------------------------------------------------------------------

    def prepare(self, count: int) -> list[int]:
        """`count` 1,000-media Facebook accounts, backfilled yesterday (see the docstring)."""
        from django.test.utils import override_settings

        with self.yesterday(), override_settings(BACKFILL_DAYS=PREP_BACKFILL_DAYS):
            remotes = self.create("facebook", 1_000, count)
            accounts = [self.connect(r, "facebook") for r in remotes]
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(self.backfill, [a.pk for a in accounts]))
        self.today()
        for remote in remotes:
            self.post_once(remote)
        return [a.pk for a in accounts]

    def dispatch_and_wait(self, ids: list[int], worker: processes.Worker) -> float:
        """Make the accounts due, claim and send them as the dispatcher does; seconds until the
        last one finished."""
        from django.db.models.functions import Now

        from insights.models import ApiThrottle, InstagramAccount
        from insights.refresh import schedule
        from insights.tasks import refresh_account

        # The app-wide usage the bench ran up (hundreds of backfills in minutes against the
        # sandbox app's 5,000 calls an hour) would make the dispatcher hold back, rightly: it is
        # forgotten, as Meta's app budget grows with its users.
        ApiThrottle.objects.all().delete()
        # Only these are due (others prepared "yesterday" are due too by now).
        InstagramAccount.objects.exclude(pk__in=ids).update(
            next_refresh_at=Now() + timedelta(days=1)
        )
        InstagramAccount.objects.filter(pk__in=ids).update(next_refresh_at=Now())
        started = time.monotonic()
        mark = InstagramAccount.objects.values_list(Now(), flat=True).first()
        claimed = schedule.claim_due(limit=len(ids))
        for pk, token in claimed:
            refresh_account.delay(pk, token)
        assert {pk for pk, _ in claimed} == set(ids), "the claim missed accounts"
        deadline = started + 600
        while time.monotonic() < deadline:
            done = InstagramAccount.objects.filter(
                pk__in=ids, last_refresh_at__gte=mark, lease_token=""
            ).count()
            failed = InstagramAccount.objects.filter(
                pk__in=ids, last_refresh_error_at__gte=mark
            ).count()
            if done + failed >= len(ids):
                if failed:
                    self.notes.append(f"{failed} refreshes failed (see the worker's log)")
                return time.monotonic() - started
            if not worker.alive():
                raise RuntimeError(f"the worker died:\n{worker.log()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"refreshes unfinished after 600 s:\n{worker.log()[-3000:]}")

    def worker(self, name: str, **options) -> processes.Worker:
        return processes.Worker(self.env, LOG_DIR, name=name, **options).start()

    def throughput(self) -> None:
        count = self.args.accounts or (40 if self.quick else 150)
        concurrency = self.args.concurrency
        print(f"throughput: preparing 2 x {count} accounts ...", flush=True)
        sets = {0: self.prepare(count), 100: self.prepare(count)}
        worker = self.worker("throughput", pool="threads", concurrency=concurrency)
        try:
            for latency_ms, ids in sets.items():
                self.sandbox.latency(latency_ms)
                self.reset_stats()
                cpu = worker.cpu_seconds()
                seconds = self.dispatch_and_wait(ids, worker)
                cpu = worker.cpu_seconds() - cpu
                stats = self.stats()
                graph = sum(
                    v["http_requests"]
                    for h, v in stats["by_host"].items()
                    if h.startswith("graph.")
                )
                per_minute = len(ids) / seconds * 60
                self.row(
                    f"accounts/min, one worker process (threads x{concurrency}), "
                    f"{latency_ms} ms latency",
                    f"{per_minute:,.0f}  ({len(ids)} accounts in {seconds:.1f} s; "
                    f"{graph / len(ids):.1f} Graph HTTP requests each)",
                )
                if latency_ms == 0:
                    self.row(
                        "worker CPU per steady refresh (1,000 media, facebook), 0 ms",
                        f"{cpu / len(ids) * 1000:,.0f} ms",
                    )
        finally:
            self.sandbox.latency(0)
            worker.stop()

    # -- 3. memory --------------------------------------------------------------------------

    def memory(self) -> None:
        from insights.models import InstagramAccount

        print("memory ...", flush=True)
        peaks = {}
        for media in (100, 1_000) if self.quick else (100, 10_000):
            remote = self.create("facebook", media)[0]
            account = self.connect(remote, "facebook")
            self.reset_stats()
            profile = {}
            if self.args.tracemalloc:
                out = LOG_DIR / f"memprofile-{media}.txt"
                out.unlink(missing_ok=True)
                self.env["MEMPROFILE_OUT"] = str(out)
                profile = {"include": "bench.memprofile"}
            worker = self.worker(f"memory-{media}", pool="threads", concurrency=1, **profile)
            try:
                runs = 0
                for _ in range(100):  # the whole first backfill, then a steady refresh
                    self.dispatch_and_wait([account.pk], worker)
                    runs += 1
                    done = InstagramAccount.objects.filter(pk=account.pk, backfilled_at=None)
                    if not done.exists():
                        break
                self.dispatch_and_wait([account.pk], worker)
                peaks[media] = worker.peak_rss_mb()
                if profile:  # the last task's profile is written after its refresh finished
                    self.wait_for_profile(out, tasks=runs + 1)
            finally:
                worker.stop()
            self.row(f"peak worker memory, {media:,}-media account", f"{peaks[media]:,.0f} MB")
        small, large = sorted(peaks)
        self.row(f"memory ratio {large:,} / {small:,} media", f"{peaks[large] / peaks[small]:.2f}x")

    @staticmethod
    def wait_for_profile(out: Path, tasks: int, seconds: float = 300) -> None:
        from bench import memprofile

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if out.exists() and out.read_text().count(memprofile.END) >= tasks:
                return
            time.sleep(0.5)

    # -- 4. the claim -----------------------------------------------------------------------

    def claim(self) -> None:
        from django.db import connection
        from django.db.models.functions import Now

        from insights.models import InstagramAccount
        from insights.refresh import schedule

        total, due = (20_000, 1_000) if self.quick else (100_000, 1_000)
        if connection.vendor != "postgresql":
            self.notes.append("claim: not PostgreSQL, skipped")
            return
        print(f"claim: {total:,} accounts ...", flush=True)
        InstagramAccount.objects.update(next_refresh_at=Now() + timedelta(days=1))
        later = Now() + timedelta(days=1)
        existing = InstagramAccount.objects.count()
        batch = []
        for n in range(total - existing):
            batch.append(
                InstagramAccount(
                    agency=self.agency,
                    client=self.client,
                    ig_user_id=f"1799{n:011d}",
                    username=f"claim_{n}",
                    login_path="facebook",
                    token_ciphertext="x",  # never decrypted: these accounts are only claimed
                )
            )
            if len(batch) == 5000:
                InstagramAccount.objects.bulk_create(batch)
                batch = []
        InstagramAccount.objects.bulk_create(batch)
        InstagramAccount.objects.filter(username__startswith="claim_").update(next_refresh_at=later)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE insights_instagramaccount")
        timings = []
        for attempt in range(3):
            ids = list(
                InstagramAccount.objects.filter(username__startswith="claim_")
                .order_by("pk")
                .values_list("pk", flat=True)[attempt * due : (attempt + 1) * due]
            )
            InstagramAccount.objects.filter(pk__in=ids).update(
                next_refresh_at=Now() - timedelta(minutes=1)
            )
            started = time.perf_counter()
            claimed = schedule.claim_due(limit=due)
            timings.append(time.perf_counter() - started)
            assert len(claimed) == due, len(claimed)
        self.row(
            f"claim {due:,} due of {InstagramAccount.objects.count():,} accounts, PostgreSQL",
            f"{min(timings) * 1000:,.0f} ms  (median {statistics.median(timings) * 1000:,.0f})",
        )

    # -- the table --------------------------------------------------------------------------

    def table(self) -> None:
        width = max(len(label) for label, _ in self.rows)
        print()
        print(f"{'bench/refresh.py' + (' --quick' if self.quick else ''):<{width}}  figure")
        print("-" * (width + 40))
        for label, value in self.rows:
            print(f"{label:<{width}}  {value}")
        for note in self.notes:
            print(f"note: {note}")


def main() -> None:
    args = parse_args()
    parts = ("requests", "throughput", "memory", "claim")
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    if unknown := (skip | only) - set(parts):
        raise SystemExit(f"unknown parts: {', '.join(sorted(unknown))}")
    bench = Bench(args)
    try:
        bench.start()
        for part in parts:
            if part not in skip and (not only or part in only):
                {
                    "requests": bench.requests_table,
                    "throughput": bench.throughput,
                    "memory": bench.memory,
                    "claim": bench.claim,
                }[part]()
    finally:
        bench.stop()
    bench.table()


if __name__ == "__main__":
    main()
