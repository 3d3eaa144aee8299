"""Each post against the account's own normal, and the formats table.

A post, reel, carousel or story is judged against the same account's items of the same format
published in the 90 days before it, at the same age (`readings`: 1 day, 7 days, 30+ days, or a
story's final capture), at the oldest age it has a reading for and enough company for:

- its usual reach is the median of at least MIN_PEERS of those items;
- its normal range is where 8 in 10 of them landed (10th to 90th percentile);
- above the range it is "2.3× its usual reach", below "0.4× its usual reach", else "within
  its normal range". Fewer than MIN_PEERS items: no judgement.

The formats table gives each format's median reach and middle half (25th to 75th percentile)
at each age, over the items published in the table's window.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime

from .readings import CHECKPOINTS, FINAL, LOOKBACK, Checkpoint, Item

MIN_PEERS = 5
LOW, HIGH = 0.10, 0.90
FORMATS = ("Posts", "Carousels", "Reels", "Stories")


def quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default); `ordered` is sorted."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio_text(ratio: float) -> str:
    """2.3×, 12× (no decimal from 10 on), 0.4×."""
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


@dataclass(frozen=True)
class Normal:
    """One item against its normal."""

    format: str
    checkpoint: Checkpoint
    value: float
    usual: float  # the peers' median
    low: float
    high: float
    peers: int

    @property
    def ratio(self) -> float | None:
        return self.value / self.usual if self.usual else None

    @property
    def verdict(self) -> str:
        """above | within | below"""
        if self.value > self.high and self.ratio is not None:
            return "above"
        if self.value < self.low and self.ratio is not None:
            return "below"
        return "within"

    @property
    def text(self) -> str:
        if self.verdict == "within":
            return "Within its normal range"
        return f"{ratio_text(self.ratio)} its usual reach"

    @property
    def detail(self) -> str:
        """at 7 days, against 12 reels"""
        return f"{self.checkpoint.label}, against {self.peers} {self.format.lower()}"


class Normals:
    """An account's items, by format, ready to judge any of them."""

    def __init__(self, items: list[Item]):
        self.by_format: dict[str, list[Item]] = {}
        for item in items:  # oldest first
            self.by_format.setdefault(item.format, []).append(item)
        self._times = {f: [i.published for i in v] for f, v in self.by_format.items()}
        self.by_pk = {item.pk: item for item in items}

    def _peers(self, item: Item, key: str) -> list[float]:
        items, times = self.by_format[item.format], self._times[item.format]
        first = bisect.bisect_left(times, item.published - LOOKBACK)
        last = bisect.bisect_left(times, item.published)
        return sorted(p.reach[key] for p in items[first:last] if key in p.reach)

    def judge(self, pk: int) -> Normal | None:
        item = self.by_pk.get(pk)
        if item is None:
            return None
        checkpoints = (FINAL,) if item.format == "Stories" else tuple(reversed(CHECKPOINTS))
        for checkpoint in checkpoints:
            if checkpoint.key not in item.reach:
                continue
            peers = self._peers(item, checkpoint.key)
            if len(peers) < MIN_PEERS:
                continue
            return Normal(
                item.format,
                checkpoint,
                item.reach[checkpoint.key],
                quantile(peers, 0.5),
                quantile(peers, LOW),
                quantile(peers, HIGH),
                len(peers),
            )
        return None


@dataclass(frozen=True)
class FormatRow:
    format: str
    checkpoint: Checkpoint
    items: int  # items with a reading at this age
    median: float | None  # None below MIN_PEERS
    low: float | None  # 25th percentile
    high: float | None  # 75th percentile


def formats_table(normals: Normals, since: datetime, until: datetime) -> list[FormatRow]:
    """Per format and age, the reach of the items published in [since, until)."""
    rows = []
    for name in FORMATS:
        items = [i for i in normals.by_format.get(name, []) if since <= i.published < until]
        checkpoints = (FINAL,) if name == "Stories" else CHECKPOINTS
        for checkpoint in checkpoints:
            values = sorted(i.reach[checkpoint.key] for i in items if checkpoint.key in i.reach)
            if not values:
                continue
            enough = len(values) >= MIN_PEERS
            rows.append(
                FormatRow(
                    name,
                    checkpoint,
                    len(values),
                    quantile(values, 0.5) if enough else None,
                    quantile(values, 0.25) if enough else None,
                    quantile(values, 0.75) if enough else None,
                )
            )
    return rows
