"""Best time to post, from the account's own posts (Meta's `online_followers` is effectively
gone): the reach of its posts, reels and carousels at one fixed age, by the weekday and hour
they were published in the client's time zone.

- The items: those published in the formats table's days (the period, at least its last 90
  days), stories aside (a story's audience is its followers of the moment, not the slot's).
- The age: the checkpoint most of them have a reading at (ties: the older), so every cell
  compares like with like.
- Each cell of the 7 × 24 grid gives the median reach of its posts, and how many there are;
  a cell with fewer than MIN_CELL posts gives no median.
- A best weekday and a best hour are named only when each has at least MIN_SLOT posts and at
  least one other weekday (hour) has as many to compare with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .normals import quantile
from .readings import CHECKPOINTS, Checkpoint, Item

MIN_CELL = 3
MIN_SLOT = 5
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


@dataclass(frozen=True)
class Slot:
    label: str  # "Tuesdays", "18:00–19:00"
    median: float
    posts: int


@dataclass
class BestTime:
    checkpoint: Checkpoint
    grid: list[list[float | None]]  # 7 × 24 median reach, Monday first
    counts: list[list[int]]
    posts: int
    weekday: Slot | None
    hour: Slot | None


def _median(values: list[float]) -> float:
    return quantile(sorted(values), 0.5)


def _best(groups: dict[str, list[float]]) -> Slot | None:
    enough = {k: v for k, v in groups.items() if len(v) >= MIN_SLOT}
    if len(enough) < 2:
        return None
    label, values = max(enough.items(), key=lambda kv: (_median(kv[1]), len(kv[1])))
    return Slot(label, _median(values), len(values))


def best_time(
    items: list[Item], since: datetime, until: datetime, zone: ZoneInfo
) -> BestTime | None:
    posts = [i for i in items if i.format != "Stories" and since <= i.published < until]
    counted = [(sum(c.key in i.reach for i in posts), n, c) for n, c in enumerate(CHECKPOINTS)]
    readings, _, checkpoint = max(counted)
    if not readings:
        return None
    cells: dict[tuple[int, int], list[float]] = {}
    days: dict[str, list[float]] = {}
    hours: dict[str, list[float]] = {}
    for item in posts:
        if checkpoint.key not in item.reach:
            continue
        local = item.published.astimezone(zone)
        value = item.reach[checkpoint.key]
        cells.setdefault((local.weekday(), local.hour), []).append(value)
        days.setdefault(WEEKDAYS[local.weekday()], []).append(value)
        hours.setdefault(f"{local.hour:02d}:00–{(local.hour + 1) % 24:02d}:00", []).append(value)
    grid = [
        [
            _median(cells[(d, h)]) if len(cells.get((d, h), ())) >= MIN_CELL else None
            for h in range(24)
        ]
        for d in range(7)
    ]
    counts = [[len(cells.get((d, h), ())) for h in range(24)] for d in range(7)]
    return BestTime(checkpoint, grid, counts, readings, _best(days), _best(hours))
