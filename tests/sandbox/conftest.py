"""Sandbox contract tests talk to the sandbox over real HTTP through Django's live server
(a threaded server, so a handler may call back into it)."""

import pytest
import requests

from sandbox.accounts import create_account


class Sandbox:
    def __init__(self, base: str):
        self.base = base.rstrip("/") + "/_sandbox"
        self.http = requests.Session()

    def url(self, host: str, path: str = "") -> str:
        return f"{self.base}/{host}/{path.lstrip('/')}"

    def get(self, host: str, path: str, token: str | None = None, **params):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.get(self.url(host, path), params=params, headers=headers, timeout=30)

    def post(self, host: str, path: str, token: str | None = None, data=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(
            self.url(host, path), data=data, headers=headers, timeout=30, **kwargs
        )

    def control(self, method: str, path: str, **kwargs):
        return self.http.request(
            method, f"{self.base}/control/{path.lstrip('/')}", timeout=30, **kwargs
        )


@pytest.fixture
def sandbox(live_server, transactional_db) -> Sandbox:
    return Sandbox(live_server.url)


@pytest.fixture
def make_account(transactional_db):
    """make_account(followers=..., media_count=..., login="facebook"|"instagram", ...) -> dict"""
    return create_account
