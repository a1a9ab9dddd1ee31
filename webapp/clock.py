"""The one place that reads the time, so tests and rules agree on "now" (epoch milliseconds)."""

import time

DAY_MS = 24 * 60 * 60 * 1000

# How far tests have moved the clock (monkeypatch.setattr("webapp.clock._shift_ms", ...)): a module value
# that no setting, variable or request can change, so it is 0 in every running Keydesk.
_shift_ms = 0


def now_ms():
    return int(time.time() * 1000) + _shift_ms
