"""Throttling of failed sign-ins and failed API authentications (the `limits` package).

Only failures count, so people and scripts with good credentials are never slowed; once a credential or an
address has failed too often, every attempt with it waits out the window (429 with Retry-After). Counters
live in memory, or in Redis (KEYDESK_RATELIMIT_STORAGE_URL) so that several instances share them. Fixed
windows: a limit such as "10 per minute" allows ten failures per calendar minute of the counter.

Two requests are throttled: a POST of the sign-in form, and any request to the JSON API. Before one of them
runs, each of its two limits (per credential, per address) is tested; after it answered 401, both are hit.
"""

import importlib.util
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from webapp.config import ConfigurationError
from webapp.errors import AuthenticationFailed
from webapp.security.credentials import CredentialFormatError, decode_credential
from webapp.services.access.authentication import parse_basic

log = logging.getLogger(__name__)

LOGIN_MESSAGE = "Too many failed sign-in attempts. Wait a moment before trying again."
API_MESSAGE = "too many failed authentication attempts; retry later"
EXTENSION = "keydesk.throttle"


def credential_key() -> str:
    """Who the request claims to be, without checking it: `key:<id>`, `user:<name>`, or `none`."""
    if request.method == "POST" and request.endpoint == "auth.login":
        return "user:" + request.form.get("username", "")[:200]
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() == "apikey":
            return "key:" + decode_credential(value)[0][:100]
        if scheme.lower() == "basic":
            return "user:" + parse_basic(value)[0][:200]
    except (CredentialFormatError, AuthenticationFailed):
        return "malformed"
    return "none"


def address_key() -> str:
    return request.remote_addr or "unknown"


@dataclass(frozen=True)
class Rule:
    """One limit on failures: how many per window, counted under `scope` for the key `key()` returns."""

    item: RateLimitItem
    key: Callable[[], str]  # reads the current request
    scope: str


class Throttle:
    """The counters of one app: the storage, the strategy over it, and the rules for each throttled kind."""

    def __init__(self, storage_url: str, per_credential: str, per_address: str, enabled: bool = True):
        if storage_url.startswith("redis") and importlib.util.find_spec("redis") is None:
            raise ConfigurationError("KEYDESK_RATELIMIT_STORAGE_URL names Redis, but its driver (redis) is not "
                                     "installed: pip install 'keydesk[redis]'")
        try:
            self.storage: Storage = storage_from_string(storage_url)
        except LimitsConfigurationError as error:
            raise ConfigurationError(f"KEYDESK_RATELIMIT_STORAGE_URL can't be used: {error}") from error
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.enabled = enabled
        self.rules = {
            kind: [Rule(item, key, f"{kind}-{name}")
                   for text, key, name in ((per_credential, credential_key, "credential"),
                                           (per_address, address_key, "address"))
                   for item in parse_many(text)]
            for kind in ("login", "api")
        }

    def reset(self) -> None:
        """Forget every counter (tests)."""
        self.storage.reset()

    def refuse_if_throttled(self, kind: str, message: str) -> None:
        """Raise 429 when one of the rules of `kind` has no failure left in its window."""
        for rule in self.rules[kind]:
            identifiers = (rule.key(), rule.scope)
            try:
                allowed = self.strategy.test(rule.item, *identifiers)
                reset_at = None if allowed else self.strategy.get_window_stats(rule.item, *identifiers).reset_time
            except Exception as error:  # any failure of the store (Redis down): see init_app
                log.warning("throttle store unavailable, not throttling: %s", error)
                return
            if not allowed:
                g.keydesk_retry_after = max(1, int(reset_at - time.time()) + 1)
                raise TooManyRequests(message)

    def count_failure(self, kind: str) -> None:
        try:
            for rule in self.rules[kind]:
                self.strategy.hit(rule.item, rule.key(), rule.scope)
        except Exception as error:  # any failure of the store (Redis down): see init_app
            log.warning("throttle store unavailable, failure not counted: %s", error)


def of(app) -> Throttle:
    """The app's throttle (its counters and rules)."""
    return app.extensions[EXTENSION]


def retry_after_seconds() -> int:
    """Seconds until the limit that refused this request resets (at least 1)."""
    return g.get("keydesk_retry_after", 60)


def _throttled_kind():
    """"api", "login" or None: which rules apply to the current request."""
    if request.blueprint == "api":
        return "api"
    if request.method == "POST" and request.endpoint == "auth.login":
        return "login"
    return None


_MESSAGES = {"api": API_MESSAGE, "login": LOGIN_MESSAGE}


def _before():
    throttle, kind = current_app.extensions[EXTENSION], _throttled_kind()
    if kind is not None and throttle.enabled:
        throttle.refuse_if_throttled(kind, _MESSAGES[kind])


def _after(response):
    if response.status_code == 401:
        throttle, kind = current_app.extensions[EXTENSION], _throttled_kind()
        if kind is not None and throttle.enabled:
            throttle.count_failure(kind)
    return response


def init_app(app) -> None:
    """Create the app's counters and check the limits before the views (and the authentication they do) run.

    With the counters' store (Redis) down, throttling pauses (logged) rather than refusing everyone:
    credentials are still checked in full on every request. RATELIMIT_ENABLED=False switches it off (tests
    that fail authentication hundreds of times on purpose).
    """
    config = app.config
    app.extensions[EXTENSION] = Throttle(
        config["KEYDESK_RATELIMIT_STORAGE_URL"], config["KEYDESK_AUTH_FAILURES_PER_CREDENTIAL"],
        config["KEYDESK_AUTH_FAILURES_PER_ADDRESS"], enabled=bool(config.get("RATELIMIT_ENABLED", True)))
    app.before_request(_before)
    app.after_request(_after)
