"""Meta's insights answers → values (graph-api.md §4.3, §5.4, §10).

- "No data" is an empty `data`, a metric object without `values`, or a `total_value` without a
  `value`: it yields nothing, never 0. A 0 Meta sends is a 0.
- `end_time` is the end of a Pacific day: the value covers `pacific_day(end_time)`.
- Breakdown results are keyed by `dimension_keys`, not by position.
- Anything malformed (non-numbers, missing names) is skipped, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


def parse_time(value: object) -> datetime | None:
    """Meta's `2026-08-02T07:00:00+0000` (no colon in the offset) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def pacific_day(end_time: datetime) -> date:
    """The Pacific calendar day a daily value covers: its end (midnight Pacific) minus one day.
    Done in Pacific time, so DST ends (07:00 vs 08:00 UTC) land on the right day."""
    return (end_time.astimezone(PACIFIC) - timedelta(days=1)).date()


def today_pacific(now: datetime) -> date:
    return now.astimezone(PACIFIC).date()


def day_start(day: date) -> datetime:
    """Midnight Pacific at the start of `day`, as an aware UTC datetime. UTC, not Pacific:
    Python adds a timedelta to a zoned datetime in wall-clock time, so "48 hours after a
    Pacific midnight" would come an hour early (or late) across a daylight-saving change."""
    return datetime(day.year, day.month, day.day, tzinfo=PACIFIC).astimezone(UTC)


def day_end(day: date) -> datetime:
    return day_start(day + timedelta(days=1))


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _metric_objects(body: object) -> list[dict]:
    data = body.get("data") if isinstance(body, dict) else None
    return (
        [m for m in data if isinstance(m, dict) and m.get("name")] if isinstance(data, list) else []
    )


@dataclass
class SeriesPoint:
    metric: str
    period: str
    end_time: datetime
    value: int


def series(body: object) -> list[SeriesPoint]:
    """time_series answers: one point per (metric, period, end_time) Meta gave a number for."""
    points = []
    for obj in _metric_objects(body):
        period = str(obj.get("period") or "")
        for item in obj.get("values") or []:
            if not isinstance(item, dict) or not is_number(item.get("value")):
                continue
            end = parse_time(item.get("end_time"))
            if end is not None:
                points.append(SeriesPoint(str(obj["name"]), period, end, round(item["value"])))
    return points


@dataclass
class Total:
    metric: str
    value: int | None  # None: Meta gave only breakdowns (demographics)
    # {dimension string: value}; dimension = "key=value|key=value" in dimension_keys order.
    parts: dict[str, int] = field(default_factory=dict)
    # {tuple of dimension values: value} keyed by the raw labels, for single-key breakdowns.
    buckets: dict[tuple[str, ...], int] = field(default_factory=dict)
    keys: tuple[str, ...] = ()


def dimension(keys: tuple[str, ...] | list[str], values: tuple[str, ...] | list[str]) -> str:
    return "|".join(f"{k}={v}" for k, v in zip(keys, values, strict=False))[:200]


def totals(body: object, *, drop_keys: tuple[str, ...] = ("timeframe",)) -> dict[str, Total]:
    """total_value answers: {metric: Total}. Metrics without any number are absent.
    `drop_keys`: dimension keys Meta adds on its own (the demographics' `timeframe`)."""
    out: dict[str, Total] = {}
    for obj in _metric_objects(body):
        total = obj.get("total_value")
        if not isinstance(total, dict):
            continue
        value = round(total["value"]) if is_number(total.get("value")) else None
        found = Total(str(obj["name"]), value)
        for breakdown in total.get("breakdowns") or []:
            if not isinstance(breakdown, dict):
                continue
            keys = [str(k) for k in breakdown.get("dimension_keys") or []]
            keep = [i for i, k in enumerate(keys) if k not in drop_keys]
            found.keys = tuple(keys[i] for i in keep)
            for result in breakdown.get("results") or []:
                if not isinstance(result, dict) or not is_number(result.get("value")):
                    continue
                labels = [str(v) for v in result.get("dimension_values") or []]
                if len(labels) != len(keys):
                    continue
                labels = tuple(labels[i] for i in keep)
                amount = round(result["value"])
                found.parts[dimension(found.keys, labels)] = amount
                found.buckets[labels] = amount
        if found.value is not None or found.parts:
            out[found.metric] = found
    return out


def media_metrics(body: object) -> dict[str, int | float]:
    """A media insights answer (`/<media-id>/insights`, or the `insights` object of a field
    expansion) as the flat dict `MediaSample.metrics` keeps: `{metric: value}` plus
    `"<metric>.<value>"` for breakdown results, in Meta's lower-case spelling
    (`navigation.tap_forward`). `total_value.value` is read first, then the last of `values`
    (graph-api.md §5.4). Metrics without a number are absent; floats (reels_skip_rate) stay
    floats, counts become ints."""

    def number(value: object) -> int | float | None:
        if not is_number(value):
            return None
        return value if isinstance(value, float) and not value.is_integer() else round(value)

    out: dict[str, int | float] = {}
    for obj in _metric_objects(body):
        name = str(obj["name"])
        total = obj.get("total_value") if isinstance(obj.get("total_value"), dict) else {}
        value = number(total.get("value"))
        if value is None:
            values = [v for v in obj.get("values") or [] if isinstance(v, dict)]
            value = number(values[-1].get("value")) if values else None
        if value is not None:
            out[name] = value
        for breakdown in total.get("breakdowns") or []:
            if not isinstance(breakdown, dict):
                continue
            width = len(breakdown.get("dimension_keys") or [])
            for result in breakdown.get("results") or []:
                if not isinstance(result, dict):
                    continue
                labels = [str(v).lower() for v in result.get("dimension_values") or []]
                amount = number(result.get("value"))
                if amount is not None and labels and len(labels) == width:
                    out[f"{name}.{'.'.join(labels)}"[:200]] = amount
    return out
