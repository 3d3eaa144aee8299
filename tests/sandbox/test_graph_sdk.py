"""Meta's own Python SDK (facebook_business) runs a realistic read workload against the sandbox
with nothing changed but its base URL (graph-api.md §11: same client code, configuration only).
The SDK sends list parameters as JSON arrays and follows cursor paging itself."""

import warnings
from datetime import timedelta

import pytest
from facebook_business.adobjects.igmedia import IGMedia
from facebook_business.adobjects.iguser import IGUser
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError

from sandbox import core, world


@pytest.fixture
def api(live_server):
    def build(token: str) -> FacebookAdsApi:
        session = FacebookSession(access_token=token)
        session.GRAPH = f"{live_server.url}/_sandbox/graph.facebook.com"  # the only change
        # Not FacebookAdsApi.init(): that also installs the SDK's crash reporter.
        return FacebookAdsApi(session, api_version="v25.0")

    return build


def test_sdk_read_workload(sandbox, make_account, api):
    """§3.1, §3.2, §4, §5 through facebook_business: profile, every media page, media insights,
    account insights as a series and as window totals."""
    acct = make_account(followers=6000, media_count=60)
    client = api(acct["access_token"])
    user = IGUser(acct["ig_user_id"], api=client)
    profile = user.api_get(fields=["username", "followers_count", "media_count"])
    assert (profile["username"], profile["followers_count"], profile["media_count"]) == (
        acct["username"],
        6000,
        60,
    )

    media = list(
        user.get_media(
            fields=["id", "media_type", "media_product_type", "timestamp"], params={"limit": 25}
        )
    )
    assert len(media) == 60 and len({m["id"] for m in media}) == 60

    # A photo or album: feed videos refuse `views` by default (world setting, §12.4).
    feed = next(
        m for m in media if m["media_product_type"] == "FEED" and m["media_type"] != "VIDEO"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK's enum list lags behind Meta's metrics
        metrics = IGMedia(feed["id"], api=client).get_insights(
            params={"metric": ["reach", "views", "likes", "saved"]}
        )
        values = {m["name"]: m["values"][0]["value"] for m in metrics}
        assert values["likes"] < values["reach"] <= values["views"]

        today = world.pacific_day(core.now())
        since = int(world.day_start(today - timedelta(days=14)).timestamp())
        until = int(world.day_start(today).timestamp())
        series = list(
            user.get_insights(
                params={
                    "metric": ["reach", "follower_count"],
                    "period": ["day"],
                    "since": since,
                    "until": until,
                }
            )
        )
        assert [s["name"] for s in series] == ["reach", "follower_count"]
        assert len(series[0]["values"]) == 14

        totals = list(
            user.get_insights(
                params={
                    "metric": ["views", "accounts_engaged", "total_interactions"],
                    "period": ["day"],
                    "metric_type": "total_value",
                    "breakdown": [],
                    "since": since,
                    "until": until,
                }
            )
        )
        assert all(t["total_value"]["value"] > 0 for t in totals)

        demographics = list(
            user.get_insights(
                params={
                    "metric": ["follower_demographics"],
                    "period": ["lifetime"],
                    "metric_type": "total_value",
                    "timeframe": "this_month",
                    "breakdown": ["country"],
                }
            )
        )
        assert demographics[0]["total_value"]["breakdowns"][0]["results"]


def test_sdk_sees_meta_errors(make_account, api):
    """§6: the SDK parses the sandbox's error envelope into FacebookRequestError."""
    acct = make_account()
    user = IGUser(acct["ig_user_id"], api=api(acct["access_token"]))
    with pytest.raises(FacebookRequestError) as raised, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        list(user.get_insights(params={"metric": ["views"], "period": ["day"]}))
    assert raised.value.api_error_code() == 100
    assert "metric_type=total_value" in raised.value.api_error_message()
