"""`manage.py announce_ready`: `make run`'s last word. It waits until the web server answers
/healthz with 200, then says Prism is ready (and the demo's login, if there is a demo), and stays
up quietly (honcho stops every process when one exits)."""

import signal
import threading
import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand

from insights.demo import DEMO_EMAIL, DEMO_PASSWORD, demo_agency

WAIT_SECONDS = 180


class Command(BaseCommand):
    help = "Wait for the web server, then say that Prism is ready."

    def handle(self, *args, **options):
        url = f"{settings.SITE_URL}/healthz"
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            self.stderr.write(f"The web server did not answer {url} in {WAIT_SECONDS} s.")
            return self._wait()
        self.stdout.write(self.style.SUCCESS(f"Prism is ready on {settings.SITE_URL}/"))
        agency = demo_agency()
        if agency is not None:
            self.stdout.write(
                f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}  ->  "
                f"{settings.SITE_URL}/a/{agency.slug}/"
            )
        self._wait()

    def _wait(self):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
