"""Locust users for bench/load.py: log in once, then browse the dashboard, client pages and
report pages. Paths and the login come from the environment bench/load.py sets."""

import itertools
import json
import os
import random

from locust import HttpUser, between, task

PATHS = json.loads(os.environ.get("LOAD_PATHS", "{}"))
# One logged-in session per user, made by bench/load.py before the clock starts: logging in
# (a deliberately slow password hash) is not what this measures.
SESSIONS = json.loads(os.environ.get("LOAD_SESSIONS", "[]"))
_next_session = itertools.count()


class AgencyMember(HttpUser):
    # Someone clicking through reports: a page, a short look, the next page.
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        session = SESSIONS[next(_next_session) % len(SESSIONS)]
        self.client.cookies.set("sessionid", session, domain="127.0.0.1", path="/")

    @task(3)
    def dashboard(self) -> None:
        self.client.get(PATHS["dashboard"], name="dashboard")

    @task(3)
    def client_page(self) -> None:
        self.client.get(random.choice(PATHS["clients"]), name="client page")

    @task(4)
    def report_page(self) -> None:
        if PATHS.get("reports"):
            self.client.get(random.choice(PATHS["reports"]), name="report page")
        else:
            self.client_page()
