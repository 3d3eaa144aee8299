"""The report's data as files: tidy CSV (date, account, metric, value), a posts CSV, and XLSX.

Same Report as the page and the PDF. Memory stays flat as data grows: CSV rows are streamed as
they are produced, posts are read from the database in chunks, and openpyxl's write-only mode
writes each row to its temporary file at once.
"""

from __future__ import annotations

import csv
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.http import FileResponse, StreamingHttpResponse
from django.utils.text import slugify

from .model import PostRow, Report, StoryRow, media_item
from .places import demographic_label
from .read import iter_period_media

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
METRIC_NAMES = {
    "reach": "reach_daily",
    "views": "views",
    "total_interactions": "interactions",
    "followers": "followers",
}


# Characters spreadsheets skip before a formula: spaces of every kind, a byte-order mark,
# zero-width and bidi marks.
_IGNORED_FIRST = re.compile(r"^[\s\ufeff\u200b-\u200f\u2060\u202a-\u202e\u2066-\u2069]+")


def safe_cell(value):
    """Text a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed with a
    quote (OWASP's CSV-injection advice), also when spaces, a byte-order mark or zero-width
    characters come first, or the sign is a full-width or small form ("＝", "﹦": NFKC makes
    them "="). Numbers are written as numbers and left alone."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START):
        return "'" + value
    rest = _IGNORED_FIRST.sub("", value)
    if rest and unicodedata.normalize("NFKC", rest[0]).startswith(FORMULA_START):
        return "'" + value
    return value


def account_cell(label: str) -> str:
    """An account as a spreadsheet cell: its username without the "@" (Instagram usernames are
    letters, digits, "." and "_", so nothing is left to escape; "'@name" read as broken)."""
    return label.removeprefix("@")


def _plain(value: float | None):
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else round(value, 4)


# --- Rows (shared by CSV and XLSX) ------------------------------------------------------------


TIDY_HEADER = ("date", "start", "end", "account", "metric", "value")


def tidy_rows(report: Report) -> Iterator[tuple]:
    """(date, start, end, account, metric, value): one row per day and metric (`date` set),
    then the period's KPIs, whose values cover a window (`start` and `end` set, `date` empty),
    and the comparison's. Missing data has an empty value, never 0."""
    period = report.period
    for section in report.all_sections:
        account = account_cell(section.title)
        for series in [*section.daily.values(), section.followers]:
            name = METRIC_NAMES.get(series.metric, series.metric)
            for day, value in zip(period.days, series.values or [], strict=False):
                yield day, None, None, account, name, value
        for kpi in section.kpis:
            yield None, period.start, period.end, account, kpi.key, kpi.value
        if report.comparison is not None:
            before = report.comparison
            for kpi in section.kpis:
                yield None, before.start, before.end, account, kpi.key, kpi.previous


POST_HEADER = (
    "account",
    "published",
    "type",
    "permalink",
    "caption",
    "reach",
    "views",
    "likes",
    "comments",
    "saves",
    "shares",
    "interactions",
    "engagement_rate_percent",
    "story_capture",
    "replies",
    "metrics_as_of",
)


def iter_media(report: Report) -> Iterator[PostRow | StoryRow]:
    """Every post and story published in the period, oldest first, read in chunks."""
    zone = ZoneInfo(report.time_zone)
    accounts = {s.account.pk: s.account for s in report.sections if s.account}
    for row in iter_period_media(list(accounts), report.period, zone):
        yield media_item(row, accounts[row["account_id"]], zone)


def post_rows(report: Report) -> Iterator[tuple]:
    for item in iter_media(report):
        m = item.metrics
        if isinstance(item, StoryRow):
            yield (
                account_cell(item.account),
                item.published.replace(tzinfo=None),
                "Story",
                "",
                "",
                m["reach"],
                m["views"],
                None,
                None,
                None,
                m["shares"],
                None,
                None,
                item.state_label,
                m["replies"] if not item.replies_zeroed else "not given (EU/Japan rule)",
                None,
            )
        else:
            yield (
                account_cell(item.account),
                item.published.replace(tzinfo=None),
                item.kind,
                item.permalink,
                item.caption,
                m["reach"],
                m["views"],
                m["likes"],
                m["comments"],
                m["saved"],
                m["shares"],
                m["interactions"],
                round(item.engagement_rate, 4) if item.engagement_rate is not None else None,
                "",
                None,
                item.sampled_at.replace(tzinfo=None) if item.sampled_at else None,
            )


# --- HTTP responses ---------------------------------------------------------------------------


def filename(report: Report, kind: str, extension: str) -> str:
    name = f"{report.client.name} {kind} {report.period.start} {report.period.end}"
    return f"{name}.{extension}"


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback plus the UTF-8 name (filename*)."""
    ascii_name = slugify(name.rsplit(".", 1)[0]) or "report"
    extension = name.rsplit(".", 1)[-1]
    return (
        f'attachment; filename="{ascii_name}.{extension}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )


def download_headers(response, name: str):
    response["Content-Disposition"] = content_disposition(name)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(header: tuple, rows: Iterator[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)  # BOM: Excel then reads UTF-8
    for row in rows:
        yield writer.writerow([_csv_value(v) for v in row])


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return _plain(value)
    return safe_cell(value)


def tidy_csv_response(report: Report) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _csv_lines(TIDY_HEADER, tidy_rows(report)),
        content_type="text/csv; charset=utf-8",
    )
    return download_headers(response, filename(report, "daily", "csv"))


def posts_csv_response(report: Report) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _csv_lines(POST_HEADER, post_rows(report)), content_type="text/csv; charset=utf-8"
    )
    return download_headers(response, filename(report, "posts", "csv"))


COUNT = "#,##0"
DECIMAL = "#,##0.00"
PERCENT = "0.00%"


def write_xlsx(report: Report, out) -> None:
    """The workbook, a sheet per table, typed cells (numbers, dates), into the file `out`. Each
    sheet's header row is bold and frozen; figures with decimals are shown with two (averages,
    rates), rates as percentages.

    Rows go to openpyxl as plain values: it types them itself (numbers, and dates and times with
    the yyyy-mm-dd and yyyy-mm-dd h:mm:ss formats). Only the cells that need a number format are
    styled WriteOnlyCells: openpyxl raises and handles an exception for each of those (it tries
    `cell.value = cell` first), which for every cell cost more than writing the workbook."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(title: str, header: tuple, rows: Iterator[tuple], widths: tuple = (), formats=None):
        """`formats(row)`: {column index: number format} for the cells that need one."""
        ws = book.create_sheet(title)
        ws.freeze_panes = "A2"
        for i, width in enumerate(widths):
            ws.column_dimensions[chr(65 + i)].width = width
        cells = []
        for name in header:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
        for row in rows:
            values = [None if v == "" else safe_cell(v) for v in row]  # "": no cell at all
            for index, number_format in (formats(row) if formats else {}).items():
                if values[index] is not None:
                    cell = WriteOnlyCell(ws, value=values[index])
                    cell.number_format = number_format
                    values[index] = cell
            ws.append(values)

    def decimals(*columns):
        def formats(row):
            return {
                i: DECIMAL
                for i in columns
                if isinstance(row[i], float) and not float(row[i]).is_integer()
            }

        return formats

    def summary_rows():
        for s in report.all_sections:
            for k in s.kpis:
                percent = k.unit == "percent"
                yield (
                    account_cell(s.title),
                    k.key,
                    k.label,
                    k.value / 100 if percent and k.value is not None else k.value,
                    k.previous / 100 if percent and k.previous is not None else k.previous,
                    k.unit,
                    k.note,
                    k.coverage,
                    k.why or ("" if k.delta is None else "compared"),
                )

    def summary_formats(row):
        if row[5] == "percent":
            return {3: PERCENT, 4: PERCENT}
        return {
            i: DECIMAL if not float(row[i]).is_integer() else COUNT
            for i in (3, 4)
            if row[i] is not None
        }

    sheet(
        "Summary",
        ("account", "metric", "label", "value", "previous", "unit", "note", "coverage", "change"),
        summary_rows(),
        (18, 18, 22, 14, 14, 10, 30, 16, 40),
        summary_formats,
    )
    sheet(
        "Daily",
        ("date", "account", "metric", "value"),
        ((row[0], *row[3:]) for row in tidy_rows(report) if row[0] is not None),
        (12, 20, 16, 12),
        decimals(3),
    )
    sheet(
        "Posts",
        POST_HEADER,
        post_rows(report),
        (18, 17, 10, 30, 40),
        decimals(POST_HEADER.index("engagement_rate_percent")),
    )
    sheet(
        "Audience",
        ("account", "breakdown", "group", "name", "followers", "as_of"),
        (
            (
                account_cell(s.title),
                breakdown,
                key,
                demographic_label(breakdown, key),
                value,
                s.demographics_as_of,
            )
            for s in report.sections
            for breakdown, buckets in s.demographics.items()
            for key, value in buckets
        ),
        (18, 12, 26, 26, 12, 12),
    )
    sheet(
        "About",
        ("item", "value"),
        iter(
            [
                ("client", report.client.name),
                ("period start", report.period.start),
                ("period end", report.period.end),
                ("compared with", report.comparison.label if report.comparison else "none"),
                ("time zone", report.time_zone),
                ("engagement rate", report.engagement_help),
                ("daily figures", "Instagram's days, ending at midnight Pacific time"),
                ("empty cells", "Instagram gave no figure (never a zero)"),
            ]
        ),
        (18, 60),
    )
    book.save(out)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(report: Report) -> FileResponse:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_xlsx(report, out)
    out.seek(0)
    response = FileResponse(out, content_type=XLSX_TYPE)
    return download_headers(response, filename(report, "report", "xlsx"))
