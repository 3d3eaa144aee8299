"""What a report is asked for: the one resolver from a request to a `ReportRequest`.

Every way of asking for a client's report goes through `resolve`: the agency's page and its
downloads (`from_query`), the client portal (the same), a share link (`for_share_link`) and a
scheduled or hand-sent email (`for_days`). So the client, the period, the comparison, the time
zone and the client's report settings are decided in one place, and the page, the PDF, the
exports, the shared page and the emailed PDF of one request can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.utils import timezone

from ..models import (
    ENGAGEMENT_FORMULA_HELP,
    Client,
    Compare,
    EngagementFormula,
    RangePreset,
    ReportSettings,
    ShareLink,
)
from .periods import (
    MAX_DAYS,
    Period,
    client_today,
    comparison_period,
    last_complete_day,
    preset_range,
)

_UNSET = object()


@dataclass(frozen=True)
class ReportRequest:
    """A client's report for `period`, compared as `compare` says, with its settings."""

    client: Client
    period: Period
    compare: str = Compare.PREVIOUS
    settings: ReportSettings | None = None
    preset: str = ""  # the range preset the period came from; "" for fixed days

    def __post_init__(self):
        if self.period.end < self.period.start:
            raise ValueError("the range ends before it starts")
        if self.period.length > MAX_DAYS:
            raise ValueError(f"a report covers at most {MAX_DAYS} days")
        Compare(self.compare)  # ValueError for anything else

    @property
    def comparison(self) -> Period | None:
        return comparison_period(self.period, self.compare)

    @property
    def compare_name(self) -> str:
        """The comparison as the tiles name it: "previous period", "same period last year"."""
        return Compare(self.compare).label.lower()

    @property
    def time_zone(self) -> str:
        return self.client.time_zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.client.time_zone)

    @property
    def engagement_formula(self) -> str:
        if self.settings is None:
            return EngagementFormula.POST_REACH
        return self.settings.engagement_formula

    @property
    def engagement_help(self) -> str:
        return ENGAGEMENT_FORMULA_HELP[EngagementFormula(self.engagement_formula)]

    def query_string(self) -> str:
        """The downloads' query string: exactly this period, as a custom range."""
        return urlencode(
            {
                "range": RangePreset.CUSTOM,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "compare": self.compare,
            }
        )


def settings_of(client: Client) -> ReportSettings | None:
    return ReportSettings.objects.filter(client=client).first()


def resolve(
    client: Client,
    *,
    preset: str = "",
    start: date | None = None,
    end: date | None = None,
    compare: str | None = None,
    settings: ReportSettings | None = _UNSET,  # type: ignore[assignment]
    now: datetime | None = None,
) -> ReportRequest:
    """The report request for `client`: fixed days (`start`..`end`), or a range preset
    evaluated on the client's today, or the client's default range; `compare` or the client's
    default comparison. `settings`: the client's ReportSettings when the caller has them."""
    if settings is _UNSET:
        settings = settings_of(client)
    if not compare:
        compare = settings.default_compare if settings else Compare.PREVIOUS
    if start is not None and end is not None:
        return ReportRequest(client, Period(start, end), compare, settings)
    preset = preset or (settings.default_range if settings else RangePreset.LAST_28)
    now = now or timezone.now()
    period = preset_range(preset, client_today(client, now), last_complete_day(client, now))
    return ReportRequest(client, period, compare, settings, preset=preset)


def from_query(client: Client, query, *, now: datetime | None = None):
    """The page's, the portal's and the downloads' request, from the range form's GET
    parameters; bad input falls back to the client's defaults (the form says why).
    Returns (ReportRequest, RangeForm)."""
    from .forms import RangeForm

    settings = settings_of(client)
    form = RangeForm(query, today=client_today(client, now), settings=settings)
    choice = form.choice()
    return resolve(client, settings=settings, now=now, **choice), form


def for_share_link(link: ShareLink, *, now: datetime | None = None) -> ReportRequest:
    """What a share link shows today: its client only, its range (a preset is evaluated
    when opened), its comparison."""
    compare = link.compare if link.compare in Compare.values else Compare.NONE
    if link.preset:
        return resolve(link.client, preset=link.preset, compare=compare, now=now)
    return resolve(link.client, start=link.start, end=link.end, compare=compare, now=now)


def for_days(
    client: Client, start: date, end: date, compare: str = Compare.PREVIOUS
) -> ReportRequest:
    """Fixed days (an emailed report's period, a test's, a benchmark's)."""
    return resolve(client, start=start, end=end, compare=compare)
