"""Enforcing a key's own rate limit (services/api_keys/request_limit.py) at verification.

The limit comes with the key's row, in the statement that verifies it; only a key that has one touches the
counters, which live in the throttling storage (KEYDESK_RATELIMIT_STORAGE_URL, webapp/web/throttle.py): one
fixed-window counter per key and limit, so a limit holds in total wherever that storage is shared (Redis: every
instance naming it; `database://`: every worker of an instance, and on PostgreSQL every instance on that
database; `memory://`: one process). Over the limit: 429 `es_rejected_execution_exception` with Retry-After.

A process takes its requests from the shared counter in shares (a lease): 1 at a time for limits up to 200 per
window, else 1% of the limit (at most 1,000), so a key allowed a million requests a second doesn't write to the
store on every request. The counter only ever grows by what was handed out, so the limit is never exceeded; a
share a process still holds when its window ends is lost (at most 1% of the limit per process). Once the window
is used up, a process refuses the key by itself until it ends, without asking the store again. While the store
can't be reached, the limit pauses (logged), as the failure throttling does.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItemPerSecond

from webapp.errors import DomainError
from webapp.services.api_keys.request_limit import RateLimit, of_column
from webapp.web import throttle

log = logging.getLogger(__name__)
NAMESPACE = "KEYDESK-KEY"
EXTENSION = "keydesk.key_limits"
MAX_SHARE = 1000
_parsed: dict[str, tuple[RateLimit, str, int]] = {}  # stored text -> (limit, counter key, share)
_lock = threading.Lock()


class KeyRateLimited(DomainError, status=429, type="es_rejected_execution_exception"):
    """A key used more often than its own limit allows."""


@dataclass
class Lease:
    remaining: int  # requests this process may still let through in the window
    ends: float  # when the window ends (epoch seconds)
    used_up: bool  # the shared counter has nothing left in this window


def share_of(requests: int) -> int:
    """How many requests a process takes from the shared counter at once."""
    return 1 if requests <= 200 else min(MAX_SHARE, requests // 100)


def _limit_of(key_id: str, stored: str) -> tuple[RateLimit, str, int]:
    found = _parsed.get(stored)
    if found is None:
        limit = of_column(json.loads(stored) if isinstance(stored, str) else stored)
        item = RateLimitItemPerSecond(limit.requests, limit.seconds, namespace=NAMESPACE)
        found = (limit, item.key_for("{}"), share_of(limit.requests))
        if len(_parsed) >= 1024:
            _parsed.clear()
        _parsed[stored] = found
    limit, template, share = found
    return limit, template.replace("{}", key_id, 1), share


def _leases() -> dict:
    leases = current_app.extensions.get(EXTENSION)
    if leases is None:
        leases = current_app.extensions[EXTENSION] = {}
    return leases


def _refused(key_id: str, limit: RateLimit, ends: float, now: float) -> KeyRateLimited:
    retry_after = max(1, int(ends - now) + 1)
    return KeyRateLimited(f"rate limit exceeded for API key [{key_id}]: at most [{limit.requests}] requests per "
                          f"[{limit.per}]; retry in [{retry_after}s]", header={"Retry-After": str(retry_after)})


def check(key_id: str, stored: str) -> None:
    """Count one request of `key_id` against its limit (`stored`: the column as read); 429 when over it."""
    leases, now = _leases(), time.time()
    with _lock:
        lease = leases.get((key_id, stored))
        if lease is not None and now < lease.ends:
            if lease.remaining > 0:
                lease.remaining -= 1
                return
            if lease.used_up:
                raise _refused(key_id, _limit_of(key_id, stored)[0], lease.ends, now)
        limit, counter, share = _limit_of(key_id, stored)
        storage = throttle.of(current_app).storage
        try:
            total = storage.incr(counter, limit.seconds, amount=share)
            ends = now + limit.seconds if total == share else storage.get_expiry(counter)
        except Exception as error:  # any failure of the store (Redis down): the limit pauses, the key still works
            log.warning("throttle store unavailable, rate limit of API key [%s] not applied: %s", key_id, error)
            return
        granted = max(0, min(share, limit.requests - (total - share)))
        if len(leases) >= 10_000:
            leases.clear()
        leases[(key_id, stored)] = Lease(remaining=max(0, granted - 1), ends=ends, used_up=granted < share)
        if granted == 0:
            raise _refused(key_id, limit, ends, now)
