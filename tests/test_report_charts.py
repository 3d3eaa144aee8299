"""Prism's SVG charts: valid XML, CSP-clean, accessible, deterministic and locale-proof."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.template import Context, Template
from django.utils import translation

from insights.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 10, 20) + timedelta(days=i) for i in range(40)]


def all_charts(prefix: str = "c") -> list[str]:
    values = [float(100 + (i * 37) % 250) + 0.25 for i in range(len(DAYS))]
    values[5:9] = [None] * 4
    return [
        charts.line_chart(
            f"{prefix}-line",
            title="Daily reach",
            days=DAYS,
            series=[
                charts.Series("This period", values, area=True),
                charts.Series("Previous period", [v and v * 0.8 for v in values], dashed=True),
            ],
            markers=[charts.Marker(3, 1, "Campaign <launch> & party"), charts.Marker(30, 2, "x")],
            gaps=[charts.Gap(5, 8, "Disconnected")],
        ),
        charts.stacked_bars(
            f"{prefix}-bars",
            title="Interactions by content type",
            categories=["W44", "W45", "W46"],
            series=[charts.Series("Reels", [1.5, None, 3]), charts.Series("Posts", [2, 2, 0])],
        ),
        charts.hbars(
            f"{prefix}-hbars",
            title="Top cities",
            items=[("Bandung, West Java", 1234.5), ("Jakarta, Jakarta", 999), ("Köln", None)],
        ),
        charts.heatmap(
            f"{prefix}-heat",
            title="Online followers",
            grid=[
                [None if h < 6 else float(d * 24 + h) + 0.5 for h in range(24)] for d in range(7)
            ],
        ),
        charts.sparkline(f"{prefix}-spark", title="Followers", values=values),
    ]


def test_every_chart_is_valid_svg_with_accessible_names():
    for svg in all_charts():
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        title_id, desc_id = root.get("aria-labelledby").split()
        title = root.find(f"{SVG}title")
        desc = root.find(f"{SVG}desc")
        assert title.get("id") == title_id and title.text
        assert desc.get("id") == desc_id and desc.text
        assert root.get("viewBox")


def test_no_styles_scripts_or_objectbbox_gradients():
    for svg in all_charts():
        root = ET.fromstring(svg)
        for element in root.iter():
            assert "style" not in element.attrib, element.tag
            assert element.tag not in (f"{SVG}style", f"{SVG}script", f"{SVG}foreignObject")
            assert not any(name.startswith("on") for name in element.attrib), element.tag
            if element.tag == f"{SVG}linearGradient":
                assert element.get("gradientUnits") == "userSpaceOnUse"


def test_ids_are_unique_across_many_charts_on_one_page():
    page = "".join(all_charts("acct-1") + all_charts("acct-2") + all_charts("rollup"))
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)) > 15
    # Every reference points at an id on the page.
    for ref in re.findall(r"url\(#([^)]+)\)", page) + re.findall(
        r'aria-labelledby="([^"]+)"', page
    ):
        for name in ref.split():
            assert name in ids


def test_bad_chart_ids_are_refused():
    with pytest.raises(ValueError):
        charts.sparkline('x" onload="alert(1)', title="t", values=[1])


def test_output_is_deterministic():
    assert all_charts() == all_charts()


def test_text_is_escaped():
    svg = all_charts()[0]
    assert "Campaign &lt;launch&gt; &amp; party" in svg
    ET.fromstring(svg)


@pytest.mark.parametrize("language", ["de", "fr"])
def test_no_locale_formatted_numbers_under_german_or_french(language, settings):
    settings.USE_THOUSAND_SEPARATOR = True
    with translation.override(language):
        # Rendered through a template, as the page does: the chart is already markup.
        rendered = Template("{{ svg }}").render(Context({"svg": all_charts()[0]}))
        assert Template("{{ x }}").render(Context({"x": 0.5})) == "0,5"  # the trap is live
    numbers = re.findall(r'\s(?:x|y|x1|x2|y1|y2|cx|cy|width|height|r)="([^"]*)"', rendered)
    numbers += [p for pts in re.findall(r'points="([^"]*)"', rendered) for p in pts.split()]
    assert numbers
    for value in numbers:
        assert re.fullmatch(r"-?\d+(\.\d+)?(,-?\d+(\.\d+)?)?", value), value
    # Coordinates with a fraction exist, and use a dot.
    assert any("." in v for v in numbers)


def test_missing_values_break_the_line_instead_of_dropping_to_zero():
    svg = all_charts()[0]
    root = ET.fromstring(svg)
    lines = [p for p in root.iter(f"{SVG}polyline")]
    # Two series, each broken in two by the 4-day gap.
    assert len(lines) == 4


def test_empty_data_says_so():
    svg = charts.line_chart(
        "empty", title="Reach", days=DAYS, series=[charts.Series("Reach", [None] * len(DAYS))]
    )
    assert "No data for this period" in svg
    assert "chart-empty" in svg
    ET.fromstring(svg)


def test_text_widths_are_measured_against_the_vendored_font():
    narrow, wide = charts.text_width("iiii", 11), charts.text_width("WWWW", 11)
    assert wide > narrow * 2
    assert charts.text_width("Reach", 11, bold=True) > charts.text_width("Reach", 11)
    long = "Bandung, West Java, a very long city name indeed"
    fitted = charts.fit_text(long, 11, 100)
    assert fitted.endswith("…") and charts.text_width(fitted, 11) <= 100


def test_compact_labels_and_ticks():
    assert charts.compact(None) == "—"
    assert charts.compact(0) == "0"
    assert charts.compact(950) == "950"
    assert charts.compact(12_345) == "12.3k"
    assert charts.compact(2_000_000) == "2M"
    ticks = charts.nice_ticks(0, 873)
    assert ticks[0] == 0 and ticks[-1] >= 873 and len(ticks) <= 7


def test_count_axes_have_whole_number_ticks():
    assert charts.nice_ticks(0, 10) == [0, 2.5, 5, 7.5, 10]  # the generic scale
    assert charts.nice_ticks(0, 10, integer=True) == [0, 5, 10]
    assert charts.nice_ticks(0, 2, integer=True) == [0, 1, 2]
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(7)]
    svg = charts.line_chart(
        "new-follows",
        title="New followers per day",
        days=days,
        series=[charts.Series("This period", [0, 2, 9, 9, 10, 3, 1])],
    )
    labels = re.findall(r'text-anchor="end"[^>]*>([^<]*)</text>', str(svg))
    assert labels and all("." not in label for label in labels), labels
