"""Last-used times and usage counts of API keys, gathered at verification and written in batches."""

import logging
import threading
import time

from peewee import DatabaseError

from webapp.model import ApiKey
from webapp.services.api_keys import usage_counts

log = logging.getLogger(__name__)


class LastUsedBuffer:
    """Collects last-used times in memory and writes them in one statement per key at most every `interval` s.

    Verifying a key then reads one row and never writes; the stored time lags by at most `interval`
    seconds per instance (plus the time until the next authenticated request triggers the flush). The key's
    usage counts (services/api_keys/usage_counts.py) are tallied and written along with it.
    """

    def __init__(self, interval: float = 60) -> None:
        self.interval = interval
        self._pending = {}
        self._usage = usage_counts.UsageTally()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def note(self, key_id: str, when_ms: int, address: str | None, interval: float | None = None,
             usage_retention_ms: int | None = None) -> None:
        """Buffer a use; write everything buffered once `interval` s (the buffer's own when None) passed."""
        interval = self.interval if interval is None else interval
        with self._lock:
            self._pending[key_id] = (when_ms, address)
            self._usage.add(key_id, when_ms, address)
            due = time.monotonic() - self._last_flush >= interval
        if due:
            try:
                self.flush(usage_retention_ms)
            except DatabaseError as error:  # advisory times and counts: kept for the next flush, the request goes on
                log.warning("could not write last-used times and usage counts, kept for the next flush: %s", error)

    def flush(self, usage_retention_ms: int | None = None) -> int:
        """Write what is buffered, pruning usage counts older than `usage_retention_ms` when given; how many keys."""
        with self._lock:
            pending, self._pending = self._pending, {}
            usage, self._usage = self._usage, usage_counts.UsageTally()
            self._last_flush = time.monotonic()
        try:
            usage_counts.write(usage, usage_retention_ms)
        except Exception:
            with self._lock:  # keep the counts for the next flush rather than lose them
                self._usage.merge(usage)
                self._keep(pending)
            raise
        try:
            for key_id, (when_ms, address) in pending.items():
                # Only move forward: another instance may have written a later time already.
                ApiKey.update(last_used=when_ms, last_used_address=address).where(
                    (ApiKey.id == key_id) & ((ApiKey.last_used.is_null()) | (ApiKey.last_used < when_ms))
                ).execute()
        except Exception:
            with self._lock:  # written again next time (only ever forward, so twice does no harm)
                self._keep(pending)
            raise
        return len(pending)

    def _keep(self, pending: dict) -> None:
        for key_id, used in pending.items():
            if key_id not in self._pending or self._pending[key_id][0] < used[0]:
                self._pending[key_id] = used
