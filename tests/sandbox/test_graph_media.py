"""/media, /stories, album children, paging and field expansion (graph-api.md §3.2–§3.5)."""

import time
from datetime import timedelta

from sandbox import core, world
from sandbox.models import InstagramAccount, Media


def get(sandbox, acct, path, **params):
    return sandbox.get(acct["host"], f"v25.0/{path}", acct["access_token"], **params)


def follow(sandbox, acct, url):
    return sandbox.http.get(
        url, headers={"Authorization": f"Bearer {acct['access_token']}"}, timeout=30
    )


def walk(sandbox, acct, **params):
    """Every item of /media, following paging.next until it is absent."""
    pages = [get(sandbox, acct, f"{acct['ig_user_id']}/media", **params).json()]
    while "next" in pages[-1].get("paging", {}):
        pages.append(follow(sandbox, acct, pages[-1]["paging"]["next"]).json())
    return pages


def test_media_paging_walk_newest_first(sandbox, make_account):
    """§3.2: cursor paging, newest first, paging.next absent on the last page, no previous on
    the first, default item {"id"}."""
    acct = make_account(media_count=60)
    pages = walk(sandbox, acct, fields="id,timestamp")
    assert [len(p["data"]) for p in pages] == [25, 25, 10]
    items = [item for page in pages for item in page["data"]]
    assert len({i["id"] for i in items}) == 60
    stamps = [i["timestamp"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    assert "previous" not in pages[0]["paging"] and "previous" in pages[1]["paging"]
    assert set(pages[0]["paging"]["cursors"]) == {"before", "after"}
    default = get(sandbox, acct, f"{acct['ig_user_id']}/media", limit=2).json()["data"]
    assert default == [{"id": items[0]["id"]}, {"id": items[1]["id"]}]


def test_media_page_past_the_end_is_empty(sandbox, make_account):
    """§11.1: a page asked for past the end answers {"data": []} with no paging.next."""
    acct = make_account(media_count=3)
    last = get(sandbox, acct, f"{acct['ig_user_id']}/media").json()
    after = last["paging"]["cursors"]["after"]
    assert "next" not in last["paging"]
    assert get(sandbox, acct, f"{acct['ig_user_id']}/media", after=after).json() == {"data": []}


def test_before_cursor_returns_the_previous_page(sandbox, make_account):
    """§3.2: `before` walks back to exactly the page before."""
    acct = make_account(media_count=30)
    first = get(sandbox, acct, f"{acct['ig_user_id']}/media", limit=10).json()
    second = follow(sandbox, acct, first["paging"]["next"]).json()
    back = follow(sandbox, acct, second["paging"]["previous"]).json()
    assert back["data"] == first["data"]


def test_limit_is_clamped_and_summary_accepted(sandbox, make_account):
    """§3.2/§11.1: `limit` up to 100 per page; `summary=true` is accepted on list edges."""
    acct = make_account(media_count=150)
    body = get(sandbox, acct, f"{acct['ig_user_id']}/media", limit=500, summary="true").json()
    assert len(body["data"]) == 100 and "next" in body["paging"]


def test_media_since_until(sandbox, make_account):
    """§3.2: time-based filtering of /media with since/until (unix seconds)."""
    acct = make_account(media_count=200, history_days=100)
    items = [i for p in walk(sandbox, acct, fields="timestamp", limit=100) for i in p["data"]]
    newest, oldest = core.now(), core.now() - timedelta(days=30)
    since, until = int(oldest.timestamp()), int((newest - timedelta(days=10)).timestamp())
    window = [
        i
        for p in walk(sandbox, acct, fields="timestamp", since=since, until=until)
        for i in p["data"]
    ]
    expected = [i for i in items if since <= _unix(i["timestamp"]) <= until]
    assert window == expected and 0 < len(window) < len(items)


def _unix(stamp: str) -> int:
    from datetime import datetime

    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z").timestamp())


def test_media_fields_and_product_types(sandbox, make_account):
    """§3.2: images, videos, reels (VIDEO + REELS) and carousels (CAROUSEL_ALBUM + FEED), with
    Meta's field shapes: +0000 timestamps, owner {"id"}, reel permalinks, video thumbnails."""
    acct = make_account(media_count=120, seed=31)
    fields = "id,media_type,media_product_type,permalink,thumbnail_url,timestamp,owner,like_count,comments_count,caption,shortcode,username"
    items = [i for p in walk(sandbox, acct, fields=fields, limit=100) for i in p["data"]]
    kinds = {(i["media_type"], i["media_product_type"]) for i in items}
    assert kinds == {
        ("IMAGE", "FEED"),
        ("VIDEO", "FEED"),
        ("VIDEO", "REELS"),
        ("CAROUSEL_ALBUM", "FEED"),
    }
    for item in items:
        assert item["timestamp"].endswith("+0000") and item["owner"] == {"id": acct["ig_user_id"]}
        assert ("thumbnail_url" in item) == (item["media_type"] == "VIDEO")
        kind = "/reel/" if item["media_product_type"] == "REELS" else "/p/"
        assert kind in item["permalink"]
        assert item["username"] == acct["username"]


def test_album_children_edge_and_expansion(sandbox, make_account):
    """§3.4: carousels have 2–10 children, via /children or children{…}; children have no
    caption or permalink; non-albums have no `children` field."""
    acct = make_account(media_count=80, seed=32)
    items = walk(
        sandbox, acct, fields="id,media_type,children{id,media_type,caption,permalink}", limit=100
    )
    items = [i for p in items for i in p["data"]]
    albums = [i for i in items if i["media_type"] == "CAROUSEL_ALBUM"]
    assert albums and all(2 <= len(a["children"]["data"]) <= 10 for a in albums)
    assert all("children" not in i for i in items if i["media_type"] != "CAROUSEL_ALBUM")
    child = albums[0]["children"]["data"][0]
    assert set(child) == {"id", "media_type"}
    edge = get(sandbox, acct, f"{albums[0]['id']}/children", fields="id").json()["data"]
    assert edge == [{"id": c["id"]} for c in albums[0]["children"]["data"]]
    node = get(sandbox, acct, child["id"], fields="id,media_type,timestamp").json()
    assert node["id"] == child["id"] and node["media_type"] == child["media_type"]


def test_edge_limit_in_field_expansion(sandbox, make_account):
    """§3.5: `.limit(n)` on nested edges, with a paging.next that points at the edge."""
    acct = make_account(media_count=10)
    body = get(sandbox, acct, acct["ig_user_id"], fields="media.limit(3){id,timestamp}").json()
    assert len(body["media"]["data"]) == 3
    pages = [follow(sandbox, acct, body["media"]["paging"]["next"]).json()]
    while "next" in pages[-1]["paging"]:
        pages.append(follow(sandbox, acct, pages[-1]["paging"]["next"]).json())
    assert [len(p["data"]) for p in pages] == [3, 3, 1]  # the link keeps limit and sub-fields
    assert set(pages[0]["data"][0]) == {"id", "timestamp"}


def test_insights_field_expansion(sandbox, make_account):
    """§3.5: insights.metric(…){name,values} nests `"insights":{"data":[…]}` per item."""
    acct = make_account(media_count=10)
    body = get(
        sandbox,
        acct,
        f"{acct['ig_user_id']}/media",
        fields="id,insights.metric(reach,saved){name,values}",
    ).json()
    for item in body["data"]:
        metrics = item["insights"]["data"]
        assert [m["name"] for m in metrics] == ["reach", "saved"]
        assert set(metrics[0]) == {"name", "values", "id"}


def test_field_expansion_fails_the_whole_request(sandbox, make_account):
    """§3.5/§12.9: one item whose insights fail makes the whole /media request a 400 — here a
    pre-conversion post among converted ones (2108006)."""
    acct = make_account(media_count=50, history_days=100, converted_days_ago=50)
    response = get(
        sandbox, acct, f"{acct['ig_user_id']}/media", fields="id,insights.metric(reach)", limit=100
    )
    assert response.status_code == 400
    assert response.json()["error"]["error_subcode"] == 2108006
    # The newest page alone holds only post-conversion media and succeeds.
    assert get(
        sandbox, acct, f"{acct['ig_user_id']}/media", fields="insights.metric(reach)", limit=3
    ).ok


def test_stories_field_expansion_fails_on_one_unsupported_metric(sandbox, make_account):
    """§5.2/§12.4: `saved` does not exist for stories, so /stories with it fails entirely."""
    acct = make_account(active_stories=3)
    response = get(
        sandbox, acct, f"{acct['ig_user_id']}/stories", fields="id,insights.metric(reach,saved)"
    )
    assert response.status_code == 400
    assert "does not support the saved metric" in response.json()["error"]["message"]


def test_active_stories_last_24_hours(sandbox, make_account):
    """§3.3: exactly the live stories (STORY product, stories permalink), newest first; a day
    later they are replaced and the old ids are gone (100/33)."""
    acct = make_account(active_stories=4)
    path = f"{acct['ig_user_id']}/stories"
    stories = get(sandbox, acct, path, fields="id,media_product_type,permalink,timestamp").json()[
        "data"
    ]
    assert len(stories) == 4
    assert all(
        s["media_product_type"] == "STORY" and "/stories/" in s["permalink"] for s in stories
    )
    assert [s["timestamp"] for s in stories] == sorted(
        (s["timestamp"] for s in stories), reverse=True
    )
    core.move_clock(seconds=25 * 3600)
    later = get(sandbox, acct, path).json()["data"]
    assert len(later) == 4 and not {s["id"] for s in later} & {s["id"] for s in stories}
    gone = get(sandbox, acct, stories[0]["id"]).json()["error"]
    assert gone["error_subcode"] == 33


def test_stories_exclude_feed_and_media_excludes_stories(sandbox, make_account):
    """§3.2/§3.3: /media never lists stories; control-API media merge into the right edge."""
    acct = make_account(media_count=5, active_stories=0)
    account = InstagramAccount.objects.get(ig_user_id=acct["ig_user_id"])
    now = core.now()
    post = Media.objects.create(
        media_id=world.new_media_id(),
        account=account,
        media_type="IMAGE",
        product_type="FEED",
        posted_at=now,
    )
    story = Media.objects.create(
        media_id=world.new_media_id(), account=account, product_type="STORY", posted_at=now
    )
    media = [i["id"] for i in get(sandbox, acct, f"{acct['ig_user_id']}/media").json()["data"]]
    assert media[0] == post.media_id and story.media_id not in media and len(media) == 6
    stories = get(sandbox, acct, f"{acct['ig_user_id']}/stories").json()["data"]
    assert stories == [{"id": story.media_id}]
    assert get(sandbox, acct, acct["ig_user_id"], fields="media_count").json()["media_count"] == 6


def test_large_account_paging_is_fast(sandbox, make_account):
    """§3.2: a 5,000-media account pages through lazily: 50 pages of 100, quickly."""
    acct = make_account(media_count=5000, history_days=900)
    started = time.perf_counter()
    pages = walk(sandbox, acct, limit=100)
    elapsed = time.perf_counter() - started
    assert sum(len(p["data"]) for p in pages) == 5000 and len(pages) == 50
    assert elapsed < 60, f"{elapsed:.1f}s for 50 pages"  # catches O(n²) only; bench times it


def test_media_edge_stops_at_10000_most_recent(db):
    """§3.2: /media returns at most the 10,000 most recent items even if media_count is larger
    (media_count ≠ reachable items, §12.13)."""
    from sandbox.accounts import create_account

    acct = create_account(media_count=10_050, history_days=1500)
    account = InstagramAccount.objects.get(ig_user_id=acct["ig_user_id"])
    after, seen = None, 0
    page = world.page_media(account, limit=100)
    seen += len(page.items)
    # Jump close to the end: the cursor of the 9,950th item, then page to the end.
    item = next(world.iter_media(account, before_index=10_050 - 9_950 + 1))
    after = world.encode_cursor(item.key)
    tail = []
    while True:
        page = world.page_media(account, after=after, limit=100)
        tail += page.items
        if not page.has_next:
            break
        after = page.after
    assert len(tail) == 50  # items ranked 9,951 … 10,000
