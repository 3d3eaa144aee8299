"""Injected faults: every kind, matching by host / path / account, `count` and `probability`.
graph-api.md §6 (error envelope, codes, 190 subcodes), §7.2 (rate-limit headers), §11.6–7."""

import json
import time

import pytest
import requests


def control(sandbox, method, path, **body):
    return sandbox.control(method, path, json=body) if body else sandbox.control(method, path)


def fault(sandbox, **body) -> dict:
    answer = control(sandbox, "POST", "faults", **body)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def acct(sandbox):
    return control(sandbox, "POST", "accounts", login="instagram").json()


def me(sandbox, acct, **kwargs):
    return sandbox.get("graph.instagram.com", "v25.0/me", token=acct["access_token"], **kwargs)


def test_server_error_is_a_transient_graph_error(sandbox, acct):
    """§6.2: code 2, is_transient, HTTP 500 by default or the status asked for."""
    fault(sandbox, kind="5xx", count=1)
    answer = me(sandbox, acct)
    assert answer.status_code == 500
    err = answer.json()["error"]
    assert err["code"] == 2 and err["is_transient"] is True and err["fbtrace_id"]
    fault(sandbox, kind="5xx", count=1, params={"status": 503})
    assert me(sandbox, acct).status_code == 503
    assert me(sandbox, acct).status_code == 200


def test_count_is_used_up_then_the_fault_is_gone(sandbox, acct):
    created = fault(sandbox, kind="5xx", count=2)
    assert created["remaining"] == 2
    assert me(sandbox, acct).status_code == 500
    assert control(sandbox, "GET", "faults").json()["data"][0]["remaining"] == 1
    assert me(sandbox, acct).status_code == 500
    assert me(sandbox, acct).status_code == 200
    assert control(sandbox, "GET", "faults").json()["data"] == []


def test_a_fault_can_name_the_parameters_of_the_requests_it_hits(sandbox, acct):
    """`query`: only requests (or batch operations) carrying all these parameters."""
    fault(sandbox, kind="5xx", query={"fields": "id,username"})
    assert me(sandbox, acct, fields="id").status_code == 200
    assert me(sandbox, acct, fields="id,username").status_code == 500
    listed = control(sandbox, "GET", "faults").json()["data"]
    assert listed[0]["query"] == {"fields": "id,username"}
    bad = control(sandbox, "POST", "faults", kind="5xx", query=["fields"])
    assert bad.status_code == 400 and "query" in bad.text


def test_without_count_a_fault_stays_until_deleted(sandbox, acct):
    created = fault(sandbox, kind="5xx")
    assert [me(sandbox, acct).status_code for _ in range(3)] == [500, 500, 500]
    assert control(sandbox, "DELETE", f"faults/{created['id']}").json() == {"deleted": 1}
    assert me(sandbox, acct).status_code == 200
    assert control(sandbox, "DELETE", f"faults/{created['id']}").status_code == 404


def test_probability(sandbox, acct):
    fault(sandbox, kind="5xx", probability=0.0)
    assert {me(sandbox, acct).status_code for _ in range(8)} == {200}
    control(sandbox, "DELETE", "faults")
    fault(sandbox, kind="5xx", probability=0.5)
    codes = [me(sandbox, acct).status_code for _ in range(30)]
    assert 500 in codes and 200 in codes  # both outcomes (chance of failing: 2 in 10^9)
    assert 3 <= codes.count(500) <= 27  # binomial(30, 0.5) lands outside once in ~10^5 runs


def test_latency_delays_but_answers(sandbox, acct):
    fault(sandbox, kind="latency", params={"seconds": 0.4}, count=1)
    started = time.monotonic()
    answer = me(sandbox, acct)
    assert answer.status_code == 200 and time.monotonic() - started >= 0.4


def test_timeout(sandbox, acct):
    """A hanging server: the client's own timeout must fire (then the sandbox answers 504)."""
    fault(sandbox, kind="timeout", params={"seconds": 1.0}, count=1)
    with pytest.raises(requests.Timeout):
        requests.get(
            sandbox.url("graph.instagram.com", "me"),
            timeout=0.3,
            headers={"Authorization": f"Bearer {acct['access_token']}"},
        )
    fault(sandbox, kind="timeout", params={"seconds": 0.1}, count=1)
    assert me(sandbox, acct).status_code == 504


def test_rate_limit_errors_carry_usage_headers(sandbox, acct):
    """§7.2: 80002 with X-Business-Use-Case-Usage at 100% and time to regain access (minutes)."""
    fault(sandbox, kind="rate_limit", count=1, params={"minutes": 12})
    answer = me(sandbox, acct)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 80002
    usage = json.loads(answer.headers["X-Business-Use-Case-Usage"])
    entry = usage[acct["ig_user_id"]][0]
    assert entry["type"] == "instagram" and entry["call_count"] == 100
    assert entry["estimated_time_to_regain_access"] == 12
    for code, text in [
        (4, "(#4) Application request limit reached"),
        (17, "(#17) User request limit reached"),
    ]:
        fault(sandbox, kind="rate_limit", count=1, params={"code": code})
        err = me(sandbox, acct).json()["error"]
        assert (err["code"], err["message"], err["is_transient"]) == (code, text, True)


def test_malformed_and_truncated_bodies(sandbox, acct):
    normal = me(sandbox, acct, fields="username,name,biography,followers_count").text
    fault(sandbox, kind="malformed", count=1)
    malformed = me(sandbox, acct, fields="username,name,biography,followers_count")
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        json.loads(malformed.text)
    fault(sandbox, kind="truncated", count=1)
    truncated = me(sandbox, acct, fields="username,name,biography,followers_count")
    assert truncated.status_code == 200 and normal.startswith(truncated.text)
    assert len(truncated.text) < len(normal)
    with pytest.raises(ValueError):
        json.loads(truncated.text)


def test_html_error_page(sandbox, acct):
    """A proxy's HTML page instead of JSON."""
    fault(sandbox, kind="html", count=1)
    answer = me(sandbox, acct)
    assert answer.status_code == 502 and answer.headers["Content-Type"].startswith("text/html")
    assert "<html" in answer.text


def test_revoke_token_fault(sandbox, acct):
    """§6.2: the token is revoked at this request: 190 now and afterwards."""
    fault(sandbox, kind="revoke_token", count=1, params={"subcode": 460})
    for _ in range(2):
        err = me(sandbox, acct).json()["error"]
        assert (err["code"], err["error_subcode"]) == (190, 460)


def test_graph_error_fault_sends_the_given_envelope(sandbox, acct):
    """§12.21: e.g. throttling disguised as 100/33."""
    fault(
        sandbox,
        kind="graph_error",
        count=1,
        params={
            "status": 400,
            "error": {
                "message": "Unsupported get request.",
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
            },
        },
    )
    answer = me(sandbox, acct)
    err = answer.json()["error"]
    assert answer.status_code == 400
    assert (err["code"], err["error_subcode"], err["type"]) == (100, 33, "GraphMethodException")


def test_faults_match_by_host_path_and_account(sandbox, acct):
    fb = control(sandbox, "POST", "accounts").json()
    fault(sandbox, kind="5xx", host="graph.facebook.com")
    assert me(sandbox, acct).status_code == 200
    assert sandbox.get("graph.facebook.com", "me", token=fb["access_token"]).status_code == 500
    control(sandbox, "DELETE", "faults")
    fault(sandbox, kind="5xx", path_regex=r"/accounts$")
    assert sandbox.get("graph.facebook.com", "me", token=fb["access_token"]).status_code == 200
    assert (
        sandbox.get("graph.facebook.com", "me/accounts", token=fb["access_token"]).status_code
        == 500
    )
    control(sandbox, "DELETE", "faults")
    other = control(sandbox, "POST", "accounts", login="instagram").json()
    fault(sandbox, kind="5xx", account=acct["ig_user_id"])
    assert me(sandbox, acct).status_code == 500
    assert me(sandbox, other).status_code == 200
    assert (
        sandbox.get(
            "graph.facebook.com", f"{fb['ig_user_id']}", token=fb["access_token"]
        ).status_code
        == 200
    )


def test_faults_reach_the_instagram_code_exchange_host(sandbox):
    fault(sandbox, kind="5xx", host="api.instagram.com", count=1)
    answer = sandbox.post("api.instagram.com", "oauth/access_token", data={"code": "x"})
    assert answer.status_code == 500


def test_list_delete_and_validate_faults(sandbox):
    fault(sandbox, kind="latency", params={"seconds": 0})
    fault(sandbox, kind="html")
    assert [f["kind"] for f in control(sandbox, "GET", "faults").json()["data"]] == [
        "latency",
        "html",
    ]
    assert control(sandbox, "DELETE", "faults").json() == {"deleted": 2}
    bad = [
        ({"kind": "meteor"}, "kind must be one of"),
        ({}, "kind is required"),
        ({"kind": "5xx", "host": "example.com"}, "host must be one of"),
        ({"kind": "5xx", "path_regex": "(("}, "path_regex"),
        ({"kind": "5xx", "probability": 2}, "probability"),
        ({"kind": "5xx", "count": 0}, "count"),
        ({"kind": "latency", "params": {"seconds": 1000}}, "params.seconds"),
        ({"kind": "5xx", "params": [1]}, "params must be an object"),
    ]
    for body, message in bad:
        answer = control(sandbox, "POST", "faults", **body)
        assert answer.status_code == 400 and message in answer.json()["error"], body
