"""Prism's own server-side SVG charts, identical in the page and the PDF.

Why not a library: under Prism's strict CSP (`style-src 'self'`) the libraries that style their SVG
with `<style>` or `style=` render black, and WeasyPrint logs hundreds of warnings for `style=`
(measurements in ../shared/reference/charts.md). So every chart here:

- uses presentation attributes only (no `style=`, no `<style>`, no `<script>`);
- builds every coordinate in Python with `_n()`, never through a template filter, so a de/fr
  locale cannot turn `x="12.5"` into `x="12,5"`;
- is `role="img"` with a `<title>` and `<desc>` named by `aria-labelledby`;
- namespaces every id under the caller's `chart_id` (a page can hold dozens of charts, e.g. the
  portfolio's sparklines) and contains nothing random or dated, so output is deterministic;
- uses `gradientUnits="userSpaceOnUse"` (WeasyPrint draws objectBoundingBox gradients blank);
- names the vendored font (static/prism/fonts/, DejaVu Sans as "Report Sans") and measures label
  widths against that font's own advance widths, so what fits here fits in Chromium and WeasyPrint.

Values are floats or None. None means "no data" and is drawn as a break in the line or an empty
cell, never as 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils.safestring import SafeString, mark_safe

FONT_DIR = Path(__file__).resolve().parent.parent.parent / "static" / "prism" / "fonts"
FONT_FAMILY = "Report Sans, DejaVu Sans, sans-serif"

# The chart palette: distinguishable, print-safe on white, and still readable in greyscale order.
PALETTE = ("#6d28d9", "#db2777", "#0891b2", "#ea580c", "#16a34a", "#ca8a04", "#64748b")
INK = "#1b1f2a"
MUTED = "#5f6779"
GRID = "#e3e6ee"
GAP_FILL = "#94a3b8"
EMPTY_CELL = "#f1f2f6"

_ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,80}$")


# --- Text measurement against the vendored font ----------------------------------------------


@lru_cache(maxsize=2)
def _metrics(bold: bool) -> tuple[dict[int, int], float, int]:
    from fontTools.ttLib import TTFont

    font = TTFont(FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"), lazy=True)
    cmap = font.getBestCmap()
    hmtx = font["hmtx"].metrics
    widths = {codepoint: hmtx[glyph][0] for codepoint, glyph in cmap.items()}
    return widths, float(font["head"].unitsPerEm), hmtx[".notdef"][0]


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in user units of `text` set in the vendored font at `size` (no kerning: an upper
    bound within a few percent, which is what fitting labels needs)."""
    widths, units, fallback = _metrics(bold)
    return sum(widths.get(ord(ch), fallback) for ch in text) * size / units


def fit_text(text: str, size: float, max_width: float, *, bold: bool = False) -> str:
    """`text`, shortened with an ellipsis to fit `max_width`."""
    if text_width(text, size, bold=bold) <= max_width:
        return text
    while text and text_width(text + "…", size, bold=bold) > max_width:
        text = text[:-1]
    return text.rstrip() + "…" if text else ""


# --- Numbers ----------------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate: plain ASCII digits and a dot whatever the active locale."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite coordinate: {value!r}")
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def compact(value: float | None) -> str:
    """An axis or tile label: 950, 12.3k, 4.5M. "—" for missing data."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            scaled = value / limit
            text = f"{scaled:.1f}" if scaled < 100 else f"{scaled:.0f}"
            return sign + text.removesuffix(".0") + suffix
    if value == int(value):
        return f"{sign}{int(value)}"
    return sign + f"{value:.1f}".removesuffix(".0")


def nice_ticks(low: float, high: float, count: int = 4, *, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high], about `count` intervals. `integer`: counts,
    whose ticks are whole numbers (no 2.5 new followers)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = [m * magnitude for m in (1, 2, 2.5, 5, 10)]
    if integer:
        steps = [step for step in steps if step >= 1 and float(step).is_integer()] or [1]
    step = next((s for s in steps if s >= raw), steps[-1])
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def short_date(day: date) -> str:
    return f"{day.day} {day.strftime('%b')}"  # %b is C-locale here: Python never localises it


# --- Building blocks --------------------------------------------------------------------------


@dataclass
class Series:
    label: str
    values: Sequence[float | None]
    color: str = ""
    dashed: bool = False  # the comparison period
    area: bool = False


@dataclass
class Marker:
    """An annotation on a date (index into the x axis); `number` ties it to the list under the
    chart."""

    index: int
    number: int
    label: str
    kind: str = "note"  # note | prism | meta


@dataclass
class Gap:
    """A shaded span of missing data, e.g. while the account was disconnected (inclusive)."""

    start: int
    end: int
    label: str = "No data"


@dataclass
class _Svg:
    chart_id: str
    width: int
    height: int
    title: str
    desc: str
    parts: list[str] = field(default_factory=list)
    defs: list[str] = field(default_factory=list)

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def render(self, extra_class: str = "") -> SafeString:
        cid = self.chart_id
        classes = ("chart " + extra_class).strip()
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="{classes}" id="{cid}" '
            f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" '
            f'height="{self.height}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
            f'font-family="{FONT_FAMILY}" font-size="11" fill="{INK}">'
            f'<title id="{cid}-title">{escape(self.title)}</title>'
            f'<desc id="{cid}-desc">{escape(self.desc)}</desc>'
        )
        defs = f"<defs>{''.join(self.defs)}</defs>" if self.defs else ""
        return mark_safe(head + defs + "".join(self.parts) + "</svg>")


def _check_id(chart_id: str) -> None:
    if not _ID_RE.match(chart_id):
        raise ValueError(f"chart ids are lower-case slugs: {chart_id!r}")


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: float = 11,
    fill: str = MUTED,
    bold: bool = False,
    extra: str = "",
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    size_attr = "" if size == 11 else f' font-size="{_n(size)}"'
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}"{size_attr}'
        f"{weight}{extra}>{escape(text)}</text>"
    )


def _legend(svg: _Svg, series: Sequence[Series], x: float, y: float, max_x: float) -> float:
    """A one-or-more-line legend from (x, y); returns the y below it."""
    cursor_x, cursor_y = x, y
    for item in series:
        label_w = text_width(item.label, 11)
        needed = 22 + label_w + 16
        if cursor_x + needed > max_x and cursor_x > x:
            cursor_x, cursor_y = x, cursor_y + 16
        dash = ' stroke-dasharray="4 3"' if item.dashed else ""
        svg.add(
            f'<line x1="{_n(cursor_x)}" y1="{_n(cursor_y - 4)}" x2="{_n(cursor_x + 16)}" '
            f'y2="{_n(cursor_y - 4)}" stroke="{item.color}" stroke-width="2.5"{dash}/>'
        )
        svg.add(_text(cursor_x + 22, cursor_y, item.label, fill=INK))
        cursor_x += needed
    return cursor_y + 10


def _colored(series: Sequence[Series], palette: Sequence[str]) -> list[Series]:
    out = []
    for i, item in enumerate(series):
        out.append(
            Series(
                item.label,
                list(item.values),
                item.color or palette[i % len(palette)],
                item.dashed,
                item.area,
            )
        )
    return out


def _empty(svg: _Svg, message: str = "No data for this period") -> SafeString:
    svg.add(
        f'<rect x="0.5" y="0.5" width="{svg.width - 1}" height="{svg.height - 1}" rx="8" '
        f'fill="none" stroke="{GRID}"/>'
    )
    lines: list[str] = []  # wrapped to the chart's width: the message may say why, at length
    for word in message.split():
        if lines and text_width(f"{lines[-1]} {word}", 11) <= svg.width - 40:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    top = svg.height / 2 + 4 - (len(lines) - 1) * 8
    for i, line in enumerate(lines):
        svg.add(_text(svg.width / 2, top + i * 16, line, anchor="middle"))
    return svg.render("chart-empty")


# --- Line / area ------------------------------------------------------------------------------


def line_chart(
    chart_id: str,
    *,
    title: str,
    days: Sequence[date],
    series: Sequence[Series],
    desc: str = "",
    markers: Sequence[Marker] = (),
    gaps: Sequence[Gap] = (),
    width: int = 520,
    height: int = 230,
    palette: Sequence[str] = PALETTE,
    value_format=compact,
    zero_based: bool = True,
    empty: str = "No data for this period",
) -> SafeString:
    """Daily series over `days`; a `dashed` series is the comparison period, aligned by index
    (day 1 of the comparison under day 1 of the period). `zero_based=False` fits the y axis to
    the data (follower counts, where the change is the story). `empty`: what the chart says
    when there is nothing to draw (why, where the report knows)."""
    _check_id(chart_id)
    series = _colored(series, palette)
    values = [v for s in series for v in s.values if v is not None]
    svg = _Svg(chart_id, width, height, title, desc or _describe_line(title, days, series))
    if not days or not values:
        return _empty(svg, empty)

    legend_bottom = _legend(svg, series, 8, 14, width - 8)
    low = min(0.0, min(values)) if zero_based else min(values)
    high = max(values)
    if not zero_based:
        pad = max((high - low) * 0.15, 1.0)
        low, high = max(0.0, low - pad), high + pad
    ticks = nice_ticks(low, high if high > low else low + 1, integer=value_format is compact)
    label_w = max(text_width(value_format(t), 11) for t in ticks)
    left, right = 12 + label_w, width - 14
    top, bottom = legend_bottom + 14, height - 26
    span = len(days) - 1 or 1

    def x_at(i: float) -> float:
        return left + (right - left) * i / span

    def y_at(v: float) -> float:
        return bottom - (bottom - top) * (v - ticks[0]) / (ticks[-1] - ticks[0])

    # Grid and y labels.
    for t in ticks:
        y = y_at(t)
        svg.add(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(right)}" y2="{_n(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        svg.add(_text(left - 6, y + 4, value_format(t), anchor="end"))

    # Gap shading under everything else.
    band = (right - left) / span if span else right - left
    for gap in gaps:
        x0 = max(left, x_at(gap.start) - band / 2)
        x1 = min(right, x_at(gap.end) + band / 2)
        svg.add(
            f'<rect class="chart-gap" x="{_n(x0)}" y="{_n(top)}" width="{_n(max(x1 - x0, 2))}" '
            f'height="{_n(bottom - top)}" fill="{GAP_FILL}" fill-opacity="0.16">'
            f"<title>{escape(gap.label)}</title></rect>"
        )
        if x1 - x0 > text_width(gap.label, 10) + 6:
            svg.add(_text((x0 + x1) / 2, top + 12, gap.label, anchor="middle", size=10))

    # x labels, spaced by their measured width; the last day is always labelled.
    label_width = max(text_width(short_date(d), 11) for d in days) + 12
    step = max(1, math.ceil(label_width / ((right - left) / span))) if span else 1
    last = len(days) - 1
    picks = [
        i
        for i in range(0, len(days), step)
        if last - i == 0 or x_at(last) - x_at(i) >= label_width * 1.5
    ]
    if last not in picks:
        picks.append(last)
    for i in picks:
        anchor = "middle"
        if i == 0 and last > 0 and x_at(0) - text_width(short_date(days[0]), 11) / 2 < 2:
            anchor = "start"
        if i == last and last > 0:
            anchor = "end"
        svg.add(_text(x_at(i), height - 8, short_date(days[i]), anchor=anchor))
    svg.add(
        f'<line x1="{_n(left)}" y1="{_n(bottom)}" x2="{_n(right)}" y2="{_n(bottom)}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )

    # Areas first (solid series only), then lines so they are never hidden.
    for number, item in enumerate(series):
        if item.area and not item.dashed:
            grad = f"{chart_id}-fill-{number}"
            svg.defs.append(
                f'<linearGradient id="{grad}" gradientUnits="userSpaceOnUse" x1="0" '
                f'y1="{_n(top)}" x2="0" y2="{_n(bottom)}">'
                f'<stop offset="0" stop-color="{item.color}" stop-opacity="0.28"/>'
                f'<stop offset="1" stop-color="{item.color}" stop-opacity="0.02"/></linearGradient>'
            )
            for run in _runs(item.values):
                points = " ".join(f"{_n(x_at(i))},{_n(y_at(v))}" for i, v in run)
                first, last = run[0][0], run[-1][0]
                base = _n(y_at(max(ticks[0], 0)))
                svg.add(
                    f'<polygon points="{_n(x_at(first))},{base} {points} {_n(x_at(last))},{base}" '
                    f'fill="url(#{grad})" stroke="none"/>'
                )
    for item in sorted(series, key=lambda s: not s.dashed):  # comparison underneath
        dash = ' stroke-dasharray="5 4"' if item.dashed else ""
        opacity = ' stroke-opacity="0.75"' if item.dashed else ""
        for run in _runs(item.values):
            if len(run) == 1:
                i, v = run[0]
                svg.add(
                    f'<circle cx="{_n(x_at(i))}" cy="{_n(y_at(v))}" r="2.5" fill="{item.color}"/>'
                )
                continue
            points = " ".join(f"{_n(x_at(i))},{_n(y_at(v))}" for i, v in run)
            svg.add(
                f'<polyline points="{points}" fill="none" stroke="{item.color}" '
                f'stroke-width="{"1.75" if item.dashed else "2.25"}" stroke-linejoin="round" '
                f'stroke-linecap="round"{dash}{opacity}/>'
            )

    for marker in markers:
        if not 0 <= marker.index < len(days):
            continue
        _marker(svg, x_at(marker.index), top, bottom, marker)
    return svg.render("chart-line")


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive non-missing points: a None breaks the line instead of dropping it to 0."""
    runs, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, float(v)))
    if current:
        runs.append(current)
    return runs


MARKER_COLORS = {"note": "#6d28d9", "account": "#b45309", "meta": "#0891b2"}


def _marker(svg: _Svg, x: float, top: float, bottom: float, marker: Marker) -> None:
    color = MARKER_COLORS.get(marker.kind, MUTED)
    svg.add(
        f'<g class="chart-marker"><title>{escape(marker.label)}</title>'
        f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="{color}" '
        f'stroke-width="1" stroke-dasharray="2 3"/>'
        f'<circle cx="{_n(x)}" cy="{_n(top)}" r="7.5" fill="{color}"/>'
        + _text(x, top + 3.5, str(marker.number), anchor="middle", size=9.5, fill="#fff", bold=True)
        + "</g>"
    )


def _describe_line(title: str, days: Sequence[date], series: Sequence[Series]) -> str:
    if not days:
        return f"{title}: no data."
    parts = [
        f"{title}, {short_date(days[0])} {days[0].year} to {short_date(days[-1])} {days[-1].year}."
    ]
    for item in series:
        known = [v for v in item.values if v is not None]
        if known:
            parts.append(
                f"{item.label}: from {compact(known[0])} to {compact(known[-1])}, "
                f"low {compact(min(known))}, high {compact(max(known))}."
            )
        else:
            parts.append(f"{item.label}: no data.")
    return " ".join(parts)


# --- Stacked bars -----------------------------------------------------------------------------


def stacked_bars(
    chart_id: str,
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    desc: str = "",
    width: int = 520,
    height: int = 230,
    palette: Sequence[str] = PALETTE,
    value_format=compact,
) -> SafeString:
    """One bar per category, each series stacked in order (missing values add nothing and are
    not drawn)."""
    _check_id(chart_id)
    series = _colored(series, palette)
    totals = [
        sum(v for s in series if (v := s.values[i]) is not None) for i in range(len(categories))
    ]
    desc = desc or _describe_bars(title, categories, series)
    svg = _Svg(chart_id, width, height, title, desc)
    if not categories or not any(totals):
        return _empty(svg)
    legend_bottom = _legend(svg, series, 8, 14, width - 8)
    ticks = nice_ticks(0, max(totals))
    label_w = max(text_width(value_format(t), 11) for t in ticks)
    left, right = 12 + label_w, width - 10
    top, bottom = legend_bottom + 12, height - 26

    def y_at(v: float) -> float:
        return bottom - (bottom - top) * v / ticks[-1]

    for t in ticks:
        y = y_at(t)
        svg.add(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(right)}" y2="{_n(y)}" stroke="{GRID}"/>'
        )
        svg.add(_text(left - 6, y + 4, value_format(t), anchor="end"))
    slot = (right - left) / len(categories)
    bar = min(48.0, slot * 0.7)
    label_step = max(1, math.ceil((max(text_width(c, 11) for c in categories) + 10) / slot))
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar) / 2
        base = 0.0
        for item in series:
            v = item.values[i]
            if not v:
                continue
            y0, y1 = y_at(base), y_at(base + v)
            tip = escape(f"{category}, {item.label}: {value_format(v)}")
            svg.add(
                f'<rect x="{_n(x)}" y="{_n(y1)}" width="{_n(bar)}" '
                f'height="{_n(max(y0 - y1, 0.5))}" fill="{item.color}"><title>{tip}</title></rect>'
            )
            base += v
        if i % label_step == 0:
            svg.add(_text(left + slot * (i + 0.5), height - 8, category, anchor="middle"))
    svg.add(
        f'<line x1="{_n(left)}" y1="{_n(bottom)}" x2="{_n(right)}" y2="{_n(bottom)}" '
        f'stroke="{MUTED}"/>'
    )
    return svg.render("chart-bars")


def _describe_bars(title: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    parts = [f"{title}."]
    for item in series:
        known = [(c, v) for c, v in zip(categories, item.values, strict=False) if v is not None]
        total = sum(v for _, v in known)
        parts.append(f"{item.label}: {compact(total) if known else 'no data'} in total.")
    return " ".join(parts)


# --- Horizontal bars --------------------------------------------------------------------------


def hbars(
    chart_id: str,
    *,
    title: str,
    items: Sequence[tuple[str, float | None]],
    desc: str = "",
    width: int = 340,
    color: str = PALETTE[0],
    value_format=compact,
    max_label_width: float = 130,
) -> SafeString:
    """Labelled horizontal bars (demographics, content types), largest first as given."""
    _check_id(chart_id)
    row = 22
    height = max(40, row * len(items) + 8)
    known = [v for _, v in items if v is not None]
    if not desc:
        desc = f"{title}. " + "; ".join(f"{label}: {value_format(v)}" for label, v in items) + "."
    svg = _Svg(chart_id, width, height, title, desc)
    if not known or max(known) <= 0:
        return _empty(svg)
    labels = [fit_text(label, 11, max_label_width) for label, _ in items]
    label_w = max(text_width(label, 11) for label in labels)
    value_w = max(text_width(value_format(v), 11, bold=True) for v in known)
    left = label_w + 10
    right = width - value_w - 10
    top = 4
    peak = max(known)
    for i, ((_, value), label) in enumerate(zip(items, labels, strict=True)):
        y = top + row * i
        svg.add(_text(left - 8, y + 15, label, anchor="end", fill=INK))
        svg.add(
            f'<rect x="{_n(left)}" y="{_n(y + 4)}" width="{_n(right - left)}" height="14" rx="3" '
            f'fill="{EMPTY_CELL}"/>'
        )
        if value is None:
            svg.add(_text(left + 4, y + 15, "—"))
            continue
        w = (right - left) * max(value, 0) / peak
        svg.add(
            f'<rect x="{_n(left)}" y="{_n(y + 4)}" width="{_n(max(w, 1))}" height="14" rx="3" '
            f'fill="{color}"/>'
        )
        svg.add(_text(left + w + 6, y + 15, value_format(value), fill=INK, bold=True))
    return svg.render("chart-hbars")


# --- Heatmap ----------------------------------------------------------------------------------

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def heatmap(
    chart_id: str,
    *,
    title: str,
    grid: Sequence[Sequence[float | None]],
    desc: str = "",
    width: int = 720,
    color: str = PALETTE[0],
    value_format=compact,
    counts: Sequence[Sequence[int]] | None = None,
    empty: str = "No online-follower data for this period",
) -> SafeString:
    """7 rows (Monday first) × 24 hours; cell opacity follows the value, None is an empty cell.
    `counts`: how many items are behind each cell, written in it (a cell may have items and no
    value: too few to give one)."""
    _check_id(chart_id)
    known = [v for row in grid for v in row if v is not None]
    if not desc:
        desc = _describe_heatmap(title, grid)
    left = 12 + max(text_width(d, 11) for d in WEEKDAYS)
    top = 22
    cell_w = (width - left - 10) / 24
    cell_h = 22
    height = int(top + cell_h * 7 + 40)
    svg = _Svg(chart_id, width, height, title, desc)
    if not known:
        return _empty(svg, empty)
    low, high = min(known), max(known)
    for hour in range(0, 24, 3):
        svg.add(_text(left + cell_w * (hour + 0.5), 14, f"{hour:02d}:00", anchor="middle", size=10))
    for r, row in enumerate(grid):
        y = top + cell_h * r
        svg.add(_text(left - 8, y + 15, WEEKDAYS[r], anchor="end", fill=INK))
        for hour, value in enumerate(row):
            x = left + cell_w * hour
            tip = f"{WEEKDAYS[r]} {hour:02d}:00: {value_format(value)}"
            count = counts[r][hour] if counts else 0
            if counts:
                tip += f" ({count} {'post' if count == 1 else 'posts'})"
            if value is None:
                fill, opacity = EMPTY_CELL, "1"
            else:
                share = 0.12 + 0.88 * ((value - low) / (high - low) if high > low else 1)
                fill, opacity = color, _n(share)
            svg.add(
                f'<rect x="{_n(x + 1)}" y="{_n(y + 1)}" width="{_n(cell_w - 2)}" '
                f'height="{_n(cell_h - 2)}" rx="3" fill="{fill}" fill-opacity="{opacity}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            if count:
                ink = "#ffffff" if value is not None and value - low >= (high - low) / 2 else MUTED
                svg.add(
                    _text(x + cell_w / 2, y + 15, str(count), anchor="middle", size=9, fill=ink)
                )
    # A stepped legend (no gradient: poppler drew gradient legends blank in the measurements).
    legend_y = top + cell_h * 7 + 14
    svg.add(_text(left, legend_y + 10, f"Fewer ({value_format(low)})", fill=MUTED))
    x = left + text_width(f"Fewer ({value_format(low)})", 11) + 8
    for step in range(5):
        svg.add(
            f'<rect x="{_n(x + step * 18)}" y="{_n(legend_y)}" width="16" height="12" rx="2" '
            f'fill="{color}" fill-opacity="{_n(0.12 + 0.22 * step)}"/>'
        )
    svg.add(_text(x + 5 * 18 + 6, legend_y + 10, f"More ({value_format(high)})", fill=MUTED))
    return svg.render("chart-heatmap")


def _describe_heatmap(title: str, grid: Sequence[Sequence[float | None]]) -> str:
    cells = [(v, r, h) for r, row in enumerate(grid) for h, v in enumerate(row) if v is not None]
    if not cells:
        return f"{title}: no data."
    best = sorted(cells, reverse=True)[:3]
    names = ", ".join(f"{WEEKDAYS[r]} {h:02d}:00" for _, r, h in best)
    return f"{title}. Busiest hours: {names}."


# --- Sparkline --------------------------------------------------------------------------------


def sparkline(
    chart_id: str,
    *,
    title: str,
    values: Sequence[float | None],
    desc: str = "",
    width: int = 120,
    height: int = 32,
    color: str = PALETTE[0],
) -> SafeString:
    """A small trend line without axes (the portfolio page); its last point is marked."""
    _check_id(chart_id)
    known = [v for v in values if v is not None]
    if not desc:
        desc = (
            f"{title}: from {compact(known[0])} to {compact(known[-1])}."
            if known
            else f"{title}: no data."
        )
    svg = _Svg(chart_id, width, height, title, desc)
    if not known:
        svg.add(
            f'<line x1="2" y1="{_n(height / 2)}" x2="{width - 2}" y2="{_n(height / 2)}" '
            f'stroke="{GRID}" stroke-dasharray="3 3"/>'
        )
        return svg.render("chart-spark")
    low, high = min(known), max(known)
    if high == low:
        high = low + 1
    span = max(len(values) - 1, 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return 3 + (width - 6) * i / span, height - 3 - (height - 6) * (v - low) / (high - low)

    for run in _runs(values):
        pts = [point(i, v) for i, v in run]
        if len(pts) == 1:
            svg.add(f'<circle cx="{_n(pts[0][0])}" cy="{_n(pts[0][1])}" r="1.5" fill="{color}"/>')
        else:
            joined = " ".join(f"{_n(x)},{_n(y)}" for x, y in pts)
            svg.add(
                f'<polyline points="{joined}" fill="none" stroke="{color}" stroke-width="1.5" '
                f'stroke-linejoin="round" stroke-linecap="round"/>'
            )
    last = max(i for i, v in enumerate(values) if v is not None)
    x, y = point(last, values[last])
    svg.add(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.5" fill="{color}"/>')
    return svg.render("chart-spark")
