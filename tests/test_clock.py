"""The pinned clock (tests/instants.py, the `clock` fixture in tests/conftest.py)."""

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.instants import INSTANTS, PINNED, TRAPS

CHILD = "from datetime import datetime, UTC; print(datetime.now(UTC).isoformat())"


def child_now() -> tuple[datetime, datetime]:
    """A Python process's clock, with this process's clock read just before and just after."""
    before = timezone.now()
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    return before, datetime.fromisoformat(out.stdout.strip()), timezone.now()


def test_every_test_starts_at_the_named_instant():
    assert PINNED <= timezone.now() < PINNED + timedelta(minutes=1)


@pytest.mark.at("us_fall_back_eve")
def test_a_test_may_name_another_instant():
    now = timezone.now()
    assert INSTANTS["us_fall_back_eve"] <= now < INSTANTS["us_fall_back_eve"] + timedelta(minutes=1)


def test_processes_a_test_starts_follow_its_clock():
    before, child, after = child_now()
    assert before <= child <= after
    # Also when they start long after the test did, and read the clock late in their life.
    time.sleep(0.5)
    late = "import time; time.sleep(0.3); " + CHILD
    before = timezone.now()
    out = subprocess.run([sys.executable, "-c", late], capture_output=True, text=True, check=True)
    child, after = datetime.fromisoformat(out.stdout.strip()), timezone.now()
    assert before + timedelta(seconds=0.3) <= child <= after


def test_the_instants_are_aware_and_the_traps_named():
    assert all(moment.tzinfo is not None for moment in INSTANTS.values())
    assert set(TRAPS) <= set(INSTANTS)


@pytest.mark.real_clock
def test_a_test_may_keep_the_real_clock():
    # The real clock is whatever it is; what matters is that this test's is not pinned.
    assert abs(timezone.now() - datetime.now(UTC)) < timedelta(seconds=1)
    assert not INSTANTS["default"] <= timezone.now() < INSTANTS["default"] + timedelta(hours=1)
