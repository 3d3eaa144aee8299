"""How the report writes its figures: one place, so the page, the PDF, the emails and the
highlights' sentences show a figure exactly alike (insights.reports.page renders with these)."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Kpi


def number(value: float | None, decimals: int = 0) -> str:
    """12,345 — Python's own formatting, never the active locale's. "—" for no data."""
    if value is None:
        return "—"
    return f"{value:,.{decimals}f}"


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}%" if abs(value) < 10 else f"{value:.1f}%"


@dataclass
class KpiView:
    key: str
    label: str
    value: str
    previous: str
    delta: str  # the change, e.g. "+4.2%"; '' when none is shown
    trend: str  # up | down | flat | ""
    why: str  # why no change is shown, e.g. "previous period: 3 of 28 days with data"
    line: str  # at most one short line: the days with data, or what the figure is
    outside: bool = False  # the figure is from a day outside the period (see line)


def kpi_view(kpi: Kpi) -> KpiView:
    fmt = percent if kpi.unit == "percent" else number
    delta, trend = "", ""
    if kpi.delta is not None:
        trend = "up" if kpi.delta > 0 else "down" if kpi.delta < 0 else "flat"
        if kpi.unit == "percent":
            delta = f"{kpi.delta:+.2f} pp"
        elif kpi.delta_percent is not None and kpi.key != "net_growth":
            delta = f"{kpi.delta_percent:+.1f}%"
        else:
            delta = f"{kpi.delta:+,.0f}"
    return KpiView(
        kpi.key,
        kpi.label,
        fmt(kpi.value),
        fmt(kpi.previous),
        delta,
        trend,
        kpi.why,
        # One short line: the days with data, unless the reason for no change says it already.
        f"{kpi.coverage} with data" if kpi.coverage and not kpi.why else kpi.note,
        kpi.outside,
    )
