"""The Meta client over real HTTP against the sandbox, through every fault class."""

import logging
import socket
import threading
import time

import pytest

from insights.meta.client import ErrorKind, MetaClient, MetaError, classify
from sandbox.accounts import create_account
from sandbox.models import Fault

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def meta(live_server, settings):
    settings.META_HOSTS = {
        host: f"{live_server.url}/_sandbox/{host}" for host in settings.META_HOSTS
    }
    settings.META_READ_TIMEOUT = 1.5
    return live_server


@pytest.fixture
def account(meta):
    return create_account(followers=5000, media_count=30, login="instagram")


def _client(account, **kwargs) -> MetaClient:
    return MetaClient("graph.instagram.com", account["access_token"], **kwargs)


def fault(kind: str, count: int | None = 1, **params) -> Fault:
    return Fault.objects.create(
        kind=kind, host="graph.instagram.com", remaining=count, params=params
    )


def test_a_plain_read(account):
    client = _client(account)
    data = client.get(account["ig_user_id"], {"fields": "id,username,followers_count"})
    assert data["id"] == account["ig_user_id"]
    assert client.requests_made == 1


@pytest.mark.parametrize(
    "kind,params",
    [
        ("5xx", {"status": 503}),
        ("html", {"status": 502}),
        ("malformed", {}),
        ("truncated", {}),
    ],
)
def test_transient_faults_are_retried_then_succeed(account, kind, params):
    fault(kind, count=2, **params)
    client = _client(account)
    data = client.get(account["ig_user_id"], {"fields": "id"})
    assert data["id"] == account["ig_user_id"]
    assert client.requests_made == 3  # two failures, then the answer


@pytest.mark.parametrize(
    "kind,params,expected",
    [
        ("5xx", {"status": 500}, "Meta answered"),
        ("html", {"status": 200}, "an HTML page"),
        ("malformed", {}, "malformed JSON"),
        ("truncated", {}, "malformed JSON"),
    ],
)
def test_persistent_transient_faults_become_transient_errors(account, kind, params, expected):
    fault(kind, count=None, **params)
    client = _client(account, max_retries=2)
    with pytest.raises(MetaError) as caught:
        client.get(account["ig_user_id"], {"fields": "id"})
    assert caught.value.kind == ErrorKind.TRANSIENT
    assert client.requests_made == 3
    if kind != "5xx":
        assert expected in str(caught.value)


def test_timeouts_become_transient_errors(account, settings):
    settings.META_READ_TIMEOUT = 0.3
    fault("timeout", count=1, seconds=1.0)
    client = _client(account, max_retries=0)
    with pytest.raises(MetaError) as caught:
        client.get(account["ig_user_id"], {"fields": "id"})
    assert caught.value.kind == ErrorKind.TRANSIENT
    assert "in time" in str(caught.value)


def test_latency_below_the_timeout_is_fine(account):
    fault("latency", count=1, seconds=0.2)
    assert _client(account).get(account["ig_user_id"], {"fields": "id"})["id"]


@pytest.mark.parametrize("code", [80002, 4, 17])
def test_rate_limits_carry_the_wait(account, code):
    fault("rate_limit", count=1, code=code, minutes=7)
    client = _client(account)
    with pytest.raises(MetaError) as caught:
        client.get(account["ig_user_id"], {"fields": "id"})
    assert caught.value.kind == ErrorKind.RATE_LIMITED
    assert caught.value.code == code
    assert caught.value.retry_after == 7 * 60
    assert client.requests_made == 1  # rate limits are not hammered with retries


def test_revoked_token_means_reconnect(account):
    fault("revoke_token", count=1, subcode=460)
    with pytest.raises(MetaError) as caught:
        _client(account).get(account["ig_user_id"], {"fields": "id"})
    assert caught.value.kind == ErrorKind.TOKEN_INVALID
    assert caught.value.subcode == 460


def test_unknown_token(meta):
    with pytest.raises(MetaError) as caught:
        MetaClient("graph.instagram.com", "IGAAnot-a-token").get("me", {"fields": "id"})
    assert caught.value.kind == ErrorKind.TOKEN_INVALID


def test_errors_and_logs_never_carry_the_token(account, caplog):
    caplog.set_level(logging.DEBUG)
    for logger in ("urllib3", "insights", "django"):
        logging.getLogger(logger).setLevel(logging.DEBUG)
    fault("5xx", count=None, status=500)
    try:
        _client(account, max_retries=1).get(account["ig_user_id"], {"fields": "id"})
    except MetaError as error:
        assert account["access_token"] not in str(error) + repr(error)
    token = account["access_token"]
    assert all(token not in r.getMessage() for r in caplog.records)
    assert token not in repr(_client(account))


def test_usage_headers_are_read(meta):
    # Meta sends the usage headers only once enough calls were made (graph-api.md §7.2); the
    # sandbox from 1 % of a budget: 50 calls of the app's hourly 5,000, 10 of this account's.
    account = create_account(login="instagram", call_budget=1000)
    client = _client(account)
    for _ in range(52):
        client.get(account["ig_user_id"], {"fields": "id"})
    # graph.instagram.com names its app usage call_volume / cpu_time (restfb#1571): read, not 0.
    assert set(client.usage.app) == {"call_volume", "cpu_time"}
    assert account["ig_user_id"] in client.usage.business


def test_instagram_app_usage_counts_toward_the_highest_percent():
    """docs/graph-api.md §6: Prism reads both hosts' X-App-Usage shapes (before, an Instagram
    Login account's app usage read as 0 and Prism never slowed down there)."""
    from insights.meta.client import Usage

    assert Usage(app={"call_volume": 93, "cpu_time": 12}).highest_percent == 93
    assert Usage(app={"call_count": 4, "total_time": 81, "total_cputime": 2}).highest_percent == 81


def test_paging_refuses_links_to_other_hosts(account, monkeypatch):
    client = _client(account)
    pages = iter(
        [
            {
                "data": [{"id": "1"}],
                "paging": {"next": "http://169.254.169.254/latest/meta-data?after=x"},
            }
        ]
    )
    monkeypatch.setattr(client, "get", lambda *a, **k: next(pages))
    items = client.paginate("whatever")
    assert next(items) == {"id": "1"}
    with pytest.raises(MetaError, match="another host"):
        next(items)


@pytest.mark.parametrize(
    "error,status,kind",
    [
        ({"code": 190, "error_subcode": 463}, 400, ErrorKind.TOKEN_INVALID),
        (
            {"code": 10, "message": "(#10) Not enough viewers for the media to show insights"},
            400,
            ErrorKind.MEDIA_UNAVAILABLE,
        ),
        (
            {"code": 10, "message": "(#10) Application does not have permission for this action"},
            400,
            ErrorKind.PERMISSION,
        ),
        ({"code": 200, "message": "(#200) Permissions error"}, 403, ErrorKind.PERMISSION),
        (
            {"code": 100, "error_subcode": 2108006, "message": "Invalid parameter"},
            400,
            ErrorKind.MEDIA_UNAVAILABLE,
        ),
        (
            {"code": 100, "error_subcode": 33, "message": "Unsupported get request."},
            400,
            ErrorKind.MEDIA_UNAVAILABLE,
        ),
        (
            {"code": 100, "message": "(#100) metric[0] must be one of the following values: reach"},
            400,
            ErrorKind.METRIC_UNSUPPORTED,
        ),
        (
            {
                "code": 100,
                "message": "(#100) Starting from version 22 and above, the impressions "
                "metric is no longer supported",
            },
            400,
            ErrorKind.METRIC_UNSUPPORTED,
        ),
        ({"code": 80002, "message": "(#80002) too many calls"}, 400, ErrorKind.RATE_LIMITED),
        ({"code": 613}, 400, ErrorKind.RATE_LIMITED),
        ({"code": 1, "message": "An unknown error occurred"}, 500, ErrorKind.TRANSIENT),
        ({"code": 2, "is_transient": True}, 503, ErrorKind.TRANSIENT),
        (
            {"code": 100, "message": "(#100) There cannot be more than 30 days"},
            400,
            ErrorKind.INVALID_REQUEST,
        ),
        ({"code": 12345}, 400, ErrorKind.UNKNOWN),
    ],
)
def test_error_taxonomy(error, status, kind):
    assert classify(error, status) == kind


def test_paginate_walks_every_media_item(account):
    client = _client(account)
    items = list(client.paginate(f"{account['ig_user_id']}/media", {"fields": "id", "limit": 7}))
    assert len(items) == 30 and len({i["id"] for i in items}) == 30
    assert client.requests_made == 5  # pages of 7, 7, 7, 7 and 2


def test_batch_answers_each_operation_with_its_own_result(meta):
    account = create_account(followers=5000, media_count=12, login="facebook")
    client = MetaClient("graph.facebook.com", account["access_token"])
    media = [m["id"] for m in client.paginate(f"{account['ig_user_id']}/media", {"limit": 50})]
    operations = [{"relative_url": f"v25.0/{m}/insights?metric=reach,likes"} for m in media]
    operations.append({"relative_url": "v25.0/17841400000000000/insights?metric=reach"})
    operations.append({"relative_url": f"v25.0/{media[0]}/insights?metric=plays"})
    before = client.requests_made
    results = client.batch(operations)
    assert client.requests_made - before == 1  # one HTTP request for 14 operations
    assert len(results) == 14
    for result in results[:12]:
        assert {m["name"] for m in result["data"]} == {"reach", "likes"}
    assert isinstance(results[12], MetaError) and results[12].kind == ErrorKind.MEDIA_UNAVAILABLE
    assert isinstance(results[13], MetaError) and results[13].kind == ErrorKind.METRIC_UNSUPPORTED


def test_batch_results_sends_every_request_first_and_decodes_each_body_when_taken(meta):
    account = create_account(followers=5000, media_count=60, login="facebook")
    client = MetaClient("graph.facebook.com", account["access_token"])
    media = [m["id"] for m in client.paginate(f"{account['ig_user_id']}/media", {"limit": 100})]
    before = client.requests_made
    results = client.batch_results([{"relative_url": f"{m}?fields=id"} for m in media])
    assert client.requests_made - before == 2  # both batch requests, before any result
    assert not isinstance(results, list)  # an iterator: nothing decoded ahead of its turn
    assert [r["id"] for r in results] == media
    assert client.requests_made - before == 2


def test_batches_over_50_are_split(meta):
    account = create_account(followers=5000, media_count=60, login="facebook")
    client = MetaClient("graph.facebook.com", account["access_token"])
    media = [m["id"] for m in client.paginate(f"{account['ig_user_id']}/media", {"limit": 100})]
    before = client.requests_made
    results = client.batch([{"relative_url": f"{m}?fields=id"} for m in media])
    assert client.requests_made - before == 2
    assert [r["id"] for r in results] == media


@pytest.fixture
def trickling_server():
    """An HTTP server that sends its headers at once, then its 30-byte JSON body a byte every
    0.1 s (3 s in all): each socket read returns well within the read timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                body = b'{"id": "1"}'.rjust(30)
                head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
                for i in range(len(body)):
                    if stop.wait(0.1):
                        break
                    try:
                        conn.sendall(body[i : i + 1])
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


def test_an_answer_that_trickles_in_is_given_up_at_the_answer_timeout(trickling_server, settings):
    """requests' read timeout bounds each read of the socket; a whole answer has its own cap,
    so a refresh never hangs on one request past its hard limit and lease."""
    settings.META_HOSTS = {"graph.instagram.com": trickling_server}
    settings.META_READ_TIMEOUT = 1.0
    settings.META_ANSWER_TIMEOUT = 1.0
    client = MetaClient("graph.instagram.com", "a-token", max_retries=0)
    started = time.monotonic()
    with pytest.raises(MetaError) as caught:
        client.get("me", {"fields": "id"})
    elapsed = time.monotonic() - started
    assert caught.value.kind == ErrorKind.TRANSIENT
    assert "in time" in str(caught.value)
    assert 1.0 <= elapsed < 2.5, elapsed
    # A slower answer than the cap, on a server that is merely slow, still comes whole.
    settings.META_ANSWER_TIMEOUT = 10
    assert MetaClient("graph.instagram.com", "a-token", max_retries=0).get("me") == {"id": "1"}
