"""Elasticsearch date math for range bounds: `now-7d`, `now/d`, `2024-01-01||+1M/M`, epoch millis, ISO dates.

Every step and the result stay within the dates Keydesk holds (years 1 to 9999, fields.MIN_DATE_MS..MAX_DATE_MS):
math that leaves them is refused with the parse_exception of an unparseable date, never an overflow."""

import calendar
import re
from datetime import UTC, datetime, timedelta

from webapp.clock import now_ms
from webapp.errors import DomainError
from webapp.services.api_keys.es_query.fields import DATE_FORMAT, date_value, from_ms, in_date_range, to_ms

# Amounts longer than this many digits can't stay within the date range (10^12 seconds is 31,000 years).
_STEP = re.compile(r"([+-])([0-9]{1,12})([yMwdhHms])|/([yMwdhHms])")
_LAST = datetime.max.replace(microsecond=999_000, tzinfo=UTC)


def _error(value):
    return DomainError(f"failed to parse date field [{value}] with format [{DATE_FORMAT}]", type="parse_exception",
                       status=400)


def _add_months(moment, months):
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _add(moment, sign, amount, unit):
    amount = amount if sign == "+" else -amount
    if unit == "y":
        return _add_months(moment, 12 * amount)
    if unit == "M":
        return _add_months(moment, amount)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return moment + timedelta(seconds=seconds * amount)


_KEEP = {"d": 0, "h": 1, "H": 1, "m": 2, "s": 3}  # how many of hour, minute, second, microsecond stay
_NEXT = {"d": "days", "h": "hours", "H": "hours", "m": "minutes", "s": "seconds"}


def _start(moment, unit):
    """The first instant of `moment`'s unit (year, month, week, day, hour, minute, second)."""
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=day.weekday())
    fields = ("hour", "minute", "second", "microsecond")
    return moment.replace(**{name: 0 for name in fields[_KEEP[unit]:]})


def _round(moment, unit, up):
    """`moment` rounded down to its unit, or up to the unit's last ms; the last date held when that unit ends
    after it (year 9999)."""
    start = _start(moment, unit)
    if not up:
        return start
    try:
        if unit in ("y", "M"):
            following = _add_months(start, 12 if unit == "y" else 1)
        else:
            following = start + timedelta(**{"weeks" if unit == "w" else _NEXT[unit]: 1})
    except (ValueError, OverflowError):
        return _LAST
    return following - timedelta(milliseconds=1)


def parse_date_math(value: object, round_up: bool = False, now: int | None = None) -> int:
    """Epoch ms for a range bound; rounding (`/d`) goes to the unit's last ms when `round_up`."""
    if not isinstance(value, str):
        return date_value(value)
    text = value.strip()
    if text.startswith("now"):
        anchor, math = (now_ms() if now is None else now), text[3:]
    elif "||" in text:
        head, math = text.split("||", 1)
        anchor = date_value(head)
    else:
        return date_value(text)
    try:
        moment = _apply(from_ms(anchor), math, round_up)
    except (ValueError, OverflowError):
        moment = None
    if moment is None or not in_date_range(to_ms(moment)):
        raise _error(value)
    return to_ms(moment)


def _apply(moment, math, round_up):
    """`moment` after each step of `math` (`+1d`, `/M`...); None when `math` is not date math."""
    position = 0
    while position < len(math):
        match = _STEP.match(math, position)
        if match is None:
            return None
        if match.group(4):
            moment = _round(moment, match.group(4), round_up)
        else:
            moment = _add(moment, match.group(1), int(match.group(2)), match.group(3))
        position = match.end()
    return moment
