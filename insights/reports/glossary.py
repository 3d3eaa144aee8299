"""The report's glossary: what each figure means, its formula and its caveats, at the end of the
report (tiles carry a number, a change and one short line; everything longer is here).

Pure: the same report gives the same entries. Only terms the report shows are explained, in
the agency's voice (nothing here names the tool that made the report).
"""

from __future__ import annotations

from .model import Report

MISSING = "—"
BEST_TIME_HELP = (
    "Worked out from the account's own posts, reels and carousels (stories aside): the reach "
    "each reached at the same age, by the weekday and hour it was published, in the client's "
    "time zone. An hour shows a median once it has 3 posts; a best day or hour is named once it "
    "has 5 posts and another has as many to compare with. It describes what happened to past "
    "posts, with every format together; it is not a promise for the next one."
)
NORMAL_HELP = (
    "Each post, reel, carousel and story is compared with the account's own items of the same "
    "format published in the 90 days before it, at the same age, since a post's figures keep "
    "growing after it is published: at 1 day, at 7 days, or at 30 days or more, when they have "
    "nearly stopped growing (posts published before the account was connected were first read "
    "when already older, so they are compared from 30 days); stories on their final figures. "
    "Its usual reach is the median of at least 5 such items; its normal range is where 8 in 10 "
    "of them landed. Reach by format gives each format's median and middle half (the middle 50% "
    "of items) at each age; with fewer than 5 items no median is given."
)


def _shown(report: Report, key: str) -> bool:
    return any(k.key == key for s in report.all_sections for k in s.kpis)


def glossary(report: Report) -> list[tuple[str, str]]:
    """(term, explanation) pairs, in the order the report shows the terms."""
    sections = report.sections
    entries: list[tuple[str, str]] = []
    if _shown(report, "followers"):
        histories = [
            f"{s.title}: {s.follower_history[0].lower()}{s.follower_history[1:]}"
            for s in sections
            if s.follower_history
        ]
        entries.append(
            (
                "Followers",
                "The follower count on the period's last day with a count. Instagram keeps no "
                "follower history, so the history is the counts taken every day since the "
                "account was connected" + (f" ({'; '.join(histories)})" if histories else "") + ".",
            )
        )
        entries.append(
            (
                "Net follower growth",
                "Followers at the end of the period minus followers the day before it starts; "
                "it needs two counts, so a period before the follower history shows none.",
            )
        )
    if _shown(report, "new_followers"):
        entries.append(
            (
                "New followers",
                "Instagram's count of new follows per day (unfollows are not counted). "
                "Instagram keeps it for the last 30 days only, so older periods have none.",
            )
        )
    if _shown(report, "reach") or _shown(report, "reach_daily"):
        entries.append(
            (
                "Reach",
                "The number of accounts that saw the content at least once, counted once over "
                "the whole period (de-duplicated by Instagram). Instagram gives it for periods "
                "of up to 30 days; for longer periods the report shows the average daily reach "
                "and each calendar month's reach. Daily reach is never added up: one person "
                "reached on several days would be counted several times.",
            )
        )
    if _shown(report, "views"):
        entries.append(
            (
                "Views",
                "The number of times posts, reels and stories were played or displayed, "
                "repeats included (Instagram's views, which replaced impressions in 2025).",
            )
        )
    if _shown(report, "interactions"):
        text = (
            "Likes, comments, saves, shares, replies and reposts on the account's content, "
            "as Instagram counts them day by day."
        )
        if any(s.interactions_without_replies for s in sections):
            text += (
                " For accounts in the EU and Japan Instagram gives story replies as 0 under its "
                "privacy rules, so no replies are counted on those days."
            )
        entries.append(("Interactions", text))
    if _shown(report, "engagement_rate"):
        formula = report.engagement_help
        entries.append(("Engagement rate", f"{formula[0].upper()}{formula[1:]}."))
    if _shown(report, "profile_activity"):
        entries.append(
            ("Profile visits", "Visits to the profile, as long as Instagram reported them.")
        )
    if _shown(report, "link_taps"):
        entries.append(("Link taps", "Taps on the profile's contact and link buttons."))
    if _shown(report, "posts"):
        entries.append(
            (
                "Posts published",
                "Posts, reels and carousels published in the period, with the stories beside "
                "them. A post's figures are its lifetime totals as of its latest reading, not "
                "limited to the period.",
            )
        )
    if any(s.stories for s in sections):
        text = (
            "Captured: final figures taken before the story expired. Captured late: the last "
            "reading came early, so figures may fall short. Missed: the story's figures could "
            "not be read before Instagram deleted them. Live: the story is still up."
        )
        if any(s.replies_zeroed for s in sections):
            text += " * Instagram gives replies as 0 in the EU and Japan: no figure is shown."
        entries.append(("Stories", text))
    insights = [s.insight for s in sections if s.insight]
    if any(i.normals or i.formats for i in insights):
        entries.append(("Against its normal", NORMAL_HELP))
    if any(i.best_time for i in insights):
        entries.append(("Best posting hours", BEST_TIME_HELP))
    if any(s.demographics for s in sections):
        entries.append(
            (
                "Audience",
                "Instagram counts only followers whose details it knows and gives at most its "
                "top 45 groups, so the groups add up to less than the follower count.",
            )
        )
    if report.comparison is not None:
        entries.append(
            (
                "Changes",
                f"Against the {report.compare_label.lower()} ({report.comparison.label}). A "
                "change is shown only where both periods have comparable data; otherwise the "
                "tile says why.",
            )
        )
    entries.append(
        (
            "Days and times",
            "Daily figures follow Instagram's days, which end at midnight Pacific time; "
            f"posting times are in {report.time_zone}. Instagram may revise the last two days' "
            f"figures. {MISSING} means Instagram gave no figure: it is never a zero.",
        )
    )
    return entries
