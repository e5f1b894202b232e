"""The one place the gateway reads the wall clock.

Whatever decides behaviour by the time (received_at, retry and resend due times, settle windows,
the sweep's cut-offs, signature timestamps) asks here instead of calling `datetime.now` or
`time.time` itself, so that a reader finds every use of "now" from this module, and a test can
move time for all of them at once: the tests use time-machine, which moves the clock these
functions read (arq's own scores for deferred jobs read the same clock, so a worker running in
the test's process sees the same time). Durations measured for metrics and logs
(`time.perf_counter()`) are not clock reads in this sense and stay where they are.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC: what the gateway stores and compares."""
    return datetime.now(UTC)


def time() -> float:
    """Seconds since the epoch (for signed-request timestamps, which are Unix seconds)."""
    return _time.time()
