"""The report's key figures (KPI tiles), per account and for all accounts together.

Pure functions over what insights.reports.read read: no query here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..models import EngagementFormula, InstagramAccount, WindowKind
from .model import Kpi, rate
from .periods import PACIFIC, Period, is_calendar_month, long_date
from .read import MediaSummary, Numbers


def _f(value) -> float | None:
    return None if value is None else float(value)


def _sum(values: dict[date, int], period: Period) -> tuple[float | None, str]:
    present = [values[d] for d in period.days if d in values]
    if not present:
        return None, ""
    coverage = "" if len(present) == period.length else f"{len(present)} of {period.length} days"
    return float(sum(present)), coverage


def _average(values: dict[date, int], period: Period | None) -> tuple[float | None, str]:
    if period is None:
        return None, ""
    present = [values[d] for d in period.days if d in values]
    if not present:
        return None, ""
    coverage = "" if len(present) == period.length else f"{len(present)} of {period.length} days"
    return sum(present) / len(present), coverage


def _window_reach(numbers: Numbers, period: Period) -> tuple[float | None, str]:
    """Meta's de-duplicated reach for exactly this period, if it is a window Meta answers."""
    candidates = []
    if period.length == 7:
        candidates.append((WindowKind.DAYS_7, "de-duplicated, 7 days"))
    if period.length == 28:
        candidates.append((WindowKind.DAYS_28, "de-duplicated, 28 days"))
    if is_calendar_month(period):
        candidates.append((WindowKind.MONTH, "de-duplicated, calendar month"))
    for kind, note in candidates:
        value = numbers.windows.get((kind.value, period.start, period.end))
        if value is not None:
            return float(value), note
    return None, ""


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
    """Where Prism's follower history starts, and why there is none before (Meta keeps no
    follower history: the profile gives today's count only)."""
    first = numbers.first_followers
    if first is None:
        return "Prism has captured no follower count for this account yet"
    connected = account.connected_at.astimezone(PACIFIC).date() if account.connected_at else None
    when = ", when it was connected" if connected == first[0] else ""
    return f"Prism's follower history starts on {long_date(first[0])}{when}"


@dataclass
class Followers:
    kpis: list[Kpi]
    end_day: date | None  # the day of the follower count the period's figures use
    outside: bool  # that count is from after the period (none inside it)
    empty_chart: str  # what the followers chart says when the period has no count


def followers_kpis(
    account: InstagramAccount, numbers: Numbers, period: Period, comparison: Period | None
) -> Followers:
    history = history_start_note(account, numbers)
    first_day = numbers.first_followers[0] if numbers.first_followers else None

    def at_end(p: Period) -> tuple[date, int] | None:
        return _followers_at(numbers.followers, p.end, p.start)

    def growth(p: Period) -> tuple[int | None, date | None]:
        before = _followers_at(
            numbers.followers, p.start - timedelta(days=1), p.start - timedelta(1)
        )
        since = None
        if before is None:  # no count the day before: from the first count inside the period
            inside = [d for d in p.days if d in numbers.followers]
            before = (inside[0], numbers.followers[inside[0]]) if inside else None
            since = inside[0] if inside else None
        after = at_end(p)
        if after is None or before is None:
            return None, None
        return after[1] - before[1], since

    end, outside = at_end(period), False
    note = f"on {long_date(period.end)}"
    if end is None and period.end in numbers.next_followers:
        # None in the period: the nearest later count, clearly labelled; never invented history.
        end, outside = numbers.next_followers[period.end], True
        note = f"on {long_date(end[0])}, after this period · {history}"
    elif end is not None and end[0] != period.end:
        note = f"on {long_date(end[0])}, the period's last day with a count"
    net, since = growth(period)
    if net is None:
        net_note = f"{history}; Meta keeps no follower history"
    elif since is not None:
        net_note = f"since {long_date(since)}, the first day with a count in the period"
        if since == first_day:
            net_note += f" · {history}"
    else:
        net_note = "followers at the end minus the day before the period"
    previous_end = at_end(comparison) if comparison else None
    kpis = [
        Kpi(
            "followers",
            "Followers",
            _f(end[1] if end else None),
            _f(previous_end[1] if previous_end else None),
            note=note,
            outside=outside,
        ),
        Kpi(
            "net_growth",
            "Net follower growth",
            _f(net),
            _f(growth(comparison)[0]) if comparison else None,
            note=net_note,
        ),
    ]
    new_follows = numbers.daily.get(("follower_count", ""), {})
    new, new_cov = _sum(new_follows, period)
    previous_new = _sum(new_follows, comparison)[0] if comparison else None
    if new is not None or previous_new is not None:
        kpis.append(
            Kpi(
                "new_followers",
                "New followers",
                new,
                previous_new,
                note="Meta's new follows per day (unfollows not counted; Meta keeps 30 days)",
                coverage=new_cov,
            )
        )
    if first_day is not None and first_day > period.end:
        empty = f"{history}. Meta keeps no follower history."
    elif first_day is None:
        empty = f"{history}."
    else:
        empty = "No follower count in this period"
    return Followers(kpis, end[0] if end else None, outside, empty)


def _engagement(
    formula: str,
    interactions: float | None,
    followers: float | None,
    reach: float | None,
    views: float | None,
    post_average: float | None,
) -> float | None:
    if formula == EngagementFormula.FOLLOWERS:
        return rate(interactions, followers)
    if formula == EngagementFormula.REACH:
        return rate(interactions, reach)
    if formula == EngagementFormula.VIEWS:
        return rate(interactions, views)
    return post_average


def _pooled(sections, flag: str) -> float | None:
    total = sum(s.rate_sums.get(flag, (0.0, 0))[0] for s in sections)
    count = sum(s.rate_sums.get(flag, (0.0, 0))[1] for s in sections)
    return total / count if count else None


@dataclass
class AccountKpis:
    kpis: list[Kpi]
    followers: Followers
    formula_note: str  # which day's followers the engagement rate divides by


def account_kpis(
    account: InstagramAccount,
    numbers: Numbers,
    media: MediaSummary,
    period: Period,
    comparison: Period | None,
    formula: str,
) -> AccountKpis:
    daily = numbers.daily

    def total(metric: str, p: Period | None) -> tuple[float | None, str]:
        return _sum(daily.get((metric, ""), {}), p) if p else (None, "")

    def post_rate(flag: str) -> float | None:
        n = media.rate_n.get(flag, 0)
        return media.rate_sum[flag] / n if n else None

    follower_figures = followers_kpis(account, numbers, period, comparison)
    kpis = follower_figures.kpis
    followers_end, followers_prev = kpis[0].value, kpis[0].previous

    reach, reach_note = _window_reach(numbers, period)
    prev_reach = _window_reach(numbers, comparison)[0] if comparison else None
    if reach is not None or prev_reach is not None:
        kpis.append(Kpi("reach", "Reach", reach, prev_reach, note=reach_note))
    else:
        daily_reach = daily.get(("reach", ""), {})
        avg = _average(daily_reach, period)
        kpis.append(
            Kpi(
                "reach_daily",
                "Average daily reach",
                avg[0],
                _average(daily_reach, comparison)[0] if comparison else None,
                note="the average of Meta's daily reach; daily reach cannot be added up, and "
                "Meta gives de-duplicated reach only for 7 and 28 days and calendar months",
                coverage=avg[1],
            )
        )

    views, views_cov = total("views", period)
    prev_views = total("views", comparison)[0]
    interactions, inter_cov = total("total_interactions", period)
    prev_interactions = total("total_interactions", comparison)[0]
    kpis.append(Kpi("views", "Views", views, prev_views, coverage=views_cov))
    # Days Meta reported story replies as 0 under its EU/Japan rule (AccountDaily.zeroed_by_region):
    # the interactions are Meta's figure, without replies, and the tile says so.
    zeroed = [d for d in daily.get(("replies", ""), {}) if period.start <= d <= period.end]
    kpis.append(
        Kpi(
            "interactions",
            "Interactions",
            interactions,
            prev_interactions,
            note="likes, comments, saves, shares and reposts; Meta gives story replies as 0 "
            "for accounts in the EU and Japan, so none are counted"
            if zeroed
            else "likes, comments, saves, shares, replies and reposts",
            coverage=inter_cov,
        )
    )
    formula_note = ""
    if formula == EngagementFormula.FOLLOWERS and follower_figures.end_day is not None:
        formula_note = f"interactions ÷ followers on {long_date(follower_figures.end_day)}"
        if follower_figures.outside:
            formula_note += " (after the period: Prism has no count inside it)"
    kpis.append(
        Kpi(
            "engagement_rate",
            "Engagement rate",
            _engagement(formula, interactions, followers_end, reach, views, post_rate("cur")),
            _engagement(
                formula,
                prev_interactions,
                followers_prev,
                prev_reach,
                prev_views,
                post_rate("prev"),
            )
            if comparison
            else None,
            unit="percent",
            note=formula_note or EngagementFormula(formula).label,
            outside=follower_figures.outside and formula == EngagementFormula.FOLLOWERS,
        )
    )
    profile_views, pv_cov = total("profile_views", period)
    kpis.append(
        Kpi(
            "profile_activity",
            "Profile visits",
            profile_views,
            total("profile_views", comparison)[0],
            note="" if profile_views is not None else "Meta no longer reports profile visits",
            coverage=pv_cov,
        )
    )
    taps, taps_cov = total("profile_links_taps", period)
    kpis.append(
        Kpi(
            "link_taps",
            "Link taps",
            taps,
            total("profile_links_taps", comparison)[0],
            note="taps on the profile's contact and link buttons",
            coverage=taps_cov,
        )
    )
    kpis.append(
        Kpi(
            "posts",
            "Posts published",
            float(media.posts.get("cur", 0)),
            float(media.posts.get("prev", 0)) if comparison else None,
            note=f"and {media.stories} stories" if media.stories else "",
        )
    )
    return AccountKpis(kpis, follower_figures, formula_note)


def rollup_kpis(sections, comparison: Period | None, formula: str) -> list[Kpi]:
    """All the client's accounts together. Counts add up; reach does not (one person can follow
    two accounts), so the roll-up shows none."""

    def add(key: str, attr: str) -> float | None:
        values = [getattr(k, attr) for s in sections for k in s.kpis if k.key == key]
        known = [v for v in values if v is not None]
        return float(sum(known)) if known else None

    kpis = []
    for key, label in (
        ("followers", "Followers"),
        ("net_growth", "Net follower growth"),
        ("views", "Views"),
        ("interactions", "Interactions"),
        ("link_taps", "Link taps"),
        ("posts", "Posts published"),
    ):
        kpis.append(Kpi(key, label, add(key, "value"), add(key, "previous")))
    outside = [
        s.title for s in sections for k in s.kpis if k.key == "followers" and k.outside and k.value
    ]
    if outside:
        kpis[0].outside = True
        kpis[0].note = f"includes counts from after the period for {', '.join(outside)}"
    kpis.insert(
        2,
        Kpi(
            "reach",
            "Reach",
            None,
            None,
            note="not added across accounts: the same person can be reached by several",
        ),
    )
    values = {k.key: k for k in kpis}

    def pooled_rate(attr: str, post_average: float | None) -> float | None:
        interactions = getattr(values["interactions"], attr)
        if formula == EngagementFormula.FOLLOWERS:
            return rate(interactions, getattr(values["followers"], attr))
        if formula == EngagementFormula.VIEWS:
            return rate(interactions, getattr(values["views"], attr))
        if formula == EngagementFormula.POST_REACH:
            return post_average
        return None  # by reach: no de-duplicated reach across accounts

    kpis.insert(
        5,
        Kpi(
            "engagement_rate",
            "Engagement rate",
            pooled_rate("value", _pooled(sections, "cur")),
            pooled_rate("previous", _pooled(sections, "prev")) if comparison else None,
            unit="percent",
            note=EngagementFormula(formula).label,
            outside=kpis[0].outside and formula == EngagementFormula.FOLLOWERS,
        ),
    )
    if any(k.key == "new_followers" for s in sections for k in s.kpis):
        new = Kpi(
            "new_followers",
            "New followers",
            *(add("new_followers", a) for a in ("value", "previous")),
        )
        kpis.insert(2, new)
    return kpis
