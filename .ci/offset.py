"""Prints faketime's relative offset ("+N" seconds) that puts the real clock two minutes before
the next trap of a kind: `faketime -f "$(python .ci/offset.py us_spring_forward_eve)s" cmd`.
Every process then agrees on the shifted time (faketime's relative form) and the run crosses
the trap while it goes. Always forward: libfaketime makes Python's sleeps fail with EINVAL when
the offset is negative.

The kinds (named as in tests/instants.py; the suite's pinned instant is chosen separately, with
PRISM_TEST_INSTANT): the next Pacific midnight, the next one that starts a 23-hour or a 25-hour
day (the US daylight-saving changes), the next end of a month or of a year in Los Angeles.
"""

import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


def midnights(after: datetime):
    day = after.astimezone(PACIFIC).date() + timedelta(days=1)
    while True:
        yield day, datetime(day.year, day.month, day.day, tzinfo=PACIFIC)
        day += timedelta(days=1)


def hours(day) -> float:
    start = datetime(day.year, day.month, day.day, tzinfo=PACIFIC)
    end = start + timedelta(days=1)  # wall-clock: the next midnight
    return (end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1)


TRAPS = {
    "pacific_midnight_eve": lambda day: True,
    "us_spring_forward_eve": lambda day: hours(day) == 23,
    "us_fall_back_eve": lambda day: hours(day) == 25,
    "month_end": lambda day: day.day == 1,
    "year_end": lambda day: day.month == 1 and day.day == 1,
}

now = datetime.now(UTC) + timedelta(minutes=10)
kind = TRAPS[sys.argv[1]]
moment = next(midnight for day, midnight in midnights(now) if kind(day))
print(f"{int(moment.timestamp() - 120 - time.time()):+d}")
