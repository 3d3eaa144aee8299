"""Batch requests, ?ids=, usage headers and the BUC budget (graph-api.md §3.5, §7, §11.7)."""

import json

from django.db.models import Sum

from sandbox.models import CallLog, Fault


def batch(sandbox, acct, ops, host=None, token=None):
    data = {"batch": json.dumps(ops), "access_token": token or acct["access_token"]}
    return sandbox.post(host or acct["host"], "v25.0/", None, data=data)


def media_ids(sandbox, acct, n=3):
    body = sandbox.get(
        acct["host"], f"{acct['ig_user_id']}/media", acct["access_token"], limit=n
    ).json()
    return [m["id"] for m in body["data"]]


def counted(ig_user_id):
    return CallLog.objects.filter(account=ig_user_id).aggregate(n=Sum("counted_calls"))["n"] or 0


def test_batch_response_shape_and_per_op_errors(sandbox, make_account):
    """§7.3: one result per operation in order: {code, headers:[{name,value}], body:"<json>"};
    a failing operation does not fail the others."""
    acct = make_account(media_count=5)
    mid = media_ids(sandbox, acct)[0]
    ops = [
        {"method": "GET", "relative_url": f"v25.0/{acct['ig_user_id']}?fields=username"},
        {"method": "GET", "relative_url": f"/{mid}/insights?metric=reach,likes"},
        {"method": "GET", "relative_url": "v25.0/179999999999999999/insights?metric=reach"},
    ]
    response = batch(sandbox, acct, ops)
    assert response.status_code == 200
    results = response.json()
    assert [r["code"] for r in results] == [200, 200, 400]
    for result in results:
        assert isinstance(result["body"], str)
        assert all(set(h) == {"name", "value"} for h in result["headers"])
    assert json.loads(results[0]["body"]) == {
        "username": acct["username"],
        "id": acct["ig_user_id"],
    }
    assert [m["name"] for m in json.loads(results[1]["body"])["data"]] == ["reach", "likes"]
    assert json.loads(results[2]["body"])["error"]["error_subcode"] == 33


def test_batch_is_capped_at_50_operations(sandbox, make_account):
    """§7.3: more than 50 operations → the whole batch is refused."""
    acct = make_account()
    ops = [{"method": "GET", "relative_url": acct["ig_user_id"]}] * 51
    error = batch(sandbox, acct, ops).json()["error"]
    assert error["message"] == "(#100) Too many requests in batch message. Maximum batch size is 50"
    assert len(batch(sandbox, acct, ops[:50]).json()) == 50


def test_batch_each_operation_counts_separately(sandbox, make_account):
    """§7.3: every operation counts toward the account's call count."""
    acct = make_account(media_count=20)
    ids = media_ids(sandbox, acct, 20)
    before = counted(acct["ig_user_id"])
    ops = [{"method": "GET", "relative_url": f"{i}/insights?metric=reach"} for i in ids]
    assert all(r["code"] == 200 for r in batch(sandbox, acct, ops).json())
    assert counted(acct["ig_user_id"]) - before == 20


def test_batch_per_operation_access_token(sandbox, make_account):
    """§7.3: an operation's own access_token wins over the batch's."""
    mine, theirs = make_account(), make_account()
    ops = [
        {
            "method": "GET",
            "relative_url": f"{theirs['ig_user_id']}?fields=username&access_token={theirs['access_token']}",
        },
        {"method": "GET", "relative_url": f"{theirs['ig_user_id']}?fields=username"},
        {
            "method": "GET",
            "relative_url": f"{theirs['ig_user_id']}",
            "body": f"access_token={theirs['access_token']}",
        },
    ]
    results = batch(sandbox, mine, ops).json()
    assert [r["code"] for r in results] == [200, 400, 200]
    assert json.loads(results[0]["body"])["username"] == theirs["username"]


def test_batch_with_invalid_batch_token_fails_whole(sandbox, make_account):
    """§6.2: an invalid batch-level token is a 190 for the whole request."""
    acct = make_account()
    response = batch(
        sandbox,
        acct,
        [{"method": "GET", "relative_url": acct["ig_user_id"]}],
        token="EAAGnotatoken",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == 190


def test_batch_faults_apply_per_operation(sandbox, make_account):
    """§7.3: faults hit the operations they match; a timed-out operation comes back null."""
    acct = make_account(media_count=3)
    mid = media_ids(sandbox, acct)[0]
    Fault.objects.create(kind="5xx", path_regex="/insights", params={"status": 503}, remaining=1)
    Fault.objects.create(
        kind="timeout", path_regex="/children", params={"seconds": 0.01}, remaining=1
    )
    ops = [
        {"method": "GET", "relative_url": f"{mid}/insights?metric=reach"},
        {"method": "GET", "relative_url": f"{mid}/children"},
        {"method": "GET", "relative_url": f"{acct['ig_user_id']}"},
    ]
    results = batch(sandbox, acct, ops).json()
    assert (
        results[0]["code"] == 503
        and json.loads(results[0]["body"])["error"]["is_transient"] is True
    )
    assert results[1] is None
    assert results[2]["code"] == 200


def test_batch_on_instagram_host(sandbox, make_account):
    """§7.3 [UNC]: batch on graph.instagram.com is undocumented; with the world setting
    instagram_batch on (off by default, test_graph_surface.py) the sandbox accepts it with
    Instagram tokens and the same semantics."""
    sandbox.control("POST", "settings", json={"instagram_batch": True})
    acct = make_account(login="instagram", media_count=3)
    results = batch(sandbox, acct, [{"method": "GET", "relative_url": "me/media?limit=2"}]).json()
    assert results[0]["code"] == 200 and len(json.loads(results[0]["body"])["data"]) == 2


def test_batch_post_operations_are_unsupported(sandbox, make_account):
    """§7.3: operations keep their method; the sandbox emulates reads only."""
    acct = make_account()
    result = batch(
        sandbox,
        acct,
        [{"method": "POST", "relative_url": f"{acct['ig_user_id']}/media", "body": "caption=x"}],
    ).json()[0]
    assert (
        result["code"] == 400
        and "Unsupported post request" in json.loads(result["body"])["error"]["message"]
    )


def old_app_in_october(sandbox):
    """An app created before 2026-11-04, at a moment before 2026-10-27: ?ids= still answers."""
    assert sandbox.control("POST", "settings", json={"app_created_on": "2024-01-10"}).ok
    assert sandbox.control("POST", "clock", json={"to": "2026-10-20T12:00:00Z"}).ok


def test_ids_lookup_shape_and_counting(sandbox, make_account):
    """§3.5/§7.3: GET /?ids=a,b → {"a":{…},"b":{…}}; each id counts as one call. Only an old app
    before v26.0 retired the root form everywhere (docs/graph-api.md §1)."""
    old_app_in_october(sandbox)
    acct = make_account(media_count=5)
    a, b = media_ids(sandbox, acct, 2)
    before = counted(acct["ig_user_id"])
    body = sandbox.get(
        acct["host"], "v25.0/", acct["access_token"], ids=f"{a},{b}", fields="id,media_type"
    ).json()
    assert set(body) == {a, b} and body[a]["id"] == a and "media_type" in body[b]
    assert counted(acct["ig_user_id"]) - before == 2
    edge = sandbox.get(
        acct["host"], "insights", acct["access_token"], ids=f"{a},{b}", metric="reach"
    ).json()
    assert edge[a]["data"][0]["name"] == "reach"


def test_ids_lookup_fails_whole_on_one_bad_id(sandbox, make_account):
    """§3.5: one unknown id fails the whole ?ids= request."""
    old_app_in_october(sandbox)
    acct = make_account(media_count=2)
    a = media_ids(sandbox, acct, 1)[0]
    response = sandbox.get(acct["host"], "", acct["access_token"], ids=f"{a},179999999999999999")
    assert response.status_code == 400 and response.json()["error"]["error_subcode"] == 33


def test_usage_header_grows_with_calls(sandbox, make_account):
    """§7.2: X-Business-Use-Case-Usage call_count (percent of the budget) grows with use."""
    acct = make_account(call_budget=50)
    sandbox.get(acct["host"], acct["ig_user_id"], acct["access_token"])  # headers from 1 % on
    seen = []
    for _ in range(6):
        response = sandbox.get(acct["host"], acct["ig_user_id"], acct["access_token"])
        usage = json.loads(response.headers["X-Business-Use-Case-Usage"])[acct["ig_user_id"]][0]
        assert usage["type"] == "instagram"
        seen.append(usage["call_count"])
    assert seen == sorted(seen) and seen[-1] > seen[0]


def test_budget_exhausted_is_80002(sandbox, make_account):
    """§6.2/§7.2: once the account's 24-hour budget is spent, calls answer 80002 with the usage
    header at 100 and a time to regain access; batch operations get it one by one."""
    acct = make_account(call_budget=4, media_count=2)
    for _ in range(4):
        assert (
            sandbox.get(acct["host"], acct["ig_user_id"], acct["access_token"]).status_code == 200
        )
    response = sandbox.get(acct["host"], acct["ig_user_id"], acct["access_token"])
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == 80002
    assert error["message"].startswith(
        "(#80002) There have been too many calls to this Instagram account."
    )
    usage = json.loads(response.headers["X-Business-Use-Case-Usage"])[acct["ig_user_id"]][0]
    assert usage["call_count"] == 100 and usage["estimated_time_to_regain_access"] > 0
    result = batch(sandbox, acct, [{"method": "GET", "relative_url": acct["ig_user_id"]}]).json()[0]
    assert json.loads(result["body"])["error"]["code"] == 80002
