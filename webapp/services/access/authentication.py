"""Turn credentials (password, Basic header, API key) into a Subject, in Elasticsearch's order of checks."""

import base64
import binascii
import dataclasses
import hashlib
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

from webapp.clock import now_ms
from webapp.errors import AuthenticationFailed
from webapp.model import ApiKey, Role, User, UserRole
from webapp.model.db import database
from webapp.security.credentials import CredentialFormatError, decode_credential, verify_secret
from webapp.security.passwords import verify_password
from webapp.security.permissions import Permission, effective_key_permission
from webapp.security.subject import VIA_API_KEY, VIA_BASIC, Subject
from webapp.services.access.last_used import LastUsedBuffer
from webapp.services.admin import settings
from webapp.services.audit import trail as audit

PASSWORD_REALMS = ("reserved", "native")
ANONYMOUS_DENIED = (
    "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
)
MISSING_CREDENTIALS = "missing authentication credentials for REST request"


def authentication_failed(reason: str = ANONYMOUS_DENIED, detail: str | None = None) -> AuthenticationFailed:
    """A 401 carrying what went wrong with the credential (ES's additional_unsuccessful_credentials)."""
    extra = {"additional_unsuccessful_credentials": detail} if detail else None
    return AuthenticationFailed(reason, extra=extra)


def role_descriptors_for(role_names: Iterable[str]) -> dict[str, dict]:
    """{name: descriptor} for the roles that exist among `role_names` (missing ones grant nothing)."""
    return Role.descriptors_of(role_names or ())


def role_names_of(user: User) -> tuple[str, ...]:
    return UserRole.names_held_by(user)


def subject_for_user(user: User, via: str, address: str | None = None) -> Subject:
    """The Subject of a signed-in (or Basic-authenticated) user: its roles and their permission."""
    roles = role_names_of(user)
    descriptors = role_descriptors_for(roles)
    return Subject(
        username=user.username,
        realm=user.realm,
        realm_type=user.realm,
        roles=roles,
        permission=Permission.of_roles(descriptors),
        via=via,
        user_id=user.id,
        full_name=user.full_name,
        email=user.email,
        metadata=user.metadata or {},
        role_descriptors=descriptors,
        address=address,
    )


def find_password_user(username: object) -> User | None:
    """The reserved or native user with this name, or None."""
    if not isinstance(username, str) or not username or "\x00" in username:  # no user has a NUL in their name
        return None
    users = {u.realm: u for u in User.select().where(
        (User.username == username) & (User.realm.in_(PASSWORD_REALMS)))}
    return users.get("reserved") or users.get("native")


def check_password(username: str, password: str) -> User | None:
    """The enabled reserved/native user these credentials belong to, or None (same cost either way)."""
    user = find_password_user(username)
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.enabled:
        return None
    return user


def sign_in(username: str, password: str, address: str | None) -> User | None:
    """The user signing in with these credentials (None when they are wrong); the attempt is audited."""
    user = check_password(username, password)
    if user is None:
        audit.record(None, "login", target_type="user", target_id=username, outcome="failure", address=address)
        return None
    audit.record(user, "login", target_type="user", target_id=f"{user.username}@{user.realm}", address=address)
    return user


def sign_out(subject: Subject) -> None:
    """Audit the end of `subject`'s session."""
    audit.record(subject, "logout", target_type="user", target_id=subject.display)


class BasicCredentialCache:
    """Remembers Basic credentials that passed bcrypt, so scripted calls don't pay ~250 ms each.

    Entries are keyed by a salted hash of the credential (the password itself is never kept), live for
    `ttl` seconds, and carry the user's generation: a password change or disable bumps the generation in
    the database, and the next request sees the mismatch and drops the entry — on every instance.
    """

    def __init__(self, ttl: float = 60, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._salt = secrets.token_bytes(16)
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, username, password):
        return hashlib.sha256(self._salt + f"{username}\x00{password}".encode()).digest()

    def get(self, username: str, password: str) -> tuple[int, int] | None:
        key = self._key(username, password)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            user_id, generation, expires = entry
            if time.monotonic() >= expires:
                del self._entries[key]
                return None
            return user_id, generation

    def put(self, username: str, password: str, user: User, ttl: float | None = None) -> None:
        """Remember the credential for `ttl` seconds (the cache's own `ttl` when None)."""
        key = self._key(username, password)
        expires = time.monotonic() + (self.ttl if ttl is None else ttl)
        with self._lock:
            self._entries[key] = (user.id, user.generation, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def drop(self, username: str, password: str) -> None:
        with self._lock:
            self._entries.pop(self._key(username, password), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# One cache and one buffer per process (its memory, flushed at its exit); how long entries live and how often
# the buffer is written are each app's settings, passed in by the web layer (webapp/web/extensions.py).
basic_cache = BasicCredentialCache()


def parse_basic(value: str) -> tuple[str, str]:
    """(username, password) from the part of a Basic header after the scheme."""
    try:
        raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise authentication_failed(detail="basic: invalid credentials encoding") from error
    username, colon, password = raw.partition(":")
    if not colon or not username:
        raise authentication_failed(detail="basic: invalid credentials encoding")
    return username, password


def authenticate_basic(value: str, address: str | None = None, cache_seconds: float | None = None) -> Subject:
    """The Subject for a Basic credential; bcrypt only on a cache miss (remembered for `cache_seconds`)."""
    username, password = parse_basic(value)
    cached = basic_cache.get(username, password)
    if cached is not None:
        user_id, generation = cached
        # One query tells whether the user is still enabled, at the same generation, and whether anything
        # their Subject is built from (profile, role links, role definitions) changed since it was built.
        row = database.fetch_one("keydesk_user_state", _USER_STATE_SQL, (user_id,))
        if row is not None and row[0] and row[1] == generation:
            return subjects.get_or_build(("user", user_id, *row[1:]), address,
                                         lambda: subject_for_user(User.get_by_id(user_id), VIA_BASIC))
        basic_cache.drop(username, password)
    user = check_password(username, password)
    if user is None:
        raise authentication_failed(detail=f"basic: unable to authenticate user [{username}]")
    basic_cache.put(username, password, user, cache_seconds)
    return subject_for_user(user, VIA_BASIC, address)


# Everything a Basic-authenticated Subject depends on, read in one statement on every request.
_USER_STATE_SQL = (
    'SELECT u.enabled, u.generation, u.updated, '
    '(SELECT COUNT(*) FROM user_role ur JOIN role r ON r.name = ur.role_name WHERE ur.user_id = u.id), '
    '(SELECT MAX(r.updated) FROM user_role ur JOIN role r ON r.name = ur.role_name WHERE ur.user_id = u.id) '
    'FROM "user" u WHERE u.id = ?'
)

# Everything verifying an API key needs, in the order of the checks, read in one statement. It answers one
# row whether the key exists or not (the key's columns are then NULL), so an unknown id costs the same
# statement as a known one: the time of a failure doesn't tell which ids exist. The caller's throttling
# counters, when they live in this database, are read in the same statement (one column each, before FROM).
_KEY_STATE_COLUMNS = (
    'SELECT (SELECT s.value FROM setting s WHERE s.name = \'api_keys.enabled\'), k.id, k.invalidated, '
    'k.secret_hash, k.type, k.expiration, k.version, u.id, u.enabled, u.generation, u.updated, k.rate_limit'
)
_KEY_STATE_FROM = (
    ' FROM (SELECT 1 AS one) probe LEFT JOIN api_key k ON k.id = ? '
    'LEFT JOIN "user" u ON u.username = k.owner_username AND u.realm = k.owner_realm'
)
_KEY_STATE_SQL = _KEY_STATE_COLUMNS + _KEY_STATE_FROM
# A throttling counter's failures in its current window (NULL when it has none): webapp/web/throttle_store.py.
_COUNTER_COLUMN = ", (SELECT c.hits FROM throttle_counter c WHERE c.key = ? AND c.expires > ?)"


def _key_state(key_id: str, gate) -> tuple:
    """The key-state row, with one counter column per key of `gate` after it."""
    if gate is None or not gate.keys:
        return database.fetch_one("keydesk_key_state", _KEY_STATE_SQL, (key_id,))
    sql = _KEY_STATE_COLUMNS + _COUNTER_COLUMN * len(gate.keys) + _KEY_STATE_FROM
    params = tuple(value for key in gate.keys for value in (key, gate.at_ms)) + (key_id,)
    return database.fetch_one(f"keydesk_key_state_{len(gate.keys)}", sql, params)


class SubjectCache:
    """Subjects already built, keyed by a fingerprint of every row they were built from (and the address).

    The fingerprint is read from the database on every request (one indexed statement), so an entry is
    never used after what it describes changed: the cache saves rebuilding the Subject and its Permission,
    not the check. Bounded in size (least recently used entries go first).
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, fingerprint: Hashable, address: str | None, build: Callable[[], Subject]) -> Subject:
        """The Subject for `fingerprint` seen from `address`, building it with `build()` when missing."""
        key = (fingerprint, address)
        with self._lock:
            subject = self._entries.get(key)
            if subject is not None:
                self._entries.move_to_end(key)
                return subject
        subject = dataclasses.replace(build(), address=address)
        with self._lock:
            self._entries[key] = subject
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return subject

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


subjects = SubjectCache()


last_used = LastUsedBuffer()


def authenticate_api_key(value: str, address: str | None = None, expected_type: str = "rest",
                         now: int | None = None, flush_seconds: float | None = None, gate=None,
                         rate_limit=None, usage_retention_ms: int | None = None,
                         admit: Callable[[Subject], bool] | None = None) -> Subject | None:
    """The Subject for an ApiKey credential, checked as Elasticsearch does.

    Order: parse → exists → not invalidated → secret → type → not expired; then the owner must still exist
    and be enabled, and API keys must be enabled. Each failure is a 401 naming the reason. The key, its
    owner and the setting are read in one statement on every request, so a revoked key, a disabled owner
    or switched-off API keys take effect at once; only the Subject built from them is reused. An unknown
    id costs what a known one does: the same statement, and the secret checked (against a dummy hash).

    `gate`, when given, holds throttling limits read in that same statement: `gate.keys` names counters of
    the throttle_counter table (their windows must end after `gate.at_ms`), and `gate.check(hits)`, called
    with their failure counts before anything about the key is decided, raises to refuse the request.

    `rate_limit`, when given, is called as `rate_limit(key_id, stored)` for a key that passed every check and has
    a limit of its own (`stored`: the rate_limit column as read, JSON text); it raises to refuse the request.
    Keys without a limit never call it.

    `admit`, when given, is called with the Subject once every check passed, before the rate limit or anything
    is recorded: when it answers False, the call records nothing and returns None.
    """
    try:
        key_id, secret = decode_credential(value)
    except CredentialFormatError as error:
        if not settings.api_keys_enabled():
            raise authentication_failed(detail="API key: api keys are not enabled") from error
        raise authentication_failed(detail=f"API key: {error}") from error
    # Ids are URL-safe base64: one with a NUL (which PostgreSQL can't compare) is looked up as "", found never.
    row = _key_state("" if "\x00" in key_id else key_id, gate)
    if gate is not None:
        gate.check(row[12:])
    setting, found, invalidated, secret_hash, key_type, expiration, version, owner_id, owner_enabled = row[:9]
    secret_matches = verify_secret(secret, secret_hash)  # before any answer, so that every failure costs it
    if setting is not None and not json.loads(setting):
        raise authentication_failed(detail="API key: api keys are not enabled")
    if found is None:
        raise authentication_failed(detail=f"API key: unable to find apikey with id {key_id}")
    if invalidated:
        raise authentication_failed(detail=f"API key: api key [{key_id}] has been invalidated")
    if not secret_matches:
        raise authentication_failed(detail=f"API key: invalid credentials for API key [{key_id}]")
    if key_type != expected_type:
        raise authentication_failed(
            detail=f"API key: authentication expected API key type of [{expected_type}], "
            f"but API key [{key_id}] has type [{key_type}]"
        )
    now = now_ms() if now is None else now
    if expiration is not None and expiration <= now:
        raise authentication_failed(detail="API key: api key is expired")
    if owner_id is None or not owner_enabled:
        raise authentication_failed(detail=f"API key: the owner of api key [{key_id}] is disabled or deleted")
    subject = subjects.get_or_build(("key", key_id, version, owner_id, *row[9:11]), address,
                                    lambda: _key_subject(ApiKey.get_by_id(key_id), User.get_by_id(owner_id)))
    # Only now what the request leaves behind (after every check and read that can fail): webapp/api/fast_verify
    # relies on a refused, failed or not admitted call having changed nothing.
    if admit is not None and not admit(subject):
        return None
    if row[11] is not None and rate_limit is not None:
        rate_limit(key_id, row[11])  # the key's own limit (webapp/web/key_limits.py)
    last_used.note(key_id, now, address, flush_seconds, usage_retention_ms)  # written at most every `flush_seconds`
    return subject


def _key_subject(key, owner):
    return Subject(
        username=key.owner_username,
        realm=key.owner_realm,
        realm_type=key.owner_realm_type,
        roles=(),
        permission=effective_key_permission(key.role_descriptors or {}, key.limited_by or []),
        via=VIA_API_KEY,
        user_id=owner.id,
        full_name=owner.full_name,
        email=owner.email,
        metadata=owner.metadata or {},
        role_descriptors=key.role_descriptors or {},
        api_key_id=key.id,
        api_key_name=key.name,
    )
