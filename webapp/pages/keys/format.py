"""How keys read on the page: relative and exact times, status and type labels (template globals)."""

from datetime import UTC, datetime

from webapp.clock import DAY_MS

_UNITS = ((365 * DAY_MS, "year"), (30 * DAY_MS, "month"), (DAY_MS, "day"), (3_600_000, "hour"),
          (60_000, "minute"))


def relative_time(ms, now):
    """"3 days ago", "in 5 hours", "just now"."""
    delta = ms - now
    size = abs(delta)
    if size < 60_000:
        return "just now"
    for unit_ms, unit in _UNITS:
        if size >= unit_ms:
            count = size // unit_ms
            words = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {words}" if delta > 0 else f"{words} ago"
    return "just now"


def exact_time(ms):
    """"2026-11-28 12:30 UTC" (for titles and the details view)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso_time(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def key_status(key, now):
    """(label, kind): Invalidated, Expired, "Expires in …" or Active; kind names a CSS class."""
    if key.invalidated:
        return "Invalidated", "invalidated"
    if key.expiration is not None and key.expiration <= now:
        return "Expired", "expired"
    if key.expiration is not None:
        return f"Expires {relative_time(key.expiration, now)}", "expiring"
    return "Active", "active"


def key_type(key):
    """(label, explanation) of the type badge."""
    if key.managed:
        return "Managed", "Created and managed by a system for its own background work."
    if key.type == "cross_cluster":
        return "Cross-cluster", "Lets remote clusters connect to this one."
    return "Personal", "Acts on behalf of the user who owns it."


def init_app(bp):
    for function in (relative_time, exact_time, iso_time, key_status, key_type):
        bp.add_app_template_global(function)
