"""Highlights: three to six sentences at the top of a report, written from the report's own
facts by rules (no model writes them; the same report gives the same sentences).

Every figure in a sentence is a figure the report shows, in the report's own formatting: the
tiles' values and changes come from `page.kpi_view`, a post's judgement from its card. So:

1. what happened: the client's reach, views and interactions;
2. the biggest movements, at most two: only tiles whose change the report shows (the
   coverage-aware comparison of `kpis`; a tile with a `why` has none and is never described
   as a movement), of at least MIN_MOVE percent;
3. the best post and why: the shown post or reel furthest above its normal
   (`normals`), else the top post by interactions; the best weekday to post (`besttime`);
4. what is missing: a tile the comparison leaves out, days without data, history still being
   filled in.
"""

from __future__ import annotations

from ..display import kpi_view, number
from ..model import Kpi, Report, Section

MIN_MOVE = 5.0  # percent: smaller changes are not called movements
MAX_SENTENCES = 6
MOVEMENT_KEYS = (
    "reach",
    "reach_daily",
    "views",
    "interactions",
    "new_followers",
    "link_taps",
    "profile_activity",
)
SINGULAR = {"Posts": "post", "Reels": "reel", "Carousels": "carousel", "Videos": "video"}


def highlights(report: Report) -> list[str]:
    whole = report.rollup or (report.sections[0] if report.sections else None)
    if whole is None or not report.has_data:
        return []
    tiles = {k.key: k for k in whole.kpis}
    name = report.client.name if report.rollup else whole.title
    sentences = [
        _summary(name, tiles),
        *_movements(report, tiles),
        _best_post(report),
        _best_day(report),
        _not_compared(report, tiles),
        *_gaps(report),
    ]
    return [s for s in sentences if s][:MAX_SENTENCES]


def _shown(tile: Kpi | None) -> str | None:
    return None if tile is None or tile.value is None else kpi_view(tile).value


def _summary(name: str, tiles: dict[str, Kpi]) -> str:
    reach, daily = _shown(tiles.get("reach")), _shown(tiles.get("reach_daily"))
    views, interactions = _shown(tiles.get("views")), _shown(tiles.get("interactions"))
    parts = [f"{views} views"] if views else []
    parts += [f"{interactions} interactions"] if interactions else []
    activity = " and ".join(parts)
    if reach:
        head = f"{name} reached {reach} accounts in the period"
    elif daily:
        head = f"{name} reached an average of {daily} accounts a day"
    elif activity:
        return f"{name} had {activity} in the period."
    else:
        return ""
    return f"{head}, with {activity}." if activity else f"{head}."


def _movements(report: Report, tiles: dict[str, Kpi]) -> list[str]:
    if report.comparison is None:
        return []
    moved = []
    for key in MOVEMENT_KEYS:
        tile = tiles.get(key)
        if tile is None or tile.delta_percent is None or abs(tile.delta_percent) < MIN_MOVE:
            continue
        moved.append(tile)
    moved.sort(key=lambda k: -abs(k.delta_percent))
    out = []
    for tile in moved[:2]:
        view = kpi_view(tile)
        verb = "rose" if tile.delta > 0 else "fell"
        out.append(
            f"{view.label} {verb} {view.delta.lstrip('+-')} to {view.value} against the "
            f"{report.compare_label.lower()} ({view.previous})."
        )
    return out


def _best_post(report: Report) -> str:
    best, best_ratio, top = None, 0.0, None
    for section in report.sections:
        normals = section.insight.normals if section.insight else {}
        for post in (*section.top_posts, *section.top_reels):
            normal = normals.get(post.media_pk)
            if normal and normal.verdict == "above" and normal.ratio > best_ratio:
                best, best_ratio = (section, post, normal), normal.ratio
            interactions = post.metrics["interactions"]
            if interactions is not None and (
                top is None or interactions > top[1].metrics["interactions"]
            ):
                top = (section, post, normals.get(post.media_pk))
    many = len(report.sections) > 1
    if best:
        section, post, normal = best
        return (
            f"The best performer was {_which(section, post, many)}: {normal.text} "
            f"({normal.detail}), with {number(post.metrics['interactions'])} interactions."
        )
    if top:
        section, post, normal = top
        within = ", within its normal range" if normal and normal.verdict == "within" else ""
        return (
            f"The top post by interactions was {_which(section, post, many)}, with "
            f"{number(post.metrics['interactions'])} interactions{within}."
        )
    return ""


def _best_day(report: Report) -> str:
    """The best weekday of the best-time chart, as its line says it (insight.besttime)."""
    for section in report.sections:
        best = section.insight.best_time if section.insight else None
        if best and best.weekday:
            slot = best.weekday
            whose = f" for {section.title}" if len(report.sections) > 1 else ""
            return (
                f"Posts published on {slot.label} did best{whose}: a median reach of "
                f"{number(slot.median)} {best.checkpoint.label} ({slot.posts} posts)."
            )
    return ""


def _which(section: Section, post, many: bool) -> str:
    kind = SINGULAR.get(post.kind, "post")
    owner = f"{section.title}'s " if many else "the "
    return f"{owner}{kind} of {post.published.day} {post.published.strftime('%b')}"


def _not_compared(report: Report, tiles: dict[str, Kpi]) -> str:
    """The main tiles the comparison leaves out, with the tile's own reason."""
    if report.comparison is None:
        return ""
    left_out = [t for t in tiles.values() if t.key in MOVEMENT_KEYS[:4] and t.why]
    if not left_out:
        return ""
    labels = " and ".join(t.label.lower() for t in left_out[:2])
    return f"No change is given for {labels} ({left_out[0].why})."


def _gaps(report: Report) -> list[str]:
    out = []
    for section in report.sections:
        if section.backfill:
            done, total = section.backfill
            out.append(
                f"History is still being filled in for {section.title} ({done} of {total} "
                "steps), so earlier days may be missing."
            )
        if not section.gaps:
            continue
        spans = [_span(g) for g in section.gaps[:2]]
        more = len(section.gaps) - 2
        tail = f" and {more} more {'gap' if more == 1 else 'gaps'}" if more > 0 else ""
        out.append(f"Data is missing for {section.title} {'; '.join(spans)}{tail}.")
    return out[:2]


def _span(gap) -> str:
    def day(d) -> str:
        return f"{d.day} {d.strftime('%b')}"

    when = f"on {day(gap.start)}" if gap.start == gap.end else f"{day(gap.start)} – {day(gap.end)}"
    return f"{when} ({gap.label[0].lower()}{gap.label[1:]})"
