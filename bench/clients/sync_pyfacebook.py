"""python-facebook-api (module pyfacebook), unmodified but for its documented base_url option,
reads each account: profile, media, each media's insights, account insights."""

from __future__ import annotations

from common import args, report, window
from pyfacebook import IGBusinessApi
from pyfacebook.exceptions import PyFacebookException

METRICS = {
    "FEED": "reach,views,likes,comments,saved,shares,total_interactions",
    "REELS": "reach,views,likes,comments,saved,shares,total_interactions,ig_reels_avg_watch_time",
}


def main() -> None:
    run = args()
    for account in run["accounts"]:
        host = "graph.facebook.com" if account["login"] == "facebook" else "graph.instagram.com"
        api = IGBusinessApi(
            access_token=account["access_token"],
            instagram_business_id=account["ig_user_id"],
            base_url=f"{run['sandbox']}/_sandbox/{host}/",
            version="v27.0",
        )
        counts, errors = {"media": 0, "insights": 0, "user_insights": 0}, []
        try:
            api.user.get_info(fields="id,username,followers_count,media_count")
            media = api.user.get_media(fields="id,media_type,media_product_type", count=None)
            counts["media"] = len(media.data)
            for item in media.data:
                metrics = METRICS.get(item.media_product_type, METRICS["FEED"])
                api.media.get_insights(media_id=item.id, metric=metrics)
                counts["insights"] += 1
            since, until = window()
            api.user.get_insights(metric="reach", period="day", since=since, until=until)
            api.user.get_insights(
                metric="views,accounts_engaged,total_interactions",
                period="day",
                since=since,
                until=until,
                metric_type="total_value",
            )
            counts["user_insights"] = 2
        except PyFacebookException as error:
            errors.append(str(error)[:300])
        report("python-facebook-api", account, counts, errors)


if __name__ == "__main__":
    main()
