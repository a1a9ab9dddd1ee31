"""Throttling of failed sign-ins and failed API authentications (the `limits` package).

Only failures count, so people and scripts with good credentials are never slowed. Two limits: failures per
(claimed credential, source address) and failures per source address. What someone else does elsewhere
never refuses a correct credential: a key id or a username is no secret (key ids are in audit rows and in the
identity headers services behind a proxy receive), so failures are never counted per credential alone.

- An address that has used up its own limit gets 429 (with Retry-After) for everything it sends: flooding is
  refused before any credential is checked.
- A password (the sign-in form, Basic on the API) is tested against its (username, address) limit before it
  is checked, so once an address has guessed too often at one user even the right password waits there.
- An API key secret (128 random bits: guessing it is no threat) is only checked against its (key id, address)
  limit once it has failed: that failure is answered 429 instead of 401, and a correct secret is let through
  whatever the count. A correct ApiKey request therefore costs one read (the address's counter), no write;
  with the counters in Keydesk's database that read is part of the key's own statement (an AddressGate), so
  verifying a key stays one statement.

Counters live in Keydesk's own database by default (`database://`, webapp/web/throttle_store.py: shared by
every worker process, and on PostgreSQL by every instance), in Redis (`redis://`: shared by every instance),
or in each process's memory (`memory://`). Fixed windows: "10 per minute" allows ten failures per calendar
minute of the counter.
"""

import importlib.util
import logging
import time
from dataclasses import dataclass, field

from flask import current_app, g, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from webapp.config import ConfigurationError
from webapp.errors import AuthenticationFailed
from webapp.model.db import UNSTORABLE
from webapp.security.credentials import CredentialFormatError, decode_credential
from webapp.services.access.authentication import parse_basic
from webapp.web import throttle_store  # also registers the database:// storage with `limits`
from webapp.web.root import elasticsearch_at_root, elasticsearch_off_route

log = logging.getLogger(__name__)

LOGIN_MESSAGE = "Too many failed sign-in attempts. Wait a moment before trying again."
API_MESSAGE = "too many failed authentication attempts; retry later"
EXTENSION = "keydesk.throttle"


@dataclass(frozen=True)
class Claim:
    """Who the request claims to be, unchecked: `key:<id>`, `user:<name>`, `malformed` or `none`; `password`
    when the secret is a password (guessable, so its limit is tested before it is checked)."""

    credential: str
    password: bool


def claim() -> Claim:
    if request.method == "POST" and request.endpoint == "auth.login":
        return Claim("user:" + request.form.get("username", "")[:200], True)
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() == "apikey":
            return key_claim(decode_credential(value)[0])
        if scheme.lower() == "basic":
            return Claim("user:" + parse_basic(value)[0][:200], True)
    except (CredentialFormatError, AuthenticationFailed):
        return Claim("malformed", False)
    return Claim("none", False)


def key_claim(key_id: str) -> Claim:
    """The claim of an ApiKey credential with this id."""
    return Claim("key:" + key_id[:100], False)


def address(remote_addr: str | None = None) -> str:
    """The client's address as counters name it: the request's (the one X-Forwarded-For gives behind
    KEYDESK_PROXY_HOPS trusted proxies), or `remote_addr` when given (a WSGI environ's REMOTE_ADDR)."""
    return ((request.remote_addr if remote_addr is None else remote_addr) or "unknown")[:64]


@dataclass(frozen=True)
class Rule:
    """One limit on failures: how many per window, counted under `scope`, per address or per (credential,
    address)."""

    item: RateLimitItem
    scope: str
    per_credential: bool

    def identifiers(self, credential: str, client: str) -> tuple[str, ...]:
        return (credential, client, self.scope) if self.per_credential else (client, self.scope)


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
        # Counters in Keydesk's own database can be read in the statement that verifies an API key.
        self.reads_with_key = isinstance(self.storage, throttle_store.DatabaseStorage)
        self.rules = {
            kind: [Rule(item, f"{kind}-{name}", per_credential=name == "credential")
                   for text, name in ((per_credential, "credential"), (per_address, "address"))
                   for item in parse_many(text)]
            for kind in ("login", "api")
        }
        self.address_rules = {kind: tuple(rule for rule in rules if not rule.per_credential)
                              for kind, rules in self.rules.items()}
        self.address_keys = {}  # (kind, address) -> the storage keys of its address limits

    def reset(self) -> None:
        """Forget every counter (tests)."""
        self.storage.reset()

    def retry_after(self, rule: Rule, identifiers: tuple[str, ...]) -> int:
        reset_at = self.strategy.get_window_stats(rule.item, *identifiers).reset_time
        return max(1, int(reset_at - time.time()) + 1)

    def refused_before(self, kind: str, who: Claim, client: str) -> int | None:
        """Seconds to wait when a limit of `kind` that applies before the check has no failure left, else None:
        the address's limits always, the (credential, address) ones for a password."""
        for rule in self.rules[kind]:
            if rule.per_credential and not who.password:
                continue
            identifiers = rule.identifiers(who.credential, client)
            try:
                if not self.strategy.test(rule.item, *identifiers):
                    return self.retry_after(rule, identifiers)
            except Exception as error:  # any failure of the store (Redis down): see init_app
                log.warning("throttle store unavailable, not throttling: %s", error)
                return None
        return None

    def count_failure(self, kind: str, who: Claim, client: str) -> int | None:
        """Count a failure against every limit of `kind`; seconds to wait when one of them is now exceeded."""
        refused = None
        try:
            for rule in self.rules[kind]:
                identifiers = rule.identifiers(who.credential, client)
                if not self.strategy.hit(rule.item, *identifiers) and refused is None:
                    refused = self.retry_after(rule, identifiers)
        except Exception as error:  # any failure of the store (Redis down): see init_app
            log.warning("throttle store unavailable, failure not counted: %s", error)
        return refused


@dataclass
class AddressGate:
    """The address limits of an ApiKey request, tested in the statement that reads the key (authentication's
    `gate`): the same test as `Throttle.refused_before`, without a statement of its own. When the request
    never reaches the key check (a 4xx before it, a route that checks nothing), `_after` tests them then."""

    throttle: Throttle
    kind: str
    client: str
    rules: tuple[Rule, ...]
    keys: tuple[str, ...]
    at_ms: int
    checked: bool = field(default=False)

    def check(self, hits) -> None:
        """Refuse (429) when a counter has no failure left; `hits` holds each counter's count or None."""
        self.checked = True
        for rule, count in zip(self.rules, hits, strict=True):
            # FixedWindowRateLimiter.test: the limit still allows one more when count < amount.
            if count is not None and count >= rule.item.amount:
                retry_after = self.throttle.retry_after(rule, rule.identifiers("", self.client))
                raise _too_many(self.kind, retry_after)


def _address_gate(throttle: Throttle, kind: str, client: str) -> AddressGate:
    rules = throttle.address_rules[kind]
    keys = throttle.address_keys.get((kind, client))
    if keys is None:
        if len(throttle.address_keys) >= 4096:
            throttle.address_keys.clear()
        keys = throttle.address_keys[(kind, client)] = tuple(
            rule.item.key_for(*rule.identifiers("", client)) for rule in rules)
    return AddressGate(throttle, kind, client, rules, keys, at_ms=int(time.time() * 1000))


def of(app) -> Throttle:
    """The app's throttle (its counters and rules)."""
    return app.extensions[EXTENSION]


def retry_after_seconds() -> int:
    """Seconds until the limit that refused this request resets (at least 1)."""
    return g.get("keydesk_retry_after", 60)


def _throttled_kind():
    """"api", "login" or None: which rules apply to the current request."""
    # `/` answers Elasticsearch clients too, and so does a path no route serves (after their credentials)
    if request.blueprint == "api" or elasticsearch_at_root() or elasticsearch_off_route():
        return "api"
    if request.method == "POST" and request.endpoint == "auth.login":
        return "login"
    return None


_MESSAGES = {"api": API_MESSAGE, "login": LOGIN_MESSAGE}


def _too_many(kind, retry_after):
    g.keydesk_retry_after = retry_after
    return TooManyRequests(_MESSAGES[kind])


def password_in_body(username: str) -> None:
    """Throttle a password the request carries in its body (the grant API), as a Basic password is: refuse
    (429) when its (username, address) or the address's limit has no failure left, and count this request's
    401 against that username instead of the header's credential (which did authenticate)."""
    throttle, kind = current_app.extensions[EXTENSION], _throttled_kind()
    if kind is None or not throttle.enabled:
        return
    who = Claim("user:" + username[:200], True)
    retry_after = throttle.refused_before(kind, who, address())
    if retry_after is not None:
        raise _too_many(kind, retry_after)
    g.keydesk_claim = who


def gate_before(throttle: Throttle, kind: str, who: Claim, client: str) -> AddressGate | None:
    """Test the limits that apply before `who`'s credential is checked: 429 when one has no failure left. For
    an API key whose counters are in Keydesk's database, the AddressGate that tests them with the key instead."""
    if who.credential.startswith("key:") and throttle.reads_with_key and not UNSTORABLE.search(client):
        return _address_gate(throttle, kind, client)  # tested with the key (authentication)
    retry_after = throttle.refused_before(kind, who, client)
    if retry_after is not None:
        raise _too_many(kind, retry_after)
    return None


def _before():
    throttle, kind = current_app.extensions[EXTENSION], _throttled_kind()
    if kind is not None and throttle.enabled:
        g.keydesk_claim = who = claim()
        gate = gate_before(throttle, kind, who, address())
        if gate is not None:
            g.keydesk_gate = gate


def _after(response):
    """After a 401, count the failure; when that used up a limit, answer 429 instead. Address limits left
    to the key check that never ran are tested here."""
    waiting = g.get("keydesk_gate")
    if waiting is not None and not waiting.checked and response.status_code != 429:
        retry_after = waiting.throttle.refused_before(waiting.kind, g.keydesk_claim, waiting.client)
        if retry_after is not None:
            return current_app.make_response(current_app.handle_http_exception(_too_many(waiting.kind,
                                                                                          retry_after)))
    if response.status_code == 401 and "keydesk_claim" in g:
        throttle, kind = current_app.extensions[EXTENSION], _throttled_kind()
        retry_after = throttle.count_failure(kind, g.keydesk_claim, address())
        if retry_after is not None:
            return current_app.make_response(current_app.handle_http_exception(_too_many(kind, retry_after)))
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
