"""The one place that reads the time, so tests and rules agree on "now" (epoch milliseconds)."""

import time

DAY_MS = 24 * 60 * 60 * 1000


def now_ms():
    return int(time.time() * 1000)
