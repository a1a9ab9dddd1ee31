"""Counting how API keys are used: tallied in memory at verification, written with the last-used flush.

Verifying a key adds one to two dictionary entries (its hour; its client address) under the last-used buffer's
lock and writes nothing. The flush (services/access/authentication.py, at most every
KEYDESK_LAST_USED_FLUSH_SECONDS and when the process exits) writes the tallies as batched upserts that add to
the stored counts (`ON CONFLICT ... DO UPDATE SET requests = requests + excluded.requests`), so every worker and
every instance adds its own requests to the same rows and the totals are exact. Rows are written in key order,
so two instances flushing at once take the rows' locks in the same order (no deadlock on PostgreSQL).

Old rows are pruned by the flush at most once an hour per process: hours after 48 hours, days and addresses
after the usage retention period (KEYDESK_USAGE_RETENTION, default 90 days).
"""

import threading
from collections.abc import Iterator

from peewee import EXCLUDED, Case

from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKeyUsageAddress, ApiKeyUsageDay, ApiKeyUsageHour
from webapp.model.db import database

HOUR_MS = 3_600_000
HOURS_KEPT = 48
DEFAULT_RETENTION_MS = 90 * DAY_MS
MIN_RETENTION_MS = DAY_MS
ADDRESS_LENGTH = 64  # the column's size; longer (odd) addresses are cut
# Distinct (key, address) pairs one flush interval remembers: a flood of new addresses can't grow the buffer
# without bound. Past it, requests from addresses not yet seen in the interval are still counted per hour and
# day, just not per address.
MAX_ADDRESSES = 10_000
BATCH = 400  # rows per INSERT: well under SQLite's limit of bound values (4 columns each)
PRUNE_EVERY_MS = HOUR_MS


def hour_of(when_ms: int) -> int:
    """The start of the UTC hour `when_ms` falls in."""
    return when_ms - when_ms % HOUR_MS


def day_of(when_ms: int) -> int:
    """The start (00:00 UTC) of the day `when_ms` falls in."""
    return when_ms - when_ms % DAY_MS


class UsageTally:
    """Requests per (key, hour) and per (key, address) since the last flush. Not locked itself: the last-used
    buffer calls `add` under its own lock and swaps the whole tally out to flush it."""

    __slots__ = ("hours", "addresses")

    def __init__(self) -> None:
        self.hours = {}  # (key id, hour start) -> requests
        self.addresses = {}  # (key id, address) -> [requests, last seen]

    def __bool__(self) -> bool:
        return bool(self.hours)

    def add(self, key_id: str, when_ms: int, address: str | None) -> None:
        """Count one verified request (O(1): two dictionary updates)."""
        slot = (key_id, when_ms - when_ms % HOUR_MS)
        self.hours[slot] = self.hours.get(slot, 0) + 1
        if not address:
            return
        pair = (key_id, address[:ADDRESS_LENGTH])
        seen = self.addresses.get(pair)
        if seen is not None:
            seen[0] += 1
            if when_ms > seen[1]:
                seen[1] = when_ms
        elif len(self.addresses) < MAX_ADDRESSES:
            self.addresses[pair] = [1, when_ms]

    def merge(self, other: "UsageTally") -> None:
        """Add `other`'s counts to these (a flush that failed puts its tally back)."""
        for slot, requests in other.hours.items():
            self.hours[slot] = self.hours.get(slot, 0) + requests
        for pair, (requests, last_seen) in other.addresses.items():
            seen = self.addresses.get(pair)
            if seen is not None:
                seen[0] += requests
                seen[1] = max(seen[1], last_seen)
            elif len(self.addresses) < MAX_ADDRESSES:
                self.addresses[pair] = [requests, last_seen]

    def days(self) -> dict:
        """(key id, day start) -> requests, summed from the hours."""
        found = {}
        for (key_id, hour), requests in self.hours.items():
            slot = (key_id, day_of(hour))
            found[slot] = found.get(slot, 0) + requests
        return found


def _batches(rows: list) -> Iterator[list]:
    rows.sort()
    for start in range(0, len(rows), BATCH):
        yield rows[start:start + BATCH]


def _add_counts(model, bucket, counts: dict) -> None:
    rows = [(key_id, when, requests) for (key_id, when), requests in counts.items()]
    for batch in _batches(rows):
        model.insert_many(batch, fields=[model.key_id, bucket, model.requests]).on_conflict(
            conflict_target=[model.key_id, bucket],
            update={model.requests: model.requests + EXCLUDED.requests}).execute()


def _add_addresses(addresses: dict) -> None:
    table = ApiKeyUsageAddress
    rows = [(key_id, address, requests, last_seen) for (key_id, address), (requests, last_seen) in addresses.items()]
    later = Case(None, [(EXCLUDED.last_seen > table.last_seen, EXCLUDED.last_seen)], table.last_seen)
    for batch in _batches(rows):
        table.insert_many(batch, fields=[table.key_id, table.address, table.requests, table.last_seen]).on_conflict(
            conflict_target=[table.key_id, table.address],
            update={table.requests: table.requests + EXCLUDED.requests, table.last_seen: later}).execute()


class _PruneSchedule:
    """When this process last pruned (epoch ms by the clock, so tests can move it)."""

    def __init__(self) -> None:
        self.last = None
        self._lock = threading.Lock()

    def due(self, now: int) -> bool:
        with self._lock:
            if self.last is not None and now - self.last < PRUNE_EVERY_MS:
                return False
            self.last = now
            return True


_prunes = _PruneSchedule()


def write(tally: UsageTally, retention_ms: int | None = None, now: int | None = None) -> None:
    """Add `tally`'s counts to the stored ones (one transaction); then, given the retention period, prune if this
    process hasn't for an hour (the flush at exit has no app, so no retention period, and never prunes)."""
    now = now_ms() if now is None else now
    if tally:
        with database.atomic():
            _add_counts(ApiKeyUsageHour, ApiKeyUsageHour.hour, tally.hours)
            _add_counts(ApiKeyUsageDay, ApiKeyUsageDay.day, tally.days())
            _add_addresses(tally.addresses)
    if retention_ms is not None and _prunes.due(now):
        prune(retention_ms, now)


def prune(retention_ms: int | None = None, now: int | None = None) -> int:
    """Delete hours older than 48 hours, and days and addresses older than the retention period; how many rows
    went. Three indexed DELETEs: harmless when several instances run them at once."""
    now = now_ms() if now is None else now
    retention_ms = DEFAULT_RETENTION_MS if retention_ms is None else retention_ms
    cutoff = now - retention_ms
    with database.atomic():
        deleted = ApiKeyUsageHour.delete().where(
            ApiKeyUsageHour.hour <= hour_of(now) - HOURS_KEPT * HOUR_MS).execute()
        # A day goes once all of it is older than the retention period.
        deleted += ApiKeyUsageDay.delete().where(ApiKeyUsageDay.day <= cutoff - DAY_MS).execute()
        deleted += ApiKeyUsageAddress.delete().where(ApiKeyUsageAddress.last_seen < cutoff).execute()
    return deleted
