"""Elasticsearch date math for range bounds: `now-7d`, `now/d`, `2024-01-01||+1M/M`, epoch millis, ISO dates."""

import calendar
import re
from datetime import UTC, datetime, timedelta

from webapp.clock import now_ms
from webapp.errors import DomainError
from webapp.services.api_keys.es_query.fields import DATE_FORMAT, date_value

_STEP = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")


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


def _round(moment, unit, up):
    if unit == "y":
        start = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        following = start.replace(year=start.year + 1)
    elif unit == "M":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = _add_months(start, 1)
    elif unit == "w":
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
        following = start + timedelta(days=7)
    else:
        keep = {"d": "day", "h": "hour", "H": "hour", "m": "minute", "s": "second"}[unit]
        fields = ("hour", "minute", "second", "microsecond")
        cut = {"day": 0, "hour": 1, "minute": 2, "second": 3}[keep]
        start = moment.replace(**{name: 0 for name in fields[cut:]})
        following = start + timedelta(**{{"day": "days", "hour": "hours", "minute": "minutes",
                                          "second": "seconds"}[keep]: 1})
    if not up:
        return start
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
    moment = datetime.fromtimestamp(anchor / 1000, tz=UTC)
    position = 0
    while position < len(math):
        match = _STEP.match(math, position)
        if match is None:
            raise _error(value)
        if match.group(4):
            moment = _round(moment, match.group(4), round_up)
        else:
            moment = _add(moment, match.group(1), int(match.group(2)), match.group(3))
        position = match.end()
    return int(moment.timestamp() * 1000)
