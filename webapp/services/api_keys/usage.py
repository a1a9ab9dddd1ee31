"""A key's usage as its details and GET /_keydesk/api_key/{id}/_usage show it: requests per day over the last 30
days and per hour over the last 48 hours, the client addresses it was last used from, and how long it has gone
unused. Counted at verification and written with the last-used flush (usage_counts.py), so the numbers lag by
up to KEYDESK_LAST_USED_FLUSH_SECONDS per instance, as last-used times do."""

from dataclasses import dataclass
from datetime import UTC, datetime

from peewee import Expression, fn

from webapp.clock import DAY_MS, now_ms
from webapp.errors import NotFound
from webapp.model import ApiKey, ApiKeyUsageAddress, ApiKeyUsageDay, ApiKeyUsageHour
from webapp.security.subject import Subject
from webapp.services.api_keys import visibility
from webapp.services.api_keys.checks import MAX_ID_LENGTH, plausible_id
from webapp.services.api_keys.usage_counts import DEFAULT_RETENTION_MS, HOUR_MS, HOURS_KEPT, day_of, hour_of

DAYS_SHOWN = 30
ADDRESSES_SHOWN = 10
# A key unused this long (its last use, or its creation when it was never used) is "not used for 90 days": the
# details say so and the keys list's filter finds it.
UNUSED_DAYS = 90
UNUSED_MS = UNUSED_DAYS * DAY_MS
# When a key was last used, or created when it never was: the expression of the idle-time index
# (api_key_list_idle, services/schema/upgrade.py), so the filter is one range of it on both databases.
IDLE_SINCE = fn.COALESCE(ApiKey.last_used, ApiKey.creation)


def unused_condition(now: int) -> Expression:
    """The keys not used for 90 days at `now` (never used ones: created more than 90 days ago)."""
    return IDLE_SINCE < now - UNUSED_MS


@dataclass(frozen=True)
class Bucket:
    """Requests in one day or hour, from `start` (epoch ms, UTC)."""

    start: int
    requests: int

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.start / 1000, tz=UTC).strftime("%Y-%m-%d")

    @property
    def hour(self) -> str:
        return datetime.fromtimestamp(self.start / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AddressUse:
    address: str
    requests: int  # since the address was first seen (within the retention period)
    last_seen: int


@dataclass(frozen=True)
class KeyUsage:
    key_id: str
    creation: int
    last_used: int | None
    last_used_address: str | None
    days: tuple  # Bucket per day, oldest first, today last
    hours: tuple  # Bucket per hour, oldest first, the current hour last
    addresses: tuple  # AddressUse, most recently seen first
    distinct_addresses: int  # addresses seen within the retention period
    retention_days: int
    now: int

    @property
    def never_used(self) -> bool:
        return self.last_used is None

    @property
    def unused_days(self) -> int:
        """Whole days since the key was last used, or since it was created when it never was."""
        return max(0, (self.now - (self.last_used or self.creation)) // DAY_MS)

    @property
    def unused(self) -> bool:
        """Not used for 90 days (never used counts from its creation), as the keys list's filter decides it."""
        return (self.last_used or self.creation) < self.now - UNUSED_MS

    @property
    def days_total(self) -> int:
        return sum(bucket.requests for bucket in self.days)

    @property
    def days_peak(self) -> int:
        return max((bucket.requests for bucket in self.days), default=0)

    @property
    def hours_total(self) -> int:
        return sum(bucket.requests for bucket in self.hours)

    @property
    def hours_peak(self) -> int:
        return max((bucket.requests for bucket in self.hours), default=0)

    def to_json(self) -> dict:
        """The shape of GET /_keydesk/api_key/{id}/_usage."""
        return {
            "id": self.key_id,
            "retention_days": self.retention_days,
            "days": [{"date": bucket.date, "requests": bucket.requests} for bucket in self.days],
            "hours": [{"hour": bucket.hour, "requests": bucket.requests} for bucket in self.hours],
            "addresses": [{"address": use.address, "requests": use.requests, "last_seen": use.last_seen}
                          for use in self.addresses],
            "distinct_addresses": self.distinct_addresses,
            "last_used": self.last_used,
            "last_used_address": self.last_used_address,
            "never_used": self.never_used,
            "unused_days": self.unused_days,
            "unused": self.unused,
        }


def key_usage(subject: Subject, key_id: object, retention_ms: int = DEFAULT_RETENTION_MS,
              now: int | None = None) -> KeyUsage:
    """The usage of a key the subject may see (NotFound otherwise, as GET /_keydesk/api_key/{id} answers)."""
    if not plausible_id(key_id):
        shown = key_id[:MAX_ID_LENGTH] if isinstance(key_id, str) else key_id
        raise NotFound(f"api key [{shown}] not found")
    return usage_of(visibility.get_visible_key(subject, key_id), retention_ms, now)


def usage_of(key: ApiKey, retention_ms: int = DEFAULT_RETENTION_MS, now: int | None = None) -> KeyUsage:
    """The usage of `key` (already checked as visible): four indexed reads of the key's own rows."""
    now = now_ms() if now is None else now
    retention_days = max(1, retention_ms // DAY_MS)
    today = day_of(now)
    first_day = today - (min(DAYS_SHOWN, retention_days) - 1) * DAY_MS
    per_day = dict(ApiKeyUsageDay.select(ApiKeyUsageDay.day, ApiKeyUsageDay.requests).where(
        (ApiKeyUsageDay.key_id == key.id) & (ApiKeyUsageDay.day >= first_day)).tuples())
    this_hour = hour_of(now)
    first_hour = this_hour - (HOURS_KEPT - 1) * HOUR_MS
    per_hour = dict(ApiKeyUsageHour.select(ApiKeyUsageHour.hour, ApiKeyUsageHour.requests).where(
        (ApiKeyUsageHour.key_id == key.id) & (ApiKeyUsageHour.hour >= first_hour)).tuples())
    seen = (ApiKeyUsageAddress.key_id == key.id) & (ApiKeyUsageAddress.last_seen >= now - retention_ms)
    addresses = tuple(AddressUse(*row) for row in ApiKeyUsageAddress.select(
        ApiKeyUsageAddress.address, ApiKeyUsageAddress.requests, ApiKeyUsageAddress.last_seen).where(seen)
        .order_by(ApiKeyUsageAddress.last_seen.desc(), ApiKeyUsageAddress.address).limit(ADDRESSES_SHOWN).tuples())
    distinct = len(addresses) if len(addresses) < ADDRESSES_SHOWN else (
        ApiKeyUsageAddress.select(fn.COUNT(ApiKeyUsageAddress.address)).where(seen).scalar() or 0)
    return KeyUsage(
        key_id=key.id, creation=key.creation, last_used=key.last_used, last_used_address=key.last_used_address,
        days=tuple(Bucket(day, int(per_day.get(day, 0))) for day in range(first_day, today + 1, DAY_MS)),
        hours=tuple(Bucket(hour, int(per_hour.get(hour, 0))) for hour in range(first_hour, this_hour + 1, HOUR_MS)),
        addresses=addresses, distinct_addresses=int(distinct), retention_days=retention_days, now=now)
