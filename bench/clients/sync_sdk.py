"""Meta's facebook-business SDK, unmodified but for its base URL (session.GRAPH), reads each
account as a client would: profile, every media page, each media's insights (plain calls, then
the same through the SDK's synchronous batch), account insights and demographics."""

from __future__ import annotations

import warnings

from common import args, report, window
from facebook_business.adobjects.igmedia import IGMedia
from facebook_business.adobjects.iguser import IGUser
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError

# What the media insights reference documents per product type (docs/graph-api.md §5).
METRICS = {
    "FEED": ["reach", "views", "likes", "comments", "saved", "shares", "total_interactions"],
    "REELS": [
        "reach",
        "views",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
    ],
}


def main() -> None:
    warnings.simplefilter("ignore")  # the SDK's enum lists lag behind Meta's metrics
    run = args()
    for account in run["accounts"]:
        host = "graph.facebook.com" if account["login"] == "facebook" else "graph.instagram.com"
        session = FacebookSession(access_token=account["access_token"])
        session.GRAPH = f"{run['sandbox']}/_sandbox/{host}"
        api = FacebookAdsApi(session)
        counts, errors = {"media": 0, "insights": 0, "batch": 0, "user_insights": 0}, []
        try:
            user = IGUser(account["ig_user_id"], api=api)
            user.api_get(fields=["username", "followers_count", "media_count"])
            media = list(
                user.get_media(
                    fields=["id", "media_type", "media_product_type"], params={"limit": 50}
                )
            )
            counts["media"] = len(media)
            for item in media:
                metrics = METRICS.get(item.get("media_product_type"), METRICS["FEED"])
                IGMedia(item["id"], api=api).get_insights(params={"metric": metrics})
                counts["insights"] += 1
            if account["login"] == "facebook":
                batch = api.new_batch()
                failed, answered = [], []
                for item in media[:50]:
                    metrics = METRICS.get(item.get("media_product_type"), METRICS["FEED"])
                    IGMedia(item["id"], api=api).get_insights(
                        params={"metric": metrics},
                        batch=batch,
                        success=answered.append,
                        failure=lambda r, failed=failed: failed.append(str(r.error())[:200]),
                    )
                batch.execute()
                counts["batch"] = len(answered)
                errors += failed
            since, until = window()
            user.get_insights(
                params={"metric": ["reach"], "period": ["day"], "since": since, "until": until}
            )
            user.get_insights(
                params={
                    "metric": ["views", "accounts_engaged", "total_interactions"],
                    "period": ["day"],
                    "metric_type": "total_value",
                    "since": since,
                    "until": until,
                }
            )
            user.get_insights(
                params={
                    "metric": ["follower_demographics"],
                    "period": ["lifetime"],
                    "metric_type": "total_value",
                    "timeframe": "this_month",
                    "breakdown": ["age"],
                }
            )
            counts["user_insights"] = 3
        except FacebookRequestError as error:
            errors.append(f"{error.api_error_code()}: {error.api_error_message()}"[:300])
        report("facebook-business", account, counts, errors)


if __name__ == "__main__":
    main()
