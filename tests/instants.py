"""The instants tests run at.

Every test runs with Prism's clock pinned to a named instant (`tests/conftest.py`'s autouse
`clock` fixture; time_machine, ticking from that instant), so the sandbox's world (built from
its clock: which stories are live, which days have settled) is the same on every day and at
every hour. The processes a test starts follow the same clock (`tests/clockhook`).

- `@pytest.mark.at("us_spring_forward_eve")` runs a test at another named instant below (or
  at an ISO moment); `@at_each()` runs it once at each trap.
- `@pytest.mark.real_clock` opts a test out (it must then pass at any instant: CI also runs the
  suite with every process's clock shifted by faketime, see .ci/run).

The traps are the moments where day arithmetic goes wrong: Meta's days end at midnight in
Los Angeles, whose days are 23 or 25 hours long twice a year; months and years end; 29 February.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

INSTANTS: dict[str, datetime] = {
    # A Wednesday, 10:00 in Los Angeles and 19:00 in Paris: far from a Pacific midnight, a
    # month's end and a daylight-saving change. Every test runs here unless it says otherwise.
    "default": datetime(2026, 12, 2, 18, 0, tzinfo=UTC),
    # One minute before a Pacific midnight (08:00 UTC in winter).
    "pacific_midnight_eve": datetime(2026, 12, 3, 7, 59, tzinfo=UTC),
    # Before the Pacific midnight that starts 8 March 2026, the 23-hour day (US spring forward).
    "us_spring_forward_eve": datetime(2026, 3, 8, 7, 59, tzinfo=UTC),
    # Before the Pacific midnight that starts 1 November 2026, the 25-hour day (US fall back).
    "us_fall_back_eve": datetime(2026, 11, 1, 6, 59, tzinfo=UTC),
    # Europe's clocks go forward at 01:00 UTC on 29 March 2026 and back on 25 October 2026.
    "eu_spring_forward": datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
    "eu_fall_back": datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
    # The last minute of November in Los Angeles, and of the year.
    "month_end": datetime(2026, 12, 1, 7, 59, tzinfo=UTC),
    "year_end": datetime(2027, 1, 1, 7, 59, tzinfo=UTC),
    # 29 February 2028, a few minutes after its start in Los Angeles.
    "leap_day": datetime(2028, 2, 29, 8, 5, tzinfo=UTC),
}

# The instants a time-sensitive test is run at besides the default (`at_each`).
TRAPS = (
    "pacific_midnight_eve",
    "us_spring_forward_eve",
    "us_fall_back_eve",
    "eu_fall_back",
    "month_end",
    "year_end",
    "leap_day",
)


def instant(name_or_moment: str | datetime) -> datetime:
    if isinstance(name_or_moment, datetime):
        return name_or_moment
    if name_or_moment in INSTANTS:
        return INSTANTS[name_or_moment]
    return datetime.fromisoformat(name_or_moment)


# The instant a test without its own runs at: "default", or PRISM_TEST_INSTANT's (.ci/run runs
# the time-sensitive tiers at traps this way). `PINNED` is that moment, for tests that build
# their world relative to the clock's start.
DEFAULT_INSTANT = os.environ.get("PRISM_TEST_INSTANT") or "default"
PINNED = instant(DEFAULT_INSTANT)


def at_each(*names: str):
    """Run a test at each of these instants (default: the traps), one test id each:
    `@at_each()` above a test, or `@at_each("us_fall_back_eve", "leap_day")`."""
    names = names or TRAPS
    return pytest.mark.parametrize("clock", names, indirect=True, ids=names)
