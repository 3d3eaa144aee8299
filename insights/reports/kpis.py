"""The report's key figures (KPI tiles), per account and for all accounts together.

Pure functions over what insights.reports.read read: no query here. Each tile is a number, a
change and at most one short line; what a figure means is the glossary's (`glossary`).

A change against the comparison period is shown only where both periods' figures cover
comparable data; otherwise `Kpi.why` says briefly why there is none:
- a sum or an average of daily values: the share of days with data in each period differs by
  at most COVERAGE_SLACK (a previous period with 3 of 28 days gave "+3,320 %");
- followers on a day: each period has its own count;
- net follower growth: each period has a count before it starts and one at its end;
- Meta's de-duplicated reach: both periods' windows are stored;
- per-post engagement: both periods have posts with the figure.
Reach is never a sum of daily reach: the period's de-duplicated window where Meta gives one,
else the average daily reach, labelled (and, for long periods, the calendar months' windows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..models import EngagementFormula, InstagramAccount
from .model import Kpi, rate
from .periods import PACIFIC, Period, is_calendar_month, long_date
from .read import MediaSummary, Numbers

COVERAGE_SLACK = 0.10  # at most 10 points apart: 26 of 28 days against 28 of 28 compares
MAX_WINDOW_DAYS = 30  # Meta's de-duplicated reach covers at most 30 days


def _f(value) -> float | None:
    return None if value is None else float(value)


def short_date(day: date, reference: date) -> str:
    """3 Nov, or 3 Nov 2025 when the year is not the reference's."""
    text = f"{day.day} {day.strftime('%b')}"
    return text if day.year == reference.year else f"{text} {day.year}"


# --- Daily values: sums and averages, and whether two periods compare ---------------------------


def _present(values: dict[date, int], period: Period | None) -> list[int]:
    if period is None:
        return []
    return [values[d] for d in period.days if d in values]


def coverage_text(days: int, period: Period) -> str:
    return "" if days >= period.length else f"{days} of {period.length} days"


def coverage_why(
    days: int, period: Period, previous_days: int, comparison: Period | None, name: str
) -> str:
    """'' when the two periods' days with data are comparable, else why there is no change."""
    if comparison is None or (days == 0 and previous_days == 0):
        return ""
    share, previous_share = days / period.length, previous_days / comparison.length
    if days and previous_days and abs(share - previous_share) <= COVERAGE_SLACK:
        return ""
    if previous_share <= share:
        return f"{name}: {previous_days} of {comparison.length} days with data"
    return f"this period: {days} of {period.length} days with data"


def daily_kpi(
    key: str,
    label: str,
    values: dict[date, int],
    period: Period,
    comparison: Period | None,
    name: str,
    *,
    average: bool = False,
    note: str = "",
) -> Kpi:
    """A tile over Meta's daily values: their sum (counts) or their average (daily reach)."""

    def figure(present: list[int]) -> float | None:
        if not present:
            return None
        return sum(present) / len(present) if average else float(sum(present))

    current, previous = _present(values, period), _present(values, comparison)
    return Kpi(
        key,
        label,
        figure(current),
        figure(previous) if comparison else None,
        note=note,
        coverage=coverage_text(len(current), period) if current else "",
        why=coverage_why(len(current), period, len(previous), comparison, name),
    )


# --- Reach --------------------------------------------------------------------------------------


def reach_kpi(numbers: Numbers, period: Period, comparison: Period | None, name: str) -> Kpi:
    """Meta's de-duplicated reach of the period where it is stored (a period of up to 30 days),
    else the average daily reach, labelled as such. Never a sum of daily reach."""
    if period.length <= MAX_WINDOW_DAYS:
        value = numbers.window(period.start, period.end)
        if value is not None:
            previous = numbers.window(comparison.start, comparison.end) if comparison else None
            kind = "calendar month" if is_calendar_month(period) else f"{period.length} days"
            return Kpi(
                "reach",
                "Reach",
                float(value),
                _f(previous),
                note=f"de-duplicated, {kind}",
                why=f"{name}: no de-duplicated reach" if comparison and previous is None else "",
            )
    return daily_kpi(
        "reach_daily",
        "Average daily reach",
        numbers.daily.get(("reach", ""), {}),
        period,
        comparison,
        name,
        average=True,
        note="per day; reach does not add up",
    )


# --- Followers ----------------------------------------------------------------------------------


def _followers_at(
    followers: dict[date, int], day: date, not_before: date
) -> tuple[date, int] | None:
    """The follower count on `day`, or on the closest earlier day down to `not_before`."""
    current = day
    while current >= not_before:
        if current in followers:
            return current, followers[current]
        current -= timedelta(days=1)
    return None


def history_start_note(account: InstagramAccount, numbers: Numbers) -> str:
    """Where the account's follower history starts (Meta keeps none: its profile gives today's
    count only, so the history is the counts taken since the account was connected)."""
    first = numbers.first_followers
    if first is None:
        return "No follower count has been taken for this account yet"
    connected = account.connected_at.astimezone(PACIFIC).date() if account.connected_at else None
    when = ", when the account was connected" if connected == first[0] else ""
    return f"Follower history starts on {long_date(first[0])}{when}"


@dataclass
class Followers:
    kpis: list[Kpi]
    end_day: date | None  # the day of the follower count the period's figures use
    end_count: float | None
    previous_count: float | None  # the comparison period's
    outside: bool  # that count is from after the period (none inside it)
    history: str  # where the follower history starts
    empty_chart: str  # what the followers chart says when the period has no count


def followers_kpis(
    account: InstagramAccount,
    numbers: Numbers,
    period: Period,
    comparison: Period | None,
    name: str,
) -> Followers:
    counts = numbers.followers
    history = history_start_note(account, numbers)
    first_day = numbers.first_followers[0] if numbers.first_followers else None
    ref = period.end

    def at_end(p: Period) -> tuple[date, int] | None:
        return _followers_at(counts, p.end, p.start)

    def growth(p: Period) -> tuple[int | None, date | None]:
        """(end count minus the count before the period, or since the first count inside it
        (that day), or None): growth needs two counts on two days."""
        before = _followers_at(counts, p.start - timedelta(days=1), p.start - timedelta(days=1))
        since = None
        if before is None:
            inside = [d for d in p.days if d in counts]
            before = (inside[0], counts[inside[0]]) if inside else None
            since = inside[0] if inside else None
        after = at_end(p)
        if after is None or before is None or after[0] == before[0]:
            return None, None
        return after[1] - before[1], since

    def before_history(p: Period) -> str:
        if first_day is not None and first_day > p.start - timedelta(days=1):
            return f"follower history starts {short_date(first_day, ref)}"
        return ""

    end, outside = at_end(period), False
    note = f"on {short_date(end[0], ref)}" if end else ""
    if end is None and period.end in numbers.next_followers:
        # None in the period: the nearest later count, clearly labelled; never invented history.
        end, outside = numbers.next_followers[period.end], True
        note = f"on {short_date(end[0], ref)}, after this period"
    previous_end = at_end(comparison) if comparison else None
    why = ""
    if comparison and end and (outside or previous_end is None):
        started = before_history(comparison) if previous_end is None else ""
        why = f"{name}: {started}" if started else f"{name}: no follower count"
    kpis = [
        Kpi(
            "followers",
            "Followers",
            _f(end[1] if end else None),
            _f(previous_end[1] if previous_end else None),
            note=note,
            outside=outside,
            why=why,
        )
    ]

    net, since = growth(period)
    previous_net, previous_since = growth(comparison) if comparison else (None, None)
    net_note = f"since {short_date(since, ref)}" if since else ""
    if net is None:
        net_note = before_history(period) or "needs two counts"
    net_why = ""
    if comparison and net is not None:
        if since is not None:
            net_why = f"this period: counts from {short_date(since, ref)}"
        elif previous_net is None or previous_since is not None:
            started = before_history(comparison)
            net_why = f"{name}: {started}" if started else f"{name}: no follower counts"
    kpis.append(
        Kpi(
            "net_growth",
            "Net follower growth",
            _f(net),
            _f(previous_net) if previous_since is None else None,
            note=net_note,
            why=net_why,
        )
    )
    new_follows = numbers.daily.get(("follower_count", ""), {})
    if _present(new_follows, period) or _present(new_follows, comparison):
        kpis.append(
            daily_kpi("new_followers", "New followers", new_follows, period, comparison, name)
        )
    if first_day is None or first_day > period.end:
        empty = f"{history}."
    else:
        empty = "No follower count in this period"
    return Followers(
        kpis=kpis,
        end_day=end[0] if end else None,
        end_count=_f(end[1]) if end else None,
        previous_count=_f(previous_end[1]) if previous_end else None,
        outside=outside,
        history=history,
        empty_chart=empty,
    )


# --- Engagement ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostSums:
    """Per-post figures of one period (stories aside): the sum of interactions ÷ reach × 100
    over `rated` posts, and the sum of interactions over `counted` posts."""

    rate_sum: float = 0.0
    rated: int = 0
    interactions: float = 0.0
    counted: int = 0

    @classmethod
    def of(cls, media: MediaSummary, flag: str) -> PostSums:
        return cls(
            media.rate_sum.get(flag, 0.0),
            media.rate_n.get(flag, 0),
            media.interactions_sum.get(flag, 0.0),
            media.interactions_n.get(flag, 0),
        )


def engagement(formula: str, sums: PostSums, followers: float | None) -> float | None:
    """Per post, by reach: each post's interactions ÷ its reach, averaged. Per post, by
    followers: each post's interactions ÷ the followers at the period's end, averaged."""
    if formula == EngagementFormula.POST_FOLLOWERS:
        if not sums.counted:
            return None
        return rate(sums.interactions / sums.counted, followers)
    return sums.rate_sum / sums.rated if sums.rated else None


def _engagement_kpi(
    formula: str,
    current: PostSums,
    previous: PostSums | None,
    followers: float | None,
    previous_followers: float | None,
    name: str,
) -> Kpi:
    value = engagement(formula, current, followers)
    before = engagement(formula, previous, previous_followers) if previous else None
    why = ""
    if previous is not None and value is not None and before is None:
        posts = previous.counted if formula == EngagementFormula.POST_FOLLOWERS else previous.rated
        why = f"{name}: no posts with the figure" if not posts else f"{name}: no follower count"
    return Kpi(
        "engagement_rate",
        "Engagement rate",
        value,
        before,
        unit="percent",
        note=EngagementFormula(formula).label.lower(),
        why=why,
    )


# --- One account --------------------------------------------------------------------------------


@dataclass
class AccountKpis:
    kpis: list[Kpi]
    followers: Followers
    post_sums: dict[str, PostSums]  # "cur" / "prev"
    interactions_without_replies: bool  # Meta gave story replies as 0 (EU/Japan rule)


def account_kpis(
    account: InstagramAccount,
    numbers: Numbers,
    media: MediaSummary,
    period: Period,
    comparison: Period | None,
    formula: str,
    name: str,
) -> AccountKpis:
    """The tiles of one account. `name` is the comparison's name in the tiles' lines
    ("previous period", "same period last year")."""
    daily = numbers.daily

    def tile(key: str, label: str, metric: str) -> Kpi:
        return daily_kpi(key, label, daily.get((metric, ""), {}), period, comparison, name)

    follower_figures = followers_kpis(account, numbers, period, comparison, name)
    kpis = list(follower_figures.kpis)
    kpis.append(reach_kpi(numbers, period, comparison, name))
    kpis.append(tile("views", "Views", "views"))
    kpis.append(tile("interactions", "Interactions", "total_interactions"))
    sums = {"cur": PostSums.of(media, "cur"), "prev": PostSums.of(media, "prev")}
    kpis.append(
        _engagement_kpi(
            formula,
            sums["cur"],
            sums["prev"] if comparison else None,
            follower_figures.end_count,
            follower_figures.previous_count,
            name,
        )
    )
    visits = tile("profile_activity", "Profile visits", "profile_views")
    if visits.value is not None or visits.previous is not None:  # Meta stopped giving them
        kpis.append(visits)
    kpis.append(tile("link_taps", "Link taps", "profile_links_taps"))
    kpis.append(_posts_kpi(account, media, comparison, name))
    # Days Meta reported story replies as 0 under its EU/Japan rule (AccountDaily's
    # zeroed_by_region): its interactions count no replies those days; the glossary says so.
    zeroed = any(d in period for d in daily.get(("replies", ""), {}))
    return AccountKpis(kpis, follower_figures, sums, zeroed)


def _posts_kpi(
    account: InstagramAccount, media: MediaSummary, comparison: Period | None, name: str
) -> Kpi:
    if account.media_listed_at is None:
        # Meta's list of the account's media has not been read yet: a count would be a claim.
        return Kpi("posts", "Posts published", None, None, note="being read from Instagram")
    stories = media.stories
    return Kpi(
        "posts",
        "Posts published",
        float(media.posts.get("cur", 0)),
        float(media.posts.get("prev", 0)) if comparison else None,
        note=f"and {stories} {'story' if stories == 1 else 'stories'}" if stories else "",
    )


# --- All accounts together ----------------------------------------------------------------------


def rollup_kpis(sections, comparison: Period | None, formula: str) -> list[Kpi]:
    """All the client's accounts together. Counts add up; reach does not (one person can follow
    two accounts), so the roll-up shows none. A change is shown only where every account's is."""

    def tiles(key: str) -> list[Kpi]:
        return [k for s in sections for k in s.kpis if k.key == key]

    def added(key: str, label: str) -> Kpi:
        found = tiles(key)
        values = [k.value for k in found if k.value is not None]
        previous = [k.previous for k in found if k.previous is not None]
        whys = [k.why for k in found if k.why]
        return Kpi(
            key,
            label,
            float(sum(values)) if values else None,
            float(sum(previous)) if previous and len(previous) == len(found) else None,
            why=whys[0] if whys else "",
        )

    kpis = [
        added("followers", "Followers"),
        added("net_growth", "Net follower growth"),
    ]
    if tiles("new_followers"):
        kpis.append(added("new_followers", "New followers"))
    kpis += [added("views", "Views"), added("interactions", "Interactions")]
    if any(k.outside and k.value for k in tiles("followers")):
        kpis[0].outside = True
        kpis[0].note = "includes counts from after the period"

    def pooled(flag: str) -> float | None:
        if formula == EngagementFormula.POST_FOLLOWERS:
            parts = [
                (s.post_sums[flag].interactions / count, s.post_sums[flag].counted)
                for s in sections
                if (count := s.follower_counts.get(flag)) and s.post_sums[flag].counted
            ]
            posts = sum(n for _, n in parts)
            return sum(share for share, _ in parts) / posts * 100 if posts else None
        rated = sum(s.post_sums[flag].rated for s in sections)
        total = sum(s.post_sums[flag].rate_sum for s in sections)
        return total / rated if rated else None

    kpis.append(
        Kpi(
            "engagement_rate",
            "Engagement rate",
            pooled("cur"),
            pooled("prev") if comparison else None,
            unit="percent",
            note=EngagementFormula(formula).label.lower(),
        )
    )
    kpis += [added("link_taps", "Link taps"), added("posts", "Posts published")]
    return kpis
