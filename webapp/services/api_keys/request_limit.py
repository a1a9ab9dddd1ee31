"""A key's own rate limit, `{"requests": 100, "per": "1m"}`: reading it from a request, and what it means.

The value is kept in the key's `rate_limit` column (NULL: no limit), read by the statement that verifies the
key, and enforced by the web layer (webapp/web/key_limits.py) through the throttling storage. Elasticsearch's
answers never show it; Keydesk's own endpoints and the keys pages do.
"""

import re
from dataclasses import dataclass

from webapp.errors import DomainError

MIN_REQUESTS, MAX_REQUESTS = 1, 1_000_000
MAX_WINDOW_SECONDS = 86_400  # 1d
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_TIME_VALUE = re.compile(r"([0-9]{1,9})(s|m|h|d)")
FIELDS = ("requests", "per")
PER_MESSAGE = "Enter a time such as 1s, 30s, 1m, 1h or 1d (from 1s to 1d)."
REQUESTS_MESSAGE = f"Enter a whole number of requests from {MIN_REQUESTS} to {MAX_REQUESTS:,}."


@dataclass(frozen=True)
class RateLimit:
    requests: int
    per: str  # as given, e.g. "1m"
    seconds: int

    def to_json(self) -> dict:
        return {"requests": self.requests, "per": self.per}

    @property
    def text(self) -> str:
        """"100 requests per 1m", for the pages and messages."""
        return f"{self.requests:,} request{'s' if self.requests != 1 else ''} per {self.per}"


def _refused(reason, field, detail):
    return DomainError(reason, field=field, detail=detail)


def window_seconds(per: object) -> int:
    """Seconds of a time value from 1s to 1d (`s`, `m`, `h`, `d`); a 400 naming the value otherwise."""
    shown = str(per)[:100]
    match = _TIME_VALUE.fullmatch(per) if isinstance(per, str) else None
    if match is None:
        raise _refused(f"failed to parse [rate_limit.per] with value [{shown}] as a time value: expected a number "
                       "followed by one of the units [s, m, h, d], such as [1m]", "rate_limit.per", PER_MESSAGE)
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if not 1 <= seconds <= MAX_WINDOW_SECONDS:
        raise _refused(f"[rate_limit.per] must be from [1s] to [1d], found [{shown}]", "rate_limit.per",
                       PER_MESSAGE)
    return seconds


def check_requests(requests: object) -> int:
    if isinstance(requests, bool) or not isinstance(requests, int):
        raise _refused(f"[rate_limit.requests] must be a whole number, found [{str(requests)[:100]}]",
                       "rate_limit.requests", REQUESTS_MESSAGE)
    if not MIN_REQUESTS <= requests <= MAX_REQUESTS:
        raise _refused(f"[rate_limit.requests] must be from [{MIN_REQUESTS}] to [{MAX_REQUESTS}], found "
                       f"[{requests}]", "rate_limit.requests", REQUESTS_MESSAGE)
    return requests


def parse_rate_limit(value: object) -> RateLimit | None:
    """The limit a request gives (`None` removes it): an object with exactly `requests` and `per`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _refused(f"[rate_limit] must be an object such as {{\"requests\": 100, \"per\": \"1m\"}} or null, "
                       f"found [{str(value)[:100]}]", "rate_limit", "Enter a number of requests and a time.")
    unknown = [name for name in value if name not in FIELDS]
    if unknown:
        raise _refused(f"[rate_limit] unknown field [{str(unknown[0])[:100]}], expected [requests] and [per]",
                       "rate_limit", "Enter a number of requests and a time.")
    missing = [name for name in FIELDS if name not in value]
    if missing:
        raise _refused(f"[rate_limit.{missing[0]}] is required", f"rate_limit.{missing[0]}",
                       REQUESTS_MESSAGE if missing[0] == "requests" else PER_MESSAGE)
    requests = check_requests(value["requests"])
    return RateLimit(requests=requests, per=value["per"], seconds=window_seconds(value["per"]))


def stored(value: object) -> dict | None:
    """The column's value for a request's `rate_limit` (checked), or None to remove it."""
    limit = parse_rate_limit(value)
    return None if limit is None else limit.to_json()


def of_column(value: dict | None) -> RateLimit | None:
    """The RateLimit a stored column value describes (None: no limit)."""
    if not value:
        return None
    return RateLimit(requests=int(value["requests"]), per=value["per"], seconds=window_seconds(value["per"]))
