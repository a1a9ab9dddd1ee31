"""`database://`: throttling counters in Keydesk's own database, a `limits` storage.

Every worker process of an instance (and, on PostgreSQL, every instance) reads and writes the same rows, so a
limit such as "10 per minute" holds in total, not per process. One row per counter (table throttle_counter):
its failures in the current fixed window and when that window ends. Only failures write (an upsert and a read
of the new count, in one transaction, so concurrent failures from several processes are all counted); testing
a limit is one read by primary key. Rows of windows that have ended are deleted now and then by a write.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from limits.storage import Storage
from peewee import Case, PeeweeException

from webapp.model import ThrottleCounter, database
from webapp.model.db import UNSTORABLE

# Every this many writes in a process, the rows of windows that have ended are deleted.
PURGE_EVERY = 200
# One counted hit as one statement (the upsert returns the new count): a key's own rate limit (web/key_limits.py)
# writes on every request, so this is its whole cost. Its own window restarts once the stored one has ended.
_INCR_SQL = (
    'INSERT INTO throttle_counter ("key", hits, expires) VALUES (?, ?, ?) ON CONFLICT ("key") DO UPDATE SET '
    'hits = CASE WHEN throttle_counter.expires <= ? THEN excluded.hits ELSE throttle_counter.hits + excluded.hits '
    'END, expires = CASE WHEN throttle_counter.expires <= ? THEN excluded.expires ELSE throttle_counter.expires '
    'END RETURNING hits'
)


def _now_ms() -> int:
    return int(time.time() * 1000)


@contextmanager
def _connected() -> Iterator[None]:
    """The request's connection; outside a request (tests, commands) one opened for the call."""
    if not database.is_closed():
        yield
        return
    with database.connection_context():
        yield


class DatabaseStorage(Storage):
    """Fixed-window counters in the throttle_counter table of KEYDESK_DATABASE_URL."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._writes = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return PeeweeException

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = _now_ms()
        ends = now + int(expiry * 1000)
        if not UNSTORABLE.search(key):  # (text the database refuses goes the checked way below, and fails there)
            with _connected():
                hits = database.fetch_one("keydesk_throttle_incr", _INCR_SQL, (key, amount, ends, now, now))[0]
                self._writes += 1
                if self._writes % PURGE_EVERY == 0:
                    ThrottleCounter.delete().where(ThrottleCounter.expires <= now).execute()
            return int(hits)
        ended = ThrottleCounter.expires <= now
        with _connected(), database.atomic():
            ThrottleCounter.insert(key=key, hits=amount, expires=ends).on_conflict(
                conflict_target=[ThrottleCounter.key],
                update={ThrottleCounter.hits: Case(None, [(ended, amount)], ThrottleCounter.hits + amount),
                        ThrottleCounter.expires: Case(None, [(ended, ends)], ThrottleCounter.expires)},
            ).execute()
            hits = ThrottleCounter.select(ThrottleCounter.hits).where(ThrottleCounter.key == key).scalar()
            self._writes += 1
            if self._writes % PURGE_EVERY == 0:
                ThrottleCounter.delete().where(ThrottleCounter.expires <= now).execute()
        return int(hits)

    def _live(self, key: str):
        return ThrottleCounter.select().where((ThrottleCounter.key == key) & (ThrottleCounter.expires > _now_ms()))

    def get(self, key: str) -> int:
        with _connected():
            return int(self._live(key).select(ThrottleCounter.hits).scalar() or 0)

    def get_expiry(self, key: str) -> float:
        with _connected():
            ends = self._live(key).select(ThrottleCounter.expires).scalar()
        return time.time() if ends is None else ends / 1000

    def check(self) -> bool:
        with _connected():
            database.execute_sql("SELECT 1")
        return True

    def reset(self) -> int:
        with _connected():
            return ThrottleCounter.delete().execute()

    def clear(self, key: str) -> None:
        with _connected():
            ThrottleCounter.delete().where(ThrottleCounter.key == key).execute()
