"""Refresh tests: Prism's real Meta client against the sandbox over real HTTP (live server),
a Prism account connected to a sandbox account, and the sandbox's own HTTP API as the oracle."""

import pytest
import time_machine

from sandbox.accounts import create_account
from tests.factories import InstagramAccountFactory
from tests.sandbox.conftest import Sandbox

from .helpers import Clocks, parse_now


@pytest.fixture
def sandbox(live_server, transactional_db, settings) -> Sandbox:
    settings.META_HOSTS = {h: f"{live_server.url}/_sandbox/{h}" for h in settings.META_HOSTS}
    settings.META_READ_TIMEOUT = 10
    box = Sandbox(live_server.url)
    # Recent days settle upward for 48 h in the sandbox, as at Meta: readings compared with
    # Prism's must be taken at one sandbox moment.
    assert box.control("POST", "clock", json={"freeze": True}).status_code == 200
    return box


@pytest.fixture
def connect(sandbox):
    """connect(login="facebook", **sandbox account properties) -> (Prism account, sandbox dict)"""

    def connect(login: str = "facebook", **properties):
        remote = create_account(login=login, **properties)
        account = InstagramAccountFactory(
            ig_user_id=remote["ig_user_id"],
            username=remote["username"],
            login_path=login,
            page_id=remote.get("page_id") or "",
            token=remote["access_token"],
        )
        return account, remote

    return connect


@pytest.fixture
def clocks(sandbox):
    """Prism's clock stands at the sandbox's frozen moment; `clocks.advance()` / `move_to()`
    move both."""
    now = parse_now(sandbox.control("GET", "clock").json())
    with time_machine.travel(now, tick=False) as traveller:
        yield Clocks(sandbox, traveller, now)
